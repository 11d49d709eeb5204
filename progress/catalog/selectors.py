"""The catalog as data: every challenge, badge and tag, in slug order, with every field a file keeps."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from challenges.models import Challenge, Tag
from progress.catalog.schema import VERSION
from progress.models import Badge

CHALLENGE_FIELDS = ("title", "description", "xp", "difficulty", "pass_score", "grading", "published")
BADGE_FIELDS = ("name", "description", "icon", "condition", "secret", "is_active")
TAG_FIELDS = ("name",)


def challenge_entry(challenge: Challenge, tags: list[str]) -> dict[str, Any]:
    return {
        "slug": challenge.slug,
        **{name: getattr(challenge, name) for name in CHALLENGE_FIELDS},
        "tags": tags,
    }


def badge_entry(badge: Badge) -> dict[str, Any]:
    return {"slug": badge.slug, **{name: getattr(badge, name) for name in BADGE_FIELDS}}


def tag_entry(tag: Tag) -> dict[str, Any]:
    return {"slug": tag.slug, "name": tag.name}


def catalog_export() -> dict[str, Any]:
    """The whole catalog (drafts, inactive badges, answers included: staff only), in three queries.

    Slug order and a fixed key order: the same catalog always exports to the same file.
    """
    challenges = Challenge.objects.order_by("slug").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("slug"))
    )
    return {
        "version": VERSION,
        "challenges": [
            challenge_entry(challenge, [tag.slug for tag in challenge.tags.all()]) for challenge in challenges
        ],
        "badges": [badge_entry(badge) for badge in Badge.objects.order_by("slug")],
        "tags": [tag_entry(tag) for tag in Tag.objects.order_by("slug")],
    }
