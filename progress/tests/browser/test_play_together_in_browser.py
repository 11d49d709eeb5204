"""Playing together in a real browser: follow from a profile, the friends, tag and around-me tabs of the
leaderboard, and a secret badge on a profile; each page accessible and fitting a phone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from progress.boards import services as board_services
from progress.models import Badge, Follow
from progress.tests.boards.factory import award, challenge, player
from progress.tests.browser.support import PASSWORD, assert_accessible, check_layout, log_in

pytestmark = [pytest.mark.browser, pytest.mark.serial, pytest.mark.django_db(transaction=True)]


def board_rows(page) -> list[tuple[str, str]]:
    rows = page.locator("table.leaderboard tbody tr:has(td)")
    return [
        (row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()) for row in rows.all()
    ]


def test_a_player_follows_a_rival_and_compares_on_the_friends_board(page, live_server):
    now = timezone.now()
    regex = challenge("regex-golf", ("regex",))
    for index, name in enumerate(["ada", "grace", "linus", "margaret", "ken", "barbara", "dennis"]):
        player(name, (900 - index * 100, now))
    award(User.objects.get(username="linus"), 40, now, regex)
    me = User.objects.create_user(username="quester", email="quester@example.com", password=PASSWORD)
    award(me, 450, now)
    Badge.objects.create(
        name="Night Owl", slug="night-owl", description="Passed at 3 a.m.", icon="🦉",
        condition={"type": "xp", "threshold": 100_000}, secret=True,
    )  # fmt: skip
    board_services.rebuild()
    log_in(page, live_server, "quester")

    page.goto(live_server.url + reverse("progress:profile", args=["grace"]))
    assert page.locator("[data-follow-counts]").inner_text().startswith("0 followers")
    page.get_by_role("button", name="Follow").click()
    page.wait_for_url(re.compile(r"/u/grace/$"))
    page.get_by_role("button", name="Unfollow").wait_for()
    assert page.locator("[data-follow-counts]").inner_text().startswith("1 follower ·")
    assert Follow.objects.filter(follower=me, followed__username="grace").exists()
    assert_accessible(page, "profile-following")
    check_layout(page, "profile-following")

    page.get_by_role("link", name="Leaderboard", exact=True).click()
    page.get_by_role("link", name="Friends").click()
    page.wait_for_url(re.compile(r"board=friends"))
    assert board_rows(page) == [("1", "grace"), ("2", "quester (you)")]
    assert_accessible(page, "leaderboard-friends")
    check_layout(page, "leaderboard-friends")

    page.get_by_role("link", name="Everyone").click()
    page.get_by_role("link", name="Around me").click()
    page.wait_for_url(re.compile(r"view=around"))
    ranks = [rank for rank, _ in board_rows(page)]
    assert ranks == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert page.locator("tr.you td").first.inner_text() == "6"
    assert_accessible(page, "leaderboard-around-me")
    check_layout(page, "leaderboard-around-me")

    page.get_by_role("link", name="Top").click()
    page.get_by_role("link", name="Regex").click()
    page.wait_for_url(re.compile(r"tag=regex"))
    assert board_rows(page) == [("1", "linus")]
    expect(page.get_by_text("You are not on this board yet")).to_be_visible()
    assert_accessible(page, "leaderboard-tag")
    check_layout(page, "leaderboard-tag")

    page.goto(live_server.url + reverse("progress:profile", args=["quester"]))
    secret = page.locator("[data-secret-badge]")
    assert "Secret badge" in secret.inner_text() and "Owl" not in page.content()
    assert_accessible(page, "profile-secret-badge")
    check_layout(page, "profile-secret-badge")
