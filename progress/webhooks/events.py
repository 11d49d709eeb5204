"""The webhook event types and the data each carries. Pure: no I/O.

Every delivery's body is `{"type", "timestamp", "data"}`; `data` holds ids and figures, never
personal data beyond the player's id (and a staff grant's reason, which the ledger keeps too).
Adding a type is one line in `TYPES` and an `outbox_record` where it happens.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

# Type → what it reports (the API and admin list these).
TYPES: dict[str, str] = {
    "attempt.graded": "An attempt was graded and its award decided (whatever it paid).",
    "xp.awarded": "An award paid XP for an attempt.",
    "event.bonus": "An award counted in a live event and earned its bonus.",
    "quest.completed": "A player completed a daily quest and was paid its reward.",
    "level.up": "A player reached a new level (by an award or a staff grant).",
    "badge.awarded": "A player earned a badge.",
    "xp.granted": "Staff granted (amount > 0) or revoked (amount < 0) a player's XP.",
}
# Sent only by the "send test event" action, to the one endpoint it names; nobody subscribes to it.
TEST_TYPE = "webhook.test"


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    created_at: datetime = field(default_factory=timezone.now)


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def award_events(awards: Sequence[Any], quests: Sequence[Any]) -> Iterator[Event]:
    """What an award batch reports: each attempt graded, what it paid, its bonus and level-up, and the
    quests it completed (`progress.awards.compute.Award`, `progress.quests.services.QuestCompleted`)."""
    for award in awards:
        when = award.awarded_at
        attempt = {"attempt_id": str(award.attempt_id), "user_id": str(award.user_id)}
        yield Event(
            "attempt.graded",
            {
                **attempt,
                "challenge_id": str(award.challenge_id),
                "score": award.score,
                "passed": award.passed,
                "submitted_at": award.submitted_at.isoformat() if award.submitted_at else None,
                "xp_awarded": award.xp,
            },
            when,
        )
        if award.xp:
            event_id = award.event.event_id if award.event else None
            yield Event(
                "xp.awarded",
                {
                    **attempt,
                    "challenge_id": str(award.challenge_id),
                    "amount": award.xp,
                    "total_xp": award.total_xp,
                    "event_id": _id(event_id),
                },
                when,
            )
        if award.event and award.bonus:
            yield Event(
                "event.bonus",
                {
                    **attempt,
                    "event_id": str(award.event.event_id),
                    "event": award.event.slug,
                    "multiplier": str(award.event.multiplier),
                    "amount": award.bonus,
                    "total_xp": award.total_xp,
                },
                when,
            )
        if award.levelled_up:
            yield Event(
                "level.up",
                {**attempt, "old_level": award.old_level, "level": award.level, "total_xp": award.total_xp},
                when,
            )
    for done in quests:
        yield Event(
            "quest.completed",
            {
                "user_id": str(done.user_id),
                "quest_id": str(done.quest_id),
                "quest": done.quest_name,
                "day": done.day.isoformat(),
                "reward_xp": done.reward_xp,
                "total_xp": done.total_xp,
                "attempt_id": str(done.attempt_id),
            },
            done.completed_at,
        )


def grant_events(
    *,
    user_id: uuid.UUID,
    entry_id: uuid.UUID,
    amount: int,
    reason: str,
    before: int,
    old_level: int,
    level: int,
    created_at: datetime,
) -> Iterator[Event]:
    """What a staff grant or revocation reports: the grant, and the level-up it caused."""
    yield Event(
        "xp.granted",
        {
            "user_id": str(user_id),
            "entry_id": str(entry_id),
            "amount": amount,
            "reason": reason,
            "total_xp": before + amount,
        },
        created_at,
    )
    if level > old_level:
        yield Event(
            "level.up",
            {"user_id": str(user_id), "attempt_id": None, "old_level": old_level, "level": level,
             "total_xp": before + amount},
            created_at,
        )  # fmt: skip


def badge_events(user_badges: Sequence[Any]) -> Iterator[Event]:
    """Each badge a player earned (`progress.models.UserBadge`, with its badge loaded)."""
    for award in user_badges:
        data = _badge_data(award.badge, str(award.user_id), award.metadata.get("attempt_id"))
        yield Event("badge.awarded", data, award.awarded_at)


def _badge_data(badge: Any, user_id: str, attempt_id: str | None) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "badge_id": str(badge.pk),
        "badge": badge.slug,
        "name": badge.name,
        "attempt_id": attempt_id,
    }


def badge_event_data_sql(badge: Any) -> tuple[str, list[Any]]:
    """The same data as SQL over rows with a `user_id` column, for recalculation's set-based award:
    `jsonb_build_object` of `_badge_data`'s keys, the player's id from the row, the rest parameters."""
    data = _badge_data(badge, "", None)
    pairs, params = [], []
    for key, value in data.items():
        pairs.append(f"'{key}', " + ("user_id::text" if key == "user_id" else "%s::text"))
        if key != "user_id":
            params.append(value)
    return f"jsonb_build_object({', '.join(pairs)})", params
