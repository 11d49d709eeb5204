from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from model_bakery import baker

from challenges.models import Attempt, Challenge
from progress.pages import charts
from progress.players import selectors as player_selectors
from progress.staff import selectors as staff_selectors

pytestmark = pytest.mark.django_db


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def challenge(**fields) -> Challenge:
    fields.setdefault("published", True)
    fields.setdefault("xp", 30)
    return baker.make(Challenge, grading={"type": "self_reported"}, **fields)


def graded(user, count: int, *, when=None) -> None:
    when = when or timezone.now()
    for _ in range(count):
        baker.make(
            Attempt, user=user, challenge=challenge(), status="passed", score=90, xp_awarded=27,
            submitted_at=when, awarded_at=when,
        )  # fmt: skip


@pytest.mark.parametrize("who", ["anonymous", "player", "staff"])
def test_home_renders_for_everyone(client, who, user, staff_user):
    challenge(title="Newest quest")
    if who != "anonymous":
        client.force_login(user if who == "player" else staff_user)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Newest quest" in html
    assert ("Your progress" in html) is (who != "anonymous")


def test_home_shows_level_and_xp_bar(client, user):
    user.total_xp, user.level = 250, 2
    user.save()
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "data-level>2<" in html
    assert 'value="50.0"' in html  # 250 XP is halfway from level 2 (100) to level 3 (400)
    assert "150 XP to level 3 (at 400 XP)" in html


def test_home_query_count_is_fixed(client, user):
    client.force_login(user)
    graded(user, 1)
    few = queries_for(client, "/")
    graded(user, 6)
    assert queries_for(client, "/") == few


@pytest.mark.parametrize("who", ["anonymous", "player", "owner", "staff"])
def test_profile_status_and_private_fields(client, who, user, other_user, staff_user):
    viewer = {"player": other_user, "owner": user, "staff": staff_user}.get(who)
    if viewer:
        client.force_login(viewer)
    response = client.get("/u/alice/")
    assert response.status_code == 200
    assert ("alice@example.com" in response.content.decode()) is (who == "owner")


def test_profile_of_unknown_or_inactive_user_is_404(client, user):
    user.is_active = False
    user.save()
    assert client.get("/u/alice/").status_code == 404
    assert client.get("/u/nobody/").status_code == 404


def test_profile_lists_recent_attempts_and_heatmap(client, user):
    graded(user, 2)
    html = client.get("/u/ALICE/").content.decode()
    assert html.count("+27") == 2
    today = timezone.now().date().isoformat()
    assert f'data-date="{today}" data-count="2"' in html
    assert "2 submissions on 1 day." in html


def test_profile_query_count_does_not_grow_with_history(client, user):
    client.force_login(user)
    graded(user, 2)
    few = queries_for(client, "/u/alice/")
    graded(user, 6, when=timezone.now() - timedelta(days=3))
    graded(user, 6, when=timezone.now() - timedelta(days=20))
    assert queries_for(client, "/u/alice/") == few


def test_activity_counts_days_in_the_players_timezone(user):
    user.timezone = "Asia/Tokyo"
    user.save()
    late_utc = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)  # 10 March 05:00 in Tokyo
    graded(user, 1, when=late_utc)
    activity = player_selectors.activity_by_day(user=user, first=date(2026, 3, 2), today=date(2026, 3, 15))
    assert activity == {date(2026, 3, 10): 1}


def test_heatmap_has_twelve_week_columns_ending_today():
    today = date(2026, 11, 25)  # a Wednesday
    first = player_selectors.heatmap_first_day(today)
    assert first == date(2026, 9, 7) and first.weekday() == 0
    grid = charts.heatmap(activity={today: 4, first: 1}, first=first, today=today)
    assert len(grid["cells"]) == 11 * 7 + 3
    assert len({cell["x"] for cell in grid["cells"]}) == 12
    assert (grid["total"], grid["active_days"]) == (5, 2)
    assert grid["cells"][-1]["shade"] == 2


def test_bar_chart_scales_to_the_peak():
    chart = charts.bar_chart(values=[0, 5, 10], labels=["a", "b", "c"])
    heights = [bar["height"] for bar in chart["bars"]]
    assert heights[0] == 0 and heights[2] == chart["bottom"] - chart["top"]
    assert heights[1] == pytest.approx(heights[2] / 2, abs=0.1)
    assert charts.bar_chart(values=[0, 0], labels=["a", "b"])["peak"] == 0


def test_staff_dashboard_access(client, user, staff_user):
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/staff/")
    client.force_login(user)
    assert client.get("/staff/").status_code == 403
    client.force_login(staff_user)
    assert client.get("/staff/").status_code == 200


def test_admin_stats_sums_xp_and_counts_players_per_day(user, other_user):
    today = timezone.now().date()
    graded(user, 2)
    graded(user, 1, when=timezone.now() - timedelta(days=20))
    baker.make(
        Attempt, user=user, challenge=challenge(), status="failed", score=1, submitted_at=timezone.now()
    )
    stats = staff_selectors.admin_stats(days=14)
    assert len(stats["xp_awarded_per_day"]) == len(stats["new_users_per_day"]) == 14
    assert stats["xp_awarded_per_day"][-1] == {"day": today, "value": 54}
    assert stats["new_users_per_day"][-1] == {"day": today, "value": 2}
    assert sum(row["value"] for row in stats["xp_awarded_per_day"]) == 54
    assert stats["pending_awards"] == 1


def test_staff_dashboard_draws_the_figures(client, staff_user, user):
    graded(user, 2)
    client.force_login(staff_user)
    html = client.get("/staff/").content.decode()
    assert 'class="bar" data-value="54"' in html
    assert "data-pending-awards>0<" in html


def test_staff_dashboard_query_count_is_fixed(client, staff_user, user):
    client.force_login(staff_user)
    graded(user, 1)
    few = queries_for(client, "/staff/")
    for days_ago in range(5):
        graded(user, 2, when=timezone.now() - timedelta(days=days_ago))
    baker.make("accounts.User", _quantity=5)
    assert queries_for(client, "/staff/") == few


def test_admin_index_links_to_the_dashboard(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    assert 'href="/staff/"' in client.get("/admin/").content.decode()


def test_error_pages_use_the_site_layout(client):
    html = client.get("/no-such-page/").content.decode()
    assert "<main" in html and "<footer" in html and "<title>Page not found" in html
