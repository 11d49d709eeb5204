"""Racing award jobs on real PostgreSQL (threads, each with its own connection): a quest pays once."""

from __future__ import annotations

from functools import partial

import pytest
from model_bakery import baker

from accounts.models import User
from challenges.tests.helpers import make_challenge
from progress import jobs
from progress.awards.services import awards_process
from progress.ledger.selectors import ledger_mismatches
from progress.models import Quest, XpEntry
from progress.tests.awards.test_concurrency import THREADS, run_together
from progress.tests.events.helpers import graded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def racer():
    return baker.make(User, username="racer", email="racer@example.com")


def test_award_jobs_racing_over_one_players_attempts_pay_the_quest_once(racer):
    Quest.objects.create(name="One", kind="pass_challenges", params={"count": 1}, reward_xp=50)
    attempts = [graded(racer, make_challenge(xp=10), 100) for _ in range(THREADS)]

    results = run_together([partial(awards_process, attempt_ids=[attempt.pk]) for attempt in attempts])

    assert sum(len(awards) for awards in results) == THREADS
    assert sum(len(award.quests) for awards in results for award in awards) == 1
    assert XpEntry.objects.filter(kind="quest").count() == 1
    assert User.objects.get(pk=racer.pk).total_xp == 10 * THREADS + 50
    assert ledger_mismatches() == []


def test_two_jobs_that_reach_the_target_only_together_pay_it_once(racer):
    quest = Quest.objects.create(name="Two", kind="pass_challenges", params={"count": 2}, reward_xp=50)
    first, second = (graded(racer, make_challenge(xp=10), 100) for _ in range(2))

    results = run_together(
        [lambda: jobs.award_xp_and_badges(str(first.pk)), lambda: jobs.award_xp_and_badges(str(second.pk))]
    )

    assert sorted(quest_id for result in results for quest_id in result["quests"]) == [str(quest.pk)]
    assert XpEntry.objects.filter(kind="quest").count() == 1
    assert User.objects.get(pk=racer.pk).total_xp == 70
    assert ledger_mismatches() == []
