"""Daily quests: staff edits, and paying the quests an award batch completes (inside the award job)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction

from accounts.models import User
from progress.awards.compute import Award
from progress.ledger.services import ledger_append, quest_key
from progress.models import Quest, XpEntry
from progress.quests import kinds
from progress.quests.days import load_days, local_day
from progress.quests.selectors import active_quests, quest_has_rewards
from progress.streaks import user_zone
from skillquest import sql
from skillquest.audit.services import audit_changes, audit_created, audit_deleted
from skillquest.errors import InvalidInput, QuestHasRewards
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.quests")


@dataclass(frozen=True)
class QuestCompleted:
    """A player reached a quest's target on one of their local days, and was paid for it.

    The service-level fact later features hear of (the award job returns it with the award that
    completed the quest): nothing is sent from a signal.
    """

    user_id: uuid.UUID
    quest_id: uuid.UUID
    quest_name: str
    day: date
    reward_xp: int
    attempt_id: uuid.UUID  # the award that reached the target
    completed_at: datetime
    total_xp: int  # the player's total once this reward was paid


# The players' zones and the rewards already paid, read by every award job while a quest is
# active: built once (skillquest.sql), as compiling them cost more than running them.
_TIMEZONE = User._meta.get_field("timezone")
_ZONES = sql.Statement(
    lambda table: f"SELECT u.id, u.{_TIMEZONE.column} FROM {table(User)} u WHERE u.id IN (%s)",  # noqa: S608
    params=[sql.Many(User._meta.pk)],
)
_IDEMPOTENCY_KEY = XpEntry._meta.get_field("idempotency_key")
_PAID = sql.Statement(
    lambda table: (
        f"SELECT e.{_IDEMPOTENCY_KEY.column} FROM {table(XpEntry)} e"  # noqa: S608 (model metadata only)
        f" WHERE e.{_IDEMPOTENCY_KEY.column} IN (%s)"
    ),
    params=[sql.Many(_IDEMPOTENCY_KEY)],
)


def quests_pay(*, awards: Sequence[Award]) -> list[QuestCompleted]:
    """Pay every active quest that the batch's awards completed, once per player, quest and local day.

    Called by the award job inside its transaction, after the awards and their bonuses are written,
    while it holds the players' rows: a concurrent job for the same player waits for that lock and,
    once it gets it, sees this job's entries, so neither pays a quest the other did (and the
    idempotency key's unique index refuses what slips past). A fixed number of queries whatever the
    batch: the active quests, the players' zones, the rewards already paid, the days with a quest
    still open (`load_days`), then one insert. A day is the local day its attempt was graded on, so
    an attempt graded just before midnight and awarded after it completes the quest of the day it
    was played.
    """
    quests = active_quests()
    playing = [award for award in awards if award.passed or award.xp]
    if not quests or not playing:
        return []
    zones = {
        pk: user_zone(name)
        for pk, name in sql.fetch_values(
            _ZONES, [list({award.user_id for award in playing})], [User._meta.pk, _TIMEZONE]
        )
    }
    # Each player's day is credited to their last award of it in this batch.
    last_award: dict[tuple[uuid.UUID, date], Award] = {}
    for award in playing:
        when = award.submitted_at or award.awarded_at
        last_award[(award.user_id, local_day(when, zones[award.user_id]))] = award
    # The rewards already paid first: a day whose every quest has paid (most of a busy player's
    # awards, once the day is under way) needs none of its attempts read.
    keys = {
        (user_id, day, quest.pk): quest_key(quest_id=quest.pk, user_id=user_id, day=day)
        for user_id, day in last_award
        for quest, _ in quests
    }
    paid = {key for (key,) in sql.fetch_values(_PAID, [list(keys.values())], [_IDEMPOTENCY_KEY])}
    open_days = {(user_id, day) for (user_id, day, _), key in keys.items() if key not in paid}
    days = load_days(
        [(user_id, day, zones[user_id]) for user_id, day in open_days],
        tags=any(kind.needs_tags for _, kind in quests),
    )
    reached = {
        keys[(user_id, day, quest.pk)]: (user_id, day, quest)
        for (user_id, day), played in days.items()
        for quest, kind in quests
        if keys[(user_id, day, quest.pk)] not in paid and kind.progress(played) >= kind.target
    }
    if not reached:
        return []
    totals = {award.user_id: award.total_xp for award in awards}  # the last award of each player
    entries: list[XpEntry] = []
    completed: list[QuestCompleted] = []
    for key, (user_id, day, quest) in reached.items():
        if key in paid:
            continue
        award = last_award[(user_id, day)]
        totals[user_id] += quest.reward_xp
        entries.append(
            XpEntry(
                user_id=user_id,
                amount=quest.reward_xp,
                kind=XpEntry.Kind.QUEST,
                quest=quest,
                idempotency_key=key,
                explanation={
                    "quest_id": str(quest.pk),
                    "quest": quest.name,
                    "day": day.isoformat(),
                    "attempt_id": str(award.attempt_id),
                },
                created_at=award.awarded_at,
            )
        )
        completed.append(
            QuestCompleted(
                user_id=user_id,
                quest_id=quest.pk,
                quest_name=quest.name,
                day=day,
                reward_xp=quest.reward_xp,
                attempt_id=award.attempt_id,
                completed_at=award.awarded_at,
                total_xp=totals[user_id],
            )
        )
    ledger_append(entries, totals_before={award.user_id: award.total_xp for award in awards})
    for done in completed:
        log_event(
            logger,
            "quest_completed",
            user_id=str(done.user_id),
            quest_id=str(done.quest_id),
            day=done.day.isoformat(),
            reward_xp=done.reward_xp,
            attempt_id=str(done.attempt_id),
            total_xp=done.total_xp,
        )
    return completed


# --- Staff edits ---------------------------------------------------------------------------------

# What the audit log records of a quest (skillquest.audit).
AUDITED_FIELDS = ("name", "description", "kind", "params", "reward_xp", "active")


def quest_validated(kind: Any, params: Any) -> dict[str, Any]:
    """The params as stored, if `kind` and `params` make a quest; else InvalidInput naming the field."""
    try:
        quest_kind = kinds.parse(kind, params)
        quest_kind.check_references()
    except kinds.QuestParamsError as exc:
        raise InvalidInput(exc.message, field=exc.field)
    return quest_kind.normalized()


@transaction.atomic
def quest_create(*, actor: User | None = None, **fields: Any) -> Quest:
    fields["params"] = quest_validated(fields.get("kind"), fields.get("params", {}))
    quest = Quest.objects.create(**fields)
    audit_created(actor=actor, action="quest.create", instance=quest, fields=AUDITED_FIELDS)
    return quest


@transaction.atomic
def quest_update(*, quest: Quest, actor: User | None = None, **fields: Any) -> Quest:
    """Edit a quest. Rewards already paid stand; from now on progress is measured by the new rule,
    so a player who completed it today is not paid again today (the key is per quest and day)."""
    if "kind" in fields or "params" in fields:
        fields["params"] = quest_validated(fields.get("kind", quest.kind), fields.get("params", quest.params))
    with audit_changes(actor=actor, action="quest.update", instance=quest, fields=AUDITED_FIELDS):
        for name, value in fields.items():
            setattr(quest, name, value)
        quest.save()
    return quest


@transaction.atomic
def quest_delete(*, quest: Quest, actor: User | None = None) -> None:
    """Delete a quest that never paid; one that has is deactivated instead (its rewards are history)."""
    locked = Quest.objects.select_for_update().get(pk=quest.pk)
    if quest_has_rewards(quest_id=locked.pk):
        raise QuestHasRewards()
    audit_deleted(actor=actor, action="quest.delete", instance=locked, fields=AUDITED_FIELDS)
    locked.delete()
