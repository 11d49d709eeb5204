"""The data migration that opens the ledger (progress 0004): every award made before it becomes an
`attempt` entry, a drifted total gets an opening `recalc` entry, and the table is append-only again."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import DatabaseError
from django.utils import timezone

from accounts.models import User
from progress.awards import rules
from progress.ledger.selectors import ledger_mismatches
from progress.models import XpEntry

BEFORE_LEDGER = ("progress", "0002_badge_condition_help_without_types")
OPENING_REASON = "Balance carried over when the XP ledger was introduced"


def _migrate(targets) -> MigrationExecutor:
    """A fresh executor each time: its loader reads which migrations are applied when it is made."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


def _leaves() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _before_ledger(apps):
    """Players, challenges and attempts as they stood before the ledger; returns what 0004 must write."""
    user_model = apps.get_model("accounts", "User")
    challenge_model = apps.get_model("challenges", "Challenge")
    attempt_model = apps.get_model("challenges", "Attempt")

    def player(name, total_xp):
        return user_model.objects.create(
            username=name,
            email=f"{name}@example.com",
            password="!",
            total_xp=total_xp,
            level=rules.level_for_xp(total_xp),
        )

    first = challenge_model.objects.create(title="First", slug="first", xp=100, pass_score=50, published=True)
    second = challenge_model.objects.create(
        title="Second", slug="second", xp=100, pass_score=50, published=True
    )
    submitted_at = timezone.now() - timedelta(days=3)

    def attempt(user, challenge, score, xp_awarded, minutes):
        submitted = submitted_at + timedelta(minutes=minutes)
        return attempt_model.objects.create(
            user=user,
            challenge=challenge,
            status="passed" if score >= challenge.pass_score else "failed",
            score=score,
            xp_awarded=xp_awarded,
            # Later than the submission, so that an entry dated by either can be told apart.
            awarded_at=None if xp_awarded is None else submitted + timedelta(seconds=7),
            submitted_at=submitted,
        )

    alice = player("alice", 100)  # consistent: 80 + 20
    bob = player("bob", 40)  # drifted down from 50
    carol = player("carol", 30)  # drifted up from no award at all
    player("dave", 0)  # nothing at all
    paid = [
        attempt(alice, first, 80, 80, 1),
        attempt(alice, first, 100, 20, 2),  # the improvement
        attempt(bob, second, 50, 50, 3),
    ]
    attempt(alice, second, 30, 0, 4)  # awarded, paid nothing: no entry (an entry is never 0)
    attempt(bob, first, 90, None, 5)  # graded, award still pending: no entry
    opening = {str(bob.pk): (-10, 50, 40), str(carol.pk): (30, 0, 30)}  # amount, before, after
    return paid, opening


@pytest.mark.django_db(transaction=True)
def test_existing_awards_become_entries_and_drifted_totals_get_an_opening_entry():
    try:
        executor = _migrate([BEFORE_LEDGER])
        with connection.cursor() as cursor:
            assert "progress_xpentry" not in connection.introspection.table_names(cursor)
        state = [BEFORE_LEDGER if app == "progress" else (app, name) for app, name in _leaves()]
        paid, opening = _before_ledger(executor.loader.project_state(state).apps)

        _migrate(_leaves())

        attempt_entries = XpEntry.objects.filter(kind=XpEntry.Kind.ATTEMPT)
        assert sorted(
            (entry.attempt_id, entry.user_id, entry.amount, entry.idempotency_key, entry.created_at)
            for entry in attempt_entries
        ) == sorted(
            (attempt.pk, attempt.user_id, attempt.xp_awarded, f"attempt:{attempt.pk}", attempt.awarded_at)
            for attempt in paid
        )
        openings = list(XpEntry.objects.filter(kind=XpEntry.Kind.RECALC))
        assert {
            str(entry.user_id): (entry.amount, entry.explanation["before"], entry.explanation["after"])
            for entry in openings
        } == opening
        (run_id,) = {entry.run_id for entry in openings}
        assert isinstance(run_id, uuid.UUID)
        for entry in openings:
            assert entry.idempotency_key == f"recalc:{run_id}:{entry.user_id}"
            assert entry.reason == OPENING_REASON
        assert XpEntry.objects.count() == len(paid) + len(opening)
        for player in User.objects.all():
            entries = XpEntry.objects.filter(user=player).values_list("amount", flat=True)
            assert player.total_xp == sum(entries), player.username
        assert ledger_mismatches() == []

        # 0003's trigger came back with the table: history cannot be rewritten.
        with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
            XpEntry.objects.filter(kind=XpEntry.Kind.RECALC).update(amount=1)
        refused = pytest.raises(DatabaseError, match="append-only: DELETE refused")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM progress_xpentry")
        assert XpEntry.objects.count() == len(paid) + len(opening)
    finally:
        _migrate(_leaves())  # whatever failed, the next test finds the database fully migrated
