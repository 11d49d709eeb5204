"""Attempt's pending-award rule: one condition, used by the partial index and by the queryset."""

from __future__ import annotations

import pytest
from django.db import connection
from model_bakery import baker

from challenges.models import AWARD_PENDING, Attempt
from challenges.tests.helpers import make_challenge

pytestmark = pytest.mark.django_db


def pending_award_index():
    [index] = [index for index in Attempt._meta.indexes if index.name == "attempt_pending_award"]
    return index


def test_award_pending_filters_by_the_condition_of_the_pending_award_index():
    index = pending_award_index()
    assert index.condition == AWARD_PENDING
    assert str(Attempt.objects.award_pending().query) == str(Attempt.objects.filter(index.condition).query)
    # "Graded" in the index is exactly Attempt.GRADED, which the per-attempt property uses.
    assert set(dict(index.condition.children)["status__in"]) == set(Attempt.GRADED)


def test_award_pending_selects_graded_attempts_without_xp_and_agrees_with_the_property(user):
    challenge = make_challenge()
    attempts = [
        baker.make(Attempt, user=user, challenge=challenge, status=status, xp_awarded=xp)
        for status in Attempt.Status.values
        for xp in (None, 0, 10)
    ]
    pending = set(Attempt.objects.award_pending().values_list("pk", flat=True))
    assert pending == {attempt.pk for attempt in attempts if attempt.award_pending}
    shapes = {(attempt.status, attempt.xp_awarded) for attempt in attempts if attempt.pk in pending}
    assert shapes == {("passed", None), ("failed", None)}


def test_a_query_filtered_by_award_pending_can_use_the_pending_award_index(user):
    challenge = make_challenge()
    baker.make(Attempt, user=user, challenge=challenge, status=Attempt.Status.PASSED, _quantity=3)
    with connection.cursor() as cursor:
        # A few rows: the planner would rightly read the table. Can it use the index at all?
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = Attempt.objects.award_pending().order_by("submitted_at").explain()
    assert "attempt_pending_award" in plan, plan
