"""Reads of badges: the catalogue and the badges players hold."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from progress.models import Badge, UserBadge
from skillquest.errors import NotFound

HOME_LATEST_BADGES = 3


def badge_list(*, viewer: User | AnonymousUser | None) -> QuerySet[Badge]:
    """Active badges for everyone; staff also see inactive ones (to edit them)."""
    badges = Badge.objects.all()
    if not (viewer and viewer.is_authenticated and viewer.is_staff):
        badges = badges.filter(is_active=True)
    return badges.order_by("name")


def user_badges(*, user_id: uuid.UUID) -> list[UserBadge]:
    """A player's badges, newest first (two queries: the player, then their badges); not revoked ones."""
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        raise NotFound("User not found.", code="user_not_found")
    return list(
        UserBadge.objects.held().filter(user_id=user_id).select_related("badge").order_by("-awarded_at")
    )


def earned_badge_ids(*, user_id: uuid.UUID) -> set[uuid.UUID]:
    return set(UserBadge.objects.held().filter(user_id=user_id).values_list("badge_id", flat=True))


def latest_badges(*, user_id: uuid.UUID, limit: int = HOME_LATEST_BADGES) -> list[UserBadge]:
    """A player's newest badges, in one query."""
    return list(
        UserBadge.objects.held()
        .filter(user_id=user_id)
        .select_related("badge")
        .order_by("-awarded_at")[:limit]
    )


def attempt_badges(*, user_id: uuid.UUID, attempt_id: uuid.UUID) -> list[UserBadge]:
    """Badges the award of this attempt earned (the award job records the attempt in their metadata)."""
    return list(
        UserBadge.objects.held()
        .filter(user_id=user_id, metadata__attempt_id=str(attempt_id))
        .select_related("badge")
        .order_by("badge__name")
    )
