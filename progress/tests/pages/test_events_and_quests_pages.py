"""The event pages (/events/, /events/<slug>/) and today's quests on the home page and one's own profile."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from model_bakery import baker

from accounts.models import User
from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.events import freezing
from progress.models import Quest
from progress.quests.days import day_bounds, local_day
from progress.tests.events.helpers import graded, make_event

pytestmark = pytest.mark.django_db


def html(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


@pytest.fixture
def events():
    now = timezone.now()
    draft = make_challenge(title="Unreleased draft", published=False)
    return {
        "live": make_event(make_challenge(title="Live one"), draft, name="Live Sprint", multiplier="2.00",
                           ends_at=now + timedelta(hours=5, minutes=30)),
        "upcoming": make_event(make_challenge(), name="Next Week", starts_at=now + timedelta(days=7),
                               ends_at=now + timedelta(days=8)),
        "ended": make_event(make_challenge(), name="Last Month", starts_at=now - timedelta(days=40),
                            ends_at=now - timedelta(days=33)),
    }  # fmt: skip


def test_the_events_page_lists_live_upcoming_and_ended_events(client, events):
    page = html(client, "/events/")
    live, upcoming, ended = (page.index(f'data-events="{state}"') for state in ("live", "upcoming", "ended"))
    assert (
        live
        < page.index("Live Sprint")
        < upcoming
        < page.index("Next Week")
        < ended
        < page.index("Last Month")
    )
    assert "\u00d72 XP" in page  # the multiplication sign
    assert re.search(r"<span data-time-left>5\xa0hours, \d+\xa0minutes left</span>", page)
    assert "Times are in UTC" in page


def test_the_events_link_is_in_the_nav(client):
    assert 'href="/events/"' in html(client, "/")


def test_an_event_page_shows_the_window_in_the_signed_in_players_zone(client, events):
    event = events["live"]
    tokyo = baker.make(User, username="kenji", timezone="Asia/Tokyo")
    anonymous = html(client, f"/events/{event.slug}/")
    client.force_login(tokyo)
    signed_in = html(client, f"/events/{event.slug}/")
    utc_start = event.starts_at.astimezone(UTC).strftime("%H:%M")
    tokyo_start = (event.starts_at + timedelta(hours=9)).astimezone(UTC).strftime("%H:%M")
    assert f"{utc_start}</time>" in anonymous and "(UTC)" in anonymous
    assert f"{tokyo_start}</time>" in signed_in and "(Asia/Tokyo)" in signed_in
    assert event.starts_at.astimezone(UTC).isoformat()[:16] in anonymous.replace(
        "+00:00", ""
    )  # <time datetime>
    assert 'data-state="live"' in signed_in and "data-time-left" in signed_in


def test_an_event_page_lists_published_challenges_and_the_live_board(client, events, user):
    event = events["live"]
    awards_process(attempt_ids=[graded(user, event.challenges.get(title="Live one"), 100).pk])
    page = html(client, f"/events/{event.slug}/")
    assert "Live one" in page and "Unreleased draft" not in page
    assert 'data-final="false"' in page
    assert ">alice</a>" in page and "<td>200</td>" in page  # 100 XP and a 100 XP bonus at x2


def test_an_ended_frozen_event_shows_its_final_standings(client, events, user):
    event = events["ended"]
    awards_process(
        attempt_ids=[graded(user, event.challenges.get(), 100, at=event.ends_at - timedelta(days=1)).pk]
    )
    assert "being counted" in html(client, f"/events/{event.slug}/")
    freezing.event_freeze(event_id=event.pk)
    page = html(client, f"/events/{event.slug}/")
    assert "Final standings" in page and 'data-final="true"' in page
    assert 'data-state="ended"' in page and "data-time-left" not in page


def test_an_upcoming_event_says_when_it_starts(client, events):
    assert "Starts in" in html(client, f"/events/{events['upcoming'].slug}/")


def test_a_signed_in_player_off_the_first_page_sees_their_own_row(client, events):
    event = events["live"]
    challenge = event.challenges.get(title="Live one")
    players = [baker.make(User, username=f"p{index:02d}") for index in range(21)]
    for index, player in enumerate(players):
        awards_process(attempt_ids=[graded(player, challenge, 100 - index).pk])
    client.force_login(players[-1])
    page = html(client, f"/events/{event.slug}/")
    assert "data-own-rank" in page and 'rel="next"' in page
    assert "p20" in html(client, f"/events/{event.slug}/?page=2")


@pytest.mark.parametrize(
    "url", ["/events/no-such-event/", "/events/{slug}/?page=0", "/events/{slug}/?page=9"]
)
def test_unknown_events_and_pages_are_404(client, events, url):
    html(client, url.format(slug=events["live"].slug), status=404)


@pytest.fixture
def quests():
    return [
        Quest.objects.create(name="Two today", kind="pass_challenges", params={"count": 2}, reward_xp=30),
        Quest.objects.create(name="Earn fifty", kind="earn_xp", params={"xp": 50}, reward_xp=10),
    ]


def test_the_home_page_shows_the_signed_in_players_quests_of_today(client, user, quests):
    assert "Today's quests" not in html(client, "/")  # nobody signed in
    awards_process(attempt_ids=[graded(user, make_challenge(xp=60), 100).pk])
    client.force_login(user)
    page = html(client, "/")
    assert "Today's quests" in page
    assert "Two today" in page and "<span data-quest-count>1/2</span>" in page
    assert "Earn fifty" in page and "Done · +10 XP" in page


def test_a_profile_shows_quests_to_its_owner_only(client, user, other_user, quests):
    client.force_login(user)
    assert "Today's quests" in html(client, f"/u/{user.username}/")
    assert "Today's quests" not in html(client, f"/u/{other_user.username}/")


def test_the_quests_follow_the_players_midnight(client, quests):
    apia = ZoneInfo("Pacific/Apia")  # UTC+13: its day starts long before UTC's
    player = baker.make(User, username="tala", timezone="Pacific/Apia")
    midnight, _ = day_bounds(local_day(timezone.now(), apia), apia)
    awards_process(attempt_ids=[graded(player, make_challenge(), 100, at=midnight - timedelta(seconds=1)).pk])
    client.force_login(player)
    assert "<span data-quest-count>0/2</span>" in html(client, "/")  # that pass was yesterday, there
    awards_process(attempt_ids=[graded(player, make_challenge(), 100, at=midnight).pk])
    assert "<span data-quest-count>1/2</span>" in html(client, "/")
