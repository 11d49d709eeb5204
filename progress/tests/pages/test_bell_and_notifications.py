"""The bell on every page of a signed-in player, the notifications page, and the socket's CSP source."""

from __future__ import annotations

import re
import subprocess

import pytest
from django.urls import reverse

from progress.models import Notification
from skillquest.tests.helpers import settings_in_a_fresh_process


def bell_count(html: str) -> str:
    match = re.search(r"data-unread-count[^>]*>(\d+)<", html)
    assert match, "no bell on the page"
    return match.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/challenges/", "/leaderboard/", "/accounts/profile/"])
def test_every_page_shows_the_bell_with_the_unread_count_and_loads_the_socket(client, user, path):
    Notification.objects.create(user=user, type="level_up", data={"level": 2})
    newest = Notification.objects.create(user=user, type="level_up", data={"level": 3})
    Notification.objects.create(user=user, type="level_up", data={"level": 1}, read_at="2026-01-01T00:00Z")
    client.force_login(user)
    html = client.get(path).content.decode()
    assert bell_count(html) == "2"
    assert 'aria-label="Notifications, 2 unread"' in html
    assert f'data-live-last-id="{newest.pk + 1}"' in html  # the read one came last
    assert "js/live.js" in html


@pytest.mark.django_db
def test_an_anonymous_page_has_no_bell_and_no_socket(client):
    html = client.get("/").content.decode()
    assert "data-bell" not in html and "js/live.js" not in html


@pytest.mark.django_db
def test_the_notifications_page_lists_them_and_marks_all_read(client, user, other_user):
    Notification.objects.create(user=user, type="xp_granted", data={"amount": -20, "reason": "Typo fixed"})
    Notification.objects.create(
        user=user,
        type="badge_awarded",
        data={"badge": {"slug": "s", "name": "Sharp", "icon": "🎯", "description": ""}},
    )
    Notification.objects.create(user=other_user, type="level_up", data={"level": 7})
    client.force_login(user)

    html = client.get(reverse("progress:notifications")).content.decode()
    assert "20 XP were taken back: Typo fixed" in html and "Sharp" in html
    assert "level 7" not in html
    assert html.count('class="notification unread"') == 2

    response = client.post(reverse("progress:notifications-read"))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "2 notifications marked as read." in html
    assert 'class="notification unread"' not in html and "Mark all as read" not in html
    assert Notification.objects.get(user=other_user).read_at is None


@pytest.mark.django_db
def test_the_notifications_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("progress:notifications"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_the_csp_names_the_socket_on_the_pages_host_or_ws_public_url(client, settings):
    assert "connect-src 'self' ws://testserver;" in client.get("/").headers["Content-Security-Policy"]
    settings.WS_PUBLIC_URL = "wss://live.example.com"
    assert "connect-src 'self' wss://live.example.com;" in client.get("/").headers["Content-Security-Policy"]


@pytest.mark.django_db
def test_pages_connect_to_ws_public_url_when_it_is_set(client, user, settings):
    settings.WS_PUBLIC_URL = "wss://live.example.com"
    client.force_login(user)
    assert 'data-live-url="wss://live.example.com"' in client.get("/").content.decode()


@pytest.mark.parametrize(
    "value", ["https://live.example.com", "wss://", "wss://live.example.com/ws/", "live"]
)
def test_ws_public_url_must_be_a_ws_origin(value):
    with pytest.raises(subprocess.CalledProcessError) as failure:
        settings_in_a_fresh_process({"DEBUG": "true", "WS_PUBLIC_URL": value}, "s.WS_PUBLIC_URL")
    assert "WS_PUBLIC_URL" in failure.value.stderr


def test_ws_public_url_is_read_from_the_environment():
    env = {"DEBUG": "true", "WS_PUBLIC_URL": "wss://live.example.com:8443/"}
    assert settings_in_a_fresh_process(env, "s.WS_PUBLIC_URL") == "wss://live.example.com:8443"
