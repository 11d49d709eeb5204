from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "skillquest.postman_collection.json"


def load_script():
    spec = importlib.util.spec_from_file_location(
        "postman_from_openapi", ROOT / "scripts" / "postman_from_openapi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def operations(collection: dict) -> set[tuple[str, str]]:
    return {
        (item["request"]["method"], item["request"]["url"]["raw"])
        for folder in collection["item"]
        for item in folder["item"]
    }


def test_committed_collection_has_every_operation_of_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    fresh = load_script().build_collection(schema)
    committed = json.loads(COMMITTED.read_text())
    assert operations(committed) == operations(fresh), (
        "docs/skillquest.postman_collection.json is stale: run scripts/postman_from_openapi.py"
    )
    expected = {
        (method.upper(), path.rstrip("/"))
        for path, ops in schema["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }
    as_paths = {
        (method, re.sub(r"/:(\w+)", r"/{\1}", raw.replace("{{baseUrl}}", "")))
        for method, raw in operations(fresh)
    }
    assert as_paths == expected


def test_login_stores_the_token_and_other_requests_use_it():
    committed = json.loads(COMMITTED.read_text())
    assert committed["auth"]["bearer"][0]["value"] == "{{accessToken}}"
    items = {item["name"]: item for folder in committed["item"] for item in folder["item"]}
    login = next(item for name, item in items.items() if name.startswith("POST /api/v1/auth/login"))
    assert "accessToken" in "\n".join(login["event"][0]["script"]["exec"])
    submit = next(item for name, item in items.items() if name.endswith("/submit/"))
    assert "score" in json.loads(submit["request"]["body"]["raw"])
