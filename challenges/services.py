"""Challenge and attempt state changes. Awarding XP is the progress app's job (see progress.services)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from challenges import grading
from challenges.models import ATTEMPT_METADATA_MAX_BYTES, Attempt, Challenge, Tag
from skillquest import metrics
from skillquest.errors import AttemptAlreadySubmitted, ChallengeHasAttempts, InvalidInput, NotFound
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.attempts")

SUBMIT_ATTEMPT_FIELDS = (
    *(field.name for field in Attempt._meta.concrete_fields),
    "challenge__id", "challenge__title", "challenge__xp", "challenge__pass_score", "challenge__grading",
)  # fmt: skip


def unique_slug(model, text: str, *, exclude_pk=None, max_length: int = 200) -> str:
    base = slugify(text)[:max_length] or "item"
    slug, n = base, 2
    others = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while others.filter(slug=slug).exists():
        slug = f"{base[: max_length - 6]}-{n}"
        n += 1
    return slug


@transaction.atomic
def challenge_create(*, created_by: User | None, tags: list[Tag] | None = None, **fields: Any) -> Challenge:
    fields.setdefault("grading", {"type": "self_reported"})
    grading.validate_config(fields["grading"])
    if not fields.get("slug"):
        fields["slug"] = unique_slug(Challenge, fields["title"])
    challenge = Challenge.objects.create(created_by=created_by, **fields)
    if tags:
        challenge.tags.set(tags)
    return challenge


@transaction.atomic
def challenge_update(*, challenge: Challenge, tags: list[Tag] | None = None, **fields: Any) -> Challenge:
    if "grading" in fields:
        grading.validate_config(fields["grading"])
    if "slug" in fields and not fields["slug"]:
        fields["slug"] = unique_slug(Challenge, fields.get("title", challenge.title), exclude_pk=challenge.pk)
    for name, value in fields.items():
        setattr(challenge, name, value)
    challenge.save()
    if tags is not None:
        challenge.tags.set(tags)
    return challenge


@transaction.atomic
def challenge_delete(*, challenge: Challenge) -> None:
    """Delete a challenge nobody has attempted; one with attempts must be unpublished instead."""
    locked = Challenge.objects.select_for_update().get(pk=challenge.pk)
    if Attempt.objects.filter(challenge=locked).exists():
        raise ChallengeHasAttempts()
    locked.delete()


def challenge_set_published(*, challenge_ids: list, published: bool) -> int:
    return Challenge.objects.filter(pk__in=challenge_ids).update(
        published=published, updated_at=timezone.now()
    )


def attempt_start(*, user: User, challenge_id: uuid.UUID) -> Attempt:
    # Only what the attempt and its response need: not the description or grading config.
    challenge = Challenge.objects.filter(pk=challenge_id, published=True).only("id", "title").first()
    if challenge is None:
        raise NotFound("Challenge not found.", code="challenge_not_found")
    return Attempt.objects.create(user=user, challenge=challenge)


def _attempt_metadata(*, solution: str | None, client: dict | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if solution is not None:
        metadata["solution"] = solution
    if client:
        metadata["client"] = client
    # Measured as stored (UTF-8): \uXXXX escapes would count non-ASCII text two or three times over.
    if len(json.dumps(metadata, ensure_ascii=False).encode()) > ATTEMPT_METADATA_MAX_BYTES:
        raise InvalidInput(
            f"Submission too large (at most {ATTEMPT_METADATA_MAX_BYTES} bytes).",
            field="metadata",
            code="too_large",
        )
    return metadata


@transaction.atomic
def attempt_submit(
    *,
    user: User,
    attempt_id: uuid.UUID,
    score: int | None = None,
    solution: str | None = None,
    client: dict | None = None,
) -> Attempt:
    """Grade an attempt once. The award job is scheduled after commit by progress.receivers."""
    # The row lock makes concurrent submits of one attempt queue up; all but the first see it graded.
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("challenge")
        # Grading needs these; the response shows the title. Not the description (arbitrary size).
        .only(*SUBMIT_ATTEMPT_FIELDS)
        .filter(pk=attempt_id, user=user)
        .first()
    )
    if attempt is None:
        raise NotFound("Attempt not found.", code="attempt_not_found")
    if attempt.status != Attempt.Status.STARTED:
        raise AttemptAlreadySubmitted()
    challenge = attempt.challenge
    try:
        result = grading.grade(challenge.grading, score=score, solution=solution)
    except grading.SubmissionError as exc:
        raise InvalidInput(exc.message, field=exc.field, code="invalid_submission")
    attempt.metadata = _attempt_metadata(solution=solution, client=client)
    attempt.score = result.score
    attempt.status = Attempt.Status.PASSED if result.score >= challenge.pass_score else Attempt.Status.FAILED
    attempt.submitted_at = timezone.now()
    attempt.save(update_fields=["metadata", "score", "status", "submitted_at"])
    transaction.on_commit(lambda: _report_submitted(attempt), robust=True)
    return attempt


def _report_submitted(attempt: Attempt) -> None:
    log_event(
        logger,
        "challenge_submitted",
        user_id=str(attempt.user_id),
        attempt_id=str(attempt.pk),
        challenge_id=str(attempt.challenge_id),
        score=attempt.score,
        status=attempt.status,
        challenge_xp=attempt.challenge.xp,
    )
    metrics.challenge_submitted()
