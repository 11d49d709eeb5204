"""Staff revoke a badge award, with a reason that its public assertion then shows (410)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from progress import jobs
from progress.models import UserBadge
from skillquest.audit.services import audit_record
from skillquest.errors import BadgeAwardRevoked, InvalidInput, NotFound


@transaction.atomic
def badge_award_revoke(*, award_id: uuid.UUID, reason: str, actor: User) -> UserBadge:
    """Revoke one award: 404 unknown, 409 already revoked (the first reason stands).

    The row stays (its badge, player and date, now with who revoked it, when and why) and keeps the
    rules from awarding the badge again; the player no longer holds it (`UserBadge.objects.held()`).
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("A reason is required.", field="reason")
    award = (
        UserBadge.objects.select_for_update(of=("self",)).select_related("badge").filter(pk=award_id).first()
    )
    if award is None:
        raise NotFound("Badge award not found.", code="badge_award_not_found")
    if award.revoked_at is not None:
        raise BadgeAwardRevoked()
    award.revoked_at, award.revocation_reason, award.revoked_by = timezone.now(), reason, actor
    award.save(update_fields=["revoked_at", "revocation_reason", "revoked_by"])
    audit_record(
        actor=actor,
        action="badge_award.revoke",
        target=award,
        changes={
            "revoked_at": {"before": None, "after": award.revoked_at},
            "revocation_reason": {"before": "", "after": reason},
            "badge": award.badge.slug,
            "user_id": str(award.user_id),
        },
    )
    # One holder fewer: the badge's rarity is recounted as after an award.
    transaction.on_commit(jobs.schedule_rarity_refresh)
    return award
