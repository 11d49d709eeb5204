"""RQ jobs: they take ids, re-read state and call a service, so running one twice is harmless."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rq import get_current_job

from challenges.models import Attempt
from progress.awards.compute import Award
from progress.awards.services import AWARD_BATCH_SIZE, awards_process
from progress.badges.rarity import badge_rarity_refresh
from progress.badges.services import badges_reevaluate
from progress.boards.services import record_awards
from progress.ledger.services import xp_recalculate
from skillquest.queue import enqueue, enqueue_in
from skillquest.redis_client import redis_connection

logger = logging.getLogger("skillquest.jobs")

# While an award job is waiting in the queue, further submissions do not enqueue another: the
# waiting job claims every pending attempt when it runs. The job keeps the slot for a short
# coalescing window after it was enqueued (submissions of those milliseconds join it), then releases
# it before it claims anything, so a submission committed after that enqueues a fresh job.
AWARD_SLOT_KEY = "skillquest:awards:job-waiting"
# Seconds: a slot left without its job delays the next job at most this long. A failover can leave
# one (the slot's SET reached the replica, the job's enqueue did not: 60 s here stalled every award
# past the Sentinel drill's 15 s budget), as can an enqueue that failed while Redis was down for the
# slot's release too. While a backlog keeps a job waiting longer, one more is queued every this
# many seconds, and finds its share of the backlog or nothing.
AWARD_SLOT_TTL = 5
MAX_BATCHES_PER_JOB = 20


@dataclass
class Clock:
    """Time as the award job sees it; tests put a fake one in `clock` instead of sleeping."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = time.sleep


clock = Clock()


def award_xp_and_badges(attempt_id: str | None = None) -> dict[str, Any]:
    """Award every pending attempt, oldest first, in batches, each exactly once.

    `attempt_id` is the submission that scheduled the job (the queue's record of why it runs); it is
    awarded with the others, in its turn. Awarding it in a batch of its own first, as this job did,
    paid a batch's fixed cost twice per job: at 200 submissions/s, with ~10 awards a job, that was a
    third of the job's CPU (bench/README.md, issue 15).

    Returns how many attempts it awarded, the slugs of the badges those awards earned and the ids of
    the daily quests they completed (each award carries its own, `Award.badges` and `Award.quests`).
    """
    _coalesce()
    _release_slot()
    awards: list[Award] = []
    for _ in range(MAX_BATCHES_PER_JOB):
        # Players another worker's batch holds are skipped, not waited for (`awards_process`) ...
        batch = _award_batch(skip_held_players=True)
        if len(batch) < AWARD_BATCH_SIZE and _any_pending():
            # ... until the backlog runs out: then their attempts are claimed again, waiting for them.
            batch += _award_batch()
        awards += batch
        if len(batch) < AWARD_BATCH_SIZE:
            break  # nothing was left as of this claim; later submissions schedule their own job
        _ask_for_help()
    else:
        schedule_award(None, force=True)  # a backlog remains: hand it to a fresh job
    return {
        "awarded": len(awards),
        "badges": sorted(slug for award in awards for slug in award.badges),
        "quests": sorted(str(quest_id) for award in awards for quest_id in award.quests),
    }


def _ask_for_help() -> None:
    """A full batch means a backlog: make sure a job waits in the queue, so that an idle worker drains
    beside this one (their batches lock disjoint players, `awards_process`). Without it a backlog
    ran one job at a time, however many workers there were (bench/README.md, issue 14). At most one
    job waits (the award slot); in-process, this job drains it all itself."""
    if not settings.JOBS_IN_PROCESS:
        schedule_award(None)


def _coalesce() -> None:
    """Wait until `AWARD_COALESCE_SECONDS` after this job was enqueued (not at all in-process).

    At 200 submissions/s a job per one or two awards spent most of two cores on per-job costs (RQ's
    bookkeeping, a transaction of ~10 statements); waiting this long (100 ms by default) makes
    batches of ~20 instead, for at most this much more award lag (bench/README.md, awards and issue
    15). 0 turns it off (the test suite).
    """
    window = settings.AWARD_COALESCE_SECONDS
    job = get_current_job()
    if window <= 0 or job is None or job.enqueued_at is None:
        return
    enqueued_at = job.enqueued_at.replace(tzinfo=UTC) if job.enqueued_at.tzinfo is None else job.enqueued_at
    wait = window - (clock.now() - enqueued_at).total_seconds()
    if wait > 0:
        clock.sleep(min(wait, window))  # a web host's clock ahead of ours adds nothing


def _any_pending() -> bool:
    """Whether a graded attempt still waits for its award: one probe of the pending attempts' index,
    where a second claim finding nothing (the usual end of a job) cost a transaction and a claim."""
    return Attempt.objects.award_pending().exists()


def _award_batch(*, skip_held_players: bool = False) -> list[Award]:
    awards = awards_process(limit=AWARD_BATCH_SIZE, skip_held_players=skip_held_players)
    if awards:
        # After the awards' commit; a Redis failure is logged, never raised (the awards stand).
        record_awards(awards)
        # New holders, or new players with XP, move every badge's share.
        schedule_rarity_refresh()
    return awards


def schedule_award(attempt_id: uuid.UUID | None, *, force: bool = False) -> bool:
    """Make sure an award job will run; False if Redis is down (attempts then wait for the sweep)."""
    if settings.JOBS_IN_PROCESS:
        return enqueue(award_xp_and_badges, str(attempt_id) if attempt_id else None)
    try:
        taken = redis_connection().set(AWARD_SLOT_KEY, "1", nx=True, ex=AWARD_SLOT_TTL)
    except RedisError:
        logger.warning("award_schedule_failed", extra={"attempt_id": str(attempt_id)}, exc_info=True)
        return False
    if not taken and not force:
        return True
    queued = enqueue(award_xp_and_badges, str(attempt_id) if attempt_id else None)
    if not queued:
        _release_slot()
    return queued


def _release_slot() -> None:
    _release(AWARD_SLOT_KEY)


def _release(key: str) -> None:
    if settings.JOBS_IN_PROCESS:
        return
    try:
        redis_connection().delete(key)
    except RedisError:
        logger.warning("job_slot_release_failed", extra={"key": key}, exc_info=True)


# While a rarity refresh is scheduled, further asks join it (as the award slot above).
RARITY_SLOT_KEY = "skillquest:badges:rarity-refresh-scheduled"


def refresh_badge_rarity() -> int:
    """Recount how rare each badge is (`progress.badges.rarity`); returns how many changed."""
    _release(RARITY_SLOT_KEY)
    return badge_rarity_refresh()


def schedule_rarity_refresh() -> bool:
    """Make sure a rarity refresh runs within `BADGE_RARITY_REFRESH_SECONDS` (at once in-process)."""
    delay = settings.BADGE_RARITY_REFRESH_SECONDS
    if settings.JOBS_IN_PROCESS:
        return enqueue(refresh_badge_rarity)
    try:
        taken = redis_connection().set(RARITY_SLOT_KEY, "1", nx=True, ex=max(1, round(delay * 2)))
    except RedisError:
        logger.warning("rarity_schedule_failed", exc_info=True)
        return False
    if not taken:
        return True
    queued = enqueue_in(timedelta(seconds=delay), refresh_badge_rarity)
    if not queued:
        _release(RARITY_SLOT_KEY)
    return queued


def recalculate_xp(dry_run: bool = False, actor_id: str | None = None) -> dict[str, Any]:
    """Recalculation against the ledger; the result is the diff (`progress.ledger.recalc`)."""
    return xp_recalculate(dry_run=dry_run, actor_id=uuid.UUID(actor_id) if actor_id else None)


def reevaluate_badges(user_ids: list[str]) -> int:
    """Admin re-evaluation: award every badge the given players qualify for (never revokes)."""
    return badges_reevaluate(user_ids=[uuid.UUID(str(user_id)) for user_id in user_ids])


def schedule_reevaluate_badges(user_ids: list[uuid.UUID]) -> bool:
    return enqueue(reevaluate_badges, [str(user_id) for user_id in user_ids])
