"""Reads behind the public Open Badges URLs: one award by its assertion id, one public badge."""

from __future__ import annotations

import uuid

from django.db.models import Exists, OuterRef

from challenges.models import Attempt
from progress.models import Badge, UserBadge
from skillquest.errors import NotFound


def canonical_uuid(value: str, *, error: NotFound) -> uuid.UUID:
    """A UUID in its one canonical spelling (so that each document has exactly one URL), else `error`."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise error from None
    if str(parsed) != value:
        raise error
    return parsed


def award_by_assertion(*, token: str) -> UserBadge:
    """The award (revoked or not) with its badge and player, in one query.

    404 unless its player is active with a verified email: the assertion names that address as the
    recipient, so it must be theirs (an erased or deactivated account shares nothing).
    """
    assertion_not_found = NotFound("No such badge assertion.", code="assertion_not_found")
    award = (
        UserBadge.objects.select_related("badge", "user")
        .filter(
            assertion_id=canonical_uuid(token, error=assertion_not_found),
            user__is_active=True,
            user__email_verified_at__isnull=False,
        )
        .first()
    )
    if award is None:
        raise assertion_not_found
    return award


def award_attempt(award: UserBadge) -> Attempt | None:
    """The graded attempt whose award earned the badge (the award job records it), with its challenge."""
    attempt_id = award.metadata.get("attempt_id") if isinstance(award.metadata, dict) else None
    if not attempt_id:
        return None
    return Attempt.objects.select_related("challenge").filter(pk=attempt_id, user_id=award.user_id).first()


def public_badge(*, badge_id: str) -> Badge:
    """A badge whose BadgeClass anyone may read: not secret, and active or held by someone."""
    not_found = NotFound("No such badge.", code="badge_not_found")
    badge = (
        Badge.objects.filter(pk=canonical_uuid(badge_id, error=not_found), secret=False)
        .annotate(held=Exists(UserBadge.objects.held().filter(badge=OuterRef("pk"))))
        .first()
    )
    if badge is None or not (badge.is_active or badge.held):
        raise not_found
    return badge
