"""Secrets never reach logs or error reports: passwords, tokens and solutions are redacted at any depth."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from skillquest.logging import REDACTED, ConsoleFormatter, ExceptionReporterFilter, JsonFormatter, redact

PASSWORD = "Hunter2-very-secret-pass"
REFRESH = "eyJ.refresh.token.value"
SOLUTION = "the-answer-is-42"


def test_redact_walks_nested_structures():
    value = {
        "user": {"name": "ada", "password": PASSWORD},
        "grants": [{"refresh": REFRESH, "access": "a"}, {"token_type": "bearer"}],
        "attempt": {"metadata": {"solution": SOLUTION, "client": {"agent": "cli"}}},
        "Authorization": "Bearer x",
        "passed": True,
    }
    assert redact(value) == {
        "user": {"name": "ada", "password": REDACTED},
        "grants": [{"refresh": REDACTED, "access": REDACTED}, {"token_type": REDACTED}],
        "attempt": {"metadata": {"solution": REDACTED, "client": {"agent": "cli"}}},
        "Authorization": REDACTED,
        "passed": True,
    }


@pytest.mark.parametrize("formatter", [JsonFormatter(), ConsoleFormatter()])
def test_formatters_redact_nested_extra_fields(formatter):
    record = logging.makeLogRecord(
        {
            "msg": "login_failed",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "password": PASSWORD,
            "body": {"credentials": {"password": PASSWORD, "refresh_token": REFRESH}, "solution": SOLUTION},
            "user_id": "u1",
        }
    )
    line = formatter.format(record)
    assert "u1" in line and REDACTED in line
    for secret in (PASSWORD, REFRESH, SOLUTION):
        assert secret not in line


def _request_with_secrets():
    return RequestFactory().post(
        "/accounts/login/",
        {"username": "ada", "password": PASSWORD, "refresh_token": REFRESH, "solution": SOLUTION},
    )


def test_reporter_filter_hides_sensitive_post_parameters():
    cleansed = ExceptionReporterFilter().get_post_parameters(_request_with_secrets())
    assert cleansed["username"] == "ada"
    assert {cleansed[key] for key in ("password", "refresh_token", "solution")} == {"********************"}


def test_reporter_filter_hides_service_urls_and_secrets_in_settings(settings):
    settings.REDIS_URL = "redis://:redis-pass@cache:6379/0"
    safe = ExceptionReporterFilter().get_safe_settings()
    assert "redis-pass" not in str(safe)
    assert safe["SECRET_KEY"] == "********************"
    assert safe["SIMPLE_JWT"]["ALGORITHM"] == "HS256"


@pytest.mark.django_db
@pytest.mark.urls("skillquest.tests.urls_failing")
def test_api_500_with_a_password_in_the_body_does_not_leak_it(client, caplog, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    body = {"username": "ada", "password": PASSWORD, "refresh_token": REFRESH}
    with caplog.at_level("ERROR", logger="django.request"):
        response = client.post("/api/v1/boom-with-body", body, content_type="application/json")
    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred.", "code": "server_error"}
    assert PASSWORD not in response.content.decode()
    [record] = [r for r in caplog.records if r.exc_info]
    # What the log handlers write.
    for formatter in (JsonFormatter(), ConsoleFormatter()):
        line = formatter.format(record)
        assert "boom-with-body" in line
        assert PASSWORD not in line and REFRESH not in line
    # What an error report (admin e-mail, DEBUG page) would show: the failing frame's locals, cleansed.
    report = ExceptionReporter(record.request, *record.exc_info).get_traceback_text()
    assert "boom_with_body" in report and "data" in report
    assert PASSWORD not in report and REFRESH not in report
    # Django's stock filter would have shown them: the subclass is what hides them.
    stock = SafeExceptionReporterFilter()
    frame = record.exc_info[2]
    while frame.tb_next:
        frame = frame.tb_next
    stock_locals = dict(stock.get_traceback_frame_variables(record.request, frame.tb_frame))
    assert PASSWORD in str(stock_locals["data"])
