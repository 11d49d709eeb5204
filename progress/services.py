"""Progress state changes: awarding XP exactly once and keeping levels in step."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import User
from challenges.models import Attempt
from progress import rules
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
    )
    log_event(
        logger,
        "xp_awarded",
        user_id=str(user.pk),
        attempt_id=str(attempt.pk),
        challenge_id=str(challenge.pk),
        xp=xp,
        total_xp=total,
        # Not `level`: the JSON log line's own `level` (info, warning...) would be overwritten.
        new_level=level,
    )
    if award.levelled_up:
        log_event(
            logger, "level_up", user_id=str(user.pk), old_level=user.level, new_level=level, total_xp=total
        )
    return award


def pending_award_ids() -> list[uuid.UUID]:
    return list(
        Attempt.objects.filter(status__in=Attempt.GRADED, xp_awarded__isnull=True)
        .order_by("submitted_at")
        .values_list("id", flat=True)
    )
