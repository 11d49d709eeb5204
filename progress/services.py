"""Progress state changes: awarding XP exactly once and keeping levels in step."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt
from progress import badge_sql, conditions, leaderboard, rules, selectors
from progress.models import Badge, UserBadge
from progress.recalc import recalculate_xp
from skillquest import metrics
from skillquest.errors import BadgeHasAwards
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
    badges: tuple[str, ...] = ()  # slugs of the badges the player earned with this award

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
    # FOR NO KEY UPDATE, not FOR UPDATE: awards of one player still queue on it, but a start (whose
    # foreign-key check takes KEY SHARE on the player's row) does not wait for the award to commit.
    players = {
        pk: (total, level)
        for pk, total, level in User.objects.select_for_update(no_key=True)
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
    # Badges in the same transaction as the XP: a failure rolls both back and the retry redoes both,
    # so no award ever commits without the badges it earned.
    badges = _badges_for_awards(awards)
    transaction.on_commit(lambda: _report_awards(awards, badges), robust=True)
    earned: dict[uuid.UUID, list[str]] = {}
    for user_badge in badges:
        earned.setdefault(user_badge.metadata["attempt_id"], []).append(user_badge.badge.slug)
    return [
        dataclasses.replace(award, badges=tuple(earned[str(award.attempt_id)]))
        if str(award.attempt_id) in earned
        else award
        for award in awards
    ]


def _badges_for_awards(awards: list[Award]) -> list[UserBadge]:
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
    return badges_evaluate_batch(kinds=kinds, attempt_ids=last_attempt)


def badges_evaluate_batch(
    *, kinds: dict[uuid.UUID, set[str]], attempt_ids: dict[uuid.UUID, uuid.UUID]
) -> list[UserBadge]:
    """`badges_evaluate` for many players at once, in a fixed number of queries however many there are.

    The active badges, the badges those players hold, the players, their stats (one query per
    distinct timezone for streaks, one for completed challenges), the insert and the read-back:
    the same rules per player, evaluated in Python. At most once per player and badge, as there.
    """
    parsed = []
    for badge in Badge.objects.filter(is_active=True, condition__type__in=set().union(*kinds.values())):
        try:
            parsed.append((badge, conditions.parse(badge.condition)))
        except conditions.ConditionError:
            logger.warning("badge_condition_invalid", extra={"badge_id": str(badge.pk)})
    if not parsed:
        return []
    held = set(
        UserBadge.objects.filter(user_id__in=list(kinds), badge_id__in=[badge.pk for badge, _ in parsed])
        .values_list("user_id", "badge_id")
        .order_by()
    )
    candidates = {
        user_id: [
            (badge, condition)
            for badge, condition in parsed
            if condition.type in user_kinds and (user_id, badge.pk) not in held
        ]
        for user_id, user_kinds in kinds.items()
    }
    candidates = {user_id: pairs for user_id, pairs in candidates.items() if pairs}
    if not candidates:
        return []
    users = list(User.objects.filter(pk__in=list(candidates)).only(*selectors.STATS_USER_FIELDS))
    stats = selectors.players_stats(
        users=users,
        needs={
            user.pk: conditions.needs_of(condition.type for _, condition in candidates[user.pk])
            for user in users
        },
    )
    earned = [
        UserBadge(user_id=user.pk, badge=badge, metadata={"attempt_id": str(attempt_ids[user.pk])})
        for user in users
        for badge, condition in candidates[user.pk]
        if condition.evaluate(stats[user.pk])
    ]
    if not earned:
        return []
    return _insert_new_badges(earned)


def _insert_new_badges(earned: list[UserBadge]) -> list[UserBadge]:
    """Insert the badges; return (and log) only those this call created.

    At most once per player even with concurrent callers: the insert is ON CONFLICT DO NOTHING
    against the (user, badge) unique constraint, and the read-back by the primary keys generated here
    tells which rows were actually inserted.
    """
    with transaction.atomic():
        UserBadge.objects.bulk_create(earned, ignore_conflicts=True)
        inserted = set(
            UserBadge.objects.filter(pk__in=[award.pk for award in earned]).values_list("pk", flat=True)
        )
    created = [award for award in earned if award.pk in inserted]
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


def _report_awards(awards: list[Award], badges: list[UserBadge]) -> None:
    for award in awards:
        lag = (award.awarded_at - award.submitted_at).total_seconds() if award.submitted_at else None
        metrics.xp_awarded(xp=award.xp, lag_seconds=lag)
    for user_badge in badges:
        metrics.badge_awarded(user_badge.badge.slug)


def xp_award(*, attempt_id: uuid.UUID) -> Award | None:
    """Award one graded attempt's XP once; None if there was nothing to award (done, or in progress)."""
    awards = awards_process(attempt_ids=[attempt_id], limit=1)
    return awards[0] if awards else None


def pending_award_count() -> int:
    return Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True).count()


def xp_recalculate() -> dict[str, int]:
    """Recalculate XP and levels from the database (set-based), then refresh what derives from them:
    the leaderboards are rebuilt (only a rebuild can lower a score) and missing badges awarded."""
    result = recalculate_xp()
    leaderboard.rebuild()
    badges = badges_award_missing()
    log_event(
        logger,
        "xp_recalculated",
        attempts_changed=result.attempts_changed,
        users_changed=result.users_changed,
        badges_awarded=badges,
    )
    return {
        "attempts_changed": result.attempts_changed,
        "users_changed": result.users_changed,
        "badges_awarded": badges,
    }


def badges_evaluate(
    *,
    user_id: uuid.UUID,
    attempt_id: uuid.UUID | None = None,
    kinds: Iterable[str] | None = None,
) -> list[UserBadge]:
    """Award the player every active badge they now qualify for and do not hold; never revokes.

    `kinds` limits the check to those condition types (the award job passes the types its award
    can have changed); None checks them all (re-evaluation, recalculation). `attempt_id` is recorded
    in the new badges' metadata. Returns only the badges this call created.

    A fixed number of queries whatever the number of badges: the candidate badges, the player,
    the stats their conditions need (at most two), the insert and the read-back.
    At most once per player even with concurrent callers: the insert is ON CONFLICT DO NOTHING
    against the (user, badge) unique constraint, and the read-back by the primary keys this call
    generated tells which rows it actually inserted.
    """
    candidates = Badge.objects.filter(is_active=True).exclude(awards__user_id=user_id)
    if kinds is not None:
        kinds = list(kinds)
        if not kinds:
            return []
        candidates = candidates.filter(condition__type__in=kinds)
    parsed = []
    for badge in candidates:
        try:
            parsed.append((badge, conditions.parse(badge.condition)))
        except conditions.ConditionError:
            logger.warning("badge_condition_invalid", extra={"badge_id": str(badge.pk)})
    if not parsed:
        return []
    user = User.objects.filter(pk=user_id).only(*selectors.STATS_USER_FIELDS).first()
    if user is None:
        return []
    stats = selectors.player_stats(
        user=user, needs=conditions.needs_of(condition.type for _, condition in parsed)
    )
    metadata: dict[str, Any] = {"attempt_id": str(attempt_id)} if attempt_id else {}
    earned = [
        UserBadge(user_id=user.pk, badge=badge, metadata=metadata)
        for badge, condition in parsed
        if condition.evaluate(stats)
    ]
    if not earned:
        return []
    return _insert_new_badges(earned)


def badges_award_missing() -> int:
    """Give every active badge to every active player who qualifies and lacks it (never revokes).

    Set-based on PostgreSQL (one INSERT ... SELECT per badge, `progress.badge_sql`), so recalculation
    stays a few statements at any number of players; the SQLite quickstart checks players one by one.
    """
    if connection.vendor != "postgresql":
        return badges_reevaluate(
            user_ids=list(User.objects.filter(is_active=True).values_list("pk", flat=True))
        )
    awarded = 0
    for badge in Badge.objects.filter(is_active=True):
        try:
            condition = conditions.parse(badge.condition)
        except conditions.ConditionError:
            logger.warning("badge_condition_invalid", extra={"badge_id": str(badge.pk)})
            continue
        count = badge_sql.award_missing(badge_id=badge.pk, condition=condition)
        if count:
            log_event(logger, "badges_awarded_missing", badge=badge.slug, count=count)
            transaction.on_commit(lambda slug=badge.slug, n=count: metrics.badge_awarded(slug, count=n))
        awarded += count
    return awarded


def badges_reevaluate(*, user_ids: Iterable[uuid.UUID]) -> int:
    """Evaluate every badge type for each player (admin action, recalculation). Returns badges awarded."""
    return sum(len(badges_evaluate(user_id=user_id)) for user_id in user_ids)


def _badge_slug(name: str, *, exclude_pk: uuid.UUID | None = None) -> str:
    from challenges.services import unique_slug

    return unique_slug(Badge, name, exclude_pk=exclude_pk, max_length=120)


@transaction.atomic
def badge_create(**fields: Any) -> Badge:
    fields["condition"] = conditions.validate(fields["condition"])
    if not fields.get("slug"):
        fields["slug"] = _badge_slug(fields["name"])
    return Badge.objects.create(**fields)


@transaction.atomic
def badge_update(*, badge: Badge, **fields: Any) -> Badge:
    """Edit a badge. Players who already hold it keep it, even if the condition gets harder."""
    if "condition" in fields:
        fields["condition"] = conditions.validate(fields["condition"])
    if "slug" in fields and not fields["slug"]:
        fields["slug"] = _badge_slug(fields.get("name", badge.name), exclude_pk=badge.pk)
    for name, value in fields.items():
        setattr(badge, name, value)
    badge.save()
    return badge


@transaction.atomic
def badge_delete(*, badge: Badge) -> None:
    """Delete a badge nobody holds; an awarded badge is deactivated instead (badges are never revoked)."""
    locked = Badge.objects.select_for_update().get(pk=badge.pk)
    if UserBadge.objects.filter(badge=locked).exists():
        raise BadgeHasAwards()
    locked.delete()
