"""The live socket in a real browser: the page hears of its award over the WebSocket (the frames are
asserted, polling cannot help), and when the `ws` process dies mid-award the page reconnects and
shows it. Pages come from the live server, sockets from the Procfile's `ws:` process, awards from a
real RQ worker process."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from model_bakery import baker
from playwright.sync_api import expect

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.models import Badge
from progress.tests.browser.support import assert_accessible, check_layout
from progress.tests.browser.test_pages_in_browser import PASSWORD, log_in
from progress.tests.parked import parked_updates
from skillquest.tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.serial, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def quest():
    Badge.objects.create(
        name="First Steps",
        slug="first-steps",
        icon="👣",
        description="Pass a first challenge.",
        condition={"type": "attempt_count", "count": 1},
    )
    User.objects.create_user(username="quester", email="quester@example.com", password=PASSWORD)
    return baker.make(
        Challenge, title="Window functions", slug="window-functions", xp=150, pass_score=70, published=True,
        grading={"type": "self_reported"},
    )  # fmt: skip


class Frames:
    """Every WebSocket the page opens, with the messages it sent and received, decoded."""

    def __init__(self, page) -> None:
        self.page = page
        self.sockets: list[list[dict]] = []
        self.sent: list[list[dict]] = []
        self.urls: list[str] = []  # the page each was opened by (events arrive in order)
        page.on("websocket", self._opened)

    def _opened(self, socket) -> None:
        received: list[dict] = []
        sent: list[dict] = []
        self.sockets.append(received)
        self.sent.append(sent)
        self.urls.append(self.page.url)
        socket.on("framereceived", lambda payload: received.append(json.loads(payload)))
        socket.on("framesent", lambda payload: sent.append(json.loads(payload)))

    def types(self, index: int) -> list[str]:
        return [frame["type"] for frame in self.sockets[index]]

    def wait(self, predicate, *, what: str, seconds: float = 20) -> None:
        """Wait for `predicate()`, letting Playwright deliver its events meanwhile."""
        for _ in range(int(seconds * 20)):
            if predicate():
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"timed out waiting for {what}")


def submit_and_wait_for_the_socket(page, live_server, frames: Frames) -> int:
    """Submit a score of 100; return the index (in `frames`) of the result page's socket once it is open."""
    page.goto(live_server.url + reverse("challenges:detail", args=["window-functions"]))
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Your score (0-100)").fill("100")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("XP pending").wait_for()
    page.evaluate("() => { window.notReloaded = true; }")
    # Every page opens a socket: the result page's is the first opened at its URL.
    frames.wait(lambda: any("?result=" in url for url in frames.urls), what="the result page's socket")
    result_page = next(index for index, url in enumerate(frames.urls) if "?result=" in url)
    frames.wait(lambda: frames.sent[result_page], what="the socket to open and ask to resume")
    assert frames.sent[result_page][0]["type"] == "resume"
    return result_page


def test_the_page_receives_its_award_over_the_websocket_with_polling_off(
    page, live_server, quest, ws_process, rq_worker
):
    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None)
    page.route("**/api/**", lambda route: route.abort())  # polling could not show anything
    frames = Frames(page)
    log_in(page, live_server, "quester")
    result_page = submit_and_wait_for_the_socket(page, live_server, frames)

    rq_worker()
    page.locator("[data-xp-awarded]").wait_for(timeout=30_000)
    assert page.locator("[data-xp-awarded]").inner_text() == "150"
    # `level_up` is a frame of its own after `xp_awarded`: the level shown may still be the old one.
    expect(page.locator("[data-level-now]")).to_have_text("2")
    page.locator("[data-new-badges] [data-badge='first-steps']").wait_for()
    page.locator("[data-toast]", has_text="New badge: First Steps").wait_for()
    assert page.locator("[data-toast]", has_text="Level 2!").count() == 1
    assert page.locator("[data-unread-count]").inner_text() == "2"  # the level-up and the badge
    assert page.evaluate("() => window.notReloaded") is True

    attempt = Attempt.objects.get(user__username="quester")
    xp = next(frame for frame in frames.sockets[result_page] if frame["type"] == "xp_awarded")
    assert xp["data"] == {"attempt_id": str(attempt.pk), "amount": 150, "total_xp": 150}
    assert frames.types(result_page) == ["xp_awarded", "level_up", "badge_awarded"]
    assert api_calls == []  # no polling: the socket brought everything
    assert_accessible(page, "challenge-live-award")
    check_layout(page, "challenge-live-award")

    page.get_by_role("link", name="Notifications, 2 unread").click()
    page.locator("[data-notifications]").wait_for()
    assert page.locator(".notification.unread").count() == 2
    assert_accessible(page, "notifications")
    check_layout(page, "notifications")
    page.get_by_role("button", name="Mark all as read").click()
    # The same address, so this waits for the answer's page to load: until then, a bell not yet parsed
    # would pass for a hidden count.
    page.wait_for_url(live_server.url + reverse("progress:notifications"))
    expect(page.locator("[data-unread-count]")).to_be_hidden()


def test_the_ws_process_killed_during_an_award_the_page_reconnects_and_shows_it(
    page, live_server, quest, ws_process, rq_worker
):
    api_calls: list[str] = []
    page.on("request", lambda request: api_calls.append(request.url) if "/api/" in request.url else None)
    frames = Frames(page)
    log_in(page, live_server, "quester")
    result_page = submit_and_wait_for_the_socket(page, live_server, frames)

    with parked_updates("accounts_user") as (parked, release):
        rq_worker()
        wait_until(parked, what="the award to reach the player's total")
        ws_process.kill()  # the award is mid-transaction; its push will find no socket to go to
        release()
        wait_until(
            lambda: Attempt.objects.filter(user__username="quester", xp_awarded__isnull=False).exists(),
            what="the award to commit",
        )
    assert page.locator("[data-pending]").is_visible()  # nothing reached the page

    with page.expect_websocket(timeout=30_000):
        ws_process.start()  # the page's back-off finds it again
    page.locator("[data-xp-awarded]").wait_for(timeout=30_000)
    assert page.locator("[data-xp-awarded]").inner_text() == "150"
    page.locator("[data-new-badges] [data-badge='first-steps']").wait_for()
    assert page.locator("[data-level-now]").inner_text() == "2"
    assert page.evaluate("() => window.notReloaded") is True

    assert frames.types(result_page) == []  # its socket died before the award was pushed
    assert len(frames.sockets) > result_page + 1
    frames.wait(lambda: len(frames.sockets[-1]) >= 2, what="the resumed messages")
    assert frames.types(-1) == ["level_up", "badge_awarded"]  # kept, replayed after the last id seen
    assert all(frame["id"] for frame in frames.sockets[-1])
    attempt_reads = [url for url in api_calls if "/api/v1/attempts/" in url]
    assert len(attempt_reads) == 1, api_calls  # one read after the reconnect (XP is not kept): no polling
