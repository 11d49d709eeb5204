"""Reads for challenges and attempts, shaped for the pages and endpoints that use them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Max, Prefetch, Q, QuerySet

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from skillquest import sql
from skillquest.errors import NotFound


def challenge_list(*, viewer: User | AnonymousUser | None) -> QuerySet[Challenge]:
    """Published challenges for players; every challenge for staff."""
    challenges = Challenge.objects.prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    if viewer is not None and viewer.is_authenticated and viewer.is_staff:
        return challenges
    return challenges.filter(published=True)


def attempt_list(*, user: User) -> QuerySet[Attempt]:
    return Attempt.objects.filter(user=user).order_by("-started_at", "-id")


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def tag_slugs() -> list[str]:
    return list(Tag.objects.order_by("slug").values_list("slug", flat=True))


_TAG_BY_SLUG = sql.Statement(
    lambda table: f"SELECT id FROM {table(Tag)} WHERE slug = %s",  # noqa: S608 (model metadata only)
    params=[Tag._meta.get_field("slug")],
)


def tag_exists(*, slug: str) -> bool:
    """Every tag board request asks it first (404 otherwise); the statement is built once
    (skillquest.sql: compiling the ORM query cost more than running it)."""
    return bool(sql.fetch_values(_TAG_BY_SLUG, [slug], [Tag._meta.pk]))


def challenge_tags(
    *, challenge_ids: Iterable[uuid.UUID] | None = None, slugs: Iterable[str] | None = None
) -> dict[uuid.UUID, set[str]]:
    """The tag slugs of each challenge (of these challenges, and only these tags, where given;
    challenges without any are left out), in one query. Twice in every award job with Redis boards:
    its statements are built once (skillquest.sql), as compiling the ORM query cost more than
    running it (bench/README.md, issue 15)."""
    ids = None if challenge_ids is None else list(challenge_ids)
    wanted = None if slugs is None else list(slugs)
    statement = _CHALLENGE_TAGS[(ids is not None, wanted is not None)]
    params = [values for values in (ids, wanted) if values is not None]
    tags: dict[uuid.UUID, set[str]] = defaultdict(set)
    for challenge_id, slug in sql.fetch_values(statement, params, [Challenge._meta.pk, _TAG_SLUG]):
        tags[challenge_id].add(slug)
    return dict(tags)


_LINK = Challenge.tags.through
_LINK_CHALLENGE = _LINK._meta.get_field("challenge")
_TAG_SLUG = Tag._meta.get_field("slug")


def _challenge_tags_statement(*, by_challenge: bool, by_slug: bool) -> sql.Statement:
    link_challenge, link_tag = _LINK_CHALLENGE.column, _LINK._meta.get_field("tag").column
    conditions = [f"l.{link_challenge} IN (%s)"] if by_challenge else []
    conditions += ["t.slug IN (%s)"] if by_slug else []
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return sql.Statement(
        lambda table: (
            f"SELECT l.{link_challenge}, t.slug FROM {table(_LINK)} l"  # noqa: S608 (model metadata only)
            f" JOIN {table(Tag)} t ON t.id = l.{link_tag}{where}"
        ),
        params=[sql.Many(_LINK_CHALLENGE)] * by_challenge + [sql.Many(_TAG_SLUG)] * by_slug,
    )


_CHALLENGE_TAGS = {
    (by_challenge, by_slug): _challenge_tags_statement(by_challenge=by_challenge, by_slug=by_slug)
    for by_challenge in (False, True)
    for by_slug in (False, True)
}


def challenge_catalogue(*, difficulty: str = "", tag: str = "", search: str = "") -> QuerySet[Challenge]:
    """The published catalogue for the challenges page, filtered; tags prefetched in one query."""
    challenges = Challenge.objects.filter(published=True).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )
    if difficulty in Challenge.Difficulty.values:
        challenges = challenges.filter(difficulty=difficulty)
    if tag:
        challenges = challenges.filter(tags__slug=tag)
    if search:
        challenges = challenges.filter(Q(title__icontains=search) | Q(description__icontains=search))
    return challenges.order_by("difficulty_rank", "title", "id")


def player_results(
    *, user: User | AnonymousUser | None, challenge_ids: Iterable
) -> dict[Any, dict[str, Any]]:
    """Per challenge: whether the player passed it and their best score, in one aggregate query."""
    if user is None or not user.is_authenticated:
        return {}
    rows = (
        Attempt.objects.filter(user=user, challenge_id__in=list(challenge_ids), status__in=Attempt.GRADED)
        .values("challenge_id")
        .annotate(best_score=Max("score"), passes=Count("id", filter=Q(status=Attempt.Status.PASSED)))
    )
    return {
        row["challenge_id"]: {"completed": row["passes"] > 0, "best_score": row["best_score"]} for row in rows
    }


def challenge_page(
    *, slug: str, viewer: User | AnonymousUser | None, result_attempt_id: Any = None
) -> dict[str, Any]:
    """A published challenge with the viewer's open attempt, shown result and best result."""
    challenge = (
        Challenge.objects.filter(slug=slug, published=True)
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .first()
    )
    if challenge is None:
        raise NotFound("Challenge not found.", code="challenge_not_found")
    page: dict[str, Any] = {
        "challenge": challenge, "open_attempt": None, "result": None, "best": None,
    }  # fmt: skip
    if viewer is None or not viewer.is_authenticated:
        return page
    mine = Attempt.objects.filter(user=viewer, challenge=challenge)
    page["open_attempt"] = mine.filter(status=Attempt.Status.STARTED).order_by("-started_at", "-id").first()
    if result_attempt_id is not None:
        page["result"] = mine.exclude(status=Attempt.Status.STARTED).filter(pk=result_attempt_id).first()
    page["best"] = player_results(user=viewer, challenge_ids=[challenge.pk]).get(challenge.pk)
    return page


def challenge_highlights(*, limit: int = 3) -> list[Challenge]:
    """A few published challenges for the home page: the newest, with their tags."""
    return list(
        Challenge.objects.filter(published=True)
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("-created_at", "id")[:limit]
    )
