"""The ledger itself: append-only in the database, one entry per paying award, replays insert nothing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.db.utils import DatabaseError
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.tests.helpers import drain_queue, make_challenge, start, submit
from progress import jobs
from progress.awards import services as award_services
from progress.ledger.services import attempt_key
from progress.models import XpEntry
from skillquest.queue import default_queue

pytestmark = pytest.mark.django_db


def _graded(user, challenge, score):
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    return Attempt.objects.create(user=user, challenge=challenge, score=score, status=status)


@pytest.fixture
def awarded_entry():
    user = baker.make(User)
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    award_services.awards_process(attempt_ids=[_graded(user, challenge, 80).pk])
    return XpEntry.objects.get(user=user)


class TestAppendOnly:
    def test_the_database_refuses_an_update(self, awarded_entry):
        with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
            XpEntry.objects.filter(pk=awarded_entry.pk).update(amount=1_000_000)
        awarded_entry.refresh_from_db()
        assert awarded_entry.amount == 80

    def test_the_database_refuses_a_raw_delete(self, awarded_entry):
        refused = pytest.raises(DatabaseError, match="append-only: DELETE refused")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM progress_xpentry WHERE id = %s", [awarded_entry.pk])
        assert XpEntry.objects.filter(pk=awarded_entry.pk).exists()

    def test_deleting_a_player_with_entries_is_refused_not_cascaded(self, awarded_entry):
        with pytest.raises(ProtectedError):
            awarded_entry.user.delete()
        assert XpEntry.objects.filter(pk=awarded_entry.pk).exists()

    def test_an_entry_is_never_zero(self, awarded_entry):
        with pytest.raises(IntegrityError), transaction.atomic():
            XpEntry.objects.create(
                user=awarded_entry.user, amount=0, kind="recalc", run_id=awarded_entry.pk, idempotency_key="x"
            )

    def test_a_staff_entry_needs_a_reason_and_an_actor(self, awarded_entry):
        with pytest.raises(IntegrityError), transaction.atomic():
            XpEntry.objects.create(user=awarded_entry.user, amount=5, kind="grant", idempotency_key="grant:x")


class TestAwardEntries:
    def test_a_paying_award_writes_one_entry_explaining_itself(self, awarded_entry):
        attempt = Attempt.objects.get(user=awarded_entry.user)
        assert awarded_entry.kind == "attempt"
        assert awarded_entry.attempt_id == attempt.pk
        assert awarded_entry.idempotency_key == f"attempt:{attempt.pk}"
        assert awarded_entry.created_at == attempt.awarded_at
        assert awarded_entry.explanation == {
            "challenge_xp": 100,
            "score": 80,
            "earned": 80,
            "previous_best": 0,
            "paid": 80,
        }

    def test_an_improvement_is_explained_by_the_previous_best(self):
        user = baker.make(User)
        challenge = baker.make(Challenge, xp=200, pass_score=50, published=True)
        award_services.awards_process(attempt_ids=[_graded(user, challenge, 75).pk])
        award_services.awards_process(attempt_ids=[_graded(user, challenge, 95).pk])
        latest = XpEntry.objects.filter(user=user).first()
        assert latest is not None
        assert latest.explanation == {
            "challenge_xp": 200,
            "score": 95,
            "earned": 190,
            "previous_best": 150,
            "paid": 40,
        }

    def test_an_award_of_nothing_writes_no_entry(self):
        user = baker.make(User)
        challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
        award_services.awards_process(attempt_ids=[_graded(user, challenge, 90).pk])
        award_services.awards_process(attempt_ids=[_graded(user, challenge, 60).pk])  # worse: pays 0
        award_services.awards_process(attempt_ids=[_graded(user, challenge, 10).pk])  # failed: pays 0
        assert list(XpEntry.objects.filter(user=user).values_list("amount", flat=True)) == [90]

    def test_xp_awarded_is_a_copy_of_its_entry(self):
        users = baker.make(User, _quantity=3)
        challenges = baker.make(Challenge, xp=90, pass_score=40, published=True, _quantity=2)
        for n in range(24):
            _graded(users[n % 3], challenges[n % 2], (n * 37) % 101)
        award_services.awards_process(limit=500)
        for attempt in Attempt.objects.prefetch_related("xp_entries"):
            entries = list(attempt.xp_entries.all())
            assert attempt.xp_awarded == (entries[0].amount if entries else 0)
            assert len(entries) <= 1

    def test_a_replayed_award_inserts_no_second_entry(self, awarded_entry):
        attempt = Attempt.objects.get(user=awarded_entry.user)
        assert award_services.awards_process(attempt_ids=[attempt.pk]) == []
        jobs.award_xp_and_badges(str(attempt.pk))
        assert XpEntry.objects.filter(attempt=attempt).count() == 1
        assert User.objects.get(pk=awarded_entry.user_id).total_xp == 80

    def test_the_idempotency_key_is_unique_in_the_database(self, awarded_entry):
        with pytest.raises(IntegrityError), transaction.atomic():
            XpEntry.objects.create(
                user=awarded_entry.user,
                amount=80,
                kind="attempt",
                attempt=awarded_entry.attempt,
                idempotency_key=attempt_key(awarded_entry.attempt_id),
            )


@pytest.mark.django_db(transaction=True)
def test_a_duplicated_award_job_on_a_real_worker_inserts_one_entry(settings):
    settings.JOBS_IN_PROCESS = False
    user = baker.make(User)
    api = APIClient()
    api.force_authenticate(user)
    attempt_id = start(api, make_challenge(xp=100, pass_score=0))
    assert submit(api, attempt_id, answer="", score=70).status_code == 200
    queue = default_queue()
    for _ in range(2):  # the same job twice, as a retry after a lost acknowledgement would
        queue.enqueue(jobs.award_xp_and_badges, attempt_id)
    assert drain_queue() >= 2
    assert XpEntry.objects.filter(attempt_id=attempt_id).count() == 1
    assert (
        User.objects.get(pk=user.pk).total_xp == 70 == sum(user.xp_entries.values_list("amount", flat=True))
    )
