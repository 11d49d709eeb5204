"""Shared test fixtures: real PostgreSQL (pytest-django) and real Redis (a dedicated database index)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from model_bakery import baker
from rest_framework.test import APIClient

from skillquest.redis_client import redis_connection


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups (plugins added late run first)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `serial` go to one xdist group, so one worker runs them one after another.

    They bind fixed ports (two at once would collide) or start servers and workers whose start-up
    waits are sized for a machine that is not also running two of them. Without xdist it changes
    nothing.
    """
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(pytest.mark.xdist_group("serial"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """On an xdist worker, fail loudly if the `serial` group did not reach the scheduler.

    xdist passes a group to its scheduler as an `@group` suffix of the node id; a pytest that ignores
    the suffix (9.2, pytest-xdist#1386) would spread the serial tests over both workers unnoticed.
    """
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist workers only
        return
    lost = [
        item.nodeid for item in session.items if item.get_closest_marker("serial") and "@" not in item.nodeid
    ]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup lost the `serial` group of {lost[:3]} (pytest-xdist#1386)")


@pytest.fixture(autouse=True)
def _clean_redis(settings):
    """Each test starts with an empty Redis database (tests use their own index, see pyproject.toml)."""
    if settings.REDIS_URL:
        connection = redis_connection()
        connection.flushdb()
        yield
        connection.flushdb()
    else:
        yield


@pytest.fixture
def rates(settings):
    """Set some throttle rates for one test (the suite's defaults are deliberately huge)."""
    cache.clear()

    def set_rates(**overrides):
        framework = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **framework,
            "DEFAULT_THROTTLE_RATES": {**framework["DEFAULT_THROTTLE_RATES"], **overrides},
        }

    yield set_rates
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def password() -> str:
    return "Correct-Horse-42-battery"


@pytest.fixture
def user(db, password):
    account = baker.make("accounts.User", username="alice", email="alice@example.com")
    account.set_password(password)
    account.save()
    return account


@pytest.fixture
def other_user(db, password):
    account = baker.make("accounts.User", username="bob", email="bob@example.com")
    account.set_password(password)
    account.save()
    return account


@pytest.fixture
def staff_user(db, password):
    account = baker.make("accounts.User", username="staff", email="staff@example.com", is_staff=True)
    account.set_password(password)
    account.save()
    return account


@pytest.fixture
def auth_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client
