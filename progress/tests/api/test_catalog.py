"""`/api/v1/admin/catalog`: export, import and the schema, for staff only."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from challenges.models import Challenge, Tag
from progress.models import Badge
from skillquest.audit.models import AuditEntry

CATALOG = "/api/v1/admin/catalog"


@pytest.fixture
def stocked(db):
    tag = Tag.objects.create(name="SQL", slug="sql")
    Challenge.objects.create(
        title="Join", slug="join", xp=30, grading={"type": "exact", "answer": "INNER"}
    ).tags.set([tag])
    Badge.objects.create(name="Rich", slug="rich", condition={"type": "xp", "threshold": 100})


@pytest.mark.parametrize("method, path", [("get", "export"), ("post", "import"), ("get", "schema")])
def test_anonymous_is_401_and_a_player_403(api_client, auth_client, method, path):
    assert getattr(api_client, method)(f"{CATALOG}/{path}").status_code == 401
    response = getattr(auth_client, method)(f"{CATALOG}/{path}")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_staff_export_includes_drafts_and_answers(staff_client, stocked):
    response = staff_client.get(f"{CATALOG}/export")
    assert response.status_code == 200
    body = response.json()
    assert body["challenges"][0]["grading"] == {"type": "exact", "answer": "INNER"}
    assert body["challenges"][0]["published"] is False
    assert body["tags"] == [{"slug": "sql", "name": "SQL"}]


def test_the_schema_is_published_and_the_export_meets_it(staff_client, stocked):
    schema = staff_client.get(f"{CATALOG}/schema").json()
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(staff_client.get(f"{CATALOG}/export").json())) == []


def test_a_dry_run_import_answers_the_changes_and_writes_nothing(staff_client, stocked):
    catalog = staff_client.get(f"{CATALOG}/export").json()
    catalog["challenges"][0]["xp"] = 35
    response = staff_client.post(f"{CATALOG}/import?dry_run=true", catalog, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "dry_run": True, "created": 0, "updated": 1, "unchanged": 2,
        "changes": [{"kind": "challenge", "slug": "join", "action": "updated", "fields": {"xp": [30, 35]}}],
        "errors": [],
    }  # fmt: skip
    assert Challenge.objects.get(slug="join").xp == 30


def test_an_import_applies_and_is_audited_as_the_staff_member(staff_client, staff_user, stocked):
    catalog = staff_client.get(f"{CATALOG}/export").json()
    catalog["challenges"].append({"slug": "new", "title": "New", "xp": 5, "tags": ["sql"]})
    response = staff_client.post(f"{CATALOG}/import?dry_run=false", catalog, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    new = Challenge.objects.get(slug="new")
    assert new.created_by == staff_user
    assert list(new.tags.values_list("slug", flat=True)) == ["sql"]
    assert AuditEntry.objects.filter(action="catalog.import", actor=staff_user).count() == 1
    assert AuditEntry.objects.filter(action="challenge.create", target_id=str(new.pk)).count() == 1


def test_an_invalid_catalog_is_400_with_every_error_and_nothing_applied(staff_client, stocked):
    catalog = staff_client.get(f"{CATALOG}/export").json()
    catalog["challenges"][0]["title"] = "Changed"
    catalog["challenges"].append({"slug": "a", "title": "A", "xp": 5})
    catalog["challenges"].append({"slug": "b", "title": "B", "xp": 5})
    catalog["challenges"].append({"slug": "c", "title": "C", "xp": -5})
    response = staff_client.post(f"{CATALOG}/import", catalog, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "catalog_invalid"
    assert body["errors"] == [{"path": "challenges[3].xp", "message": "-5 is less than the minimum of 1"}]
    assert (body["created"], body["updated"], body["changes"]) == (0, 0, [])
    assert Challenge.objects.get(slug="join").title == "Join"
    assert not Challenge.objects.filter(slug="a").exists()


@pytest.mark.parametrize("body", [[1, 2], "text", {"version": 1, "challenges": "many"}])
def test_a_body_that_is_not_a_catalog_is_400(staff_client, db, body):
    response = staff_client.post(f"{CATALOG}/import", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_dry_run_that_is_not_a_boolean_is_400(staff_client, db):
    response = staff_client.post(f"{CATALOG}/import?dry_run=maybe", {"version": 1}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["errors"]) == (
        "invalid",
        [{"path": "?dry_run", "message": "Must be a valid boolean."}],
    )


def test_a_document_nested_past_the_limit_is_a_400_not_a_crash(staff_client, stocked):
    def post(levels: int):
        body = '{"version": 1, "challenges": [{"slug": "deep", "title": "Deep", "xp": 5, "grading": '
        body += "[" * levels + "]" * levels + "}]}"
        return staff_client.post(f"{CATALOG}/import", body, content_type="application/json")

    # 700 levels parse, and exhausted the recursive walk this check used to be (Python's stack).
    response = post(700)
    assert response.status_code == 400
    assert response.json()["code"] == "catalog_invalid"
    assert any("Nested deeper than" in error["message"] for error in response.json()["errors"])
    # Deeper still, the JSON parser itself refuses the body.
    assert post(5000).json()["code"] == "parse_error"
    assert not Challenge.objects.filter(slug="deep").exists()
