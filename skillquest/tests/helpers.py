"""Assertions shared by the apps' tests (shared fixtures are in the root conftest.py)."""

from __future__ import annotations


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1
