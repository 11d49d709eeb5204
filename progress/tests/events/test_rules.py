"""Which attempts count for an event, and the bonus they earn: pure rules, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from progress.awards import rules
from progress.events.rules import EventTerms, event_for

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
END = START + timedelta(days=2)
CHALLENGE = uuid.uuid4()


def terms(**overrides) -> EventTerms:
    values = dict(
        event_id=uuid.uuid4(),
        slug="sprint",
        multiplier=Decimal("1.50"),
        starts_at=START,
        ends_at=END,
        challenge_ids=frozenset({CHALLENGE}),
    )
    return EventTerms(**{**values, **overrides})


@pytest.mark.parametrize(
    ("multiplier", "paid", "bonus"),
    [
        ("1.50", 5, 3),  # 2.5 rounds up, not to even
        ("1.50", 7, 4),  # 3.5 -> 4
        ("1.25", 2, 1),  # 0.5 -> 1
        ("1.01", 49, 0),  # 0.49 -> 0
        ("1.01", 50, 1),  # 0.50 -> 1
        ("1.00", 1000, 0),  # no bonus at all
        ("2.00", 150, 150),
        ("5.00", 100_000, 400_000),
        ("1.33", 3, 1),  # 0.99 -> 1
        ("3.75", 10, 28),  # 27.5 -> 28
    ],
)
def test_the_bonus_is_multiplier_minus_one_times_the_paid_xp_rounded_half_up(multiplier, paid, bonus):
    assert rules.event_bonus(paid=paid, multiplier=Decimal(multiplier)) == bonus


def test_an_attempt_counts_from_the_first_instant_of_the_window_to_just_before_its_end():
    event = terms()
    assert event.counts(challenge_id=CHALLENGE, submitted_at=START)
    assert event.counts(challenge_id=CHALLENGE, submitted_at=END - timedelta(microseconds=1))
    assert not event.counts(challenge_id=CHALLENGE, submitted_at=END)
    assert not event.counts(challenge_id=CHALLENGE, submitted_at=START - timedelta(microseconds=1))


def test_only_the_events_challenges_count_and_only_graded_attempts():
    event = terms()
    assert not event.counts(challenge_id=uuid.uuid4(), submitted_at=START)
    assert not event.counts(challenge_id=CHALLENGE, submitted_at=None)


def test_event_for_finds_the_one_event_an_attempt_counts_for():
    other = uuid.uuid4()
    first, second = terms(), terms(challenge_ids=frozenset({other}))
    assert event_for([first, second], challenge_id=other, submitted_at=START) is second
    assert event_for([first, second], challenge_id=uuid.uuid4(), submitted_at=START) is None
