"""Production hardening: check --deploy is clean, security headers everywhere, a strict CSP, CORS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skillquest.tests.helpers import settings_in_a_fresh_process

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "q8Jm2v!Lx0Zr7#pT4nWc9yHb6sKd1fGa5uEo3iNe8RtY2wQz7xCv0bMl4jPk",
    "ALLOWED_HOSTS": "skillquest.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/skillquest",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}
# Variables the test environment sets that a production deployment would not.
_TEST_ONLY = re.compile(
    r"^(SECURE_|SESSION_COOKIE_|CSRF_COOKIE_|THROTTLE_|DEBUG$|STATIC_MANIFEST$|DJANGO_ALLOW_ASYNC_UNSAFE$)"
)


def production_env(**overrides) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not _TEST_ONLY.match(k)}
    return {**base, **PRODUCTION_ENV, **overrides}


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_check_deploy_reports_nothing_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_fails_when_hsts_is_turned_off():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(SECURE_HSTS_SECONDS="0")
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def _settings_in(env) -> dict:
    names = [
        "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "CORS_ALLOWED_ORIGINS",
    ]  # fmt: skip
    return settings_in_a_fresh_process(env, f"{{n: getattr(s, n) for n in {names!r}}}")


def test_production_defaults_are_strict_and_debug_defaults_work_over_http():
    production = _settings_in(production_env(SECURE_PROXY_SSL_HEADER=""))
    assert production == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "CORS_ALLOWED_ORIGINS": [],
    }
    quickstart = _settings_in(production_env(DEBUG="true", SECURE_PROXY_SSL_HEADER=""))
    assert not quickstart["SECURE_SSL_REDIRECT"]
    assert quickstart["SECURE_HSTS_SECONDS"] == 0
    assert not quickstart["SESSION_COOKIE_SECURE"] and not quickstart["CSRF_COOKIE_SECURE"]


def test_every_security_setting_can_be_set_by_environment():
    configured = _settings_in(
        production_env(
            SECURE_SSL_REDIRECT="false",
            SECURE_HSTS_SECONDS="60",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
            SECURE_HSTS_PRELOAD="false",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            CORS_ALLOWED_ORIGINS="https://app.example.com,https://admin.example.com",
        )
    )
    assert configured == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 60,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CORS_ALLOWED_ORIGINS": ["https://app.example.com", "https://admin.example.com"],
    }


class TestHttpsBehindProxy:
    @pytest.fixture(autouse=True)
    def production_https(self, settings):
        settings.SECURE_SSL_REDIRECT = True
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        settings.SECURE_HSTS_SECONDS = 31_536_000
        settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
        settings.SECURE_HSTS_PRELOAD = True

    def test_plain_http_is_redirected_to_https(self, client):
        response = client.get("/accounts/login/")
        assert response.status_code == 301
        assert response["Location"] == "https://testserver/accounts/login/"

    def test_https_via_the_proxy_is_served_with_hsts(self, client):
        response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"

    def test_probes_are_not_redirected(self, client):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200

    def test_cookies_are_secure(self, client, settings, user, password):
        settings.SESSION_COOKIE_SECURE = True
        settings.CSRF_COOKIE_SECURE = True
        page = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
        assert page.cookies["csrftoken"]["secure"] is True
        response = client.post(
            "/accounts/login/",
            {
                "username": "alice",
                "password": password,
                "csrfmiddlewaretoken": page.cookies["csrftoken"].value,
            },
            HTTP_X_FORWARDED_PROTO="https",
        )
        assert response.status_code == 302
        assert response.cookies["sessionid"]["secure"] is True
        assert response.cookies["sessionid"]["httponly"] is True


PAGES = [
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/nope/",
    "/healthz",
    "/api/v1/challenges",
    "/api/schema/",
]
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self' ws://testserver; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.status_code in {200, 404}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == STRICT_CSP or path.startswith("/api/")
    assert "'unsafe-inline'" not in _directive(response, "script-src")


def _directive(response, name: str) -> str:
    for directive in response["Content-Security-Policy"].split(";"):
        if directive.strip().startswith(name + " "):
            return directive.strip()
    raise AssertionError(f"no {name} in {response['Content-Security-Policy']}")


def test_signed_in_pages_have_the_strict_policy(client, user):
    client.force_login(user)
    for path in ["/", "/accounts/profile/"]:
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == STRICT_CSP


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def inline_violations(html: str) -> list[str]:
    return [label for pattern, label in INLINE if pattern.search(html)]


def test_templates_need_no_unsafe_inline():
    """Every template the site serves: what the strict policy would block in a browser. Not the
    emails (templates/email/): mail clients read no stylesheet, so their HTML parts style inline."""
    templates = sorted(t for t in (ROOT / "templates").rglob("*.html") if "email" not in t.parts)
    assert templates
    found = {str(t.relative_to(ROOT)): inline_violations(t.read_text()) for t in templates}
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_rendered_pages_need_no_unsafe_inline(client, user, staff_user):
    pages = {
        path: client.get(path).content.decode() for path in ["/", "/accounts/login/", "/accounts/signup/"]
    }
    client.force_login(user)
    pages["/accounts/profile/"] = client.get("/accounts/profile/").content.decode()
    pages["/ (signed in)"] = client.get("/").content.decode()
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    client.force_login(staff_user)
    for path in ["/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{user.pk}/change/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.content.decode()
    assert {path: inline_violations(html) for path, html in pages.items() if inline_violations(html)} == {}


def test_inline_detector_catches_what_the_policy_would_block():
    assert inline_violations('<p style="color:red" onclick="x()"><script>1</script>') == [
        "inline <script>",
        "style attribute",
        "inline event handler",
    ]
    assert inline_violations('<script src="/static/js/a.js"></script>') == []


def test_swagger_ui_has_its_own_deliberate_policy(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Scripts: all external and same-origin, so script-src stays 'self' without 'unsafe-inline'.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert len(sources) == 3 and all(src.startswith("/") for src in sources)
    assert _directive(page, "script-src") == "script-src 'self'"
    # Styles: Swagger UI ships a <style> block and inline style attributes; only styles are relaxed.
    assert _directive(page, "style-src") == "style-src 'self' 'unsafe-inline'"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    init_script = client.get(sources[-1])
    assert init_script.status_code == 200
    assert init_script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init_script.content


def test_browsable_api_runs_no_inline_script(client, user):
    client.force_login(user)
    response = client.get("/api/v1/challenges", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    # The one inline <script> is a JSON data block, which browsers never execute.
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert inline == ['<script type="application/json" id="drf_csrf">']
    assert _directive(response, "script-src") == "script-src 'self'"


def test_cors_is_closed_by_default(client):
    response = client.options(
        "/api/v1/challenges", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in client.get(
        "/api/v1/challenges", HTTP_ORIGIN="https://evil.example"
    )


def test_cors_allows_only_configured_origins_on_the_api(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = client.options(
        "/api/v1/challenges", HTTP_ORIGIN="https://app.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = client.get("/api/v1/challenges", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other
    page = client.get("/accounts/login/", HTTP_ORIGIN="https://app.example.com")
    assert "Access-Control-Allow-Origin" not in page
