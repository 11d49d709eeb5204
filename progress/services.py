"""Progress state changes: awarding XP exactly once and keeping levels in step."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt
from progress import rules
from progress.recalc import recalculate_xp
from skillquest import metrics
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.awards")


@dataclass(frozen=True)
class Award:
    attempt_id: uuid.UUID
    user_id: uuid.UUID
    challenge_id: uuid.UUID
    score: int
    passed: bool
    xp: int
    total_xp: int
    old_level: int
    level: int
    awarded_at: datetime
    submitted_at: datetime | None

    @property
    def levelled_up(self) -> bool:
        return self.level > self.old_level


AWARD_BATCH_SIZE = 500


@transaction.atomic
def awards_process(
    *, attempt_ids: Sequence[uuid.UUID] | None = None, limit: int = AWARD_BATCH_SIZE
) -> list[Award]:
    """Award a batch of pending attempts (the given ones, or the oldest), each exactly once.

    Safe to run twice or in parallel: attempts are claimed with FOR UPDATE SKIP LOCKED, so two
    workers never take the same one, and `xp_awarded IS NULL` makes every later run a no-op.
    The players' rows are then locked in id order (no deadlock between batches), which serialises
    all awards of one player: the best-earlier-result rule and the totals see every earlier award.
    A batch costs a fixed handful of statements however many attempts it holds.
    """
    pending = Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True)
    if attempt_ids is not None:
        pending = pending.filter(pk__in=list(attempt_ids))
    claimed = list(
        pending.select_for_update(skip_locked=True, of=("self",))
        .order_by("submitted_at", "id")
        .values_list(
            "id", "user_id", "challenge_id", "score", "challenge__xp", "challenge__pass_score", "submitted_at"
        )[:limit]
    )
    if not claimed:
        return []
    user_ids = sorted({row[1] for row in claimed})
    challenge_ids = {row[2] for row in claimed}
    players = {
        pk: (total, level)
        for pk, total, level in User.objects.select_for_update()
        .filter(pk__in=user_ids)
        .order_by("pk")
        .values_list("pk", "total_xp", "level")
    }
    # Earlier awards on a challenge telescope to its best result so far: their sum is what it paid out.
    best = {
        (user_id, challenge_id): paid
        for user_id, challenge_id, paid in Attempt.objects.filter(
            user_id__in=user_ids, challenge_id__in=challenge_ids, xp_awarded__isnull=False
        )
        .values_list("user_id", "challenge_id")
        .annotate(paid=Sum("xp_awarded"))
        .order_by()
    }
    now = timezone.now()
    totals = {pk: total for pk, (total, _) in players.items()}
    awards: list[Award] = []
    for index, (
        attempt_id,
        user_id,
        challenge_id,
        score,
        challenge_xp,
        pass_score,
        submitted_at,
    ) in enumerate(claimed):
        base = rules.attempt_base_xp(challenge_xp=challenge_xp, score=score, pass_score=pass_score)
        key = (user_id, challenge_id)
        xp = rules.award_for(base=base, best_earlier_base=best.get(key, 0))
        best[key] = max(best.get(key, 0), base)
        old_total = totals[user_id]
        totals[user_id] = old_total + xp
        awards.append(
            Award(
                attempt_id=attempt_id,
                user_id=user_id,
                challenge_id=challenge_id,
                score=score,
                passed=score >= pass_score,
                xp=xp,
                total_xp=totals[user_id],
                old_level=rules.level_for_xp(old_total),
                level=rules.level_for_xp(totals[user_id]),
                # Distinct instants in processing order, so (awarded_at, id) — the order recalculation
                # replays — is the order the rules were applied in here.
                awarded_at=now + timedelta(microseconds=index),
                submitted_at=submitted_at,
            )
        )
    Attempt.objects.filter(pk__in=[award.attempt_id for award in awards]).update(
        xp_awarded=Case(*(When(pk=a.attempt_id, then=Value(a.xp)) for a in awards)),
        awarded_at=Case(*(When(pk=a.attempt_id, then=Value(a.awarded_at)) for a in awards)),
    )
    gained = {pk: totals[pk] - players[pk][0] for pk in user_ids}
    winners = [pk for pk in user_ids if gained[pk]]
    if winners:
        # Atomic increments (total_xp = total_xp + x); the rows are locked, so they equal `totals`.
        User.objects.filter(pk__in=winners).update(
            total_xp=F("total_xp") + Case(*(When(pk=pk, then=Value(gained[pk])) for pk in winners)),
            level=Case(*(When(pk=pk, then=Value(rules.level_for_xp(totals[pk]))) for pk in winners)),
        )
    for award in awards:
        log_event(
            logger,
            "xp_awarded",
            user_id=str(award.user_id),
            attempt_id=str(award.attempt_id),
            challenge_id=str(award.challenge_id),
            score=award.score,
            xp=award.xp,
            total_xp=award.total_xp,
            # Not `level`: that key is the log line's own severity.
            new_level=award.level,
        )
        if award.levelled_up:
            log_event(
                logger,
                "level_up",
                user_id=str(award.user_id),
                attempt_id=str(award.attempt_id),
                old_level=award.old_level,
                new_level=award.level,
                total_xp=award.total_xp,
            )
    transaction.on_commit(lambda: _report_awards(awards), robust=True)
    return awards


def _report_awards(awards: list[Award]) -> None:
    for award in awards:
        lag = (award.awarded_at - award.submitted_at).total_seconds() if award.submitted_at else None
        metrics.xp_awarded(xp=award.xp, lag_seconds=lag)


def xp_award(*, attempt_id: uuid.UUID) -> Award | None:
    """Award one graded attempt's XP once; None if there was nothing to award (done, or in progress)."""
    awards = awards_process(attempt_ids=[attempt_id], limit=1)
    return awards[0] if awards else None


def pending_award_count() -> int:
    return Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True).count()


def xp_recalculate() -> dict[str, int]:
    """Recalculate XP and levels from the database (set-based), then refresh what derives from them."""
    result = recalculate_xp()
    log_event(
        logger,
        "xp_recalculated",
        attempts_changed=result.attempts_changed,
        users_changed=result.users_changed,
    )
    return {"attempts_changed": result.attempts_changed, "users_changed": result.users_changed}
