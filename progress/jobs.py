"""RQ jobs: they take ids, re-read state and call a service, so running one twice is harmless."""

from __future__ import annotations

import uuid

from skillquest.queue import enqueue


def award_xp_and_badges(attempt_id: str) -> dict | None:
    from progress import leaderboard, services

    award = services.xp_award(attempt_id=uuid.UUID(str(attempt_id)))
    if award is None:
        return None
    # After the award's commit; a Redis failure is logged, never raised (the award stands).
    leaderboard.record_award(award)
    return {
        "attempt_id": str(award.attempt_id),
        "xp": award.xp,
        "total_xp": award.total_xp,
        "level": award.level,
    }


def schedule_award(attempt_id: uuid.UUID) -> bool:
    """Queue the award job; False if Redis is unreachable (the attempt stays pending for the sweep)."""
    return enqueue(award_xp_and_badges, str(attempt_id))
