"""Reads for progress: one selector per page or endpoint, each a fixed number of queries."""

from __future__ import annotations

import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import Count, DateField, IntegerField, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_by_id
from challenges.models import Attempt, Challenge, Tag
from progress import conditions, leaderboard, rules
from progress.models import Badge, UserBadge
from progress.streaks import Streaks, streaks
from skillquest import queue, sql
from skillquest.errors import NotFound

RECENT_ATTEMPTS = 10
STATS_USER_FIELDS = ("id", "username", "total_xp", "level", "timezone", "is_active")


def user_zone(name: str) -> zoneinfo.ZoneInfo:
    """The player's zone; UTC if the stored name is not a known zone (it is validated on write)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def user_passed_days(*, user_id: uuid.UUID, zone: zoneinfo.ZoneInfo) -> dict[date, int]:
    """Passed attempts per local calendar date in `zone`, in one query.

    The date conversion happens in the database (`AT TIME ZONE` on PostgreSQL, Django's zone-aware
    SQL function on SQLite: what `TruncDate(..., tzinfo=zone)` compiles to), so only one row per
    active day leaves it, however long the history. Without the ORM: the progress endpoint runs it
    on every read, and compiling the queryset cost more than running it.
    """
    connection = connections[router.db_for_read(Attempt)]
    quote = connection.ops.quote_name
    # The name TruncDate would pass: for fixed-offset zones ("Etc/GMT+10") it is the offset ("-10"),
    # which the backend turns into "-10:00"; the key itself would be read as name and offset, sign flipped.
    tzname = timezone._get_timezone_name(zone)
    day, day_params = connection.ops.datetime_cast_date_sql(quote("submitted_at"), (), tzname)
    user = Attempt._meta.get_field("user").get_db_prep_value(user_id, connection)
    rows = sql.fetch_values(
        f"SELECT {day}, COUNT(*) FROM {quote(Attempt._meta.db_table)}"  # noqa: S608 (model metadata only)
        " WHERE user_id = %s AND status = %s AND submitted_at IS NOT NULL GROUP BY 1",
        [*day_params, user, Attempt.Status.PASSED],
        [DateField(), IntegerField()],
    )
    return dict(rows)


def _today(zone: zoneinfo.ZoneInfo, now: datetime | None) -> date:
    return (now or timezone.now()).astimezone(zone).date()


def user_streaks(*, user_id: uuid.UUID, now: datetime | None = None) -> Streaks:
    """Current and longest streak (days) in the player's current timezone; see progress.streaks.

    Two queries: the player's timezone, then their passed attempts per local day.
    """
    timezone_name = User.objects.filter(pk=user_id).values_list("timezone", flat=True).first()
    if timezone_name is None:
        raise NotFound("User not found.", code="user_not_found")
    zone = user_zone(timezone_name)
    return streaks(user_passed_days(user_id=user_id, zone=zone), today=_today(zone, now))


_COMPLETED = sql.Statement(
    lambda table: (
        f"SELECT DISTINCT c.id, c.difficulty, t.slug FROM {table(Attempt)} a"  # noqa: S608 (model metadata only)
        f" JOIN {table(Challenge)} c ON c.id = a.challenge_id"
        f" LEFT JOIN {table(Challenge.tags.through)} ct ON ct.challenge_id = c.id"
        f" LEFT JOIN {table(Tag)} t ON t.id = ct.tag_id"
        " WHERE a.user_id = %s AND a.status = %s"
    ),
    params=[Attempt._meta.get_field("user"), Attempt._meta.get_field("status")],
)


def user_completed_challenges(*, user_id: uuid.UUID) -> tuple[conditions.CompletedChallenge, ...]:
    """Distinct challenges the player has passed, with difficulty and tag slugs, in one query
    (without the ORM, like `user_passed_days`)."""
    rows = sql.fetch_values(
        _COMPLETED,
        [user_id, Attempt.Status.PASSED],
        [Challenge._meta.pk, Challenge._meta.get_field("difficulty"), Tag._meta.get_field("slug")],
    )
    difficulty: dict[Any, str] = {}
    tags: dict[Any, set[str]] = defaultdict(set)
    for challenge_id, challenge_difficulty, tag in rows:
        difficulty[challenge_id] = challenge_difficulty
        if tag is not None:
            tags[challenge_id].add(tag)
    return tuple(
        conditions.CompletedChallenge(challenge_id=pk, difficulty=level, tags=frozenset(tags[pk]))
        for pk, level in difficulty.items()
    )


def players_stats(
    *, users: Iterable[User], needs: dict[uuid.UUID, frozenset[str]], now: datetime | None = None
) -> dict[uuid.UUID, conditions.PlayerStats]:
    """`player_stats` for many players at once: one query per distinct timezone for the passed days,
    one for the completed challenges, however many players (the award batch evaluates badges so)."""
    users = list(users)
    fields: dict[uuid.UUID, dict[str, Any]] = {
        user.pk: {"total_xp": user.total_xp, "level": user.level} for user in users
    }
    by_zone: dict[str, list[User]] = defaultdict(list)
    for user in users:
        if conditions.STAT_PASSED_DAYS in needs.get(user.pk, ()):
            by_zone[user.timezone].append(user)
    for zone_name, zone_users in by_zone.items():
        zone = user_zone(zone_name)
        days: dict[uuid.UUID, dict[date, int]] = {user.pk: {} for user in zone_users}
        rows = (
            Attempt.objects.filter(
                user_id__in=list(days), status=Attempt.Status.PASSED, submitted_at__isnull=False
            )
            .annotate(day=TruncDate("submitted_at", tzinfo=zone))
            .values("user_id", "day")
            .annotate(passed=Count("id"))
            .order_by()
            .values_list("user_id", "day", "passed")
        )
        for user_id, day, passed in rows:
            days[user_id][day] = passed
        today = _today(zone, now)
        for user_id, user_days in days.items():
            streak = streaks(sorted(user_days), today=today)
            fields[user_id].update(
                passed_attempts=sum(user_days.values()),
                current_streak=streak.current,
                longest_streak=streak.longest,
            )
    completed_ids = [user.pk for user in users if conditions.STAT_COMPLETED in needs.get(user.pk, ())]
    if completed_ids:
        difficulty: dict[uuid.UUID, dict[Any, str]] = {pk: {} for pk in completed_ids}
        tags: dict[tuple[uuid.UUID, Any], set[str]] = defaultdict(set)
        rows = (
            Attempt.objects.filter(user_id__in=completed_ids, status=Attempt.Status.PASSED)
            .order_by()
            .values_list("user_id", "challenge_id", "challenge__difficulty", "challenge__tags__slug")
            .distinct()
        )
        for user_id, challenge_id, challenge_difficulty, tag in rows:
            difficulty[user_id][challenge_id] = challenge_difficulty
            if tag is not None:
                tags[(user_id, challenge_id)].add(tag)
        for user_id, challenges in difficulty.items():
            fields[user_id]["completed"] = tuple(
                conditions.CompletedChallenge(
                    challenge_id=pk, difficulty=level, tags=frozenset(tags[(user_id, pk)])
                )
                for pk, level in challenges.items()
            )
    return {user_id: conditions.PlayerStats(**values) for user_id, values in fields.items()}


def player_stats(
    *, user: User, needs: Iterable[str] = conditions.ALL_STATS, now: datetime | None = None
) -> conditions.PlayerStats:
    """The stats badge conditions read, loading only `needs` (at most two queries)."""
    needs = frozenset(needs)
    fields: dict[str, Any] = {"total_xp": user.total_xp, "level": user.level}
    if conditions.STAT_PASSED_DAYS in needs:
        zone = user_zone(user.timezone)
        days = user_passed_days(user_id=user.pk, zone=zone)
        streak = streaks(days, today=_today(zone, now))
        fields.update(
            passed_attempts=sum(days.values()),
            current_streak=streak.current,
            longest_streak=streak.longest,
        )
    if conditions.STAT_COMPLETED in needs:
        fields["completed"] = user_completed_challenges(user_id=user.pk)
    return conditions.PlayerStats(**fields)


def badge_list(*, viewer) -> Any:
    """Active badges for everyone; staff also see inactive ones (to edit them)."""
    badges = Badge.objects.all()
    if not (viewer and viewer.is_authenticated and viewer.is_staff):
        badges = badges.filter(is_active=True)
    return badges.order_by("name")


def user_badges(*, user_id: uuid.UUID) -> list[UserBadge]:
    """A player's earned badges, newest first (two queries: the player, then their badges)."""
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        raise NotFound("User not found.", code="user_not_found")
    return list(UserBadge.objects.filter(user_id=user_id).select_related("badge").order_by("-awarded_at"))


# The progress endpoint is read on every page view of a player; its fixed reads are built once.
_RECENT_ATTEMPT = sql.Columns(
    Attempt, ("status", "score", "xp_awarded", "started_at", "submitted_at", "awarded_at", "challenge")
)
_RECENT_CHALLENGE = sql.Columns(Challenge, ("title", "slug"))
_RECENT_ATTEMPTS = sql.Statement(
    lambda table: (
        f"SELECT {_RECENT_ATTEMPT.select_list('a')}, {_RECENT_CHALLENGE.select_list('c')}"  # noqa: S608 (model metadata only)
        f" FROM {table(Attempt)} a JOIN {table(Challenge)} c ON c.id = a.challenge_id"
        f" WHERE a.user_id = %s ORDER BY a.started_at DESC, a.id DESC LIMIT {RECENT_ATTEMPTS}"
    ),
    params=[Attempt._meta.get_field("user")],
)
_BADGE = sql.Columns(Badge)
_EARNED = sql.Columns(UserBadge, ("awarded_at",))
# Every active badge and every badge the player holds (active or not), earned ones first, newest first.
_PLAYER_BADGES = sql.Statement(
    lambda table: (
        f"SELECT {_BADGE.select_list('b')}, {_EARNED.select_list('ub')}"  # noqa: S608 (model metadata only)
        f" FROM {table(Badge)} b LEFT JOIN {table(UserBadge)} ub ON ub.badge_id = b.id AND ub.user_id = %s"
        " WHERE b.is_active = %s OR ub.id IS NOT NULL"
        " ORDER BY (CASE WHEN ub.id IS NULL THEN 1 ELSE 0 END), ub.awarded_at DESC, b.name"
    ),
    params=[UserBadge._meta.get_field("user"), Badge._meta.get_field("is_active")],
)


def user_progress(*, user_id: uuid.UUID, now: datetime | None = None) -> dict[str, Any]:
    """Everything the progress endpoint shows, in five queries whatever the history."""
    user = user_by_id(user_id=user_id)
    if user is None or not user.is_active:
        raise NotFound("User not found.", code="user_not_found")
    recent = []
    for attempt, challenge in sql.fetch_all(_RECENT_ATTEMPTS, [user.pk], _RECENT_ATTEMPT, _RECENT_CHALLENGE):
        attempt.challenge = challenge
        recent.append(attempt)
    earned, unearned = [], []
    for badge, award in sql.fetch_all(_PLAYER_BADGES, [user.pk, True], _BADGE, _EARNED):
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
    stats = player_stats(user=user, needs=needs, now=now)
    badge_progress = []
    for badge, condition in parsed:
        current, target = condition.progress(stats)
        badge_progress.append({"badge": badge, "current": current, "target": target})
    return {
        "user_id": user.pk,
        "username": user.username,
        "total_xp": user.total_xp,
        "level": user.level,
        "next_level_xp": rules.next_level_xp(user.level),
        "level_progress": rules.level_progress(user.total_xp),
        "rank": leaderboard.rank_for(user, "all"),
        "current_streak": stats.current_streak,
        "longest_streak": stats.longest_streak,
        "recent_attempts": recent,
        "badges": earned,
        "badge_progress": badge_progress,
    }


STATS_DAYS = 14


def _per_day(rows: dict, days: list) -> list[dict[str, Any]]:
    return [{"day": day, "value": int(rows.get(day) or 0)} for day in days]


def admin_stats(*, days: int = STATS_DAYS, today: date | None = None) -> dict[str, Any]:
    """Totals and zero-filled per-UTC-day series for the staff dashboard and `GET /api/v1/admin/stats`.

    A fixed handful of aggregate queries, whatever the size of the tables.
    """
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    window = [first + timedelta(days=offset) for offset in range(days)]
    utc = zoneinfo.ZoneInfo("UTC")
    by_status = dict(Attempt.objects.values_list("status").annotate(n=Count("id")).order_by())
    challenges = Challenge.objects.aggregate(
        total=Count("id"), published=Count("id", filter=Q(published=True))
    )
    new_users = dict(
        User.objects.filter(created_at__date__gte=first, created_at__date__lte=today, is_staff=False)
        .annotate(day=TruncDate("created_at", tzinfo=utc))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    xp_per_day = dict(
        Attempt.objects.filter(awarded_at__date__gte=first, awarded_at__date__lte=today)
        .annotate(day=TruncDate("awarded_at", tzinfo=utc))
        .values_list("day")
        .annotate(xp=Sum("xp_awarded"))
        .order_by()
    )
    return {
        "users": User.objects.count(),
        "challenges_published": challenges["published"],
        "challenges_total": challenges["total"],
        "attempts_by_status": {choice: by_status.get(choice, 0) for choice in Attempt.Status.values},
        "xp_distributed": User.objects.aggregate(total=Sum("total_xp"))["total"] or 0,
        "pending_awards": Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True).count(),
        "new_users_per_day": _per_day(new_users, window),
        "xp_awarded_per_day": _per_day(xp_per_day, window),
    }


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


def profile_page(*, username: str, viewer: User | None) -> dict[str, Any]:
    """Everything the profile page shows: a fixed number of queries whatever the history's size.

    Rank, streaks, recent attempts and badges (earned, and locked with their progress) come from
    `user_progress`, the same figures the progress endpoint serves.
    """
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    zone = user_zone(user.timezone or "UTC")
    today = timezone.now().astimezone(zone).date()
    progress = user_progress(user_id=user.pk)
    return {
        "profile_user": user,
        "is_own": bool(viewer is not None and viewer.is_authenticated and viewer.pk == user.pk),
        "overview": player_overview(user=user),
        "rank": progress["rank"],
        "current_streak": progress["current_streak"],
        "longest_streak": progress["longest_streak"],
        "recent_attempts": progress["recent_attempts"],
        "badges": progress["badges"],
        "badge_progress": progress["badge_progress"],
        "activity": activity_by_day(user=user, first=heatmap_first_day(today), today=today),
        "today": today,
    }


HOME_BOARD_SIZE = 5
HOME_LATEST_BADGES = 3
LEADERBOARD_PER_PAGE = 20
STAFF_BOARD_SIZE = 10


def latest_badges(*, user_id: uuid.UUID, limit: int = HOME_LATEST_BADGES) -> list[UserBadge]:
    """A player's newest badges, in one query."""
    return list(
        UserBadge.objects.filter(user_id=user_id).select_related("badge").order_by("-awarded_at")[:limit]
    )


def attempt_badges(*, user_id: uuid.UUID, attempt_id: uuid.UUID) -> list[UserBadge]:
    """Badges the award of this attempt earned (the award job records the attempt in their metadata)."""
    return list(
        UserBadge.objects.filter(user_id=user_id, metadata__attempt_id=str(attempt_id))
        .select_related("badge")
        .order_by("badge__name")
    )


def home_page(*, viewer: User | None) -> dict[str, Any]:
    """The home page's player parts: the all-time top 5 and, signed in, the level bar and newest badges."""
    signed_in = viewer is not None and viewer.is_authenticated
    return {
        "top": leaderboard.top("all", limit=HOME_BOARD_SIZE).results,
        "overview": player_overview(user=viewer) if signed_in else None,
        "latest_badges": latest_badges(user_id=viewer.pk) if signed_in else [],
    }


def leaderboard_page(
    *, period: str, page: int, viewer: User | None, per_page: int = LEADERBOARD_PER_PAGE
) -> dict[str, Any]:
    """One page of a board, and the signed-in viewer's own row when it is not on that page.

    A fixed number of queries whatever `per_page` is: the board's page (see `leaderboard.top`) and,
    for a viewer off the page, their standing (Redis only, or one aggregate on the SQL backend).
    """
    if period not in leaderboard.PERIODS:
        raise NotFound("No such leaderboard.", code="leaderboard_not_found")
    if page < 1:
        raise NotFound("No such page.", code="page_not_found")
    board = leaderboard.top(period, limit=per_page, offset=(page - 1) * per_page)
    num_pages = max(1, -(-board.count // per_page))
    if page > num_pages:
        raise NotFound("No such page.", code="page_not_found")
    signed_in = viewer is not None and viewer.is_authenticated
    viewer_on_page = signed_in and any(entry.user_id == viewer.pk for entry in board.results)
    own_entry = None
    if signed_in and not viewer_on_page:
        standing = leaderboard.standing_for(viewer, period)
        if standing is not None:
            own_entry = leaderboard.Entry(
                standing.rank, viewer.pk, viewer.username, standing.xp, viewer.level
            )
    return {
        "period": period,
        "board": board,
        "page_number": page,
        "num_pages": num_pages,
        "viewer_id": viewer.pk if signed_in else None,
        "viewer_on_page": viewer_on_page,
        "own_entry": own_entry,
    }


def staff_dashboard(*, job_id: str | None = None) -> dict[str, Any]:
    """The staff dashboard: admin stats, the all-time top 10 and, if asked for, a tracked job's status."""
    return {
        "stats": admin_stats(),
        "top": leaderboard.top("all", limit=STAFF_BOARD_SIZE).results,
        "job_id": job_id,
        "job": queue.job_status(job_id) if job_id else None,
    }
