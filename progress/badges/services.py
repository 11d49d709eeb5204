"""Badge state changes: the one evaluator, the set-based award of recalculation, and staff edits.

The rules never take a badge away: a player keeps a badge when its condition gets harder, and an
awarded badge is deactivated rather than deleted; only staff revoke an award, with a reason
(progress.openbadges.services). Each badge is awarded at most once per player, whoever races: every
insert is ON CONFLICT DO NOTHING against the (user, badge) unique constraint, which a revoked award
still occupies, so the rules do not award a revoked badge again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from challenges.services import unique_slug
from progress.badges import conditions
from progress.badges.conditions import Condition
from progress.badges.conditions.base import column, table
from progress.badges.stats import STATS_USER_FIELDS, load_stats
from progress.models import Badge, Notification, UserBadge
from progress.notifications.messages import badge_data, message
from progress.notifications.services import notify
from progress.webhooks.events import badge_event_data_sql, badge_events
from progress.webhooks.outbox import outbox_record, outbox_sql
from skillquest import metrics, sql
from skillquest.audit.services import audit_changes, audit_created, audit_deleted
from skillquest.errors import BadgeHasAwards
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.awards")

EVALUATION_BATCH = 500
RECALCULATION_METADATA = json.dumps({"source": "recalculation"})

# The award job evaluates badges for every batch: its two reads are built once (skillquest.sql), the
# ORM's compiling of them cost more CPU than running them (bench/README.md, issue 15). Every active
# badge with who of the players holds it, in the ORM's order (Badge.Meta: by name); a condition's type
# is in its JSON, so the types wanted are picked here rather than in portable SQL.
_BADGE = sql.Columns(Badge)
_HOLDER = sql.Columns(UserBadge, ["user"])
_ACTIVE_BADGES_HELD = sql.Statement(
    lambda table: (
        f"SELECT {_BADGE.select_list('b')}, {_HOLDER.select_list('ub')} FROM {table(Badge)} b"  # noqa: S608 (model metadata only)
        f" LEFT JOIN {table(UserBadge)} ub ON {column(UserBadge, 'badge', 'ub')} = {column(Badge, 'id', 'b')}"
        f" AND {column(UserBadge, 'user', 'ub')} IN (%s)"
        f" WHERE {column(Badge, 'is_active', 'b')} = %s"
        f" ORDER BY {column(Badge, 'name', 'b')}, {column(Badge, 'id', 'b')}"
    ),
    params=[sql.Many(UserBadge._meta.get_field("user")), Badge._meta.get_field("is_active")],
)
# The players whose stats the candidates need (User.Meta: by username).
_STATS_USER = sql.Columns(User, STATS_USER_FIELDS)
_STATS_USERS = sql.Statement(
    lambda table: (
        f"SELECT {_STATS_USER.select_list('u')} FROM {table(User)} u"  # noqa: S608 (model metadata only)
        f" WHERE {column(User, 'id', 'u')} IN (%s) ORDER BY {column(User, 'username', 'u')}"
    ),
    params=[sql.Many(User._meta.pk)],
)


def badges_evaluate(
    *,
    user_ids: Iterable[uuid.UUID],
    kinds: Mapping[uuid.UUID, Iterable[str]] | None = None,
    attempt_ids: Mapping[uuid.UUID, uuid.UUID] | None = None,
    now: datetime | None = None,
) -> list[UserBadge]:
    """Award each player every active badge they now qualify for and do not hold; return those created.

    `kinds` limits each player's check to those condition types (the award job passes what the
    player's awards can have changed); without it every type is checked (re-evaluation). A player's
    entry in `attempt_ids` is recorded in their new badges' metadata.

    A fixed number of queries however many players and badges: the candidate badges with who of
    these players holds them, the players, their stats (`load_stats`), then the insert and read-back.
    """
    user_ids = list(user_ids)
    wanted: dict[uuid.UUID, frozenset[str]] = {
        pk: frozenset(kinds.get(pk, ()) if kinds is not None else conditions.REGISTRY) for pk in user_ids
    }
    all_kinds = frozenset().union(*wanted.values())
    if not all_kinds:
        return []
    # A row per (active badge, holder among these players): each badge is parsed once, whoever holds it.
    parsed: dict[uuid.UUID, tuple[Badge, Condition | None]] = {}
    held: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for badge, holder in sql.fetch_all(_ACTIVE_BADGES_HELD, [user_ids, True], _BADGE, _HOLDER):
        assert badge is not None  # the inner side of the LEFT JOIN
        if not isinstance(badge.condition, dict) or badge.condition.get("type") not in all_kinds:
            continue
        if holder is not None:
            held.add((holder.user_id, badge.pk))
        if badge.pk not in parsed:
            parsed[badge.pk] = (badge, _parsed(badge))
    badges = {pk: (badge, condition) for pk, (badge, condition) in parsed.items() if condition is not None}
    candidates = {
        pk: [
            (badge, condition)
            for badge, condition in badges.values()
            if condition.type in player_kinds and (pk, badge.pk) not in held
        ]
        for pk, player_kinds in wanted.items()
    }
    candidates = {pk: pairs for pk, pairs in candidates.items() if pairs}
    if not candidates:
        return []
    users = [user for (user,) in sql.fetch_all(_STATS_USERS, [list(candidates)], _STATS_USER) if user]
    needs = {
        user.pk: conditions.needs_of(condition.type for _, condition in candidates[user.pk]) for user in users
    }
    stats = load_stats(users=users, needs=needs, now=now)
    attempt_ids = attempt_ids or {}
    earned = [
        UserBadge(
            user_id=user.pk,
            badge=badge,
            metadata={"attempt_id": str(attempt_ids[user.pk])} if user.pk in attempt_ids else {},
        )
        for user in users
        for badge, condition in candidates[user.pk]
        if condition.evaluate(stats[user.pk])
    ]
    return _insert_new_badges(earned) if earned else []


def badges_reevaluate(*, user_ids: Iterable[uuid.UUID]) -> int:
    """Check every badge type for each player (admin action, recalculation on SQLite). Badges awarded."""
    ids, awarded = iter(user_ids), 0
    while chunk := list(islice(ids, EVALUATION_BATCH)):
        awarded += len(badges_evaluate(user_ids=chunk))
    return awarded


def badges_award_missing(*, now: datetime | None = None) -> int:
    """Give every active badge to every active player who qualifies and lacks it (never revokes).

    Set-based on PostgreSQL: one INSERT ... SELECT per badge from its condition's own SQL, so
    recalculation stays a few statements at any number of players. The SQLite quickstart runs the
    same rules through the evaluator instead, a batch of players at a time.
    """
    if connection.vendor != "postgresql":
        return badges_reevaluate(user_ids=User.objects.filter(is_active=True).values_list("pk", flat=True))
    now = now or timezone.now()
    awarded = 0
    for badge in Badge.objects.filter(is_active=True):
        condition = _parsed(badge)
        if condition is None:
            continue
        count = _insert_qualifying(badge=badge, condition=condition, now=now)
        if count:
            log_event(logger, "badges_awarded_missing", badge=badge.slug, count=count)
            transaction.on_commit(partial(metrics.badge_awarded, badge.slug, count=count))
        awarded += count
    return awarded


def _insert_qualifying(*, badge: Badge, condition: Condition, now: datetime) -> int:
    """One statement: the badge for every qualifying player who lacks it, each with its notification
    and, when an endpoint subscribes to `badge.awarded`, its webhook outbox row (progress.webhooks).

    The notifications are kept (inbox, bell) but not pushed: recalculation may award a badge to every
    player at once, and their pages show it at the next load.
    """
    select, params = condition.qualifying_sql(now=now)
    ub = {
        name: column(UserBadge, name)
        for name in ("id", "user", "badge", "awarded_at", "metadata", "assertion_id")
    }
    note = {name: column(Notification, name) for name in ("user", "type", "data", "created_at")}
    told_sql = (
        f"INSERT INTO {table(Notification)}"  # noqa: S608
        f" ({note['user']}, {note['type']}, {note['data']}, {note['created_at']})"
        f" SELECT user_id, 'badge_awarded', %s::jsonb, %s FROM inserted"
    )
    told = json.dumps({"badge": badge_data(badge)})  # a `badge_awarded` message's data
    outbox = outbox_sql("badge.awarded", badge_event_data_sql(badge), source="inserted", at="%s")
    # Only table and column names from the models' metadata are interpolated; values are parameters.
    statement = (
        f"WITH inserted AS (INSERT INTO {table(UserBadge)} ({ub['id']}, {ub['user']}, {ub['badge']},"  # noqa: S608
        f" {ub['awarded_at']}, {ub['metadata']}, {ub['assertion_id']})"
        " SELECT gen_random_uuid(), q.user_id, %s, %s, %s::jsonb, gen_random_uuid()"
        f" FROM (SELECT DISTINCT user_id FROM ({select}) s) q"
        f" JOIN {table(User)} u ON {column(User, 'id', 'u')} = q.user_id AND {column(User, 'is_active', 'u')}"
        f" ON CONFLICT ({ub['user']}, {ub['badge']}) DO NOTHING RETURNING {ub['user']} AS user_id)"
        + (f", told AS ({told_sql} RETURNING 1) {outbox.sql}" if outbox else f" {told_sql}")
    )
    extra = [*outbox.params, now] if outbox else []
    with connection.cursor() as cursor:
        cursor.execute(statement, [badge.pk, now, RECALCULATION_METADATA, *params, told, now, *extra])
        count = cursor.rowcount
    if outbox and count:
        outbox.recorded()
    return count


def _parsed(badge: Badge) -> Condition | None:
    try:
        return conditions.parse(badge.condition)
    except conditions.ConditionError:
        logger.warning("badge_condition_invalid", extra={"badge_id": str(badge.pk)})
        return None


def _insert_new_badges(earned: Sequence[UserBadge]) -> list[UserBadge]:
    """Insert the badges and tell their players (`notify`, in this transaction); return (and log)
    only those this call created.

    The read-back by the primary keys generated here tells which rows were actually inserted (a
    concurrent evaluation may have inserted the same (user, badge) first).
    """
    with transaction.atomic():
        UserBadge.objects.bulk_create(earned, ignore_conflicts=True)
        inserted = set(
            UserBadge.objects.filter(pk__in=[award.pk for award in earned]).values_list("pk", flat=True)
        )
        created = [award for award in earned if award.pk in inserted]
        notify(
            [
                message(
                    award.user_id, "badge_awarded", badge=badge_data(award.badge), created_at=award.awarded_at
                )
                for award in created
            ]
        )
        outbox_record(badge_events(created))
    for award in created:
        log_event(
            logger,
            "badge_awarded",
            user_id=str(award.user_id),
            badge_id=str(award.badge_id),
            badge=award.badge.slug,
            attempt_id=award.metadata.get("attempt_id"),
        )
    return created


def _badge_slug(name: str, *, exclude_pk: uuid.UUID | None = None) -> str:
    return unique_slug(Badge, name, exclude_pk=exclude_pk, max_length=120)


# What the audit log records of a badge (skillquest.audit); the admin's saves use it too.
AUDITED_FIELDS = ("name", "slug", "description", "icon", "condition", "secret", "is_active")


@transaction.atomic
def badge_create(*, actor: User | None = None, **fields: Any) -> Badge:
    fields["condition"] = conditions.validate(fields["condition"])
    if not fields.get("slug"):
        fields["slug"] = _badge_slug(fields["name"])
    badge = Badge.objects.create(**fields)
    audit_created(actor=actor, action="badge.create", instance=badge, fields=AUDITED_FIELDS)
    return badge


@transaction.atomic
def badge_update(*, badge: Badge, actor: User | None = None, **fields: Any) -> Badge:
    """Edit a badge. Players who already hold it keep it, even if the condition gets harder."""
    if "condition" in fields:
        fields["condition"] = conditions.validate(fields["condition"])
    if "slug" in fields and not fields["slug"]:
        fields["slug"] = _badge_slug(fields.get("name", badge.name), exclude_pk=badge.pk)
    with audit_changes(actor=actor, action="badge.update", instance=badge, fields=AUDITED_FIELDS):
        for name, value in fields.items():
            setattr(badge, name, value)
        badge.save()
    return badge


@transaction.atomic
def badge_delete(*, badge: Badge, actor: User | None = None) -> None:
    """Delete a badge never awarded; an awarded badge (even if revoked since) is deactivated instead."""
    locked = Badge.objects.select_for_update().get(pk=badge.pk)
    if UserBadge.objects.filter(badge=locked).exists():
        raise BadgeHasAwards()
    audit_deleted(actor=actor, action="badge.delete", instance=locked, fields=AUDITED_FIELDS)
    locked.delete()
