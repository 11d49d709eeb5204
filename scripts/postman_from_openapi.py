#!/usr/bin/env python3
"""Write docs/skillquest.postman_collection.json (Postman v2.1) from SkillQuest's OpenAPI schema.

    .venv/bin/python scripts/postman_from_openapi.py          # regenerate after changing the API

One folder per tag, one request per operation, `{{baseUrl}}` and `{{accessToken}}` collection
variables; the login request stores the access token for the requests after it.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "skillquest.postman_collection.json"
METHODS = ("get", "post", "put", "patch", "delete")
SAVE_TOKEN = [
    "if (pm.response.code === 200) {",
    '    pm.collectionVariables.set("accessToken", pm.response.json().access_token);',
    '    pm.collectionVariables.set("refreshToken", pm.response.json().refresh_token);',
    "}",
]


def openapi_schema() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillquest.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _example(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[1]], components, depth)
    if "example" in schema:
        return schema["example"]
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            return _example(schema[combined][0], components, depth)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        return {
            name: _example(prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
            if not prop.get("readOnly")
        }
    if kind == "array":
        return [_example(schema.get("items", {}), components, depth + 1)]
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": 0, "number": 0, "boolean": False}.get(kind, "")


def _request(path: str, method: str, operation: dict[str, Any], components: dict[str, Any]) -> dict:
    segments = [f":{part[1:-1]}" if part.startswith("{") else part for part in path.strip("/").split("/")]
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}/" + "/".join(segments),
        "host": ["{{baseUrl}}"],
        "path": segments,
    }
    params = [p for p in operation.get("parameters", []) if p.get("in") in {"path", "query"}]
    if variables := [{"key": p["name"], "value": ""} for p in params if p["in"] == "path"]:
        url["variable"] = variables
    if query := [{"key": p["name"], "value": "", "disabled": True} for p in params if p["in"] == "query"]:
        url["query"] = query
    request: dict[str, Any] = {"method": method.upper(), "header": [], "url": url}
    if operation.get("description"):
        request["description"] = operation["description"]
    security = operation.get("security", [])
    if security and all(not scheme for scheme in security):
        request["auth"] = {"type": "noauth"}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = _example(content["application/json"]["schema"], components)
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2)}
    item: dict[str, Any] = {"name": f"{method.upper()} {path}", "request": request}
    if path.rstrip("/").endswith("/auth/login") and method == "post":
        item["event"] = [{"listen": "test", "script": {"type": "text/javascript", "exec": SAVE_TOKEN}}]
    return item


def build_collection(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.get("components", {}).get("schemas", {})
    folders: dict[str, list[dict]] = {}
    for path, operations in sorted(schema["paths"].items()):
        for method in METHODS:
            if method in operations:
                operation = operations[method]
                tag = (operation.get("tags") or ["other"])[0]
                folders.setdefault(tag, []).append(_request(path, method, operation, components))
    info = schema["info"]
    return {
        "info": {
            # Stable id: re-importing replaces the collection instead of adding a copy.
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "skillquest-postman-collection")),
            "name": info["title"],
            "description": f"{info.get('description', '')} Generated from the OpenAPI schema "
            "by scripts/postman_from_openapi.py; do not edit by hand.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{accessToken}}", "type": "string"}],
        },
        "variable": [
            {"key": "baseUrl", "value": "http://127.0.0.1:8000"},
            {"key": "accessToken", "value": ""},
            {"key": "refreshToken", "value": ""},
        ],
        "item": [{"name": tag, "item": items} for tag, items in sorted(folders.items())],
    }


def render(collection: dict[str, Any]) -> str:
    return json.dumps(collection, indent=2, sort_keys=False) + "\n"


def main() -> None:
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(render(build_collection(openapi_schema())))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
