"""Reads of who follows whom."""

from __future__ import annotations

import uuid

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from progress.models import Follow


def following(*, user_id: uuid.UUID) -> QuerySet[Follow]:
    """Whom the player follows (active players only), newest first, each with the followed player."""
    return (
        Follow.objects.filter(follower_id=user_id, followed__is_active=True)
        .select_related("followed")
        .only("created_at", "followed__id", "followed__username", "followed__level")
        .order_by("-created_at", "-id")
    )


def followers(*, user_id: uuid.UUID) -> QuerySet[Follow]:
    """Who follows the player (active players only), newest first, each with the follower."""
    return (
        Follow.objects.filter(followed_id=user_id, follower__is_active=True)
        .select_related("follower")
        .only("created_at", "follower__id", "follower__username", "follower__level")
        .order_by("-created_at", "-id")
    )


def follow_counts(*, user_id: uuid.UUID) -> dict[str, int]:
    """How many active players the player follows and how many follow them, in one query."""
    return Follow.objects.filter(Q(follower_id=user_id) | Q(followed_id=user_id)).aggregate(
        following=Count("pk", filter=Q(follower_id=user_id, followed__is_active=True)),
        followers=Count("pk", filter=Q(followed_id=user_id, follower__is_active=True)),
    )


def is_following(*, follower: User, followed_id: uuid.UUID) -> bool:
    return Follow.objects.filter(follower=follower, followed_id=followed_id).exists()
