"""GET/POST/PUT/PATCH/DELETE /api/v1/challenges: visibility, filters, staff writes and their errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from challenges.models import Attempt, Challenge, Tag
from challenges.tests.helpers import CHALLENGES, make_challenge

pytestmark = pytest.mark.django_db

SECRET_ANSWER = "Zanzibar-secret-answer"


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def tags():
    return {slug: baker.make(Tag, name=slug.capitalize(), slug=slug) for slug in ("python", "sql", "math")}


@pytest.fixture
def catalogue(tags):
    now = timezone.now()
    rows = [
        ("Alpha", "hard", 300, ["python"], "Recursion in depth"),
        ("Bravo", "easy", 10, ["sql"], "Select star"),
        ("Charlie", "medium", 50, ["python", "sql"], "Join a list"),
        ("Delta", "easy", 20, [], "Nothing to see"),
    ]
    made = {}
    for age, (title, difficulty, xp, tag_slugs, description) in enumerate(rows):
        challenge = make_challenge(title=title, difficulty=difficulty, xp=xp, description=description)
        challenge.tags.set([tags[slug] for slug in tag_slugs])
        Challenge.objects.filter(pk=challenge.pk).update(created_at=now - timedelta(days=age))
        made[title] = challenge
    made["Draft"] = make_challenge(title="Draft", published=False)
    return made


class TestList:
    def test_anonymous_can_read_published_challenges_only(self, api_client, catalogue):
        response = api_client.get(CHALLENGES)
        assert titles(response) == ["Bravo", "Delta", "Charlie", "Alpha"]  # easy < medium < hard, then title
        assert response.json()["count"] == 4

    def test_players_do_not_see_drafts(self, auth_client, catalogue):
        assert "Draft" not in titles(auth_client.get(CHALLENGES))

    def test_staff_see_drafts(self, staff_client, catalogue):
        assert "Draft" in titles(staff_client.get(CHALLENGES))

    def test_row_shape_for_players(self, api_client, catalogue):
        row = next(r for r in api_client.get(CHALLENGES).json()["results"] if r["title"] == "Charlie")
        assert set(row) == {
            "id", "title", "slug", "description", "xp", "difficulty", "tags", "pass_score",
            "grading_type", "published", "created_at", "updated_at",
        }  # fmt: skip
        assert row["tags"] == [{"name": "Python", "slug": "python"}, {"name": "Sql", "slug": "sql"}]
        assert row["grading_type"] == "self_reported"

    def test_filter_by_difficulty(self, api_client, catalogue):
        assert titles(api_client.get(CHALLENGES, {"difficulty": "easy"})) == ["Bravo", "Delta"]

    def test_unknown_difficulty_is_400(self, api_client, catalogue):
        response = api_client.get(CHALLENGES, {"difficulty": "legendary"})
        assert response.status_code == 400
        assert "difficulty" in response.json()

    def test_filter_by_one_tag(self, api_client, catalogue):
        assert titles(api_client.get(CHALLENGES, {"tag": "python"})) == ["Charlie", "Alpha"]

    def test_repeated_tag_matches_any_without_duplicates(self, api_client, catalogue):
        response = api_client.get(f"{CHALLENGES}?tag=python&tag=sql")
        assert titles(response) == ["Bravo", "Charlie", "Alpha"]
        assert response.json()["count"] == 3

    def test_unknown_tag_matches_nothing(self, api_client, catalogue):
        assert titles(api_client.get(CHALLENGES, {"tag": "cobol"})) == []

    def test_search_matches_title_or_description_case_insensitively(self, api_client, catalogue):
        assert titles(api_client.get(CHALLENGES, {"search": "JOIN"})) == ["Charlie"]
        assert titles(api_client.get(CHALLENGES, {"search": "alp"})) == ["Alpha"]

    def test_search_does_not_reveal_drafts(self, api_client, catalogue):
        assert titles(api_client.get(CHALLENGES, {"search": "Draft"})) == []

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            ("xp", ["Bravo", "Delta", "Charlie", "Alpha"]),
            ("-xp", ["Alpha", "Charlie", "Delta", "Bravo"]),
            ("created_at", ["Delta", "Charlie", "Bravo", "Alpha"]),
            ("-created_at", ["Alpha", "Bravo", "Charlie", "Delta"]),
            ("-difficulty", ["Alpha", "Charlie"]),
        ],
    )
    def test_ordering(self, api_client, catalogue, ordering, expected):
        result = titles(api_client.get(CHALLENGES, {"ordering": ordering}))
        assert result[: len(expected)] == expected

    def test_ordering_by_difficulty_is_easy_medium_hard(self, api_client, catalogue):
        rows = api_client.get(CHALLENGES, {"ordering": "difficulty"}).json()["results"]
        assert [row["difficulty"] for row in rows] == ["easy", "easy", "medium", "hard"]

    def test_unknown_ordering_is_400(self, api_client, catalogue):
        assert api_client.get(CHALLENGES, {"ordering": "grading"}).status_code == 400

    def test_page_number_pagination(self, api_client):
        for n in range(25):
            make_challenge(title=f"Item {n:02d}")
        first = api_client.get(CHALLENGES).json()
        assert first["count"] == 25
        assert len(first["results"]) == 20
        assert first["next"] is not None and first["previous"] is None
        second = api_client.get(CHALLENGES, {"page": 2}).json()
        assert [r["title"] for r in second["results"]] == [f"Item {n:02d}" for n in range(20, 25)]
        assert second["next"] is None
        assert len(api_client.get(CHALLENGES, {"page_size": 5}).json()["results"]) == 5

    def test_page_past_the_end_is_404(self, api_client, catalogue):
        assert api_client.get(CHALLENGES, {"page": 99}).status_code == 404

    @pytest.mark.parametrize("client_name", ["api_client", "auth_client", "staff_client"])
    def test_list_query_count_does_not_grow_with_rows_or_tags(
        self, request, client_name, tags, django_assert_num_queries
    ):
        client = request.getfixturevalue(client_name)
        for n in range(15):
            challenge = make_challenge(title=f"Many {n}")
            challenge.tags.set(tags.values())
        # count, page of challenges, their tags (one prefetch)
        with django_assert_num_queries(3):
            assert len(titles(client.get(CHALLENGES))) == 15
        with django_assert_num_queries(3):
            assert len(titles(client.get(f"{CHALLENGES}?tag=python&tag=sql&ordering=-xp"))) == 15


class TestDetail:
    def test_published_challenge_is_readable_by_anyone(self, api_client, catalogue):
        response = api_client.get(f"{CHALLENGES}/{catalogue['Alpha'].pk}")
        assert response.status_code == 200
        assert response.json()["title"] == "Alpha"
        assert response.json()["id"] == str(catalogue["Alpha"].pk)

    def test_unpublished_challenge_is_404_for_players(self, api_client, auth_client, catalogue):
        url = f"{CHALLENGES}/{catalogue['Draft'].pk}"
        assert api_client.get(url).status_code == 404
        response = auth_client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    def test_unpublished_challenge_is_visible_to_staff(self, staff_client, catalogue):
        assert staff_client.get(f"{CHALLENGES}/{catalogue['Draft'].pk}").status_code == 200

    @pytest.mark.parametrize("challenge_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    def test_malformed_or_unknown_id_is_404(self, api_client, challenge_id):
        assert api_client.get(f"{CHALLENGES}/{challenge_id}").status_code == 404


class TestAnswersStayHidden:
    @pytest.fixture
    def secret_challenges(self):
        return [
            make_challenge(grading={"type": "exact", "answer": SECRET_ANSWER}),
            make_challenge(grading={"type": "regex", "pattern": f"{SECRET_ANSWER}.*"}),
            make_challenge(grading={"type": "numeric", "answer": 271828.5, "tolerance": 0.25}),
        ]

    @pytest.mark.parametrize("client_name", ["api_client", "auth_client"])
    def test_players_never_see_the_grading_config(self, request, client_name, secret_challenges):
        client = request.getfixturevalue(client_name)
        responses = [client.get(CHALLENGES)] + [client.get(f"{CHALLENGES}/{c.pk}") for c in secret_challenges]
        for response in responses:
            assert response.status_code == 200
            body = response.content.decode()
            assert SECRET_ANSWER not in body
            assert "271828" not in body
            assert '"grading"' not in body
        types = {row["grading_type"] for row in responses[0].json()["results"]}
        assert types == {"exact", "regex", "numeric"}

    def test_staff_see_the_grading_config(self, staff_client, secret_challenges):
        response = staff_client.get(f"{CHALLENGES}/{secret_challenges[0].pk}")
        assert response.json()["grading"] == {"type": "exact", "answer": SECRET_ANSWER}


def valid_body(**overrides):
    return {
        "title": "Write a parser",
        "description": "Parse *all* the things.",
        "xp": 120,
        "difficulty": "medium",
        "tags": ["python"],
        "pass_score": 70,
        "grading": {"type": "exact", "answer": "42"},
        "published": True,
        **overrides,
    }


class TestStaffWrites:
    def test_create_returns_201_with_slug_and_creator(self, staff_client, staff_user, tags):
        response = staff_client.post(CHALLENGES, valid_body(), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["slug"] == "write-a-parser"
        assert body["tags"] == ["python"]
        assert body["grading_type"] == "exact"
        challenge = Challenge.objects.get(pk=body["id"])
        assert challenge.created_by == staff_user
        assert challenge.grading == {"type": "exact", "answer": "42"}
        assert list(challenge.tags.values_list("slug", flat=True)) == ["python"]

    def test_create_defaults_to_self_reported_unpublished(self, staff_client, tags):
        body = {"title": "Minimal", "xp": 5}
        response = staff_client.post(CHALLENGES, body, format="json")
        assert response.status_code == 201, response.content
        challenge = Challenge.objects.get(pk=response.json()["id"])
        assert challenge.grading == {"type": "self_reported"}
        assert (challenge.published, challenge.pass_score, challenge.difficulty) == (False, 50, "easy")

    def test_same_title_gets_a_distinct_slug(self, staff_client, tags):
        first = staff_client.post(CHALLENGES, valid_body(), format="json").json()
        second = staff_client.post(CHALLENGES, valid_body(), format="json").json()
        assert first["slug"] != second["slug"]

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"grading": {"type": "essay"}}, "grading"),
            ({"grading": {"type": "regex", "pattern": "(unclosed"}}, "grading"),
            ({"grading": {"type": "regex", "pattern": "(a|aa)+$"}}, "grading"),
            ({"grading": {"type": "exact"}}, "grading"),
            ({"grading": {"type": "numeric", "answer": "3"}}, "grading"),
            ({"grading": {"type": "self_reported", "answer": "x"}}, "grading"),
            ({"grading": "exact"}, "grading"),
            ({"xp": 0}, "xp"),
            ({"xp": 100_001}, "xp"),
            ({"xp": "lots"}, "xp"),
            ({"pass_score": 101}, "pass_score"),
            ({"pass_score": -1}, "pass_score"),
            ({"difficulty": "legendary"}, "difficulty"),
            ({"tags": ["no-such-tag"]}, "tags"),
            ({"title": ""}, "title"),
        ],
    )
    def test_invalid_create_is_400_on_the_field(self, staff_client, tags, overrides, field):
        response = staff_client.post(CHALLENGES, valid_body(**overrides), format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()
        assert not Challenge.objects.exists()

    def test_nan_numeric_answer_in_raw_json_is_400(self, staff_client, tags):
        raw = '{"title": "Pi", "xp": 10, "grading": {"type": "numeric", "answer": NaN}}'
        response = staff_client.post(CHALLENGES, raw, content_type="application/json")
        assert response.status_code == 400
        assert not Challenge.objects.exists()

    def test_duplicate_slug_is_400(self, staff_client, catalogue):
        response = staff_client.post(CHALLENGES, valid_body(slug=catalogue["Alpha"].slug), format="json")
        assert response.status_code == 400
        assert "slug" in response.json()

    def test_put_replaces_the_challenge(self, staff_client, catalogue, tags):
        challenge = catalogue["Alpha"]
        response = staff_client.put(f"{CHALLENGES}/{challenge.pk}", valid_body(tags=["sql"]), format="json")
        assert response.status_code == 200, response.content
        challenge.refresh_from_db()
        assert (challenge.title, challenge.xp, challenge.pass_score) == ("Write a parser", 120, 70)
        assert challenge.grading == {"type": "exact", "answer": "42"}
        assert list(challenge.tags.values_list("slug", flat=True)) == ["sql"]

    def test_patch_changes_only_given_fields(self, staff_client, catalogue):
        challenge = catalogue["Charlie"]
        response = staff_client.patch(f"{CHALLENGES}/{challenge.pk}", {"xp": 75}, format="json")
        assert response.status_code == 200, response.content
        challenge.refresh_from_db()
        assert (challenge.xp, challenge.title) == (75, "Charlie")
        assert set(challenge.tags.values_list("slug", flat=True)) == {"python", "sql"}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"grading": {"type": "regex", "pattern": "["}}, "grading"),
            ({"xp": 100_001}, "xp"),
            ({"pass_score": 150}, "pass_score"),
        ],
    )
    def test_invalid_patch_is_400_and_changes_nothing(self, staff_client, catalogue, body, field):
        challenge = catalogue["Charlie"]
        response = staff_client.patch(f"{CHALLENGES}/{challenge.pk}", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        fresh = Challenge.objects.get(pk=challenge.pk)
        assert (fresh.xp, fresh.pass_score, fresh.grading) == (50, 50, {"type": "self_reported"})

    def test_staff_can_unpublish_with_patch(self, staff_client, api_client, catalogue):
        challenge = catalogue["Alpha"]
        response = staff_client.patch(f"{CHALLENGES}/{challenge.pk}", {"published": False}, format="json")
        assert response.status_code == 200
        assert api_client.get(f"{CHALLENGES}/{challenge.pk}").status_code == 404

    def test_delete_without_attempts_is_204(self, staff_client, catalogue):
        challenge = catalogue["Delta"]
        assert staff_client.delete(f"{CHALLENGES}/{challenge.pk}").status_code == 204
        assert not Challenge.objects.filter(pk=challenge.pk).exists()

    def test_delete_with_attempts_is_409_and_deletes_nothing(self, staff_client, user, catalogue):
        challenge = catalogue["Delta"]
        attempt = baker.make(
            Attempt, user=user, challenge=challenge, status="passed", score=90, xp_awarded=18
        )
        response = staff_client.delete(f"{CHALLENGES}/{challenge.pk}")
        assert response.status_code == 409
        assert response.json() == {
            "detail": "This challenge has attempts and cannot be deleted; unpublish it instead.",
            "code": "challenge_has_attempts",
        }
        assert Challenge.objects.filter(pk=challenge.pk).exists()
        assert Attempt.objects.get(pk=attempt.pk).xp_awarded == 18

    def test_delete_unknown_is_404(self, staff_client):
        assert staff_client.delete(f"{CHALLENGES}/00000000-0000-0000-0000-000000000000").status_code == 404


class TestWritePermissions:
    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_anonymous_writes_are_401(self, api_client, catalogue, tags, method):
        url = CHALLENGES if method == "post" else f"{CHALLENGES}/{catalogue['Alpha'].pk}"
        response = getattr(api_client, method)(url, valid_body(), format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert Challenge.objects.count() == 5
        assert Challenge.objects.get(pk=catalogue["Alpha"].pk).title == "Alpha"

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_player_writes_are_403(self, auth_client, catalogue, tags, method):
        url = CHALLENGES if method == "post" else f"{CHALLENGES}/{catalogue['Alpha'].pk}"
        response = getattr(auth_client, method)(url, valid_body(), format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert Challenge.objects.count() == 5
        assert Challenge.objects.get(pk=catalogue["Alpha"].pk).title == "Alpha"
