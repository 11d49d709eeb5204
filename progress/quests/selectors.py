"""Reading quests: the staff list, and a player's quests of today with their progress."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from progress.ledger.services import quest_key
from progress.models import Quest, XpEntry
from progress.quests import kinds
from progress.quests.days import load_days, local_day
from progress.quests.kinds import QuestKind
from progress.streaks import user_zone
from skillquest import sql

logger = logging.getLogger("skillquest.quests")


def quest_list() -> QuerySet[Quest]:
    return Quest.objects.order_by("name", "id")


def quest_has_rewards(*, quest_id: uuid.UUID) -> bool:
    """Whether the quest has ever paid (index `xpentry_quest`); such a quest is deactivated, not deleted."""
    return XpEntry.objects.filter(quest_id=quest_id).exists()


# Read by every award job: built once (skillquest.sql), as compiling it cost more than running it.
_QUEST = sql.Columns(Quest)
_ACTIVE_QUESTS = sql.Statement(
    lambda table: (
        f"SELECT {_QUEST.select_list('q')} FROM {table(Quest)} q"  # noqa: S608 (model metadata only)
        " WHERE q.active = %s ORDER BY q.name, q.id"
    ),
    params=[Quest._meta.get_field("active")],
)


def active_quests() -> list[tuple[Quest, QuestKind]]:
    """Every active quest with its kind. One stored with params its kind no longer accepts (the code
    changed under it) is skipped and logged, rather than failing the award job or the page."""
    parsed = []
    for (quest,) in sql.fetch_all(_ACTIVE_QUESTS, [True], _QUEST):
        assert quest is not None  # an inner SELECT: every row has its key
        try:
            parsed.append((quest, kinds.parse(quest.kind, quest.params)))
        except kinds.QuestParamsError:
            logger.warning("quest_invalid", extra={"quest_id": str(quest.pk)})
    return parsed


@dataclass(frozen=True)
class QuestToday:
    quest: Quest
    current: int  # progress today, at most the target
    target: int
    completed_at: datetime | None  # when today's reward was paid
    reward_xp: int


def quests_today(*, user: User, now: datetime | None = None) -> list[QuestToday]:
    """Every active quest with the player's progress on their local day (their zone), in three or
    four queries however many quests: the quests, the day's attempts (and, if a quest reads tags,
    their tags), and today's rewards. Progress counts awarded attempts only, as the award job does, so
    a quest is shown complete exactly when its reward has been paid or is about to be."""
    quests = active_quests()
    if not quests:
        return []
    zone = user_zone(user.timezone)
    day = local_day(now or timezone.now(), zone)
    played = load_days([(user.pk, day, zone)], tags=any(kind.needs_tags for _, kind in quests))[
        (user.pk, day)
    ]
    keys = {quest.pk: quest_key(quest_id=quest.pk, user_id=user.pk, day=day) for quest, _ in quests}
    paid = dict(
        XpEntry.objects.filter(idempotency_key__in=list(keys.values())).values_list(
            "idempotency_key", "created_at"
        )
    )
    return [
        QuestToday(
            quest=quest,
            current=min(kind.progress(played), kind.target),
            target=kind.target,
            completed_at=paid.get(keys[quest.pk]),
            reward_xp=quest.reward_xp,
        )
        for quest, kind in quests
    ]
