"""Writing the ledger. Every XP change goes through `ledger_append`, in the writer's transaction."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from django.db import IntegrityError, transaction

from accounts.models import User
from progress.awards import rules
from progress.badges import conditions
from progress.badges.services import badges_award_missing, badges_evaluate
from progress.boards import services as boards
from progress.ledger.recalc import recalculation_run
from progress.models import XpEntry
from progress.notifications.messages import message
from progress.notifications.services import notify
from progress.webhooks.events import grant_events
from progress.webhooks.outbox import outbox_record
from skillquest import metrics, sql
from skillquest.audit.services import audit_record
from skillquest.errors import IdempotencyKeyReused, InvalidInput, NotFound, XpWouldGoNegative
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.ledger")


def attempt_key(attempt_id: uuid.UUID) -> str:
    return f"attempt:{attempt_id}"


def event_bonus_key(attempt_id: uuid.UUID) -> str:
    """An attempt earns at most one event bonus, whoever replays its award."""
    return f"event_bonus:{attempt_id}"


def quest_key(*, quest_id: uuid.UUID, user_id: uuid.UUID, day: date) -> str:
    """A quest pays a player once per local day (`day` in their zone, progress.quests.days)."""
    return f"quest:{quest_id}:{user_id}:{day.isoformat()}"


def ledger_append(
    entries: Sequence[XpEntry], *, totals_before: Mapping[uuid.UUID, int]
) -> dict[uuid.UUID, int]:
    """Insert the entries and move each player's total and level by them; return the new totals.

    The caller holds the players' rows locked (FOR NO KEY UPDATE) and passes their totals as read
    under that lock, so the projection moves with its entries in one transaction. A duplicate
    idempotency key raises IntegrityError: the whole write rolls back, never half of it.
    """
    if not entries:
        return {}
    XpEntry.objects.bulk_create(entries)
    gained: dict[uuid.UUID, int] = defaultdict(int)
    for entry in entries:
        gained[entry.user_id] += entry.amount
    totals = {pk: totals_before[pk] + amount for pk, amount in gained.items()}
    moved = {pk: amount for pk, amount in gained.items() if amount}
    if moved:
        # Atomic increments (total_xp = total_xp + x); the rows are locked, so they equal `totals`.
        sql.update_rows(
            User,
            ["total_xp", "level"],
            [(pk, xp, rules.level_for_xp(totals[pk])) for pk, xp in moved.items()],
            increment=["total_xp"],
        )
    return totals


def locked_totals(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Lock the players' rows in id order (no deadlock between writers) and read their totals.

    FOR NO KEY UPDATE, not FOR UPDATE: writers of one player still queue on it, but a start (whose
    foreign-key check takes KEY SHARE on the player's row) does not wait for the write to commit.
    """
    return dict(
        User.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(user_ids))
        .order_by("pk")
        .values_list("pk", "total_xp")
    )


RECALC_STEPS = ("compare with the ledger", "rebuild the leaderboards", "award missing badges")


def xp_recalculate(
    *,
    dry_run: bool = False,
    actor_id: uuid.UUID | None = None,
    on_step: Callable[[str], object] | None = None,
) -> dict:
    """Recalculate every player's XP against the ledger (`progress.ledger.recalc`).

    Applied, it then refreshes what derives from the totals: the leaderboards are rebuilt (only a
    rebuild can lower a score) and missing badges awarded (badges are never taken away). A dry run
    only reports. The result is plain data: it is an RQ job's result and an API response.
    `on_step` is told each of `RECALC_STEPS` as it finishes (a dry run does the first only).
    """
    step = on_step or (lambda name: None)
    run = recalculation_run(dry_run=dry_run, actor_id=actor_id)
    step(RECALC_STEPS[0])
    result = run.as_dict()
    if not dry_run:
        boards.rebuild()
        step(RECALC_STEPS[1])
        result["badges_awarded"] = badges_award_missing()
        step(RECALC_STEPS[2])
    log_event(
        logger,
        "xp_recalculated",
        run_id=run.run_id,
        dry_run=dry_run,
        players_changed=run.players_changed,
        xp_delta_total=run.xp_delta_total,
        projections_repaired=run.projections_repaired,
        badges_awarded=result.get("badges_awarded", 0),
    )
    return result


GRANT_MAX_AMOUNT = 100_000


@dataclass(frozen=True)
class Granted:
    entry: XpEntry
    created: bool  # False: a replay of an earlier request with the same Idempotency-Key
    badges: tuple[str, ...] = ()


@transaction.atomic
def xp_grant(
    *,
    user_id: uuid.UUID,
    amount: int,
    reason: str,
    actor: User,
    idempotency_key: str | None = None,
) -> Granted:
    """A staff grant (amount > 0) or revocation (amount < 0) of XP, with its reason.

    The entry, the total and the level move in one transaction, with the badges the new total
    earns (badges are never taken away); the player is told (`xp_granted`, a level-up) in the same
    transaction; the leaderboards and the live push follow once it commits, as after an award.
    A revocation may not take the total below 0. With an `idempotency_key` (the client's
    Idempotency-Key header) a retried request returns the first one's entry instead of granting twice.
    """
    reason = reason.strip()
    if not amount or abs(amount) > GRANT_MAX_AMOUNT:
        raise InvalidInput(f"A non-zero whole number up to {GRANT_MAX_AMOUNT:,} either way.", field="amount")
    if not reason or len(reason) > XpEntry.REASON_MAX_LENGTH:
        raise InvalidInput(f"1 to {XpEntry.REASON_MAX_LENGTH} characters.", field="reason")
    entry_id = uuid.uuid4()
    key = f"grant:{actor.pk}:{idempotency_key}" if idempotency_key else f"grant:{entry_id}"
    # The player's row lock serialises grants of one player, so a retry that raced its original
    # sees the original's entry here once it has committed.
    totals = locked_totals([user_id])
    if user_id not in totals:
        raise NotFound("User not found.", code="user_not_found")
    if idempotency_key and (earlier := XpEntry.objects.filter(idempotency_key=key).first()):
        if (earlier.user_id, earlier.amount, earlier.reason) != (user_id, amount, reason):
            raise IdempotencyKeyReused()
        return Granted(entry=earlier, created=False)
    before = totals[user_id]
    if before + amount < 0:
        raise XpWouldGoNegative(f"The player has {before} XP; revoking {-amount} would take them below 0.")
    entry = XpEntry(
        id=entry_id,
        user_id=user_id,
        amount=amount,
        kind=XpEntry.Kind.GRANT if amount > 0 else XpEntry.Kind.REVOKE,
        idempotency_key=key,
        reason=reason,
        actor=actor,
        explanation={"before": before, "after": before + amount},
    )
    try:
        with transaction.atomic():
            ledger_append([entry], totals_before=totals)
    except IntegrityError:
        # The same key for another player, by a request that raced this one (the lock is per player).
        raise IdempotencyKeyReused()
    level = rules.level_for_xp(before + amount)
    levelled_up = level > rules.level_for_xp(before)
    told = [message(user_id, "xp_granted", amount=amount, reason=reason, created_at=entry.created_at)]
    if levelled_up:
        told.append(message(user_id, "level_up", level=level, created_at=entry.created_at))
    notify(told)
    outbox_record(
        grant_events(
            user_id=user_id, entry_id=entry.pk, amount=amount, reason=reason, before=before,
            old_level=rules.level_for_xp(before), level=level, created_at=entry.created_at,
        )
    )  # fmt: skip
    kinds = conditions.kinds_changed_by(xp=amount, levelled_up=levelled_up, passed=False)
    badges = badges_evaluate(user_ids=[user_id], kinds={user_id: kinds}) if kinds else []
    transaction.on_commit(partial(_granted_committed, entry, badges), robust=True)
    audit_record(
        actor=actor,
        action="xp.grant" if amount > 0 else "xp.revoke",
        target_type="accounts.user",
        target_id=str(user_id),
        changes={
            "total_xp": {"before": before, "after": before + amount},
            "amount": amount,
            "reason": reason,
            "entry_id": str(entry.pk),
        },
    )
    log_event(
        logger,
        "xp_granted" if amount > 0 else "xp_revoked",
        user_id=str(user_id),
        entry_id=str(entry.pk),
        amount=amount,
        total_xp=before + amount,
        actor_id=str(actor.pk),
    )
    return Granted(entry=entry, created=True, badges=tuple(badge.badge.slug for badge in badges))


def _granted_committed(entry: XpEntry, badges: list) -> None:
    boards.record_awards([_Recorded(entry.user_id, entry.created_at)], lowered=entry.amount < 0)
    for user_badge in badges:
        metrics.badge_awarded(user_badge.badge.slug)


@dataclass(frozen=True)
class _Recorded:
    """What the boards need of an entry (`progress.boards.services.Awarded`)."""

    user_id: uuid.UUID
    awarded_at: datetime
