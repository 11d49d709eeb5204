"""No Docker engine here: Dockerfile, docker-compose.yml and CI are checked as data, against the Procfile."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

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
    assert set(services) == {"migrate", "web", "worker", "ws", "db", "redis"}
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("web", "ws", "db", "redis"):
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


def test_ci_runs_lint_and_tests_on_postgres_16_and_redis_7_and_builds_on_main():
    ci = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = ci[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "push" in triggers and "pull_request" in triggers
    test = ci["jobs"]["test"]
    assert test["services"]["postgres"]["image"] == "postgres:16"
    assert test["services"]["redis"]["image"] == "redis:7"
    commands = [step.get("run", "") for step in test["steps"]]
    assert "make lint" in commands
    assert any(command.startswith("make test") for command in commands)
    image = ci["jobs"]["image"]
    assert "refs/heads/main" in image["if"] and image["needs"] == "test"
