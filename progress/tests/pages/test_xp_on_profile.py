"""The profile page's "XP over time" chart (from the ledger) and each recent attempt's "why this XP"."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from challenges.models import Attempt, Challenge
from progress.awards import services as award_services
from progress.ledger.services import xp_grant
from progress.models import XpEntry
from progress.pages import charts
from progress.templatetags.progress_tags import award_line

pytestmark = pytest.mark.django_db


def _award(user, challenge, score):
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    attempt = Attempt.objects.create(user=user, challenge=challenge, score=score, status=status)
    award_services.awards_process(attempt_ids=[attempt.pk])
    return attempt


def test_each_recent_attempt_says_why_it_paid_what_it_did(client, user):
    challenge = baker.make(Challenge, title="Regex golf", xp=200, pass_score=50, published=True)
    _award(user, challenge, 75)
    _award(user, challenge, 95)
    _award(user, challenge, 60)
    _award(user, challenge, 10)
    html = client.get(f"/u/{user.username}/").content.decode()
    assert '<small class="muted" data-why>95 % of 200 XP = 190; your best was 150; +40</small>' in html
    assert '<small class="muted" data-why>75 % of 200 XP = 150; +150</small>' in html
    assert '<small class="muted" data-why>no better than your best</small>' in html
    assert '<small class="muted" data-why>below the pass mark</small>' in html


def test_the_chart_climbs_to_the_players_total_from_the_ledger(client, user, staff_user):
    # XP from long ago counts in the starting total, not in the 90 days.
    XpEntry.objects.create(
        user=user,
        amount=100,
        kind="grant",
        reason="Imported from the old system",
        actor=staff_user,
        idempotency_key="grant:import",
        created_at=timezone.now() - timedelta(days=200),
    )
    type(user).objects.filter(pk=user.pk).update(total_xp=100, level=2)
    challenge = baker.make(Challenge, xp=100, pass_score=0, published=True)
    _award(user, challenge, 80)
    xp_grant(user_id=user.pk, amount=-20, reason="Penalty", actor=staff_user)
    html = client.get(f"/u/{user.username}/").content.decode()
    assert 'class="xp-line" data-end="160"' in html
    assert "+60 XP in the last 90 days." in html
    assert "Total XP over the last 90 days: 100 XP 90 days ago, 160 XP today" in html


def test_the_chart_starts_from_what_was_earned_before_its_window():
    today = date(2026, 12, 3)
    first = today - timedelta(days=89)
    chart = charts.xp_over_time(before=500, changes={first: 10, today: -20}, first=first, today=today)
    assert (chart["start"], chart["end"], chart["gained"], chart["peak"], chart["days"]) == (
        500,
        490,
        -10,
        510,
        90,
    )
    points = chart["points"].split()
    assert len(points) == 90
    assert points[0].startswith("44") and points[-1].startswith("560")
    assert [label["text"] for label in chart["labels"]][-1] == "03 Dec"


@pytest.mark.parametrize(
    ("explanation", "line"),
    [
        (
            {"challenge_xp": 200, "score": 95, "earned": 190, "previous_best": 150, "paid": 40},
            "95 % of 200 XP = 190; your best was 150; +40",
        ),
        (
            {"challenge_xp": 100, "score": 80, "earned": 80, "previous_best": 0, "paid": 80},
            "80 % of 100 XP = 80; +80",
        ),
        ({"score": 80, "paid": 80}, "80 %: +80"),  # an award from before the ledger
        (None, ""),
        ({"before": 0, "after": 5}, ""),  # not an award's explanation
    ],
)
def test_award_line(explanation, line):
    assert award_line(explanation) == line


def test_the_profile_still_costs_a_fixed_number_of_queries(client, user, django_assert_num_queries):
    challenge = baker.make(Challenge, xp=100, pass_score=0, published=True)
    for score in range(10, 100, 10):
        _award(user, challenge, score)
    # Whatever the history; the ledger's part is three: the total before the chart's window, the
    # days in it, and every recent attempt's explanation in one; one more counts the follows.
    with django_assert_num_queries(9):
        assert client.get(f"/u/{user.username}/").status_code == 200
