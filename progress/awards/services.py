"""Awarding XP exactly once, keeping the ledger, levels and badges in step."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from challenges.models import Attempt
from progress.awards.compute import Award, Claimed, compute_awards
from progress.badges import conditions
from progress.badges.services import badges_evaluate
from progress.ledger.services import attempt_key, ledger_append, locked_totals
from progress.models import UserBadge, XpEntry
from progress.notifications.messages import Message, message
from progress.notifications.services import notify
from skillquest import metrics, sql
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.awards")

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
    claimed = _claim(attempt_ids=attempt_ids, limit=limit)
    if not claimed:
        return []
    user_ids = sorted({attempt.user_id for attempt in claimed})
    totals = locked_totals(user_ids)
    best_scores = {
        (user_id, challenge_id): score
        for user_id, challenge_id, score in Attempt.objects.filter(
            user_id__in=user_ids,
            challenge_id__in={attempt.challenge_id for attempt in claimed},
            xp_awarded__isnull=False,
        )
        .values_list("user_id", "challenge_id")
        .annotate(score=Max("score"))
        .order_by()
    }
    awards = compute_awards(claimed, totals=totals, best_scores=best_scores, now=timezone.now())
    _write(awards, totals_before=totals)
    # Told in the awards' transaction (kept level-ups commit with them), pushed once it commits.
    notify(_messages(awards))
    # Badges in the same transaction as the XP: a failure rolls both back and the retry redoes both,
    # so no award ever commits without the badges it earned.
    badges = _badges_earned(awards)
    transaction.on_commit(lambda: _report(awards, badges), robust=True)
    earned: dict[str, list[str]] = {}
    for user_badge in badges:
        earned.setdefault(user_badge.metadata["attempt_id"], []).append(user_badge.badge.slug)
    return [
        dataclasses.replace(award, badges=tuple(earned[str(award.attempt_id)]))
        if str(award.attempt_id) in earned
        else award
        for award in awards
    ]


def _claim(*, attempt_ids: Sequence[uuid.UUID] | None, limit: int) -> list[Claimed]:
    pending = Attempt.objects.award_pending()
    if attempt_ids is not None:
        pending = pending.filter(pk__in=list(attempt_ids))
    rows = (
        pending.select_for_update(skip_locked=True, of=("self",))
        .order_by("submitted_at", "id")
        .values_list(
            "id", "user_id", "challenge_id", "score", "challenge__xp", "challenge__pass_score", "submitted_at"
        )[:limit]
    )
    return [Claimed(*row) for row in rows]


def _write(awards: list[Award], *, totals_before: dict[uuid.UUID, int]) -> None:
    """The attempts' XP and award times, then a ledger entry per paying award, moving the totals.

    `xp_awarded` stays on the attempt as a cached copy of its entry's amount (0: no entry, since an
    entry is never 0); it is what the award job's claim and the pages read.
    """
    sql.update_rows(
        Attempt, ["xp_awarded", "awarded_at"], [(a.attempt_id, a.xp, a.awarded_at) for a in awards]
    )
    entries = [
        XpEntry(
            user_id=award.user_id,
            amount=award.xp,
            kind=XpEntry.Kind.ATTEMPT,
            attempt_id=award.attempt_id,
            idempotency_key=attempt_key(award.attempt_id),
            explanation=award.explanation,
            created_at=award.awarded_at,
        )
        for award in awards
        if award.xp
    ]
    ledger_append(entries, totals_before=totals_before)
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


def _messages(awards: list[Award]) -> list[Message]:
    """Each award's XP for its page, and its level-up; the badges tell their own (`badges_evaluate`)."""
    messages = []
    for award in awards:
        messages.append(
            message(
                award.user_id,
                "xp_awarded",
                attempt_id=str(award.attempt_id),
                amount=award.xp,
                total_xp=award.total_xp,
                created_at=award.awarded_at,
            )
        )
        if award.levelled_up:
            messages.append(
                message(award.user_id, "level_up", level=award.level, created_at=award.awarded_at)
            )
    return messages


def _badges_earned(awards: list[Award]) -> list[UserBadge]:
    """Evaluate, per player, only the condition types this batch's awards can have changed.

    New badges are credited to the player's last award in the batch (recorded in their metadata).
    """
    kinds: dict[uuid.UUID, set[str]] = {}
    last_attempt: dict[uuid.UUID, uuid.UUID] = {}
    for award in awards:
        changed = conditions.kinds_changed_by(xp=award.xp, levelled_up=award.levelled_up, passed=award.passed)
        if changed:
            kinds.setdefault(award.user_id, set()).update(changed)
            last_attempt[award.user_id] = award.attempt_id
    if not kinds:
        return []
    return badges_evaluate(user_ids=list(kinds), kinds=kinds, attempt_ids=last_attempt)


def _report(awards: list[Award], badges: list[UserBadge]) -> None:
    for award in awards:
        lag = (award.awarded_at - award.submitted_at).total_seconds() if award.submitted_at else None
        metrics.xp_awarded(xp=award.xp, lag_seconds=lag)
    for user_badge in badges:
        metrics.badge_awarded(user_badge.badge.slug)
