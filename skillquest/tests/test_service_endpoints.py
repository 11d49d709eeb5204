from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ok_with_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "redis": True}


def test_readyz_names_redis_when_down(client, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]


def test_schema_and_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/login" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_page_is_html_404(client):
    response = client.get("/nope/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


@pytest.mark.urls("skillquest.tests.urls_failing")
def test_unexpected_api_error_is_json_500_and_logged(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}
    assert any(record.exc_info for record in caplog.records)


def test_createsuperuser_noinput(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Another-Strong-Pass-7")
    call_command("createsuperuser", "--noinput")
    admin = User.objects.get(username="root")
    assert admin.is_superuser and admin.check_password("Another-Strong-Pass-7")


def test_missing_secret_key_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def run_python(script: str, **env: str | None) -> subprocess.CompletedProcess:
    """`python -c script` in a fresh process (settings are read once), with the environment changed
    (None: the variable is unset)."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "skillquest.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={name: value for name, value in environment.items() if value is not None},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def quickstart(script: str, tmp_path) -> subprocess.CompletedProcess:
    """The no-server quickstart: no REDIS_URL, no SECRET_KEY, DEBUG on, a SQLite file."""
    database = f"sqlite:///{tmp_path / 'quick.sqlite3'}"
    return run_python(script, REDIS_URL=None, SECRET_KEY=None, DEBUG="true", DATABASE_URL=database)


def test_sqlite_quickstart_migrates_and_answers(tmp_path):
    script = (
        "import django, os; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from django.test import Client; c = Client(HTTP_HOST='localhost');"
        "r = c.post('/api/v1/auth/register', {'username': 'quick', 'email': 'q@example.com',"
        " 'password': 'Sturdy-Pass-991'}, content_type='application/json');"
        "assert r.status_code == 201, r.content;"
        "r = c.get('/readyz'); assert r.status_code == 200, r.content;"
        "assert r.json()['checks'] == {'database': True}; print('ok')"
    )
    result = quickstart(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


SQLITE_AWARD_SCRIPT = """
import django; django.setup()
from django.core.management import call_command; call_command('migrate', verbosity=0)
from django.test import Client
from accounts.models import User
from challenges.models import Challenge
from progress.models import XpEntry
one = Challenge.objects.create(title='One', slug='one', xp=100, pass_score=50, published=True,
                               grading={'type': 'self_reported'}, difficulty='easy')
two = Challenge.objects.create(title='Two', slug='two', xp=40, pass_score=50, published=True,
                               grading={'type': 'self_reported'}, difficulty='easy')
c = Client(HTTP_HOST='localhost')
r = c.post('/api/v1/auth/register', {'username': 'quick', 'email': 'q@example.com',
           'password': 'Sturdy-Pass-991'}, content_type='application/json')
assert r.status_code == 201, r.content
token = c.post('/api/v1/auth/login', {'username': 'quick', 'password': 'Sturdy-Pass-991'},
               content_type='application/json').json()['access_token']
auth = {'HTTP_AUTHORIZATION': f'Bearer {token}'}
for challenge, score in ((one, 80), (two, 100), (one, 100)):
    r = c.post('/api/v1/attempts', {'challenge_id': str(challenge.pk)},
               content_type='application/json', **auth)
    assert r.status_code == 201, r.content
    r = c.post(f"/api/v1/attempts/{r.json()['id']}/submit", {'score': score},
               content_type='application/json', **auth)
    assert r.status_code == 200, r.content
user = User.objects.get(username='quick')
print(user.total_xp, user.level, sorted(XpEntry.objects.filter(user=user).values_list('amount', flat=True)))
"""


def test_sqlite_quickstart_awards_xp_through_the_ledger(tmp_path):
    """The quickstart runs jobs in-process on SQLite: the award job's set-based writes work there too."""
    result = quickstart(SQLITE_AWARD_SCRIPT, tmp_path)
    assert result.returncode == 0, result.stderr
    # 80 on One pays 80, 100 on Two pays 40, then 100 on One pays the improvement: 20.
    assert result.stdout.strip().splitlines()[-1] == "140 2 [20, 40, 80]"


EMAIL_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s;"
    "print(s.EMAIL_BACKEND.rsplit('.', 2)[-2], s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER,"
    " s.EMAIL_USE_TLS, s.EMAIL_USE_SSL)"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://quest:secret@mail.example.com:587/?tls=True", "smtp mail.example.com 587 quest True False"),
        ("smtp+ssl://quest:secret@mail.example.com:465", "smtp mail.example.com 465 quest False True"),
        ("smtp://mail.example.com:25", "smtp mail.example.com 25  False False"),
        ("consolemail://", "console localhost 25  False False"),
    ],
)
def test_email_url_configures_the_mail_backend(url, expected):
    result = run_python(EMAIL_SETTINGS, EMAIL_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_an_email_url_asking_for_both_kinds_of_tls_refuses_to_start():
    result = run_python(EMAIL_SETTINGS, EMAIL_URL="smtp+ssl://h:465/?tls=True")
    assert result.returncode != 0 and "not both" in result.stderr
