"""Progress state changes: awarding XP exactly once and keeping levels in step."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt
from progress import conditions, rules, selectors
from progress.models import Badge, UserBadge
from skillquest.errors import BadgeHasAwards
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.awards")


@dataclass(frozen=True)
class Award:
    attempt_id: uuid.UUID
    user_id: uuid.UUID
    challenge_id: uuid.UUID
    xp: int
    total_xp: int
    old_level: int
    level: int
    awarded_at: object
    passed: bool

    @property
    def levelled_up(self) -> bool:
        return self.level > self.old_level


@transaction.atomic
def xp_award(*, attempt_id: uuid.UUID) -> Award | None:
    """Award a graded attempt's XP once. Returns None if there was nothing to award (already done).

    Safe to call twice or concurrently: the attempt row lock lets one caller in at a time and the
    `xp_awarded IS NULL` check makes every later caller a no-op. The user row lock serialises all
    awards of one player, so the best-earlier-result rule and the total see every earlier award.
    """
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("challenge")
        .filter(pk=attempt_id)
        .first()
    )
    if attempt is None or not attempt.award_pending:
        return None
    user = User.objects.select_for_update().only("id", "total_xp", "level").get(pk=attempt.user_id)
    challenge = attempt.challenge
    base = rules.attempt_base_xp(
        challenge_xp=challenge.xp, score=attempt.score, pass_score=challenge.pass_score
    )
    # Earlier awards on this challenge telescope to the best base so far: their sum is what it paid out.
    best_earlier = (
        Attempt.objects.filter(
            user_id=user.pk, challenge_id=challenge.pk, xp_awarded__isnull=False
        ).aggregate(paid=Sum("xp_awarded"))["paid"]
        or 0
    )
    xp = rules.award_for(base=base, best_earlier_base=best_earlier)
    now = timezone.now()
    attempt.xp_awarded = xp
    attempt.awarded_at = now
    attempt.save(update_fields=["xp_awarded", "awarded_at"])
    total = user.total_xp + xp
    level = rules.level_for_xp(total)
    if xp:
        # An atomic increment; the row is locked, so F() and `total` agree.
        User.objects.filter(pk=user.pk).update(total_xp=F("total_xp") + xp, level=level)
    award = Award(
        attempt_id=attempt.pk,
        user_id=user.pk,
        challenge_id=challenge.pk,
        xp=xp,
        total_xp=total,
        old_level=user.level,
        level=level,
        awarded_at=now,
        passed=attempt.status == Attempt.Status.PASSED,
    )
    log_event(
        logger,
        "xp_awarded",
        user_id=str(user.pk),
        attempt_id=str(attempt.pk),
        challenge_id=str(challenge.pk),
        xp=xp,
        total_xp=total,
        level=level,
    )
    if award.levelled_up:
        log_event(logger, "level_up", user_id=str(user.pk), old_level=user.level, level=level, total_xp=total)
    return award


def pending_award_ids() -> list[uuid.UUID]:
    return list(
        Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True)
        .order_by("submitted_at")
        .values_list("id", flat=True)
    )


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
            user_id=str(user.pk),
            badge_id=str(award.badge_id),
            badge=award.badge.slug,
            attempt_id=str(attempt_id) if attempt_id else None,
        )
    return created


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
