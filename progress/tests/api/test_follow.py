"""Following players: POST/DELETE /api/v1/users/{id}/follow, and who follows whom."""

from __future__ import annotations

from functools import partial

import pytest
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import User
from progress.models import Follow
from skillquest.tests.helpers import client_for, run_together

pytestmark = pytest.mark.django_db


def follow_url(user) -> str:
    return f"/api/v1/users/{user.pk}/follow"


def follow_status(follower, followed) -> int:
    return client_for(follower).post(follow_url(followed)).status_code


def test_following_a_player_is_201_then_200_and_shows_them(auth_client, user, other_user):
    first = auth_client.post(follow_url(other_user))
    assert first.status_code == 201
    assert {key: first.json()[key] for key in ("user_id", "username", "level")} == {
        "user_id": str(other_user.pk),
        "username": "bob",
        "level": 1,
    }
    again = auth_client.post(follow_url(other_user))
    assert (again.status_code, again.json()) == (200, first.json())
    assert Follow.objects.filter(follower=user, followed=other_user).count() == 1


def test_unfollowing_is_204_whether_or_not_you_followed(auth_client, user, other_user):
    auth_client.post(follow_url(other_user))
    assert auth_client.delete(follow_url(other_user)).status_code == 204
    assert not Follow.objects.filter(follower=user).exists()
    assert auth_client.delete(follow_url(other_user)).status_code == 204


def test_following_yourself_is_400(auth_client, user):
    response = auth_client.post(follow_url(user))
    assert (response.status_code, response.json()["code"]) == (400, "cannot_follow_self")
    assert not Follow.objects.exists()


def test_an_unknown_inactive_or_malformed_player_is_404(auth_client, other_user):
    assert auth_client.post("/api/v1/users/00000000-0000-4000-8000-000000000000/follow").status_code == 404
    assert auth_client.post("/api/v1/users/not-a-uuid/follow").status_code == 404
    User.objects.filter(pk=other_user.pk).update(is_active=False)
    assert auth_client.post(follow_url(other_user)).status_code == 404
    assert not Follow.objects.exists()


def test_anonymous_visitors_cannot_follow_or_unfollow(api_client, other_user):
    for method in (api_client.post, api_client.delete):
        response = method(follow_url(other_user))
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_a_player_follows_at_most_a_thousand_players(auth_client, user, settings):
    others = baker.make(User, _quantity=Follow.MAX_FOLLOWING + 1)
    Follow.objects.bulk_create(Follow(follower=user, followed=other) for other in others[:-1])
    response = auth_client.post(follow_url(others[-1]))
    assert (response.status_code, response.json()["code"]) == (400, "follow_limit_reached")
    assert Follow.objects.filter(follower=user).count() == Follow.MAX_FOLLOWING
    assert auth_client.post(follow_url(others[0])).status_code == 200  # already followed: no new row


def test_following_and_followers_lists_newest_first(api_client, user, other_user, staff_user):
    for follower, followed in ((user, other_user), (staff_user, other_user), (other_user, user)):
        client_for(follower).post(follow_url(followed))
    followers = api_client.get(f"/api/v1/users/{other_user.pk}/followers").json()
    assert (followers["count"], [r["username"] for r in followers["results"]]) == (2, ["staff", "alice"])
    following = api_client.get(f"/api/v1/users/{other_user.pk}/following").json()
    assert [r["username"] for r in following["results"]] == ["alice"]
    User.objects.filter(pk=staff_user.pk).update(is_active=False)  # erased or banned: off the lists
    assert api_client.get(f"/api/v1/users/{other_user.pk}/followers").json()["count"] == 1
    assert api_client.get("/api/v1/users/not-a-uuid/followers").status_code == 404


def test_the_lists_cost_a_fixed_number_of_queries(api_client, other_user, django_assert_num_queries):
    for follower in baker.make(User, _quantity=5):
        Follow.objects.create(follower=follower, followed=other_user)
    with django_assert_num_queries(3):  # the player, the count, the page with each follower joined
        assert len(api_client.get(f"/api/v1/users/{other_user.pk}/followers").json()["results"]) == 5


@pytest.mark.django_db(transaction=True)
def test_two_follows_racing_at_the_limit_make_one_follow(user):
    others = baker.make(User, _quantity=Follow.MAX_FOLLOWING + 1)
    Follow.objects.bulk_create(Follow(follower=user, followed=other) for other in others[:-2])
    last_two = others[-2:]
    statuses = run_together([partial(follow_status, user, target) for target in last_two])
    assert sorted(statuses) == [201, 400]
    assert Follow.objects.filter(follower=user).count() == Follow.MAX_FOLLOWING


@pytest.mark.django_db(transaction=True)
def test_the_same_follow_twice_at_once_is_one_row(user, other_user):
    statuses = run_together([partial(follow_status, user, other_user)] * 4)
    assert sorted(statuses) == [200, 200, 200, 201]
    assert Follow.objects.filter(follower=user, followed=other_user).count() == 1


def test_anonymous_reads_of_the_lists_need_no_sign_in(other_user):
    assert APIClient().get(f"/api/v1/users/{other_user.pk}/following").status_code == 200
