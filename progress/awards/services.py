"""Awarding XP exactly once, keeping the ledger, levels and badges in step."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from challenges.models import Attempt
from progress.awards import rules
from progress.awards.compute import Award, Claimed, compute_awards
from progress.badges import conditions
from progress.badges.services import badges_evaluate
from progress.events.rules import EventTerms
from progress.events.selectors import event_terms
from progress.ledger.services import attempt_key, event_bonus_key, ledger_append, locked_totals
from progress.models import UserBadge, XpEntry
from progress.notifications.messages import Message, message
from progress.notifications.services import notify
from progress.quests.services import QuestCompleted, quests_pay
from progress.webhooks.events import award_events
from progress.webhooks.outbox import outbox_record
from skillquest import metrics, sql
from skillquest.logging import log_event
from skillquest.replicas import players_wrote

logger = logging.getLogger("skillquest.awards")

AWARD_BATCH_SIZE = 500


@transaction.atomic
def awards_process(
    *,
    attempt_ids: Sequence[uuid.UUID] | None = None,
    limit: int = AWARD_BATCH_SIZE,
    skip_held_players: bool = False,
) -> list[Award]:
    """Award a batch of pending attempts (the given ones, or the oldest), each exactly once.

    Safe to run twice or in parallel: attempts are claimed with FOR UPDATE SKIP LOCKED, so two
    workers never take the same one, and `xp_awarded IS NULL` makes every later run a no-op.
    The players' rows are then locked in id order (no deadlock between batches), which serialises
    all awards of one player: the best-earlier-result rule, the totals and the daily quests see every
    earlier award. In the same transaction: each paying award's event bonus (progress.events), the
    daily quests the awards completed (progress.quests) and the badges they earned.
    A batch costs a fixed handful of statements however many attempts it holds.

    `skip_held_players`: lock the players with their attempts in the claim, skipping the attempts of
    players another batch holds instead of waiting for its commit, so that two workers draining a
    backlog award disjoint players side by side. What it skips stays pending: a caller that
    passes it claims again without it before stopping (`progress.jobs`).
    """
    claimed = _claim(attempt_ids=attempt_ids, limit=limit, skip_held_players=skip_held_players)
    if not claimed:
        return []
    user_ids = sorted({attempt.user_id for attempt in claimed})
    # Before the commit, so no read after it can find a player unmarked and a replica behind it.
    players_wrote(user_ids=user_ids)
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
    awards = compute_awards(
        claimed, totals=totals, best_scores=best_scores, events=_events_of(claimed), now=timezone.now()
    )
    _write(awards, totals_before=totals)
    quests = quests_pay(awards=awards)
    # Told in the awards' transaction (kept messages commit with them), pushed once it commits.
    notify(_messages(awards, quests))
    # The webhooks' outbox, in the same transaction (attempt.graded too: this claim is the one moment
    # every graded attempt passes through exactly once, and `progress` may not reach into challenges'
    # submit). Nothing is built unless an active endpoint subscribes to something.
    outbox_record(award_events(awards, quests))
    # Badges in the same transaction as the XP: a failure rolls both back and the retry redoes both,
    # so no award ever commits without the badges it earned.
    badges = _badges_earned(awards, quests)
    transaction.on_commit(lambda: _report(awards, badges), robust=True)
    earned: dict[str, list[str]] = defaultdict(list)
    for user_badge in badges:
        earned[user_badge.metadata["attempt_id"]].append(user_badge.badge.slug)
    completed: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for done in quests:
        completed[done.attempt_id].append(done.quest_id)
    return [
        dataclasses.replace(
            award,
            badges=tuple(earned.get(str(award.attempt_id), ())),
            quests=tuple(completed.get(award.attempt_id, ())),
        )
        if str(award.attempt_id) in earned or award.attempt_id in completed
        else award
        for award in awards
    ]


def _events_of(claimed: list[Claimed]) -> list[EventTerms]:
    """The terms of every event an attempt of the batch may count for: one query for the batch."""
    graded = [attempt.submitted_at for attempt in claimed if attempt.submitted_at is not None]
    if not graded:
        return []
    return event_terms(
        challenge_ids={attempt.challenge_id for attempt in claimed}, earliest=min(graded), latest=max(graded)
    )


def _claim(*, attempt_ids: Sequence[uuid.UUID] | None, limit: int, skip_held_players: bool) -> list[Claimed]:
    pending = Attempt.objects.award_pending()
    if attempt_ids is not None:
        pending = pending.filter(pk__in=list(attempt_ids))
    # NO KEY UPDATE on the players, as `locked_totals` (which then finds them held already).
    attempts = (
        pending.select_related("user", "challenge")
        .only(
            "id",
            "user__id",
            "challenge_id",
            "score",
            "challenge__xp",
            "challenge__pass_score",
            "submitted_at",
        )
        .select_for_update(
            skip_locked=True, no_key=True, of=("self", "user") if skip_held_players else ("self",)
        )
        .order_by("submitted_at", "id")[:limit]
    )
    return [
        Claimed(
            a.pk, a.user_id, a.challenge_id, a.score, a.challenge.xp, a.challenge.pass_score, a.submitted_at
        )
        for a in attempts
    ]


def _write(awards: list[Award], *, totals_before: dict[uuid.UUID, int]) -> None:
    """The attempts' XP and award times, then a ledger entry per paying award, moving the totals.

    `xp_awarded` stays on the attempt as a cached copy of its entry's amount (0: no entry, since an
    entry is never 0); it is what the award job's claim and the pages read. An award that counts for
    an event carries the event on its entry, and its bonus is an `event_bonus` entry of its own.
    """
    sql.update_rows(
        Attempt, ["xp_awarded", "awarded_at"], [(a.attempt_id, a.xp, a.awarded_at) for a in awards]
    )
    entries = []
    for award in awards:
        if not award.xp:
            continue
        event_id = award.event.event_id if award.event else None
        entries.append(
            XpEntry(
                user_id=award.user_id,
                amount=award.xp,
                kind=XpEntry.Kind.ATTEMPT,
                attempt_id=award.attempt_id,
                event_id=event_id,
                idempotency_key=attempt_key(award.attempt_id),
                explanation=award.explanation,
                created_at=award.awarded_at,
            )
        )
        if award.event and award.bonus:
            entries.append(
                XpEntry(
                    user_id=award.user_id,
                    amount=award.bonus,
                    kind=XpEntry.Kind.EVENT_BONUS,
                    attempt_id=award.attempt_id,
                    event_id=event_id,
                    idempotency_key=event_bonus_key(award.attempt_id),
                    explanation={
                        "event": award.event.slug,
                        "multiplier": str(award.event.multiplier),
                        "paid": award.xp,
                        "bonus": award.bonus,
                    },
                    created_at=award.awarded_at,
                )
            )
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
            event_bonus=award.bonus,
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


def _messages(awards: list[Award], quests: list[QuestCompleted]) -> list[Message]:
    """Each award's XP for its page, its event bonus and its level-up, and each quest completed; the
    badges tell their own (`badges_evaluate`)."""
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
        if award.bonus:
            messages.append(
                message(
                    award.user_id,
                    "event_bonus",
                    attempt_id=str(award.attempt_id),
                    amount=award.bonus,
                    total_xp=award.total_xp,
                    created_at=award.awarded_at,
                )
            )
        if award.levelled_up:
            messages.append(
                message(award.user_id, "level_up", level=award.level, created_at=award.awarded_at)
            )
    for done in quests:
        messages.append(
            message(
                done.user_id,
                "quest_completed",
                quest_id=str(done.quest_id),
                name=done.quest_name,
                reward_xp=done.reward_xp,
                total_xp=done.total_xp,
                created_at=done.completed_at,
            )
        )
    return messages


def _badges_earned(awards: list[Award], quests: list[QuestCompleted]) -> list[UserBadge]:
    """Evaluate, per player, only the condition types this batch's awards and quest rewards can have
    changed. New badges are credited to the player's last award in the batch (in their metadata)."""
    kinds: dict[uuid.UUID, set[str]] = {}
    last_attempt: dict[uuid.UUID, uuid.UUID] = {}
    for award in awards:
        changed = conditions.kinds_changed_by(
            xp=award.xp + award.bonus, levelled_up=award.levelled_up, passed=award.passed
        )
        if changed:
            kinds.setdefault(award.user_id, set()).update(changed)
            last_attempt[award.user_id] = award.attempt_id
    before_rewards = {award.user_id: award.total_xp for award in awards}
    for done in quests:
        levelled_up = rules.level_for_xp(done.total_xp) > rules.level_for_xp(before_rewards[done.user_id])
        kinds.setdefault(done.user_id, set()).update(
            conditions.kinds_changed_by(xp=done.reward_xp, levelled_up=levelled_up, passed=False)
        )
        last_attempt[done.user_id] = done.attempt_id
    if not kinds:
        return []
    return badges_evaluate(user_ids=list(kinds), kinds=kinds, attempt_ids=last_attempt)


def _report(awards: list[Award], badges: list[UserBadge]) -> None:
    for award in awards:
        lag = (award.awarded_at - award.submitted_at).total_seconds() if award.submitted_at else None
        metrics.xp_awarded(xp=award.xp, lag_seconds=lag)
    for user_badge in badges:
        metrics.badge_awarded(user_badge.badge.slug)
