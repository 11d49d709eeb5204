# Two commands: `make run` serves SkillQuest, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format audit flush-tokens worker migrate seed bench bench-quick clean

$(BIN)/.installed-runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/.installed-runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

$(BIN)/.installed-bench: requirements.txt requirements-bench.txt $(BIN)/.installed-runtime
	$(BIN)/pip install -q -r requirements-bench.txt
	touch $@

# Without DATABASE_URL/REDIS_URL this is the no-server quickstart: SQLite and in-process jobs.
run: $(BIN)/.installed-runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py award_pending
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "Starting an RQ worker alongside the web server"; \
	  export PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-$$(mktemp -d)}; \
	  DEBUG=$${DEBUG:-true} $(BIN)/python manage.py rqworker --worker-class skillquest.worker.Worker --with-scheduler default webhooks & \
	fi; \
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

worker: $(BIN)/.installed-runtime
	$(BIN)/python manage.py award_pending
	$(BIN)/python manage.py rqworker --worker-class skillquest.worker.Worker --with-scheduler default webhooks

# The Open Badges validator for progress/tests/openbadges/test_badgecheck.py, in a venv of its own
# (requirements-badgecheck.txt says why, and why --no-deps).
BADGECHECK_VENV := .venv-badgecheck
$(BADGECHECK_VENV)/.installed: requirements-badgecheck.txt
	test -x $(BADGECHECK_VENV)/bin/python || $(PYTHON) -m venv $(BADGECHECK_VENV)
	$(BADGECHECK_VENV)/bin/pip install -q --no-deps -r requirements-badgecheck.txt
	touch $@

# axe-core for the browser tests' accessibility check, pinned in package-lock.json.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Tests run against real PostgreSQL and Redis (defaults in pyproject.toml, overridable by environment).
# Browser tests also need Debian's chromium at /usr/bin/chromium (`apt-get install chromium`).
# On PYTEST_WORKERS processes (pytest-xdist; 0 runs everything in this one); tests marked `serial`
# share one worker (conftest.py says why).
PYTEST_WORKERS ?= 2
test: $(BIN)/.installed-dev node_modules/axe-core/axe.min.js $(BADGECHECK_VENV)/.installed
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# mypy's Django plugin imports skillquest.settings, which refuses to load without a SECRET_KEY when
# DEBUG is off; type checking signs nothing, so any value will do when the environment has none.
lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=$${SECRET_KEY:-type-checking-only} $(BIN)/mypy accounts challenges progress skillquest
	$(BIN)/actionlint .github/workflows/*.yml

# Known vulnerabilities in the pinned requirements and what they installed (see .ci/audit.py).
audit: $(BIN)/.installed-dev
	$(BIN)/python .ci/audit.py

# Delete expired refresh tokens from the blacklist tables; schedule daily (cron, a scheduler dyno).
flush-tokens: $(BIN)/.installed-runtime
	$(BIN)/python manage.py flushexpiredtokens

format: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks against PostgreSQL + Redis (bench/README.md): bench-quick proves every script runs (CI),
# bench runs the full sizes by hand. Installs requirements-bench.txt; needs wrk (apt-get install -y wrk).
bench-quick: $(BIN)/.installed-bench
	command -v wrk >/dev/null || (apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk))
	$(BIN)/python bench/run_all.py --quick

bench: $(BIN)/.installed-bench
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BADGECHECK_VENV) db.sqlite3 staticfiles
