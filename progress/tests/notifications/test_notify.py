"""What is kept as a notification, written exactly once with the change it reports."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.personal_data.services import account_erase
from challenges.models import Attempt
from challenges.tests.helpers import make_challenge
from progress import jobs
from progress.awards.services import awards_process
from progress.badges.services import badges_award_missing
from progress.ledger.services import xp_grant
from progress.models import Badge, Notification
from progress.notifications.messages import TYPES, UnknownMessage, message


def graded(user, challenge, *, score: int) -> Attempt:
    """An attempt as a submit leaves it: graded, its award pending."""
    return Attempt.objects.create(
        user=user,
        challenge=challenge,
        status="passed" if score >= challenge.pass_score else "failed",
        score=score,
        submitted_at=timezone.now(),
    )


def kept(user) -> list[tuple[str, dict]]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("type", "data"))


@pytest.fixture
def first_badge(db):
    return Badge.objects.create(
        name="First", slug="first", icon="👣", condition={"type": "attempt_count", "count": 1}
    )


def test_an_award_keeps_its_level_up_and_badge_but_not_its_xp(user, first_badge):
    graded(user, make_challenge(xp=150), score=100)
    graded(user, make_challenge(xp=10), score=100)  # same batch, no second level-up

    assert len(awards_process()) == 2

    assert kept(user) == [
        ("level_up", {"level": 2}),
        ("badge_awarded", {"badge": {"slug": "first", "name": "First", "icon": "👣", "description": ""}}),
    ]


def test_running_the_award_job_again_tells_nothing_twice(user, first_badge):
    graded(user, make_challenge(xp=150), score=100)
    jobs.award_xp_and_badges()
    jobs.award_xp_and_badges()
    assert [kind for kind, _ in kept(user)] == ["level_up", "badge_awarded"]


def test_a_grant_and_a_revocation_are_kept_and_a_replayed_grant_is_not_kept_twice(user, staff_user):
    xp_grant(user_id=user.pk, amount=150, reason="Bug bounty", actor=staff_user, idempotency_key="k1")
    xp_grant(user_id=user.pk, amount=150, reason="Bug bounty", actor=staff_user, idempotency_key="k1")
    xp_grant(user_id=user.pk, amount=-20, reason="Typo", actor=staff_user)

    assert kept(user) == [
        ("xp_granted", {"amount": 150, "reason": "Bug bounty"}),
        ("level_up", {"level": 2}),
        ("xp_granted", {"amount": -20, "reason": "Typo"}),
    ]


def test_recalculation_keeps_a_notification_for_each_badge_it_gives(user, other_user):
    Attempt.objects.create(
        user=user,
        challenge=make_challenge(),
        status="passed",
        score=90,
        xp_awarded=0,
        submitted_at=timezone.now(),
    )
    Badge.objects.create(name="Later", slug="later", condition={"type": "attempt_count", "count": 1})

    assert badges_award_missing() == 1
    assert badges_award_missing() == 0  # already held: nothing, and no second notification

    assert kept(user) == [
        ("badge_awarded", {"badge": {"slug": "later", "name": "Later", "icon": "", "description": ""}})
    ]
    assert kept(other_user) == []


def test_erasing_an_account_deletes_its_notifications(user, staff_user):
    xp_grant(user_id=user.pk, amount=5, reason="A personal reason", actor=staff_user)
    account_erase(user=user)
    assert not Notification.objects.filter(user=user).exists()


def test_a_message_must_have_exactly_its_types_fields(user):
    assert message(user.pk, "level_up", level=3).data == {"level": 3}
    with pytest.raises(UnknownMessage):
        message(user.pk, "level_up", level=3, extra=1)
    with pytest.raises(UnknownMessage):
        message(user.pk, "quest_done", quest="q")
    assert {name for name, kind in TYPES.items() if kind.kept} == {
        "level_up",
        "badge_awarded",
        "xp_granted",
        "quest_completed",
    }
