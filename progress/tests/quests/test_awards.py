"""Daily quests in the award job: a reward once per player, quest and local day, inside the job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from model_bakery import baker

from accounts.models import User
from challenges.models import Tag
from challenges.tests.helpers import make_challenge
from progress import jobs
from progress.awards.services import awards_process
from progress.ledger.selectors import ledger_mismatches
from progress.ledger.services import xp_grant, xp_recalculate
from progress.models import Badge, Quest, XpEntry
from progress.tests.events.helpers import graded, make_event
from progress.webhooks.subscriptions import subscribed_types

pytestmark = pytest.mark.django_db


def quest(kind: str, reward_xp: int = 25, **params) -> Quest:
    return Quest.objects.create(name=f"{kind} {params}", kind=kind, params=params, reward_xp=reward_xp)


def award(*attempts):
    return awards_process(attempt_ids=[attempt.pk for attempt in attempts])


def rewards(user) -> list[tuple[str, int]]:
    return sorted(XpEntry.objects.filter(user=user, kind="quest").values_list("idempotency_key", "amount"))


def test_reaching_the_target_pays_the_reward_once(user):
    target = quest("pass_challenges", reward_xp=30, count=2)
    first, second, third = make_challenge(xp=10), make_challenge(xp=10), make_challenge(xp=10)

    [one] = award(graded(user, first, 100))
    assert one.quests == () and rewards(user) == []

    [two] = award(graded(user, second, 100))
    today = timezone.now().date()
    assert two.quests == (target.pk,)
    assert rewards(user) == [(f"quest:{target.pk}:{user.pk}:{today.isoformat()}", 30)]
    assert User.objects.get(pk=user.pk).total_xp == 50

    award(graded(user, third, 100))  # past the target: nothing more today
    assert len(rewards(user)) == 1
    entry = XpEntry.objects.get(kind="quest")
    assert (entry.quest_id, entry.explanation["day"], entry.explanation["attempt_id"]) == (
        target.pk,
        today.isoformat(),
        str(two.attempt_id),
    )
    assert ledger_mismatches() == []


def test_passing_one_challenge_twice_counts_once_and_a_failed_attempt_not_at_all(user):
    quest("pass_challenges", count=2)
    challenge = make_challenge(xp=10)
    award(graded(user, challenge, 60), graded(user, challenge, 100), graded(user, make_challenge(), 10))
    assert rewards(user) == []


def test_a_repeat_of_a_challenge_passed_on_an_earlier_day_counts_today(user):
    quest("pass_challenges", count=1)
    challenge = make_challenge(xp=10)
    award(graded(user, challenge, 100, at=timezone.now() - timedelta(days=3)))  # that day's reward
    [again] = award(graded(user, challenge, 100))
    assert again.xp == 0  # nothing more to earn from it...
    assert len(rewards(user)) == 2  # ...but today's quest is done


def test_earn_xp_counts_todays_paid_xp_with_event_bonuses(user):
    target = quest("earn_xp", reward_xp=10, xp=100)
    challenge = make_challenge(xp=70)
    make_event(challenge, multiplier="1.50")
    [done] = award(graded(user, challenge, 100))  # 70 + a 35 bonus
    assert done.quests == (target.pk,)


def test_earn_xp_does_not_count_grants_or_other_quests_rewards(user, staff_user):
    quest("pass_challenges", reward_xp=500, count=1)
    quest("earn_xp", xp=100)
    xp_grant(user_id=user.pk, amount=1000, reason="Gift", actor=staff_user)
    award(graded(user, make_challenge(xp=50), 100))
    assert [amount for _, amount in rewards(user)] == [500]  # earn_xp saw only the 50 XP of play


def test_pass_difficulty_and_pass_tag_count_only_their_challenges(user):
    hard = quest("pass_difficulty", difficulty="hard", count=1)
    Tag.objects.create(name="SQL", slug="sql")
    tagged = quest("pass_tag", tag="sql", count=2)
    award(graded(user, make_challenge(difficulty="easy"), 100))
    assert rewards(user) == []
    sql_one, sql_two = make_challenge(difficulty="hard"), make_challenge(difficulty="easy")
    for challenge in (sql_one, sql_two):
        challenge.tags.add(Tag.objects.get(slug="sql"))
    [first] = award(graded(user, sql_one, 100))
    assert first.quests == (hard.pk,)
    [second] = award(graded(user, sql_two, 100))
    assert second.quests == (tagged.pk,)


def test_inactive_quests_and_quests_stored_with_params_their_kind_refuses_pay_nothing(user):
    Quest.objects.create(name="Off", kind="pass_challenges", params={"count": 1}, reward_xp=5, active=False)
    Quest.objects.create(name="Broken", kind="pass_challenges", params={"count": "one"}, reward_xp=5)
    Quest.objects.create(name="Gone", kind="a_kind_since_removed", params={}, reward_xp=5)
    [done] = award(graded(user, make_challenge(), 100))
    assert done.quests == () and rewards(user) == []


def test_a_reward_can_level_up_and_earn_an_xp_badge(user):
    quest("pass_challenges", reward_xp=60, count=1)
    Badge.objects.create(name="Hundred", slug="hundred", condition={"type": "xp", "threshold": 100})
    [done] = award(graded(user, make_challenge(xp=50), 100))
    assert done.badges == ("hundred",)
    assert User.objects.get(pk=user.pk).level == 2


def test_the_award_job_returns_the_completed_quests(user, settings):
    settings.JOBS_IN_PROCESS = False
    target = quest("pass_challenges", count=1)
    attempt = graded(user, make_challenge(), 100)
    assert jobs.award_xp_and_badges(str(attempt.pk))["quests"] == [str(target.pk)]


def test_rewards_survive_recalculation(user, staff_user):
    quest("pass_challenges", reward_xp=40, count=1)
    challenge = make_challenge(xp=100)
    award(graded(user, challenge, 100))
    challenge.xp = 10
    challenge.save()
    xp_recalculate(actor_id=staff_user.pk)
    assert User.objects.get(pk=user.pk).total_xp == 50  # 10 for the challenge now, 40 for the quest
    assert len(rewards(user)) == 1
    assert ledger_mismatches() == []
    assert xp_recalculate(dry_run=True)["players_changed"] == 0


def new_yorker(name: str) -> User:
    return baker.make(User, username=name, email=f"{name}@example.com", timezone="America/New_York")


@pytest.mark.parametrize(
    ("first", "second", "same_day"),
    [
        # Spring forward (2026-03-08 lasts 23 h): 23:59 EDT and 00:30 EDT the next day are two days;
        # a fixed EST offset (-5 h) would put both on the 8th.
        (datetime(2026, 3, 9, 3, 59, tzinfo=UTC), datetime(2026, 3, 9, 4, 30, tzinfo=UTC), False),
        # Fall back (2026-11-01 lasts 25 h): 00:30 EDT and 23:30 EST are one day; a fixed EDT offset
        # (-4 h) would put the second on the 2nd.
        (datetime(2026, 11, 1, 4, 30, tzinfo=UTC), datetime(2026, 11, 2, 4, 30, tzinfo=UTC), True),
    ],
)
def test_the_local_day_follows_new_york_across_the_dst_change(first, second, same_day):
    player = new_yorker("nyc")
    target = quest("pass_challenges", count=2)
    award(graded(player, make_challenge(), 100, at=first), graded(player, make_challenge(), 100, at=second))
    assert bool(rewards(player)) is same_day
    if same_day:
        assert rewards(player)[0][0].endswith(f"{target.pk}:{player.pk}:2026-11-01")


def test_a_new_local_day_starts_from_zero(user):
    quest("pass_challenges", count=2)
    yesterday, today = timezone.now() - timedelta(days=1), timezone.now()
    award(graded(user, make_challenge(), 100, at=yesterday), graded(user, make_challenge(), 100, at=today))
    assert rewards(user) == []
    award(graded(user, make_challenge(), 100, at=today))
    [(key, _)] = rewards(user)
    assert key.endswith(today.date().isoformat())


def test_an_attempt_graded_before_midnight_and_awarded_after_completes_the_day_it_was_played(user):
    target = quest("pass_challenges", count=1)
    played = datetime(2026, 4, 10, 23, 59, 59, tzinfo=UTC)  # the player is in UTC
    award(graded(user, make_challenge(), 100, at=played))
    assert rewards(user) == [(f"quest:{target.pk}:{user.pk}:{date(2026, 4, 10).isoformat()}", 25)]


def _statements_for_a_batch(players: int) -> int:
    challenges = [make_challenge(xp=20, difficulty="hard"), make_challenge(xp=30)]
    make_event(challenges[0], multiplier="1.50")
    attempts = []
    for index in range(players):
        player = baker.make(User, username=f"batch{players}-{index}", email=f"b{players}-{index}@example.com")
        attempts += [graded(player, challenge, 100) for challenge in challenges]
    subscribed_types()  # the webhooks' subscriptions, cached as in a running system
    with CaptureQueriesContext(connection) as captured:
        awards = award(*attempts)
    assert len(awards) == 2 * players and all(len(done.quests) == 3 for done in awards[1::2])
    return len(captured)


def test_a_batch_with_an_event_and_three_quests_costs_the_same_statements_whatever_its_size():
    quest("pass_challenges", count=2)
    quest("earn_xp", xp=40)
    quest("pass_difficulty", difficulty="hard", count=1)
    # Claim, lock, best scores, event terms, attempts, ledger, totals; quests, zones, days, rewards
    # paid, rewards, totals; the notifications (quests completed); the badges (none is active here);
    # the savepoint and its release.
    assert _statements_for_a_batch(2) == _statements_for_a_batch(25) == 17
