from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from model_bakery import baker
from playwright.sync_api import expect

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from progress.boards import services as board_services
from progress.models import Badge, UserBadge
from progress.tests.boards.factory import player
from progress.tests.browser.support import (
    PASSWORD,
    assert_accessible,
    check_layout,
    log_in,
    save_readme_screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

QUEST_MARKDOWN = (
    "Compute **running totals** with `OVER()`.\n\n```sql\nSELECT sum(x) OVER (ORDER BY d) FROM t;\n```"
)


@pytest.fixture
def catalogue():
    tags: list[Tag] = [
        baker.make("challenges.Tag", name=name, slug=name.lower()) for name in ("Python", "SQL", "Web")
    ]
    quest = baker.make(
        Challenge, title="Window functions", slug="window-functions", xp=150, pass_score=70, published=True,
        difficulty="hard", grading={"type": "self_reported"},
        description=QUEST_MARKDOWN,
    )  # fmt: skip
    quest.tags.set(tags[1:2])
    capital = baker.make(
        Challenge, title="Capital of France", slug="capital-of-france", xp=15, pass_score=100, published=True,
        grading={"type": "exact", "answer": "Paris"}, description="Type the capital of France.",
    )  # fmt: skip
    capital.tags.set(tags[2:])
    for n in range(14):
        baker.make(
            Challenge, title=f"Practice round {n:02d} with a rather long title to wrap",
            slug=f"practice-{n}", xp=10 + n, published=True, difficulty=("easy", "medium")[n % 2],
            grading={"type": "self_reported"},
        ).tags.set(tags[:1])  # fmt: skip
    return quest


@pytest.fixture
def badges():
    """First Steps (earned by the first passed attempt) and two the player will not have yet."""
    seeds = [
        ("First Steps", "👣", "Pass a first challenge.", {"type": "attempt_count", "count": 1}),
        ("Ten in a Row", "🔥", "Pass ten challenges.", {"type": "attempt_count", "count": 10}),
        ("Week Streak", "📅", "Seven days running.", {"type": "consecutive_days", "days": 7}),
    ]
    return [
        Badge.objects.create(
            name=name, slug=name.lower().replace(" ", "-"), icon=icon, description=text, condition=condition
        )
        for name, icon, text, condition in seeds
    ]


def rivals(count: int, *, top_xp: int = 2400) -> list[User]:
    """Players already on the boards, recorded in Redis as the award job would leave them."""
    names = ["ada", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "alan", "radia"]
    made = [
        player(
            f"{names[index % len(names)]}{index // len(names) or ''}", (top_xp - index * 97, timezone.now())
        )
        for index in range(count)
    ]
    board_services.rebuild()
    return made


def sign_up(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("accounts:signup"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(live_server.url + "/")


def test_player_submits_and_watches_xp_level_and_badge_arrive(
    page, live_server, catalogue, badges, rq_worker
):
    rivals(24)  # quester's 150 XP lands below the first page of the board
    sign_up(page, live_server, "quester")
    assert page.locator("[data-level]").first.inner_text() == "1"

    page.get_by_role("link", name="Challenges", exact=True).click()
    # Loaded first: on a page still being parsed, a count of 0 would prove nothing.
    page.wait_for_url(re.compile(r"/challenges/$"))
    expect(page.get_by_role("link", name="Window functions")).to_have_count(0)  # hard ones come last
    page.get_by_label("Search").fill("window")
    page.get_by_label("Difficulty").select_option("hard")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Window functions").click()
    expect(page.locator(".prose strong")).to_have_text("running totals")
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Your score (0-100)").fill("100")
    page.get_by_role("button", name="Submit").click()

    # The page is rendered before any worker runs: the award is pending, and the script polls.
    page.get_by_text("XP pending").wait_for()
    attempt = Attempt.objects.get(user__username="quester")
    assert attempt.xp_awarded is None
    assert page.locator("[data-new-badges]").is_hidden()
    page.evaluate("() => { window.notReloaded = true; }")

    rq_worker()
    page.locator("[data-xp-awarded]").wait_for(timeout=30_000)
    assert page.locator("[data-xp-awarded]").inner_text() == "150"
    assert page.locator("[data-level-now]").inner_text() == "2"
    new_badges = page.locator("[data-new-badges]")
    new_badges.wait_for(state="visible")
    assert new_badges.locator("[data-badge]").all_inner_texts() == [
        "👣\nFirst Steps\nPass a first challenge."
    ]
    assert page.evaluate("() => window.notReloaded") is True, "the page reloaded instead of updating"
    quester = User.objects.get(username="quester")
    assert quester.total_xp == 150
    assert list(UserBadge.objects.filter(user=quester).values_list("badge__slug", flat=True)) == [
        "first-steps"
    ]
    # Polling stopped once the award was shown: no request to the API after a few seconds more.
    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None)
    page.wait_for_timeout(3000)
    assert api_calls == []

    page.get_by_role("link", name="Leaderboard").click()
    page.wait_for_url(re.compile(r"/leaderboard/$"))
    own_row = page.locator("tr[data-own-rank]")
    assert own_row.get_by_role("link").inner_text() == "quester"
    assert own_row.locator("td").first.inner_text() == "25"
    assert own_row.evaluate("(row) => getComputedStyle(row.cells[0]).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert_accessible(page, "leaderboard-own-row")
    check_layout(page, "leaderboard-own-row")
    save_readme_screenshot(page, "leaderboard")
    page.get_by_role("link", name="Page 2").click()
    # Loaded first: on a page still being parsed, the own-rank row's absence would prove nothing.
    page.wait_for_url(re.compile(r"/leaderboard/\?.*\bpage=2$"))
    highlighted = page.locator("tr.you")
    expect(highlighted).to_have_count(1)
    expect(highlighted.get_by_role("link")).to_have_text("quester")
    expect(page.locator("tr[data-own-rank]")).to_have_count(0)

    page.get_by_role("link", name="My profile").click()
    page.wait_for_url(re.compile(r"/u/quester/$"))
    assert page.locator("[data-level]").inner_text() == "2"
    assert page.locator("[data-rank]").inner_text() == "#25"
    assert page.locator("[data-current-streak]").inner_text() == "1"
    expect(page.get_by_text("quester@example.com")).to_be_visible()
    expect(page.locator("table").get_by_text("+150")).to_be_visible()
    assert page.locator("[data-earned-badges] [data-badge]").get_attribute("data-badge") == "first-steps"
    locked = page.locator("[data-locked-badges] [data-badge='ten-in-a-row']")
    assert locked.locator("[data-progress]").inner_text() == "1 / 10"
    assert_accessible(page, "profile-with-badges")
    check_layout(page, "profile-with-badges")
    save_readme_screenshot(page, "profile")


def test_every_page_is_accessible_and_fits_a_phone(page, live_server, catalogue, badges):
    rivals(23)
    user = User.objects.create_user(username="player", email="player@example.com", password=PASSWORD)
    baker.make(
        Attempt, user=user, challenge=catalogue, status="passed", score=90, xp_awarded=135,
        submitted_at=timezone.now(), awarded_at=timezone.now(),
    )  # fmt: skip
    User.objects.filter(pk=user.pk).update(total_xp=135, level=2)
    UserBadge.objects.create(user=user, badge=badges[0])
    board_services.rebuild()
    User.objects.create_user(username="boss", email="boss@example.com", password=PASSWORD, is_staff=True)

    anonymous_pages = {
        "home-anonymous": "/",
        "signup": reverse("accounts:signup"),
        "login": reverse("accounts:login"),
        "challenges": reverse("challenges:list"),
        "challenge-anonymous": reverse("challenges:detail", args=["window-functions"]),
        "profile-public": reverse("progress:profile", args=["player"]),
        "leaderboard-anonymous": reverse("progress:leaderboard"),
        "leaderboard-month-page-2": reverse("progress:leaderboard") + "?period=month&page=2",
        "not-found": "/no-such-page/",
    }
    for name, path in anonymous_pages.items():
        page.goto(live_server.url + path)
        assert page.title().endswith("SkillQuest"), f"{name} has no title"
        assert_accessible(page, name)
        check_layout(page, name)

    log_in(page, live_server, "player")
    attempt = baker.make(Attempt, user=user, challenge=catalogue, status="passed", score=80, xp_awarded=0)
    player_pages = {
        "home": "/",
        "challenges-player": reverse("challenges:list") + "?tag=sql",
        "challenge-result": reverse("challenges:detail", args=["window-functions"]) + f"?result={attempt.pk}",
        "profile": reverse("progress:profile", args=["player"]),
        "profile-edit": reverse("accounts:profile-edit"),
        "leaderboard": reverse("progress:leaderboard"),
        "leaderboard-week": reverse("progress:leaderboard") + "?period=week",
        "forbidden": reverse("progress:staff-dashboard"),
    }
    for name, path in player_pages.items():
        page.goto(live_server.url + path)
        assert_accessible(page, name)
        check_layout(page, name)

    page.goto(live_server.url + reverse("challenges:detail", args=["capital-of-france"]))
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Submit").click()  # empty answer: the error is shown in place
    expect(page.locator("#id_solution_error")).to_be_visible()
    assert_accessible(page, "challenge-form-error")
    check_layout(page, "challenge-form-error")

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "boss")
    page.goto(live_server.url + reverse("progress:staff-dashboard"))
    assert page.locator("[data-pending-awards]").inner_text() == "0"
    assert page.locator("#top-heading + div tbody tr").count() == 10
    assert_accessible(page, "staff-dashboard")
    check_layout(page, "staff-dashboard")
    page.get_by_role("button", name="Preview recalculation").click()
    page.wait_for_url(re.compile(r"/staff/\?job=[0-9a-f]{32}"))
    expect(page.locator("[data-job-status]")).to_have_text("queued")  # no worker runs in this test
    assert_accessible(page, "staff-dashboard-job")
    check_layout(page, "staff-dashboard-job")


def test_keyboard_focus_is_visible(page, live_server, catalogue):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    assert outline not in ("none", "")
