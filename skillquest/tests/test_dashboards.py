"""The operators' dashboards and alerts (docker-compose's prometheus and grafana services): every
metric a Grafana panel or an alert rule queries is exposed by /metrics after one submit and award,
the files are valid for Prometheus' own checker and for a real Prometheus scraping a real server, and
compose wires them together."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import django_rq
import httpx
import pytest
import yaml
from model_bakery import baker
from prometheus_client.parser import text_string_to_metric_families

from challenges.models import Challenge
from progress.models import Badge, UserBadge
from skillquest.tests.helpers import free_port, wait_until
from skillquest.tests.processes import start_process, stop_processes
from skillquest.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "scripts" / "prometheus"
GRAFANA = ROOT / "scripts" / "grafana"
METRIC = re.compile(r"\b(?:skillquest|django)_[a-z0-9_]+\b")


def dashboard() -> dict:
    return json.loads((GRAFANA / "dashboards" / "skillquest.json").read_text())


def panel_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def alert_queries() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_dashboard_shows_what_operators_watch():
    titles = " / ".join(panel["title"] for panel in dashboard()["panels"]).lower()
    for subject in (
        "submissions",
        "award lag",
        "queue depth",
        "failed jobs",
        "xp",
        "badges",
        "5xx",
        "webhook",
    ):
        assert subject in titles, subject
    lag = " ".join(query for query in panel_queries() if "award_lag_seconds_bucket" in query)
    assert "histogram_quantile(0.5," in lag and "histogram_quantile(0.99," in lag


@pytest.mark.django_db
def test_every_metric_a_panel_or_an_alert_queries_is_exposed_after_one_submit_and_award(
    auth_client, client, django_capture_on_commit_callbacks
):
    queried = {name for query in panel_queries() + alert_queries() for name in METRIC.findall(query)}
    assert {"skillquest_award_lag_seconds_bucket", "skillquest_rq_queue_depth"} <= queried
    Badge.objects.create(name="First", slug="first", condition={"type": "attempt_count", "count": 1})
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            "/api/v1/attempts", {"challenge_id": str(challenge.id), "score": 90}, format="json"
        )
    assert response.status_code == 201
    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=True):
        Worker([queue], connection=queue.connection).work(burst=True)
    assert UserBadge.objects.filter(badge__slug="first").exists()
    assert auth_client.get("/api/v1/no-such-page").status_code == 404  # a 4xx to count, as in real life

    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    exposed = {
        sample.name
        for family in text_string_to_metric_families(scraped.content.decode())
        for sample in family.samples
    }
    assert queried - exposed == set()


def _debian_prometheus(program: str) -> str:
    path = shutil.which(program)
    assert path, f"{program} is missing: apt-get install prometheus (.ci/run installs it)"
    return path


def _promtool_check(*args: str) -> str:
    checked = subprocess.run(
        [_debian_prometheus("promtool"), "check", *args], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return checked.stdout


def test_prometheus_accepts_the_config_and_the_alert_rules():
    _promtool_check("config", "--syntax-only", str(PROMETHEUS / "prometheus.yml"))
    assert "SUCCESS: 8 rules found" in _promtool_check("rules", str(PROMETHEUS / "alerts.yml"))


def test_compose_wires_prometheus_to_web_with_the_metrics_token_and_grafana_to_both():
    services = compose()["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (scrape,) = config["scrape_configs"]
    assert scrape["static_configs"] == [{"targets": ["web:8000"]}] and scrape["metrics_path"] == "/metrics"
    # The token web checks is the token Prometheus sends: one default, written where the config reads it.
    token_file = scrape["authorization"]["credentials_file"]
    assert f"> {token_file} " in prometheus["entrypoint"][-1]
    web_token = services["web"]["environment"]["METRICS_TOKEN"]
    assert web_token == prometheus["environment"]["METRICS_TOKEN"] and web_token.startswith(
        "${METRICS_TOKEN:-"
    )
    assert "./scripts/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert config["rule_files"] == ["alerts.yml"]
    # Grafana: the provisioned data source is the one the dashboard's panels name, and the dashboard
    # provider reads the directory the dashboards are mounted on.
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert {panel["datasource"]["uid"] for panel in dashboard()["panels"]} == {source["uid"]}
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "skillquest.yml").read_text())
    mounts = dict(volume.rsplit(":", 2)[:2] for volume in grafana["volumes"] if volume.startswith("./"))
    assert mounts["./scripts/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
    assert mounts["./scripts/grafana/provisioning"] == "/etc/grafana/provisioning"
    for service in ("prometheus", "grafana"):
        assert ":" in services[service]["image"] and not services[service]["image"].endswith(":latest")


def _prometheus_api(port: int, path: str, **params: str) -> dict:
    answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/{path}", params=params, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]


@pytest.mark.django_db(transaction=True)
def test_a_real_prometheus_scrapes_with_the_token_and_runs_every_query_and_rule(
    live_server, settings, auth_client, tmp_path
):
    """Debian's Prometheus with compose's config (its target, token file and intervals pointed at this
    test's server): the scrape gets in with the bearer token alone, and every panel query and alert
    rule runs on what it scraped."""
    binary = _debian_prometheus("prometheus")
    settings.METRICS_ALLOWED_IPS = []  # loopback is not enough: only the token lets the scrape in
    settings.METRICS_TOKEN = "dashboards-test-token"
    (tmp_path / "metrics_token").write_text(settings.METRICS_TOKEN)
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    (scrape,) = config["scrape_configs"]
    scrape["static_configs"] = [{"targets": [live_server.url.removeprefix("http://")]}]
    scrape["authorization"]["credentials_file"] = str(tmp_path / "metrics_token")
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    created = auth_client.post(
        "/api/v1/attempts", {"challenge_id": str(challenge.id), "score": 90}, format="json"
    )
    assert created.status_code == 201

    port = free_port()

    def scraped_up() -> bool:
        try:
            targets = _prometheus_api(port, "targets")["activeTargets"]
        except (httpx.HTTPError, ValueError):
            return False
        return bool(targets) and targets[0]["health"] == "up"

    prometheus = start_process(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        log=tmp_path / "prometheus.log", ready=scraped_up, what="Prometheus scraping /metrics", seconds=30,
    )  # fmt: skip
    try:
        submitted = _prometheus_api(port, "query", query="skillquest_challenge_submitted_total")["result"]
        assert submitted and float(submitted[0]["value"][1]) >= 1
        for query in panel_queries() + alert_queries():
            _prometheus_api(port, "query", query=query)  # "success": the engine accepts and runs it

        def rules_evaluated() -> bool:
            rules = [rule for group in _prometheus_api(port, "rules")["groups"] for rule in group["rules"]]
            return len(rules) == 8 and all(rule["health"] == "ok" for rule in rules)

        wait_until(rules_evaluated, what="every alert rule evaluated without an error", seconds=15)
    finally:
        stop_processes(prometheus)
