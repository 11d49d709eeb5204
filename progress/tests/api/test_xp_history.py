"""GET /api/v1/users/{id}/xp-history: every change of a player's XP, newest first, with why."""

from __future__ import annotations

import pytest
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.api.serializers import XpHistoryEntrySerializer, xp_history_entry_data
from progress.awards import services as award_services
from progress.ledger.selectors import xp_history_page
from progress.ledger.services import xp_grant

pytestmark = pytest.mark.django_db


def _history(client, user, **params):
    return client.get(f"/api/v1/users/{user.pk}/xp-history", params)


@pytest.fixture
def history(user, staff_user):
    challenge = baker.make(Challenge, title="Regex golf", xp=200, pass_score=50, published=True)
    for score in (75, 95):
        attempt = Attempt.objects.create(
            user=user, challenge=challenge, score=score, status=Attempt.Status.PASSED
        )
        award_services.awards_process(attempt_ids=[attempt.pk])
    xp_grant(user_id=user.pk, amount=-10, reason="Late submission penalty", actor=staff_user)
    return challenge


def test_the_history_is_newest_first_with_reasons_and_explanations(api_client, user, history):
    response = _history(api_client, user)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    revoke, improvement, first = body["results"]
    assert (revoke["kind"], revoke["amount"], revoke["reason"], revoke["challenge"]) == (
        "revoke",
        -10,
        "Late submission penalty",
        None,
    )
    assert "actor_id" not in revoke  # who on the staff did it is not the public's business
    assert improvement["amount"] == 40
    assert improvement["challenge"] == {"id": str(history.pk), "title": "Regex golf"}
    assert improvement["explanation"] == {
        "challenge_xp": 200,
        "score": 95,
        "earned": 190,
        "previous_best": 150,
        "paid": 40,
    }
    assert first["amount"] == 150
    assert sum(entry["amount"] for entry in body["results"]) == User.objects.get(pk=user.pk).total_xp


def test_the_history_is_paginated(api_client, user, history):
    body = _history(api_client, user, page_size=2).json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"] is not None
    assert len(_history(api_client, user, page_size=2, page=2).json()["results"]) == 1


def test_a_player_without_entries_has_an_empty_history(api_client, other_user):
    assert _history(api_client, other_user).json()["results"] == []


def test_an_unknown_inactive_or_malformed_player_is_404(api_client, user):
    assert api_client.get("/api/v1/users/00000000-0000-4000-8000-000000000000/xp-history").status_code == 404
    assert api_client.get("/api/v1/users/nope/xp-history").status_code == 404
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert _history(api_client, user).status_code == 404


def test_a_page_out_of_range_or_not_a_page_is_404(api_client, user, history):
    for page in (99, 0, -1, "abc", "1.5", 10**30):
        response = _history(api_client, user, page=page)
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), page


def test_pages_walk_the_whole_history_and_last_names_the_last_page(api_client, user, history):
    first = _history(api_client, user, page_size=2).json()
    second = api_client.get(first["next"]).json()
    assert (first["previous"], second["next"]) == (None, None)
    assert second["previous"] is not None
    walked = [entry["id"] for entry in first["results"] + second["results"]]
    everything = [entry["id"] for entry in _history(api_client, user).json()["results"]]
    assert walked == everything and len(set(everything)) == 3
    last = _history(api_client, user, page_size=2, page="last").json()
    assert (last["count"], last["results"]) == (3, second["results"])


def test_an_empty_history_has_one_empty_page_and_no_second(api_client, other_user):
    body = _history(api_client, other_user, page="last").json()
    assert (body["count"], body["results"], body["next"]) == (0, [], None)
    assert _history(api_client, other_user, page=2).status_code == 404


def test_the_response_is_what_the_schema_serializer_gives(user, history):
    page, total = xp_history_page(user_id=user.pk, limit=20, offset=0)
    assert total == 3
    assert [xp_history_entry_data(entry) for entry in page] == XpHistoryEntrySerializer(page, many=True).data


def test_the_first_page_costs_a_fixed_number_of_queries(api_client, user, history, django_assert_num_queries):
    # The player, then the page with its total (a window count) and each entry's challenge joined in.
    with django_assert_num_queries(2):
        assert _history(api_client, user).status_code == 200
