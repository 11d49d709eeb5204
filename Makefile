# Two commands: `make run` serves SkillQuest, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format worker migrate seed bench bench-quick clean

$(BIN)/.installed-runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/.installed-runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# Without DATABASE_URL/REDIS_URL this is the no-server quickstart: SQLite and in-process jobs.
run: $(BIN)/.installed-runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed
	@if [ -n "$$REDIS_URL" ]; then \
	  echo "Starting an RQ worker alongside the web server"; \
	  DEBUG=$${DEBUG:-true} $(BIN)/python manage.py rqworker --worker-class rq.worker.SimpleWorker --with-scheduler default & \
	fi; \
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

worker: $(BIN)/.installed-runtime
	$(BIN)/python manage.py award_pending
	$(BIN)/python manage.py rqworker --worker-class rq.worker.SimpleWorker --with-scheduler default

# Tests run against real PostgreSQL and Redis (defaults in pyproject.toml, overridable by environment).
test: $(BIN)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks against PostgreSQL + Redis (bench/README.md): bench-quick proves every script runs (CI),
# bench runs the full sizes by hand. Needs wrk (apt-get install -y wrk).
bench-quick: $(BIN)/.installed-runtime
	command -v wrk >/dev/null || (apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk))
	$(BIN)/python bench/run_all.py --quick

bench: $(BIN)/.installed-runtime
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
