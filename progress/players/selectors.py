"""Reads of one player's progress: the figures of the progress endpoint and the profile page."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate

from accounts.models import User
from accounts.selectors import user_by_id
from challenges.models import Attempt, Challenge
from progress.awards import rules
from progress.badges import conditions
from progress.badges.stats import STATS_USER_FIELDS, load_stats
from progress.boards.selectors import own_standing, standing_for
from progress.models import Badge, UserBadge
from progress.streaks import user_zone
from skillquest import sql
from skillquest.errors import NotFound

RECENT_ATTEMPTS = 10


# The progress endpoint is read on every page view of a player; its fixed reads are built once.
_RECENT_ATTEMPT = sql.Columns(
    Attempt, ("status", "score", "xp_awarded", "started_at", "submitted_at", "awarded_at", "challenge")
)
_RECENT_CHALLENGE = sql.Columns(Challenge, ("title", "slug"))
# What progress reads of the player (stats, boards): not the account's own timestamps and secrets.
_PLAYER = sql.Columns(User, (*STATS_USER_FIELDS, "leaderboard_visible"))
# The player and their latest attempts (each with its challenge) in one round trip: the attempts are
# picked first, in a derived table, so only those few join their challenge. A player without
# attempts is one row whose attempt and challenge are NULL (the LEFT JOIN's missing side).
_PLAYER_AND_RECENT = sql.Statement(
    lambda table: (
        f"SELECT {_PLAYER.select_list('u')}, r.* FROM {table(User)} u LEFT JOIN ("  # noqa: S608 (model metadata only)
        f"SELECT {_RECENT_ATTEMPT.select_list('a')}, {_RECENT_CHALLENGE.select_list('c')}"
        f" FROM {table(Attempt)} a JOIN {table(Challenge)} c ON c.id = a.challenge_id"
        f" WHERE a.user_id = %s ORDER BY a.started_at DESC, a.id DESC LIMIT {RECENT_ATTEMPTS}) r ON 1 = 1"
        " WHERE u.id = %s"
    ),
    params=[Attempt._meta.get_field("user"), User._meta.pk],
)
_BADGE = sql.Columns(
    Badge, ("name", "slug", "description", "icon", "condition", "is_active", "secret", "earned_by_percent")
)
_EARNED = sql.Columns(UserBadge, ("awarded_at", "assertion_id"))
# Every badge the player holds (active or not), newest first, then every active badge never awarded
# to them. A revoked award is neither: it is not held, and the rules do not award it again.
_PLAYER_BADGES = sql.Statement(
    lambda table: (
        f"SELECT {_BADGE.select_list('b')}, {_EARNED.select_list('ub')}"  # noqa: S608 (model metadata only)
        f" FROM {table(Badge)} b LEFT JOIN {table(UserBadge)} ub ON ub.badge_id = b.id AND ub.user_id = %s"
        " WHERE (ub.id IS NULL AND b.is_active = %s) OR (ub.id IS NOT NULL AND ub.revoked_at IS NULL)"
        " ORDER BY (CASE WHEN ub.id IS NULL THEN 1 ELSE 0 END), ub.awarded_at DESC, b.name"
    ),
    params=[UserBadge._meta.get_field("user"), Badge._meta.get_field("is_active")],
)


def player_visible(*, user_id: uuid.UUID) -> User:
    """The player whose progress anyone may see: every active player; 404 for the rest."""
    user = user_by_id(user_id=user_id)
    if user is None or not user.is_active:
        raise NotFound("User not found.", code="user_not_found")
    return user


def user_progress(
    *, user_id: uuid.UUID, viewer_id: uuid.UUID | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the progress endpoint shows, in four queries whatever the history.

    `rank` is the public all-time rank; a player who opted out of public boards has none, except
    for themselves (`viewer_id`): they see where their XP would rank them.
    """
    rows = sql.fetch_all(_PLAYER_AND_RECENT, [user_id, user_id], _PLAYER, _RECENT_ATTEMPT, _RECENT_CHALLENGE)
    user = rows[0][0] if rows else None
    if user is None or not user.is_active:  # as player_visible
        raise NotFound("User not found.", code="user_not_found")
    recent = []
    for _, attempt, challenge in rows:
        if attempt is not None and challenge is not None:  # an inner JOIN inside: both or neither
            attempt.challenge = challenge
            recent.append(attempt)
    # A derived table's order is not promised through the outer join: put it back (ten rows).
    recent.sort(key=lambda attempt: (attempt.started_at, attempt.pk), reverse=True)
    earned, unearned = [], []
    for badge, award in sql.fetch_all(_PLAYER_BADGES, [user.pk, True], _BADGE, _EARNED):
        assert badge is not None  # the FROM side of the LEFT JOIN
        if award is None:
            unearned.append(badge)
        else:
            award.badge, award.user_id = badge, user.pk
            earned.append(award)
    parsed = []
    for badge in unearned:
        try:
            parsed.append((badge, conditions.parse(badge.condition)))
        except conditions.ConditionError:
            continue
    needs = {conditions.STAT_PASSED_DAYS} | conditions.needs_of(condition.type for _, condition in parsed)
    stats = load_stats(users=[user], needs=needs, now=now)[user.pk]
    badge_progress = []
    for badge, condition in parsed:
        # How far a player is towards a secret badge would give its condition away.
        current, target = (None, None) if badge.secret else condition.progress(stats)
        badge_progress.append({"badge": badge, "current": current, "target": target})
    return {
        "user_id": user.pk,
        "username": user.username,
        "total_xp": user.total_xp,
        "level": user.level,
        "next_level_xp": rules.next_level_xp(user.level),
        "level_progress": rules.level_progress(user.total_xp),
        "rank": _rank(user, own=viewer_id == user.pk),
        "current_streak": stats.current_streak,
        "longest_streak": stats.longest_streak,
        "recent_attempts": recent,
        "badges": earned,
        "badge_progress": badge_progress,
    }


def _rank(user: User, *, own: bool) -> int | None:
    standing = own_standing(user, "all") if own else standing_for(user, "all")
    return standing.rank if standing else None


HEATMAP_WEEKS = 12


def heatmap_first_day(today: date, *, weeks: int = HEATMAP_WEEKS) -> date:
    """The Monday that starts the heatmap: its last column is the current week."""
    return today - timedelta(days=today.weekday(), weeks=weeks - 1)


def activity_by_day(*, user: User, first: date, today: date) -> dict[date, int]:
    """Submitted attempts per local day (the player's timezone) from `first` to `today`, in one query."""
    zone = user_zone(user.timezone or "UTC")
    rows = (
        Attempt.objects.filter(
            user_id=user.pk,
            submitted_at__isnull=False,
            submitted_at__date__gte=first - timedelta(days=1),  # widened: the bound is in UTC
        )
        .annotate(day=TruncDate("submitted_at", tzinfo=zone))
        .values("day")
        .annotate(count=Count("id"))
    )
    return {row["day"]: row["count"] for row in rows if first <= row["day"] <= today}


def player_overview(*, user: User) -> dict[str, Any]:
    """Level and XP bar figures for a player, from the user row alone (no query)."""
    floor, ceiling = rules.level_floor_xp(user.level), rules.next_level_xp(user.level)
    return {
        "total_xp": user.total_xp,
        "level": user.level,
        "level_floor_xp": floor,
        "next_level_xp": ceiling,
        "xp_to_next_level": max(ceiling - user.total_xp, 0),
        "level_percent": round(rules.level_progress(user.total_xp) * 100, 1),
    }
