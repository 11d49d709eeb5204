"""Events and daily quests in a real browser: a player in Tokyo plays a live event's challenge, the
worker awards it with its bonus and completes a quest; the pages (and axe) at 375 and 1280 px."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker
from playwright.sync_api import expect

from accounts.models import User
from challenges.models import Challenge
from progress.awards.services import awards_process
from progress.events import freezing
from progress.models import Event, Quest
from progress.tests.browser.support import assert_accessible, check_layout
from progress.tests.browser.test_pages_in_browser import PASSWORD, log_in
from progress.tests.events.helpers import graded

pytestmark = [pytest.mark.browser, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")


def shown(moment: datetime, zone: ZoneInfo) -> str:
    """A time as the pages print it (Django's "D j M Y, H:i")."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


@pytest.fixture
def sprint():
    """A live event over a hard challenge, at x1.5, and two daily quests."""
    hard = baker.make(
        Challenge, title="Window functions", slug="window-functions", xp=150, pass_score=70, published=True,
        difficulty="hard", grading={"type": "self_reported"}, description="Running totals with OVER().",
    )  # fmt: skip
    easy = baker.make(
        Challenge, title="Select star", slug="select-star", xp=30, published=True, difficulty="easy",
        grading={"type": "self_reported"},
    )  # fmt: skip
    now = timezone.now()
    event = Event.objects.create(
        name="Spring SQL Sprint", slug="spring-sql-sprint", description="A week of SQL at x1.5.",
        starts_at=now - timedelta(hours=2), ends_at=now + timedelta(days=2, hours=3), xp_multiplier="1.50",
    )  # fmt: skip
    event.challenges.set([hard, easy])
    hard_one = {"difficulty": "hard", "count": 1}
    Quest.objects.create(name="Something hard", kind="pass_difficulty", params=hard_one, reward_xp=40)
    Quest.objects.create(name="Warm-up", kind="pass_challenges", params={"count": 2}, reward_xp=20)
    for index in range(6):
        rival = baker.make(User, username=f"rival{index}", email=f"rival{index}@example.com")
        awards_process(attempt_ids=[graded(rival, easy, 100 - 7 * index).pk])
    return event


def test_a_player_plays_a_live_event_and_completes_a_quest(page, live_server, sprint, rq_worker):
    User.objects.create_user(
        username="kenji", email="kenji@example.com", password=PASSWORD, timezone="Asia/Tokyo"
    )
    log_in(page, live_server, "kenji")

    quests = page.locator("[data-quests]")
    assert quests.locator("[data-quest-count]").all_inner_texts() == ["0/1", "0/2"]
    assert_accessible(page, "home-quests")
    check_layout(page, "home-quests")

    page.get_by_role("link", name="Events", exact=True).click()
    page.wait_for_url(re.compile(r"/events/$"))
    live = page.locator('[data-events="live"] [data-event="spring-sql-sprint"]')
    assert "left" in live.locator("[data-time-left]").inner_text()
    assert_accessible(page, "events")
    check_layout(page, "events")

    live.get_by_role("link", name="Spring SQL Sprint").click()
    page.wait_for_url(re.compile(r"/events/spring-sql-sprint/$"))
    assert page.locator("[data-starts-at]").inner_text() == shown(sprint.starts_at, TOKYO)
    assert page.locator("[data-zone]").inner_text() == "(Asia/Tokyo)"
    assert page.locator("[data-time-left]").inner_text().startswith("2\xa0days, 2\xa0hours")
    assert_accessible(page, "event-live")
    check_layout(page, "event-live")

    page.get_by_role("link", name="Window functions").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Your score (0-100)").fill("100")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("XP pending").wait_for()
    rq_worker()
    page.locator("[data-xp-awarded]").wait_for(timeout=30_000)
    assert page.locator("[data-xp-awarded]").inner_text() == "150"

    page.goto(live_server.url + reverse("progress:event", args=["spring-sql-sprint"]))
    you = page.locator("tr.you")
    assert you.locator("td").all_inner_texts()[::3] == ["1", "225"]  # rank, XP with its 75 XP bonus

    page.goto(live_server.url + "/")
    hard = page.locator("[data-quests] li").filter(has_text="Something hard")
    assert hard.locator("[data-quest-done]").inner_text() == "Done · +40 XP"
    assert page.locator("[data-level]").first.inner_text() == "2"  # 150 + 75 + 40 = 265 XP

    page.get_by_role("link", name="My profile").click()
    page.wait_for_url(re.compile(r"/u/kenji/$"))
    assert page.locator("[data-quests] [data-quest-count]").all_inner_texts() == ["1/1", "1/2"]
    assert_accessible(page, "profile-quests")
    check_layout(page, "profile-quests")


def test_event_pages_in_every_state_are_accessible_and_fit_a_phone(page, live_server, sprint):
    now = timezone.now()
    ended = Event.objects.create(
        name="Winter Algorithms", slug="winter-algorithms", description="Frozen long ago.",
        starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=2), xp_multiplier="2.00",
    )  # fmt: skip
    old = baker.make(Challenge, title="Dijkstra", slug="dijkstra", xp=200, published=True, difficulty="hard")
    ended.challenges.set([old])
    for index in range(25):
        player = baker.make(User, username=f"finalist{index:02d}", email=f"f{index}@example.com")
        awards_process(
            attempt_ids=[graded(player, old, 100 - index, at=ended.ends_at - timedelta(days=1)).pk]
        )
    assert freezing.event_freeze(event_id=ended.pk).status == freezing.FROZEN
    Event.objects.create(
        name="Summer Security", slug="summer-security", starts_at=now + timedelta(days=20),
        ends_at=now + timedelta(days=27), xp_multiplier="1.25",
    ).challenges.set([baker.make(Challenge, title="XSS", slug="xss", xp=70, published=True)])  # fmt: skip

    pages = {
        "events-every-state": reverse("progress:events"),
        "event-final": reverse("progress:event", args=["winter-algorithms"]),
        "event-final-page-2": reverse("progress:event", args=["winter-algorithms"]) + "?page=2",
        "event-upcoming": reverse("progress:event", args=["summer-security"]),
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        assert page.title().endswith("SkillQuest"), f"{name} has no title"
        assert_accessible(page, name)
        check_layout(page, name)

    page.goto(live_server.url + pages["event-final"])
    expect(page.get_by_role("heading", name="Final standings")).to_be_visible()
    assert page.locator("[data-zone]").inner_text() == "(UTC)"  # nobody signed in
    assert page.locator("[data-ends-at]").inner_text() == shown(ended.ends_at, ZoneInfo("UTC"))
    assert page.locator("table.leaderboard tbody tr").count() == 20
