"""Reads for challenges and attempts, shaped for the pages and endpoints that use them."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag


def challenge_list(*, viewer: User | None) -> QuerySet[Challenge]:
    """Published challenges for players; every challenge for staff."""
    challenges = Challenge.objects.prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    if viewer is not None and viewer.is_authenticated and viewer.is_staff:
        return challenges
    return challenges.filter(published=True)


def attempt_list(*, user: User) -> QuerySet[Attempt]:
    return Attempt.objects.filter(user=user).order_by("-started_at", "-id")


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")
