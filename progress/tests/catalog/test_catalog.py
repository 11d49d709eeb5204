"""The catalog as code: export, import (upsert by slug, all or nothing), the round trip, the command."""

from __future__ import annotations

import copy
import json
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command
from jsonschema import Draft202012Validator
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from progress.catalog.schema import catalog_schema
from progress.catalog.selectors import catalog_export
from progress.catalog.services import catalog_import
from progress.models import Badge, UserBadge
from skillquest.audit.models import AuditEntry


@pytest.fixture
def catalog(db):
    """A catalog with every grading type, drafts, tags, and badges of several kinds (secret, inactive)."""
    sql = Tag.objects.create(name="SQL", slug="sql")
    web = Tag.objects.create(name="Web Dev", slug="web")
    Tag.objects.create(name="Unused", slug="unused")
    rows = [
        ("Self", "self", {"type": "self_reported"}, True, [sql]),
        ("Exact", "exact", {"type": "exact", "answer": "Paris", "case_sensitive": True}, True, [web, sql]),
        ("Regex", "regex", {"type": "regex", "pattern": "[a-z]+"}, False, []),
        ("Numeric", "numeric", {"type": "numeric", "answer": 3.14, "tolerance": 0.01}, True, [web]),
    ]
    for title, slug, grading, published, tags in rows:
        challenge = Challenge.objects.create(
            title=title, slug=slug, xp=25, difficulty="medium", pass_score=70, grading=grading,
            published=published, description=f"**{title}** in Markdown. ✓",
        )  # fmt: skip
        challenge.tags.set(tags)
    Badge.objects.create(name="Rich", slug="rich", condition={"type": "xp", "threshold": 100}, icon="💰")
    Badge.objects.create(
        name="Hidden",
        slug="hidden",
        condition={"type": "challenges_completed", "count": 2, "tag": "sql"},
        secret=True,
        icon="https://example.com/hidden.png",
    )
    Badge.objects.create(name="Old", slug="old", condition={"type": "level", "level": 3}, is_active=False)
    return catalog_export()


def _empty_catalog() -> None:
    Challenge.objects.all().delete()
    Badge.objects.all().delete()
    Tag.objects.all().delete()


def test_export_holds_every_field_in_slug_order(catalog):
    assert catalog["version"] == 1
    assert [c["slug"] for c in catalog["challenges"]] == ["exact", "numeric", "regex", "self"]
    exact = catalog["challenges"][0]
    assert exact == {
        "slug": "exact", "title": "Exact", "description": "**Exact** in Markdown. ✓", "xp": 25,
        "difficulty": "medium", "pass_score": 70,
        "grading": {"type": "exact", "answer": "Paris", "case_sensitive": True},
        "published": True, "tags": ["sql", "web"],
    }  # fmt: skip
    assert [b["slug"] for b in catalog["badges"]] == ["hidden", "old", "rich"]
    assert catalog["badges"][0] == {
        "slug": "hidden", "name": "Hidden", "description": "", "icon": "https://example.com/hidden.png",
        "condition": {"type": "challenges_completed", "count": 2, "tag": "sql"}, "secret": True,
        "is_active": True,
    }  # fmt: skip
    assert [(tag["slug"], tag["name"]) for tag in catalog["tags"]] == [
        ("sql", "SQL"), ("unused", "Unused"), ("web", "Web Dev"),
    ]  # fmt: skip


def test_export_validates_against_the_published_schema(catalog):
    assert list(Draft202012Validator(catalog_schema()).iter_errors(catalog)) == []
    Draft202012Validator.check_schema(catalog_schema())


def test_export_takes_four_queries_however_many_challenges(catalog, django_assert_num_queries):
    for n in range(5):
        Challenge.objects.create(title=f"More {n}", slug=f"more-{n}", xp=5).tags.set(Tag.objects.all())
    with django_assert_num_queries(4):
        catalog_export()


def test_an_export_imported_into_an_empty_database_exports_identically(catalog):
    _empty_catalog()
    result = catalog_import(document=copy.deepcopy(catalog), actor=None, dry_run=False)
    assert result["errors"] == []
    assert (result["created"], result["updated"], result["unchanged"]) == (4 + 3 + 3, 0, 0)
    assert catalog_export() == catalog
    again = catalog_import(document=catalog, actor=None, dry_run=False)
    assert (again["created"], again["updated"], again["unchanged"], again["changes"]) == (0, 0, 10, [])


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_the_command_round_trips_through_a_file(catalog, tmp_path, file_format):
    path = tmp_path / f"catalog.{file_format}"
    call_command("catalog", "export", "--format", file_format, "--output", str(path))
    text = path.read_text()
    assert (json.loads(text) if file_format == "json" else yaml.safe_load(text)) == catalog
    _empty_catalog()
    out = StringIO()
    call_command("catalog", "import", str(path), stdout=out)
    assert "10 created, 0 updated, 0 unchanged." in out.getvalue()
    printed = StringIO()
    call_command("catalog", "export", "--format", file_format, stdout=printed)
    assert printed.getvalue() == text


def test_a_dry_run_reports_the_changes_and_writes_nothing(catalog):
    edited = copy.deepcopy(catalog)
    edited["challenges"][0]["xp"] = 40
    edited["challenges"][0]["tags"] = ["web"]
    edited["challenges"].append({"slug": "brand-new", "title": "Brand new", "xp": 5})
    edited["badges"][2]["icon"] = "🏆"
    audit_before = AuditEntry.objects.count()

    result = catalog_import(document=edited, actor=None, dry_run=True)

    assert result["dry_run"] is True and result["errors"] == []
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 2, 8)
    changes = {(change["kind"], change["slug"]): change for change in result["changes"]}
    assert changes["challenge", "exact"]["fields"] == {"xp": [25, 40], "tags": [["sql", "web"], ["web"]]}
    assert changes["challenge", "exact"]["action"] == "updated"
    assert changes["badge", "rich"]["fields"] == {"icon": ["💰", "🏆"]}
    created = changes["challenge", "brand-new"]
    assert created["action"] == "created"
    assert created["fields"]["title"] == [None, "Brand new"]
    assert created["fields"]["grading"] == [None, {"type": "self_reported"}]  # the model's defaults
    assert catalog_export() == catalog
    assert AuditEntry.objects.count() == audit_before


def test_an_applied_import_goes_through_the_services_and_is_audited(catalog, staff_user):
    edited = copy.deepcopy(catalog)
    edited["challenges"][0]["title"] = "Exact, renamed"
    edited["badges"].append(
        {"slug": "new-badge", "name": "New badge", "condition": {"type": "xp", "threshold": 5}}
    )

    result = catalog_import(document=edited, actor=staff_user, dry_run=False)

    assert (result["created"], result["updated"]) == (1, 1)
    update = AuditEntry.objects.get(action="challenge.update")
    assert update.changes == {"title": {"before": "Exact", "after": "Exact, renamed"}}
    assert update.actor == staff_user
    created = AuditEntry.objects.get(action="badge.create")
    assert created.changes["condition"] == {"before": None, "after": {"type": "xp", "threshold": 5}}
    summary = AuditEntry.objects.get(action="catalog.import")
    assert summary.actor_username == "staff"
    assert summary.changes == {
        "created": 1, "updated": 1, "unchanged": 9, "items": ["challenge:exact", "badge:new-badge"],
    }  # fmt: skip
    assert Challenge.objects.get(slug="exact").title == "Exact, renamed"


def test_a_field_an_entry_leaves_out_is_kept_on_an_existing_item(catalog):
    result = catalog_import(
        document={"version": 1, "challenges": [{"slug": "exact", "title": "Exact", "xp": 30}]},
        actor=None,
        dry_run=False,
    )
    assert result["changes"] == [
        {"kind": "challenge", "slug": "exact", "action": "updated", "fields": {"xp": [25, 30]}}
    ]
    exact = Challenge.objects.get(slug="exact")
    assert (exact.published, exact.grading["answer"], exact.xp) == (True, "Paris", 30)
    assert sorted(exact.tags.values_list("slug", flat=True)) == ["sql", "web"]
    assert Challenge.objects.count() == 4  # nothing the file leaves out is deleted


def test_a_challenge_with_attempts_can_be_updated(catalog, user):
    exact = Challenge.objects.get(slug="exact")
    baker.make(Attempt, user=user, challenge=exact, status=Attempt.Status.PASSED, score=100, xp_awarded=25)
    result = catalog_import(
        document={
            "version": 1,
            "challenges": [{"slug": "exact", "title": "Exact", "xp": 25, "published": False}],
        },
        actor=None,
        dry_run=False,
    )
    assert result["updated"] == 1
    assert Challenge.objects.get(slug="exact").published is False


def _errors(document) -> list[dict[str, str]]:
    result = catalog_import(document=document, actor=None, dry_run=False)
    assert (result["created"], result["updated"], result["unchanged"], result["changes"]) == (0, 0, 0, [])
    return result["errors"]


def test_schema_errors_name_their_json_path(catalog):
    edited = copy.deepcopy(catalog)
    edited["challenges"][3]["xp"] = 0
    edited["challenges"][1]["difficulty"] = "impossible"
    edited["badges"][0]["surprise"] = True
    assert _errors(edited) == [
        {"path": "badges[0]", "message": "Additional properties are not allowed ('surprise' was unexpected)"},
        {
            "path": "challenges[1].difficulty",
            "message": "'impossible' is not one of ['easy', 'medium', 'hard']",
        },
        {"path": "challenges[3].xp", "message": "0 is less than the minimum of 1"},
    ]
    assert catalog_export() == catalog


@pytest.mark.parametrize(
    "document, path",
    [
        ([], "$"),
        ({"challenges": []}, "$"),
        ({"version": 2}, "version"),
        ({"version": 1, "challenges": [{"slug": "has space", "title": "T", "xp": 1}]}, "challenges[0].slug"),
        (
            {
                "version": 1,
                "challenges": [{"slug": "s", "title": "T", "xp": 1, "grading": {"type": "exact"}}],
            },
            "challenges[0].grading",
        ),
        (
            {
                "version": 1,
                "challenges": [
                    {
                        "slug": "s",
                        "title": "T",
                        "xp": 1,
                        "grading": {"type": "regex", "pattern": "a", "answer": "b"},
                    }
                ],
            },
            "challenges[0].grading",
        ),
        (
            {"version": 1, "badges": [{"slug": "b", "name": "B", "condition": {"type": "nope"}}]},
            "badges[0].condition.type",
        ),
        (
            {"version": 1, "badges": [{"slug": "b", "name": "B", "condition": {"type": "xp", "count": 1}}]},
            "badges[0].condition",
        ),
        ({"version": 1, "tags": [{"slug": "t", "name": "a\x00b"}]}, "tags[0].name"),
        (
            {
                "version": 1,
                "challenges": [
                    {"slug": "s", "title": "T", "xp": 1, "grading": {"type": "exact", "answer": "\x00"}}
                ],
            },
            "challenges[0].grading.answer",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_the_path_of_the_error(db, document, path):
    errors = _errors(document)
    assert path in [error["path"] for error in errors], errors


def test_rules_beyond_the_schema_are_the_services_and_models_rules(catalog):
    edited = copy.deepcopy(catalog)
    edited["challenges"][0]["grading"] = {"type": "regex", "pattern": "(a|aa)+"}
    edited["challenges"][1]["tags"] = ["web", "no-such-tag"]
    edited["challenges"][2]["slug"] = edited["challenges"][3]["slug"]
    edited["badges"][0]["condition"] = {"type": "xp", "threshold": -1}
    edited["badges"][1]["name"] = edited["badges"][2]["name"]
    edited["badges"][2]["icon"] = "not an emoji"
    edited["tags"][0]["name"] = "web dev"  # the tag "web" is called "Web Dev"
    errors = {error["path"]: error["message"] for error in _errors(edited)}

    assert "catastrophic backtracking" in errors["challenges[0].grading"]
    assert errors["challenges[1].tags[1]"] == "No tag 'no-such-tag': add it under `tags`."
    assert errors["challenges[3].slug"] == "Also given at challenges[2]."
    assert errors["badges[0].condition"] == "'threshold' must be a positive number."
    assert errors["badges[2].name"] == "Also given at badges[1]."
    assert errors["badges[2].icon"] == "The icon must be an emoji or an http(s) URL."
    assert errors["tags[2].name"] == "Also given at tags[0]."
    assert catalog_export() == catalog


def test_a_badge_name_another_badge_keeps_is_an_error(catalog):
    document = {
        "version": 1,
        "badges": [{"slug": "copy", "name": "Rich", "condition": {"type": "xp", "threshold": 1}}],
    }
    assert _errors(document) == [{"path": "badges[0].name", "message": "The badge 'rich' has this name."}]


def test_one_error_applies_nothing_even_after_valid_items(catalog):
    edited = copy.deepcopy(catalog)
    edited["challenges"][0]["title"] = "Would change"
    edited["challenges"].append({"slug": "would-be-new", "title": "New", "xp": 5})
    edited["badges"][2]["condition"] = {"type": "xp", "threshold": 0}
    assert [error["path"] for error in _errors(edited)] == ["badges[2].condition"]
    assert catalog_export() == catalog
    assert not AuditEntry.objects.exists()


def test_the_command_lists_every_error_and_exits_non_zero(catalog, tmp_path):
    edited = copy.deepcopy(catalog)
    edited["challenges"][3]["xp"] = "lots"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(edited))
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("catalog", "import", str(path), stderr=err)
    assert "challenges[3].xp: 'lots' is not of type 'integer'" in err.getvalue()


def test_the_command_refuses_a_file_it_cannot_read(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("catalog", "import", str(tmp_path / "missing.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [1\n")
    with pytest.raises(CommandError, match="neither JSON nor YAML"):
        call_command("catalog", "import", str(broken))


def test_players_keep_badges_whose_condition_an_import_makes_harder(catalog, user):
    UserBadge.objects.create(user=user, badge=Badge.objects.get(slug="rich"))
    edited = copy.deepcopy(catalog)
    edited["badges"][2]["condition"] = {"type": "xp", "threshold": 100_000}
    assert catalog_import(document=edited, actor=None, dry_run=False)["updated"] == 1
    assert UserBadge.objects.filter(user=user, badge__slug="rich").exists()
    assert User.objects.count() == 1


def test_the_command_refuses_yaml_aliases_and_deep_nesting(db, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n')
    with pytest.raises(CommandError, match="aliases are not allowed"):
        call_command("catalog", "import", str(bomb))
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(CommandError):
        call_command("catalog", "import", str(deep))
