"""Round 2 of the player pages: leaderboard, home's top 5 and badges, profile rank/streaks/badges,
new badges on the challenge page, and the staff dashboard's top 10 and recalculation button."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_rq import get_queue
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.awards import services as award_services
from progress.boards import services as board_services
from progress.models import UserBadge
from progress.pages import views as page_views
from progress.tests.boards.factory import award, player

pytestmark = pytest.mark.django_db

NOW = timezone.now


def players(count: int, *, xp: int = 100, prefix: str = "p") -> list[User]:
    """`count` players with distinct XP (best first by name order), the boards rebuilt."""
    made = [player(f"{prefix}{index:03d}", (xp + count - index, NOW())) for index in range(count)]
    board_services.rebuild()
    return made


def give_xp(user: User, xp: int, *, when=None) -> None:
    award(user, xp, when or NOW())
    board_services.rebuild()


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def rows(html: str) -> list[str]:
    """The usernames in the leaderboard tables, in order (the separate "your rank" row included)."""
    return re.findall(r'<td><a href="/u/[^/]+/">([^<]+)</a>', html)


# --- /leaderboard/ -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "player", "staff"])
def test_leaderboard_renders_for_everyone(client, who, user, staff_user):
    players(3)
    if who != "anonymous":
        client.force_login(user if who == "player" else staff_user)
    response = client.get("/leaderboard/")
    assert response.status_code == 200
    assert rows(response.content.decode()) == ["p000", "p001", "p002"]


@pytest.mark.parametrize(
    "query", ["?period=year", "?page=0", "?page=two", "?page=-1", "?page=3", "?page=99999999999999"]
)
def test_unknown_period_or_page_is_404(client, query):
    players(21)  # two pages
    assert client.get("/leaderboard/" + query).status_code == 404


def test_an_empty_board_is_one_page(client):
    response = client.get("/leaderboard/?period=week")
    assert response.status_code == 200
    assert "Nobody has earned XP in this period yet." in response.content.decode()


def test_ties_share_a_rank(client):
    for name, xp in [("dora", 100), ("bob", 200), ("cara", 200), ("ann", 300)]:
        player(name, (xp, NOW()))
    board_services.rebuild()
    response = client.get("/leaderboard/")
    ranks = [(entry.rank, entry.username) for entry in response.context["board"].results]
    assert ranks == [(1, "ann"), (2, "bob"), (2, "cara"), (4, "dora")]
    cells = re.findall(r"<td>(\d+)</td>\s*<td><a", response.content.decode())
    assert cells == ["1", "2", "2", "4"]


def test_tabs_show_the_periods_boards(client):
    long_ago = NOW() - timedelta(days=400)
    player("veteran", (5000, long_ago))
    player("rookie", (10, NOW()))
    board_services.rebuild()
    assert rows(client.get("/leaderboard/").content.decode()) == ["veteran", "rookie"]
    week = client.get("/leaderboard/?period=week").content.decode()
    assert rows(week) == ["rookie"]
    assert '<a href="?period=week" aria-current="page">This week</a>' in week
    assert rows(client.get("/leaderboard/?period=month").content.decode()) == ["rookie"]


def test_pages_follow_each_other(client):
    players(45)
    first = client.get("/leaderboard/").content.decode()
    assert rows(first) == [f"p{index:03d}" for index in range(20)]
    assert 'href="?period=all&amp;page=2" rel="next"' in first
    assert 'aria-label="Page 3"' in first
    third = client.get("/leaderboard/?page=3")
    assert [entry.rank for entry in third.context["board"].results] == [41, 42, 43, 44, 45]
    assert 'rel="next"' not in third.content.decode()
    assert 'href="?period=all&amp;page=2" rel="prev"' in third.content.decode()


def test_own_row_is_highlighted_on_the_page(client, user):
    players(3)
    give_xp(user, 102)  # ties p001 (102): alice comes first by name
    client.force_login(user)
    html = client.get("/leaderboard/").content.decode()
    assert rows(html) == ["p000", "alice", "p001", "p002"]
    highlighted = re.findall(r'<tr class="you"[^>]*>\s*<td>(\d+)</td>\s*<td><a href="/u/(\w+)/', html)
    assert highlighted == [("2", "alice")]
    assert "Your rank" not in html


def test_own_row_is_shown_apart_when_not_on_the_page(client, user):
    players(25, xp=1000)
    give_xp(user, 5)
    client.force_login(user)
    response = client.get("/leaderboard/")
    html = response.content.decode()
    assert "alice" not in rows(html)[:20]
    assert "Your rank" in html
    own = re.search(
        r'data-own-rank aria-current="true">\s*<td>(\d+)</td>.*?<td>(\d+)</td>\s*<td>(\d+)</td>', html, re.S
    )
    assert own and own.groups() == ("26", str(user.level), "5")
    # On the page that holds the player, the row is highlighted in place instead.
    page_two = client.get("/leaderboard/?page=2").content.decode()
    assert "Your rank" not in page_two and rows(page_two)[-1] == "alice"


def test_own_row_in_a_window_shows_the_windows_xp(client, user):
    players(21, xp=1000)
    award(user, 900, NOW() - timedelta(days=400))
    give_xp(user, 7)
    client.force_login(user)
    entry = client.get("/leaderboard/?period=week").context["own_entry"]
    assert (entry.rank, entry.xp) == (22, 7)


def test_a_player_without_xp_is_told_how_to_join(client, user):
    players(2)
    client.force_login(user)
    html = client.get("/leaderboard/").content.decode()
    assert "You are not on this board yet" in html and "Your rank" not in html


@pytest.mark.parametrize("period", ["all", "week"])
def test_leaderboard_query_count_does_not_grow_with_rows(client, user, period):
    give_xp(user, 1)  # last: shown apart on page 1
    client.force_login(user)
    players(5, xp=500)
    few = queries_for(client, f"/leaderboard/?period={period}")
    players(10, xp=600, prefix="q")
    many = queries_for(client, f"/leaderboard/?period={period}")
    assert len(rows(client.get(f"/leaderboard/?period={period}").content.decode())) == 16
    assert many == few


def test_leaderboard_page_context_takes_a_fixed_number_of_queries(django_assert_num_queries, user):
    players(30)
    give_xp(user, 1)
    with django_assert_num_queries(1):  # the page's usernames and levels; ranks come from Redis
        page = page_views.leaderboard_context(query=page_views.BoardQuery(), viewer=user)
    assert page["own_entry"].rank == 31 and len(page["board"].results) == 20


# --- / ---------------------------------------------------------------------------------------------


def test_home_shows_the_top_five(client, user):
    players(6)
    give_xp(user, 1000)
    client.force_login(user)
    html = client.get("/").content.decode()
    assert rows(html) == ["alice", "p000", "p001", "p002", "p003"]
    assert re.search(r'<tr class="you"[^>]*>\s*<td>1</td>', html)


def test_home_shows_the_players_latest_badges(client, user, make_badge):
    for index, name in enumerate(["Alpha", "Beta", "Gamma", "Delta"]):
        badge = make_badge(name, {"type": "xp", "threshold": 1})
        UserBadge.objects.create(user=user, badge=badge, awarded_at=NOW() - timedelta(hours=4 - index))
    client.force_login(user)
    html = client.get("/").content.decode()
    assert re.findall(r'data-badge="([a-z-]+)"', html) == ["delta", "gamma", "beta"]


def test_home_without_badges_says_so(client, user):
    client.force_login(user)
    assert "No badges yet" in client.get("/").content.decode()


def test_home_query_count_does_not_grow_with_players_or_badges(client, user, make_badge):
    client.force_login(user)
    players(1)
    UserBadge.objects.create(user=user, badge=make_badge("One", {"type": "xp", "threshold": 1}))
    few = queries_for(client, "/")
    players(8, prefix="q")
    for name in ("Two", "Three", "Four"):
        UserBadge.objects.create(user=user, badge=make_badge(name, {"type": "xp", "threshold": 1}))
    assert queries_for(client, "/") == few


# --- /u/<username>/ --------------------------------------------------------------------------------


def test_profile_shows_rank_streaks_and_badges(client, user, other_user, make_badge, make_attempt):
    give_xp(other_user, 500)
    for days_ago in (0, 1, 2, 5, 6, 7, 8):
        make_attempt(user, NOW() - timedelta(days=days_ago))
    give_xp(user, 50)  # an award with no submission day: it counts for rank, not for streaks
    first = make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_badge("Ten Passes", {"type": "attempt_count", "count": 10})
    make_badge("Retired", {"type": "attempt_count", "count": 50}, is_active=False)
    UserBadge.objects.create(user=user, badge=first)
    html = client.get("/u/alice/").content.decode()
    assert "<strong data-rank>#2</strong>" in html
    assert "<span data-current-streak>3</span> days" in html
    assert "<span data-longest-streak>4</span> days" in html
    earned = html[html.index("data-earned-badges") : html.index("data-locked-badges")]
    locked = html[html.index("data-locked-badges") :]
    assert 'data-badge="first-steps"' in earned
    assert 'data-badge="ten-passes"' in locked and "<span data-progress>7 / 10</span>" in locked
    assert "retired" not in html


def test_profile_of_a_player_without_xp_is_unranked(client, user):
    assert "not ranked yet" in client.get("/u/alice/").content.decode()


def test_profile_query_count_does_not_grow_with_badges(client, user, make_badge, make_attempt):
    client.force_login(user)
    make_attempt(user, NOW())
    UserBadge.objects.create(user=user, badge=make_badge("Earned 0", {"type": "attempt_count", "count": 1}))
    make_badge("Locked 0", {"type": "xp", "threshold": 1000})
    make_badge("Tagged 0", {"type": "challenges_completed", "count": 9, "tag": "sql"})
    few = queries_for(client, "/u/alice/")
    for index in range(1, 5):
        make_attempt(user, NOW() - timedelta(days=index))
        UserBadge.objects.create(
            user=user, badge=make_badge(f"Earned {index}", {"type": "attempt_count", "count": 1})
        )
        make_badge(f"Locked {index}", {"type": "consecutive_days", "days": 30})
        make_badge(f"Tagged {index}", {"type": "challenges_completed", "count": 9, "tag": "sql"})
    assert queries_for(client, "/u/alice/") == few


# --- /challenges/<slug>/?result= --------------------------------------------------------------------


def awarded_attempt(user) -> Attempt:
    challenge = baker.make(Challenge, slug="quest", published=True, xp=10, grading={"type": "self_reported"})
    return baker.make(
        Attempt, user=user, challenge=challenge, status="passed", score=90, xp_awarded=9,
        submitted_at=NOW(), awarded_at=NOW(),
    )  # fmt: skip


def test_result_shows_the_badges_its_award_earned(client, user, make_badge):
    attempt = awarded_attempt(user)
    earned_here = make_badge("First Steps", {"type": "attempt_count", "count": 1})
    earned_before = make_badge("Old Hand", {"type": "xp", "threshold": 1})
    UserBadge.objects.create(user=user, badge=earned_here, metadata={"attempt_id": str(attempt.pk)})
    UserBadge.objects.create(user=user, badge=earned_before, metadata={"attempt_id": "0" * 32})
    client.force_login(user)
    html = client.get(f"/challenges/quest/?result={attempt.pk}").content.decode()
    new = html[html.index("data-new-badges") : html.index("attempt-heading")]
    assert "hidden" not in new.split(">")[0]
    assert re.findall(r'data-badge="([a-z-]+)"', new) == ["first-steps"]


def test_pending_result_keeps_an_empty_hidden_badge_box(client, user):
    attempt = awarded_attempt(user)
    Attempt.objects.filter(pk=attempt.pk).update(xp_awarded=None, awarded_at=None)
    client.force_login(user)
    html = client.get(f"/challenges/quest/?result={attempt.pk}").content.decode()
    assert '<div class="new-badges" data-new-badges hidden>' in html
    assert "js/challenge_detail" in html


def test_result_query_count_does_not_grow_with_badges(client, user, make_badge):
    attempt = awarded_attempt(user)
    client.force_login(user)
    url = f"/challenges/quest/?result={attempt.pk}"
    few = queries_for(client, url)
    for index in range(4):
        badge = make_badge(f"B{index}", {"type": "xp", "threshold": 1})
        UserBadge.objects.create(user=user, badge=badge, metadata={"attempt_id": str(attempt.pk)})
    assert queries_for(client, url) == few


# --- /staff/ ----------------------------------------------------------------------------------------


def run_worker() -> None:
    queue = get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_staff_dashboard_shows_the_top_ten(client, staff_user):
    players(12)
    client.force_login(staff_user)
    html = client.get("/staff/").content.decode()
    assert rows(html) == [f"p{index:03d}" for index in range(10)]


def test_staff_dashboard_query_count_does_not_grow_with_players(client, staff_user):
    client.force_login(staff_user)
    players(2)
    few = queries_for(client, "/staff/")
    players(10, prefix="q")
    assert queries_for(client, "/staff/") == few


def test_recalc_button_access(client, user, staff_user):
    response = client.post("/staff/recalc/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(user)
    assert client.post("/staff/recalc/").status_code == 403
    client.force_login(staff_user)
    assert client.get("/staff/recalc/").status_code == 405
    assert not get_queue("default").job_ids


def test_recalc_button_needs_the_csrf_token(user, staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post("/staff/recalc/").status_code == 403
    page = client.get("/staff/").content.decode()
    token = re.search(
        r'action="/staff/recalc/" class="inline-form">\s*<input type="hidden" name="csrfmiddlewaretoken"'
        r' value="([^"]+)"',
        page,
    )
    assert token, "the recalculation form carries a CSRF token"
    assert client.post("/staff/recalc/", {"csrfmiddlewaretoken": token.group(1)}).status_code == 302


def _awarded_player(username: str, *, challenge_xp: int, score: int) -> User:
    user = baker.make(User, username=username)
    challenge = baker.make(Challenge, xp=challenge_xp, pass_score=0, published=True)
    attempt = Attempt.objects.create(
        user=user, challenge=challenge, score=score, status=Attempt.Status.PASSED
    )
    award_services.awards_process(attempt_ids=[attempt.pk])
    return user


def test_recalc_button_starts_a_job_and_the_dashboard_shows_its_status(client, user, staff_user):
    player_with_wrong_total = _awarded_player("drifter", challenge_xp=100, score=40)
    User.objects.filter(pk=player_with_wrong_total.pk).update(total_xp=999)
    client.force_login(staff_user)
    response = client.post("/staff/recalc/")
    assert response.status_code == 302
    location = re.fullmatch(r"/staff/\?job=([0-9a-f]{32})#recalc", response["Location"])
    assert location is not None
    job_id = location.group(1)
    assert get_queue("default").job_ids == [job_id]
    queued = client.get(f"/staff/?job={job_id}").content.decode()
    assert "<strong data-job-status>queued</strong>" in queued

    run_worker()
    done = client.get(f"/staff/?job={job_id}").content.decode()
    assert "<strong data-job-status>finished</strong>" in done
    assert "<p data-job-result>Applied: 0 players changed (+0 XP in all), 0 badges awarded.</p>" in done
    assert User.objects.get(pk=player_with_wrong_total.pk).total_xp == 40  # repaired to its ledger


def test_preview_shows_the_diff_writes_nothing_and_offers_to_apply_it(client, staff_user):
    owed_more = _awarded_player("owed", challenge_xp=100, score=40)
    Challenge.objects.update(xp=200)  # 40 % of it is now 80
    client.force_login(staff_user)
    location = client.post("/staff/recalc/", {"dry_run": "1"})["Location"]
    run_worker()
    page = client.get(location.split("#")[0]).content.decode()
    assert (
        "<p data-job-result>Preview: 1 player would change (+40 XP in all); nothing was written.</p>" in page
    )
    assert re.search(r"<td>owed</td><td>40</td><td>80</td><td>\+40</td><td>1 → 1</td>", page)
    assert "Apply these changes" in page
    assert User.objects.get(pk=owed_more.pk).total_xp == 40

    client.post("/staff/recalc/")
    run_worker()
    assert User.objects.get(pk=owed_more.pk).total_xp == 80


def test_recalc_button_with_the_queue_down_explains_instead_of_failing(client, staff_user, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    client.force_login(staff_user)
    response = client.post("/staff/recalc/", follow=True)
    assert response.status_code == 200
    assert "The job queue is unavailable" in response.content.decode()


def test_dashboard_ignores_a_malformed_job_id_and_reports_an_unknown_one(client, staff_user):
    client.force_login(staff_user)
    assert "data-job-id" not in client.get("/staff/?job=../../etc").content.decode()
    unknown = client.get("/staff/?job=" + "a" * 32).content.decode()
    assert "<strong data-job-status>not found</strong>" in unknown
