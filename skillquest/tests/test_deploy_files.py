"""No Docker engine here: Dockerfile, docker-compose.yml and CI are checked as data, against the Procfile,
and the compose file by Compose itself (its validation needs no engine)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from django.conf import settings

from scripts.nginx.render import PLACEHOLDER

ROOT = Path(__file__).resolve().parents[2]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_procfile_has_release_web_worker_and_ws_with_the_project_worker_class():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker", "ws"}
    assert "--worker-class skillquest.worker.Worker" in processes["worker"]
    assert processes["web"].startswith("gunicorn --config gunicorn.conf.py ")
    # The live sockets on $WS_PORT (default 8001), served from the ASGI application.
    assert processes["ws"].startswith("daphne ") and processes["ws"].endswith(" skillquest.asgi:application")
    assert "--port ${WS_PORT:-8001}" in processes["ws"]


def test_compose_services_images_and_healthchecks():
    services = compose()["services"]
    app = {"nginx", "static", "migrate", "web", "worker", "ws", "db", "pgbouncer", "redis"}
    assert set(services) == app | {"prometheus", "grafana"}  # and what operators watch it with
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("web", "ws", "db", "pgbouncer", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_commands_are_the_procfile_commands():
    services, processes = compose()["services"], procfile()
    assert services["migrate"]["command"] == processes["release"]
    assert services["web"]["command"] == processes["web"]
    assert shlex.split(services["worker"]["command"]) == ["sh", "-c", processes["worker"]]
    # Compose reads `$$` as a literal `$`: the shell then expands WS_PORT as the Procfile's does.
    assert shlex.split(services["ws"]["command"].replace("$$", "$")) == ["sh", "-c", processes["ws"]]


def test_compose_migrate_runs_once_before_web_and_worker():
    services = compose()["services"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "ws"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_compose_worker_scales_and_shares_metrics_with_web():
    services = compose()["services"]
    worker, web = services["worker"], services["web"]
    # `--scale worker=3` needs no fixed name and no published port.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["PROMETHEUS_MULTIPROC_DIR"] == web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert worker["volumes"] == web["volumes"]
    assert web["environment"]["REDIS_URL"] == worker["environment"]["REDIS_URL"]
    assert "metrics" in compose()["volumes"]


def test_dockerfile_is_multi_stage_slim_non_root_and_runs_the_procfile_web():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) >= 2
    final = stages[-1]
    assert final.startswith("python:3.11-slim")
    assert "build-essential" not in final and "gcc" not in final
    assert "collectstatic --noinput" in final
    user = re.search(r"^USER (\S+)", final, re.MULTILINE)
    assert user and user.group(1) not in {"root", "0"}
    assert final.index("collectstatic") < final.index("USER ")
    cmd = re.search(r"^CMD (\[.*\])$", final, re.MULTILINE)
    assert cmd
    assert yaml.safe_load(cmd.group(1)) == shlex.split(procfile()["web"])


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "db.sqlite3", "staticfiles"} <= ignored


def test_makefile_worker_matches_the_procfile_worker():
    makefile = (ROOT / "Makefile").read_text()
    rqworker = procfile()["worker"].split("&& ", 1)[1].removeprefix("python ")
    assert makefile.count(rqworker) == 2  # `make worker` and `make run`


def test_compose_pgbouncer_pools_transactions_in_front_of_db_with_a_pinned_image():
    pgbouncer = compose()["services"]["pgbouncer"]
    name, _, tag = pgbouncer["image"].partition(":")
    assert name == "edoburu/pgbouncer" and tag and tag != "latest"
    env = pgbouncer["environment"]
    assert env["POOL_MODE"] == "transaction"
    assert env["DB_HOST"] == "db" and env["DB_PORT"] == "5432"
    # postgres:16 logs users in with SCRAM; PgBouncer can only do that holding the password itself.
    assert env["AUTH_TYPE"] == "scram-sha-256"
    assert pgbouncer["depends_on"]["db"] == {"condition": "service_healthy"}


def test_compose_app_processes_go_through_pgbouncer_in_transaction_mode_and_migrate_does_not():
    services = compose()["services"]
    pgbouncer = services["pgbouncer"]["environment"]
    for name in ("web", "worker", "ws"):
        env = services[name]["environment"]
        url = urlsplit(env["DATABASE_URL"])
        assert (url.hostname, url.port) == ("pgbouncer", 5432), name
        assert (url.username, url.password, url.path) == (
            pgbouncer["DB_USER"], pgbouncer["DB_PASSWORD"], f"/{pgbouncer['DB_NAME']}"
        ), name  # fmt: skip
        # docs/architecture.md, "Use a pooler": what a transaction pooler cannot follow is off.
        assert env["DISABLE_SERVER_SIDE_CURSORS"] == "true", name
        assert env["DATABASE_PREPARED_STATEMENTS"] == "false", name
        assert services[name]["depends_on"]["pgbouncer"] == {"condition": "service_healthy"}, name
        assert "db" not in services[name]["depends_on"], name
    migrate = services["migrate"]
    direct = urlsplit(migrate["environment"]["DATABASE_URL"])
    assert (direct.hostname, direct.port, direct.path) == ("db", 5432, f"/{pgbouncer['DB_NAME']}")
    assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}


def test_compose_sets_only_settings_that_env_example_documents():
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    for name in ("migrate", "web", "worker", "ws"):
        assert set(compose()["services"][name]["environment"]) <= documented, name


def ci() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())


def test_ci_runs_ci_run_itself_as_root_in_a_debian_bookworm_container_and_builds_on_main():
    workflow = ci()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "push" in triggers and "pull_request" in triggers
    test = workflow["jobs"]["test"]
    # .ci/run starts PostgreSQL and Redis on 127.0.0.1 itself, as on a developer's machine: no
    # service containers, whose host names the suite's defaults would not know.
    assert "services" not in test
    image = test["container"]["image"]
    assert image.endswith("bookworm") and image.split(":")[0] in {"debian", "python"}
    assert "user" not in test["container"].get("options", "")  # root: .ci/run installs with apt-get
    commands = [step.get("run", "") for step in test["steps"]]
    assert "bash .ci/run" in commands
    assert test["timeout-minutes"] <= 90
    compose_job = workflow["jobs"]["compose"]
    assert "docker compose config --quiet" in [step.get("run", "") for step in compose_job["steps"]]
    image_job = workflow["jobs"]["image"]
    assert "refs/heads/main" in image_job["if"] and set(image_job["needs"]) == {"test", "compose"}


def compose_config(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`docker-compose config --quiet` on `path`: Debian's Compose (1.29), which .ci/run installs,
    with no .env and none of this process's variables, as on a runner with a bare checkout."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return subprocess.run(
        ["docker-compose", "--project-directory", str(ROOT), "--env-file", str(empty), "-f", str(path),
         "config", "--quiet"],
        capture_output=True, text=True, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )  # fmt: skip


def test_compose_file_passes_composes_own_validation(tmp_path):
    """The workflow's `compose` job runs Compose v2 (`docker compose config --quiet`) on GitHub's
    runner; here Debian's Compose checks the same file against its schema and interpolates it."""
    result = compose_config(ROOT / "docker-compose.yml", tmp_path)
    assert result.returncode == 0, result.stderr
    # And it does refuse a file that is not valid: an unknown option of one service.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace("    image:", "    imagez:", 1))
    refused = compose_config(broken, tmp_path)
    assert refused.returncode != 0 and "imagez" in refused.stderr


def test_ci_run_installs_what_the_suite_needs_on_a_bare_debian():
    script = (ROOT / ".ci" / "run").read_text()
    for package in (
        "postgresql", "redis-server", "chromium", "pgbouncer", "nginx", "npm", "prometheus", "docker-compose"
    ):  # fmt: skip
        assert re.search(rf"install_packages .*\b{package}\b", script), package
    # A cluster it created itself gets the suite's trust auth on loopback before it is started.
    assert "host all all 127.0.0.1/32 trust" in script
    assert script.index("pg_hba.conf") < script.index("main start")
    assert script.index("\nmake lint\n") < script.index("\nmake test ")


def test_compose_nginx_fills_every_placeholder_of_the_one_template_and_is_the_only_way_in():
    services = compose()["services"]
    nginx = services["nginx"]
    template = "./scripts/nginx/skillquest.conf.template"
    # The image's entrypoint fills /etc/nginx/templates/*.template into conf.d/ (replacing default.conf).
    assert f"{template}:/etc/nginx/templates/default.conf.template:ro" in nginx["volumes"]
    placeholders = set(PLACEHOLDER.findall((ROOT / template).read_text()))
    assert placeholders == set(nginx["environment"])
    assert nginx["environment"]["SKILLQUEST_WEB"] == "web:8000"
    assert nginx["environment"]["SKILLQUEST_WS"] == "ws:8001"
    assert nginx["ports"] == ["8000:80"]
    # web and ws are reached through nginx only; pages open /ws/ on their own host.
    for name in ("web", "ws"):
        assert "ports" not in services[name], name
        assert nginx["depends_on"][name] == {"condition": "service_healthy"}
    assert "WS_PUBLIC_URL" not in services["web"]["environment"]
    assert services["web"]["environment"]["NUM_PROXIES"] == "1"
    # nginx serves what collectstatic wrote into the image, copied into the volume on every `up`.
    assert nginx["depends_on"]["static"] == {"condition": "service_completed_successfully"}
    assert "static:/srv/static:ro" in nginx["volumes"]
    assert nginx["environment"]["NGINX_STATIC_ROOT"] == "/srv/static"
    assert "/app/staticfiles/. /srv/static/" in services["static"]["command"]
    assert "static:/srv/static" in services["static"]["volumes"]
    assert "static" in compose()["volumes"]


def test_the_nginx_template_names_the_apps_session_cookie():
    """The micro-cache is bypassed for a signed-in browser by the session cookie's name."""
    text = (ROOT / "scripts" / "nginx" / "skillquest.conf.template").read_text()
    assert f"$cookie_{settings.SESSION_COOKIE_NAME}" in text
