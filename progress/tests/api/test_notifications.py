"""GET /api/v1/notifications (the player's inbox) and POST /api/v1/notifications/read."""

from __future__ import annotations

import pytest

from progress.models import Notification

NOTIFICATIONS = "/api/v1/notifications"
READ = "/api/v1/notifications/read"


@pytest.fixture
def inbox(user, other_user):
    notes = [
        Notification.objects.create(user=user, type="level_up", data={"level": level}) for level in (2, 3, 4)
    ]
    Notification.objects.create(user=other_user, type="level_up", data={"level": 9})
    return notes


def test_the_inbox_is_the_players_own_newest_first(auth_client, inbox):
    response = auth_client.get(NOTIFICATIONS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["data"]["level"] for row in body["results"]] == [4, 3, 2]
    assert set(body["results"][0]) == {"id", "type", "created_at", "data", "read_at"}


def test_unread_true_leaves_out_what_was_read(auth_client, inbox):
    Notification.objects.filter(pk=inbox[0].pk).update(read_at="2026-01-01T00:00:00Z")
    body = auth_client.get(NOTIFICATIONS, {"unread": "true"}).json()
    assert [row["id"] for row in body["results"]] == [inbox[2].pk, inbox[1].pk]
    assert auth_client.get(NOTIFICATIONS, {"unread": "false"}).json()["count"] == 3


def test_the_inbox_is_paginated_in_a_fixed_number_of_queries(auth_client, user, django_assert_num_queries):
    Notification.objects.bulk_create(
        Notification(user=user, type="level_up", data={"level": n}) for n in range(30)
    )
    with django_assert_num_queries(2):  # the count and the page
        body = auth_client.get(NOTIFICATIONS, {"page_size": 25, "page": 2}).json()
    assert body["count"] == 30 and len(body["results"]) == 5


@pytest.mark.parametrize("query", [{"unread": "maybe"}, {"page": "x"}])
def test_bad_query_parameters_are_4xx(auth_client, inbox, query):
    response = auth_client.get(NOTIFICATIONS, query)
    assert response.status_code in {400, 404}
    assert response["Content-Type"].startswith("application/json")


def test_anonymous_is_401(api_client):
    assert api_client.get(NOTIFICATIONS).status_code == 401
    assert api_client.post(READ, {"all": True}, format="json").status_code == 401


def test_marking_some_as_read(auth_client, inbox):
    response = auth_client.post(READ, {"ids": [inbox[0].pk, inbox[1].pk]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"marked": 2, "unread": 1}
    again = auth_client.post(READ, {"ids": [inbox[0].pk]}, format="json")
    assert again.json() == {"marked": 0, "unread": 1}  # already read: harmless
    assert Notification.objects.filter(read_at__isnull=True).count() == 2  # the other player's untouched


def test_marking_all_as_read(auth_client, inbox, other_user):
    assert auth_client.post(READ, {"all": True}, format="json").json() == {"marked": 3, "unread": 0}
    assert Notification.objects.get(user=other_user).read_at is None


def test_another_players_id_is_404_and_nothing_is_marked(auth_client, inbox, other_user):
    theirs = Notification.objects.get(user=other_user)
    response = auth_client.post(READ, {"ids": [inbox[0].pk, theirs.pk]}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not one of your notifications.", "code": "notification_not_found"}
    assert not Notification.objects.filter(read_at__isnull=False).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": [1], "all": True},
        {"all": False},
        {"ids": []},
        {"ids": ["x"]},
        {"ids": [0]},
        {"ids": [2**63]},
        {"ids": 5},
        {"ids": list(range(1, 502))},
    ],
)
def test_a_bad_body_is_400(auth_client, inbox, body):
    response = auth_client.post(READ, body, format="json")
    assert response.status_code == 400, response.content
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_a_ticket_is_for_a_signed_in_player(api_client, auth_client):
    assert api_client.post("/api/v1/live/ticket").status_code == 401
    response = auth_client.post("/api/v1/live/ticket")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 30 and len(body["ticket"]) >= 40
    assert auth_client.post("/api/v1/live/ticket").json()["ticket"] != body["ticket"]
