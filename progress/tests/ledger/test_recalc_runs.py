"""Recalculation runs against the ledger: a dry run writes nothing, applying writes exactly what it
predicted, grants and revocations count in what is owed, the command and the staff API."""

from __future__ import annotations

import io
import uuid

import django_rq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.awards import rules
from progress.awards import services as award_services
from progress.boards import services as boards
from progress.boards.windows import KEY_PREFIX
from progress.ledger import recalc
from progress.ledger.selectors import ledger_mismatches
from progress.ledger.services import xp_grant, xp_recalculate
from progress.models import XpEntry
from skillquest.redis_client import redis_connection

pytestmark = pytest.mark.django_db

RECALC = "/api/v1/admin/recalc-xp"

# Every row as PostgreSQL renders it, so that "unchanged" means unchanged to the byte.
SNAPSHOT_QUERIES = {
    "entries": "SELECT e::text FROM progress_xpentry e ORDER BY e.id",
    "users": "SELECT (u.id, u.total_xp, u.level)::text FROM accounts_user u ORDER BY u.id",
    "attempts": "SELECT (a.id, a.xp_awarded, a.awarded_at)::text FROM challenges_attempt a ORDER BY a.id",
}


def _snapshot() -> dict:
    with connection.cursor() as cursor:
        tables = {}
        for name, query in SNAPSHOT_QUERIES.items():
            cursor.execute(query)
            tables[name] = cursor.fetchall()
    redis = redis_connection()
    tables["boards"] = {key: redis.dump(key) for key in sorted(redis.scan_iter(match=f"{KEY_PREFIX}:*"))}
    return tables


def _award(user, challenge, score) -> Attempt:
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    attempt = Attempt.objects.create(user=user, challenge=challenge, score=score, status=status)
    award_services.awards_process(attempt_ids=[attempt.pk])
    return attempt


def _ledger_sum(user) -> int:
    return sum(XpEntry.objects.filter(user=user).values_list("amount", flat=True))


def _assert_every_total_is_its_ledger() -> None:
    for player in User.objects.all():
        assert player.total_xp == _ledger_sum(player), player.username
        assert player.level == rules.level_for_xp(player.total_xp), player.username
    assert ledger_mismatches() == []


@pytest.fixture
def players():
    return {
        name: baker.make(User, username=name, email=f"{name}@example.com")
        for name in ("alice", "bob", "carol", "dave")
    }


@pytest.fixture
def retuned(players):
    """Awards made, then one challenge's XP raised and the other's lowered: three players are owed a change.

    alice 80 + 180 = 260 -> 120 + 108 = 228; bob 60 then 100 on the raised one: 100 -> 150;
    carol 100 -> 60; dave failed (0 either way).
    """
    raised = baker.make(Challenge, xp=100, pass_score=50, published=True)
    lowered = baker.make(Challenge, xp=200, pass_score=50, published=True)
    _award(players["alice"], raised, 80)
    _award(players["alice"], lowered, 90)
    _award(players["bob"], raised, 60)
    _award(players["bob"], raised, 100)
    _award(players["carol"], lowered, 50)
    _award(players["dave"], raised, 40)
    Challenge.objects.filter(pk=raised.pk).update(xp=150)
    Challenge.objects.filter(pk=lowered.pk).update(xp=120)
    boards.rebuild()
    return players


def _change(user, before, after, level_before, level_after) -> dict:
    return {
        "user_id": str(user.pk),
        "username": user.username,
        "before": before,
        "after": after,
        "delta": after - before,
        "level_before": level_before,
        "level_after": level_after,
    }


@pytest.fixture
def expected_changes(retuned):
    """Largest |delta| first."""
    return [
        _change(retuned["bob"], 100, 150, 2, 2),
        _change(retuned["carol"], 100, 60, 2, 1),
        _change(retuned["alice"], 260, 228, 2, 2),
    ]


class TestDryRun:
    def test_a_dry_run_writes_nothing_to_the_database_or_the_boards(self, retuned, expected_changes):
        before = _snapshot()
        assert before["entries"] and len(before["boards"]) == 3  # all-time, week, month

        result = xp_recalculate(dry_run=True)

        assert _snapshot() == before
        assert result["dry_run"] is True
        assert (result["players_changed"], result["xp_delta_total"]) == (3, 50 - 40 - 32)
        assert result["changes"] == expected_changes
        assert "badges_awarded" not in result
        # The snapshot is not blind: applying the same run shows in the ledger, totals and boards.
        xp_recalculate()
        after = _snapshot()
        assert [after[part] != before[part] for part in ("entries", "users", "attempts", "boards")] == [
            True,
            True,
            False,
            True,
        ]

    def test_applying_right_after_a_dry_run_writes_exactly_its_prediction(
        self, retuned, expected_changes, staff_user
    ):
        predicted = xp_recalculate(dry_run=True)
        applied = xp_recalculate(actor_id=staff_user.pk)

        assert applied["dry_run"] is False
        assert applied["changes"] == predicted["changes"] == expected_changes
        counts = ("players_changed", "xp_delta_total", "projections_repaired")
        assert [applied[name] for name in counts] == [predicted[name] for name in counts] == [3, -22, 0]
        run_id = uuid.UUID(applied["run_id"])
        written = XpEntry.objects.filter(kind=XpEntry.Kind.RECALC)
        assert sorted(
            (str(entry.user_id), entry.amount, entry.idempotency_key, entry.run_id, entry.actor_id)
            for entry in written
        ) == sorted(
            (
                change["user_id"],
                change["delta"],
                f"recalc:{run_id}:{change['user_id']}",
                run_id,
                staff_user.pk,
            )
            for change in expected_changes
        )
        _assert_every_total_is_its_ledger()
        for change in expected_changes:
            assert User.objects.get(pk=change["user_id"]).total_xp == change["after"]

        again = xp_recalculate(dry_run=True)
        assert (again["players_changed"], again["projections_repaired"], again["changes"]) == (0, 0, [])

    def test_changes_are_listed_largest_first_and_capped_with_complete_counts(self, monkeypatch):
        monkeypatch.setattr(recalc, "CHANGES_LISTED", 2)
        raised = baker.make(Challenge, xp=100, pass_score=0, published=True)
        lowered = baker.make(Challenge, xp=100, pass_score=0, published=True)
        deltas = {}
        for name, challenge, score, delta in [
            ("p1", raised, 40, 60 - 40),
            ("p2", raised, 100, 150 - 100),
            ("p3", lowered, 100, 10 - 100),
            ("p4", lowered, 30, 3 - 30),
            ("p5", raised, 10, 15 - 10),
        ]:
            player = baker.make(User, username=name)
            _award(player, challenge, score)
            deltas[name] = delta
        Challenge.objects.filter(pk=raised.pk).update(xp=150)
        Challenge.objects.filter(pk=lowered.pk).update(xp=10)

        run = recalc.recalculation_run(dry_run=True)

        assert [(change.username, change.delta) for change in run.changes] == [("p3", -90), ("p2", 50)]
        assert run.players_changed == 5
        assert run.xp_delta_total == sum(deltas.values()) == -42


class TestGrantsAndRevocations:
    def test_a_grant_counts_in_what_is_owed(self, players, staff_user):
        player = players["alice"]
        challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
        _award(player, challenge, 80)
        xp_grant(user_id=player.pk, amount=50, reason="Mentoring", actor=staff_user)
        Challenge.objects.filter(pk=challenge.pk).update(xp=200)

        result = xp_recalculate()

        assert result["changes"] == [_change(player, 130, 210, 2, 2)]
        player.refresh_from_db()
        assert player.total_xp == 160 + 50
        assert sorted(XpEntry.objects.filter(user=player).values_list("kind", "amount")) == [
            ("attempt", 80),
            ("grant", 50),
            ("recalc", 80),
        ]
        _assert_every_total_is_its_ledger()

    def test_a_revocation_larger_than_the_recomputed_xp_floors_the_total_at_zero(self, players, staff_user):
        player = players["alice"]
        challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
        _award(player, challenge, 80)
        xp_grant(user_id=player.pk, amount=-70, reason="Copied solution", actor=staff_user)
        Challenge.objects.filter(pk=challenge.pk).update(xp=50)  # the attempt is now worth 40 < 70

        result = xp_recalculate()

        assert result["changes"] == [_change(player, 10, 0, 1, 1)]
        player.refresh_from_db()
        assert (player.total_xp, player.level) == (0, 1)
        _assert_every_total_is_its_ledger()
        later = xp_recalculate()
        assert (later["players_changed"], later["projections_repaired"]) == (0, 0)
        assert User.objects.get(pk=player.pk).total_xp == 0

    def test_an_award_after_a_floored_recalc_is_not_taken_back_by_the_next_recalc(self, players, staff_user):
        """Nothing about any challenge changes between the two runs, so the second must find nothing.

        The floor is applied to the figure and forgotten: the first run writes -10 (the player had
        10, is owed 40 - 70 = -30, floored to 0), and the second recomputes 40 + 80 - 70 = 50 and takes
        30 of the new award back, under the reason "recalculated from the challenges' current XP".
        """
        player = players["alice"]
        penalised = baker.make(Challenge, xp=100, pass_score=50, published=True)
        later = baker.make(Challenge, xp=100, pass_score=50, published=True)
        _award(player, penalised, 80)
        xp_grant(user_id=player.pk, amount=-70, reason="Copied solution", actor=staff_user)
        Challenge.objects.filter(pk=penalised.pk).update(xp=50)
        assert xp_recalculate()["changes"] == [_change(player, 10, 0, 1, 1)]

        _award(player, later, 80)  # the award job pays 80: a first result on an unchanged challenge
        assert User.objects.get(pk=player.pk).total_xp == 80

        second = xp_recalculate(dry_run=True)
        assert second["changes"] == []


class TestCommand:
    def test_verify_passes_when_every_total_equals_its_ledger(self, retuned):
        out = io.StringIO()
        call_command("recalc_xp", "--verify", stdout=out)  # owed changes are not drift
        assert "Every player's total and level equal their ledger." in out.getvalue()

    def test_verify_fails_naming_the_player_whose_total_drifted(self, retuned):
        User.objects.filter(pk=retuned["bob"].pk).update(total_xp=999)
        out = io.StringIO()
        with pytest.raises(CommandError, match=r"1 player\(s\) differ from their ledger"):
            call_command("recalc_xp", "--verify", stdout=out)
        assert out.getvalue().splitlines() == ["bob: total 999 (level 2), ledger 100 (level 2)"]

    def test_dry_run_prints_the_diff_and_writes_nothing(self, retuned):
        before = _snapshot()
        out = io.StringIO()
        call_command("recalc_xp", "--dry-run", stdout=out)
        lines = out.getvalue().splitlines()
        assert lines[0].split() == ["player", "before", "after", "delta", "level"]
        assert lines[1].split() == ["bob", "100", "150", "+50", "2→2"]
        assert lines[-1].endswith("3 player(s) would change, -22 XP in all (dry run: nothing written).")
        assert _snapshot() == before


class TestStaffApi:
    def test_a_dry_run_job_on_a_real_worker_reports_the_diff_and_writes_nothing(
        self, staff_client, retuned, expected_changes, settings
    ):
        settings.JOBS_IN_PROCESS = False
        before = _snapshot()
        response = staff_client.post(RECALC, {"dry_run": True}, format="json")
        assert response.status_code == 202, response.content
        job_id = response.json()["job_id"]
        assert staff_client.get(f"/api/v1/admin/jobs/{job_id}").json()["status"] == "queued"

        queue = django_rq.get_queue("default")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

        done = staff_client.get(f"/api/v1/admin/jobs/{job_id}")
        assert done.status_code == 200
        body = done.json()
        assert body["status"] == "finished", body
        result = body["result"]
        assert result["dry_run"] is True
        assert (result["players_changed"], result["xp_delta_total"]) == (3, -22)
        assert result["changes"] == expected_changes
        assert _snapshot() == before
