"""RQ jobs: they take ids, re-read state and call a service, so running one twice is harmless."""

from __future__ import annotations

import uuid

from skillquest.queue import enqueue


def award_xp_and_badges(attempt_id: str) -> dict | None:
    from progress import conditions, services

    award = services.xp_award(attempt_id=uuid.UUID(str(attempt_id)))
    if award is None:
        return None
    kinds = conditions.kinds_changed_by(xp=award.xp, levelled_up=award.levelled_up, passed=award.passed)
    badges = services.badges_evaluate(user_id=award.user_id, attempt_id=award.attempt_id, kinds=kinds)
    return {
        "attempt_id": str(award.attempt_id),
        "xp": award.xp,
        "total_xp": award.total_xp,
        "level": award.level,
        "badges": [user_badge.badge.slug for user_badge in badges],
    }


def schedule_award(attempt_id: uuid.UUID) -> bool:
    """Queue the award job; False if Redis is unreachable (the attempt stays pending for the sweep)."""
    return enqueue(award_xp_and_badges, str(attempt_id))


def reevaluate_badges(user_ids: list[str]) -> int:
    """Admin re-evaluation: award every badge the given players qualify for (never revokes)."""
    from progress import services

    return services.badges_reevaluate(user_ids=[uuid.UUID(str(user_id)) for user_id in user_ids])


def schedule_reevaluate_badges(user_ids: list[uuid.UUID]) -> bool:
    return enqueue(reevaluate_badges, [str(user_id) for user_id in user_ids])
