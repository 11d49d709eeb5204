"""Assertions shared by the apps' tests (shared fixtures are in the root conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def settings_in_a_fresh_process(env: dict[str, str], expression: str) -> Any:
    """`expression` (over the settings, named `s`) as a new interpreter with `env` reads it, via JSON.

    Settings are read once at import, so how they follow the environment is seen only in a new process.
    """
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({expression}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "skillquest.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)
