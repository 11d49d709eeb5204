"""Challenge and attempt state changes. Awarding XP is the progress app's job (progress.receivers hears of
every graded attempt through `post_save` and schedules the award)."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any, cast

from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from challenges import grading
from challenges.models import ATTEMPT_METADATA_MAX_BYTES, Attempt, Challenge, Tag
from skillquest import metrics, sql
from skillquest.audit.services import audit_changes, audit_created, audit_deleted, audit_record
from skillquest.errors import AttemptAlreadySubmitted, ChallengeHasAttempts, InvalidInput, NotFound
from skillquest.logging import log_event

logger = logging.getLogger("skillquest.attempts")


def unique_slug(model, text: str, *, exclude_pk=None, max_length: int = 200) -> str:
    base = slugify(text)[:max_length] or "item"
    slug, n = base, 2
    others = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    while others.filter(slug=slug).exists():
        slug = f"{base[: max_length - 6]}-{n}"
        n += 1
    return slug


# What the audit log records of a challenge (skillquest.audit); the admin's saves use it too.
AUDITED_FIELDS = (
    "title",
    "slug",
    "description",
    "difficulty",
    "xp",
    "pass_score",
    "grading",
    "published",
    "tags",
)


@transaction.atomic
def challenge_create(*, created_by: User | None, tags: list[Tag] | None = None, **fields: Any) -> Challenge:
    fields.setdefault("grading", {"type": "self_reported"})
    grading.validate_config(fields["grading"])
    if not fields.get("slug"):
        fields["slug"] = unique_slug(Challenge, fields["title"])
    challenge = Challenge.objects.create(created_by=created_by, **fields)
    if tags:
        challenge.tags.set(tags)
    audit_created(actor=created_by, action="challenge.create", instance=challenge, fields=AUDITED_FIELDS)
    return challenge


@transaction.atomic
def challenge_update(
    *, challenge: Challenge, actor: User | None = None, tags: list[Tag] | None = None, **fields: Any
) -> Challenge:
    if "grading" in fields:
        grading.validate_config(fields["grading"])
    if "slug" in fields and not fields["slug"]:
        fields["slug"] = unique_slug(Challenge, fields.get("title", challenge.title), exclude_pk=challenge.pk)
    with audit_changes(actor=actor, action="challenge.update", instance=challenge, fields=AUDITED_FIELDS):
        for name, value in fields.items():
            setattr(challenge, name, value)
        challenge.save()
        if tags is not None:
            challenge.tags.set(tags)
    return challenge


@transaction.atomic
def challenge_delete(*, challenge: Challenge, actor: User | None = None) -> None:
    """Delete a challenge nobody has attempted; one with attempts must be unpublished instead."""
    locked = Challenge.objects.select_for_update().get(pk=challenge.pk)
    if Attempt.objects.filter(challenge=locked).exists():
        raise ChallengeHasAttempts()
    audit_deleted(actor=actor, action="challenge.delete", instance=locked, fields=AUDITED_FIELDS)
    locked.delete()


@transaction.atomic
def challenge_set_published(*, challenge_ids: list, published: bool, actor: User | None = None) -> int:
    """Publish or unpublish challenges; each one that changes gets its audit entry."""
    changing = list(
        Challenge.objects.select_for_update().filter(pk__in=challenge_ids).exclude(published=published)
    )
    Challenge.objects.filter(pk__in=[challenge.pk for challenge in changing]).update(
        published=published, updated_at=timezone.now()
    )
    for challenge in changing:
        audit_record(
            actor=actor,
            action="challenge.publish" if published else "challenge.unpublish",
            target=challenge,
            changes={"published": {"before": not published, "after": published}},
        )
    return len(changing)


# The start and submit paths run on every play; their statements are built once (skillquest.sql).
_START_CHALLENGE = sql.Columns(Challenge, ("id", "title"))
_PUBLISHED_CHALLENGE = sql.Statement(
    lambda table: (
        f"SELECT {_START_CHALLENGE.select_list('c')} FROM {table(Challenge)} c"  # noqa: S608 (model metadata only)
        " WHERE c.id = %s AND c.published = %s"
    ),
    params=[Challenge._meta.pk, Challenge._meta.get_field("published")],
)


def attempt_start(*, user: User, challenge_id: uuid.UUID) -> Attempt:
    # Only what the attempt and its response need: not the description or grading config.
    found = sql.fetch_one(_PUBLISHED_CHALLENGE, [challenge_id, True], _START_CHALLENGE)
    if found is None:
        raise NotFound("Challenge not found.", code="challenge_not_found")
    attempt = Attempt(user=user, challenge=found[0])
    sql.insert(attempt)
    _attempt_written(attempt, created=True)
    return attempt


def _attempt_written(attempt: Attempt, *, created: bool, update_fields: Iterable[str] | None = None) -> None:
    """Send the `post_save` that `attempt.save()` would have sent, for a write done in plain SQL.

    Start and submit write with one statement each, built once per process (`skillquest.sql`): the
    ORM's save() compiles its statement on every call, which cost more than PostgreSQL's answer
    (bench/README.md), and the grade-once UPDATE needs a condition save() cannot express. Django sends
    no signal for those writes, yet receivers must hear of every attempt written exactly as from
    save() (progress.receivers schedules the award on it). So every SQL write of an attempt calls
    this, right after the write and inside its transaction, as save() would; nothing else sends the
    signal by hand.
    """
    post_save.send(
        sender=Attempt,
        instance=attempt,
        created=created,
        update_fields=frozenset(update_fields) if update_fields is not None else None,
        raw=False,
        using=attempt._state.db,
    )


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


_SUBMIT_ATTEMPT = sql.Columns(Attempt)
# Grading needs these; the response shows the title. Not the description (arbitrary size).
_SUBMIT_CHALLENGE = sql.Columns(Challenge, ("id", "title", "xp", "pass_score", "grading"))
_OWN_ATTEMPT_WITH_CHALLENGE = sql.Statement(
    lambda table: (
        f"SELECT {_SUBMIT_ATTEMPT.select_list('a')}, {_SUBMIT_CHALLENGE.select_list('c')}"  # noqa: S608 (model metadata only)
        f" FROM {table(Attempt)} a JOIN {table(Challenge)} c ON c.id = a.challenge_id"
        " WHERE a.id = %s AND a.user_id = %s"
    ),
    params=[Attempt._meta.pk, Attempt._meta.get_field("user")],
)
SUBMIT_FIELDS = ("metadata", "score", "status", "submitted_at")


def attempt_submit(
    *,
    user: User,
    attempt_id: uuid.UUID,
    score: int | None = None,
    solution: str | None = None,
    client: dict | None = None,
) -> Attempt:
    """Grade an attempt once. The award job is scheduled after commit by progress.receivers."""
    found = sql.fetch_one(
        _OWN_ATTEMPT_WITH_CHALLENGE, [attempt_id, user.pk], _SUBMIT_ATTEMPT, _SUBMIT_CHALLENGE
    )
    if found is None:
        raise NotFound("Attempt not found.", code="attempt_not_found")
    attempt, challenge = cast("tuple[Attempt, Challenge]", found)  # an inner JOIN: a row has both
    attempt.challenge = challenge
    if attempt.status != Attempt.Status.STARTED:
        raise AttemptAlreadySubmitted()
    _grade(attempt, score=score, solution=solution, client=client)
    # Grade-once without holding a lock: the UPDATE applies only while the row is still "started",
    # so of two racing submits exactly one writes and the other gets the 409.
    if not sql.update_if(attempt, SUBMIT_FIELDS, expected={"status": Attempt.Status.STARTED}):
        raise AttemptAlreadySubmitted()
    _attempt_written(attempt, created=False, update_fields=SUBMIT_FIELDS)
    transaction.on_commit(lambda: _report_submitted(attempt), robust=True)
    return attempt


def _grade(attempt: Attempt, *, score: int | None, solution: str | None, client: dict | None) -> None:
    """Grade a started attempt in memory (its challenge loaded with `_SUBMIT_CHALLENGE`'s columns)."""
    challenge = attempt.challenge
    try:
        result = grading.grade(challenge.grading, score=score, solution=solution)
    except grading.SubmissionError as exc:
        raise InvalidInput(exc.message, field=exc.field, code="invalid_submission")
    if result.timed_out:
        logger.warning(
            "grading_timed_out",
            extra={"challenge_id": str(challenge.pk), "attempt_id": str(attempt.pk), "grading": "regex"},
        )
    attempt.metadata = _attempt_metadata(solution=solution, client=client)
    attempt.score = result.score
    attempt.status = Attempt.Status.PASSED if result.score >= challenge.pass_score else Attempt.Status.FAILED
    attempt.submitted_at = timezone.now()


_PUBLISHED_CHALLENGE_TO_GRADE = sql.Statement(
    lambda table: (
        f"SELECT {_SUBMIT_CHALLENGE.select_list('c')} FROM {table(Challenge)} c"  # noqa: S608 (model metadata only)
        " WHERE c.id = %s AND c.published = %s"
    ),
    params=[Challenge._meta.pk, Challenge._meta.get_field("published")],
)


# The one-call submit's challenges as this process last read them (`_SUBMIT_CHALLENGE`'s columns), so
# that a submission can skip that read: its INSERT checks, in the same statement, that the row still
# holds every value the grade and the answer used (`_CHALLENGE_AS_GRADED`); when not, the challenge
# is read again. Never stale, then, only sometimes a wasted statement. Bounded by the number of
# published challenges played, and emptied when it reaches `_GRADED_CHALLENGES_MAX`.
_graded_challenges: dict[uuid.UUID, Challenge] = {}
_GRADED_CHALLENGES_MAX = 2000
_PUBLISHED = Challenge._meta.get_field("published")
# Published, and every column the grade and the answer used (`_SUBMIT_CHALLENGE`'s) as it was read.
_CHALLENGE_AS_GRADED = sql.Statement(
    lambda table: (
        f"SELECT 1 FROM {table(Challenge)} c WHERE "  # noqa: S608 (model metadata only)
        + " AND ".join(f"c.{field.column} = %s" for field in [_PUBLISHED, *_SUBMIT_CHALLENGE.fields])
    ),
    params=[_PUBLISHED, *_SUBMIT_CHALLENGE.fields],
)


def attempt_start_and_submit(
    *,
    user: User,
    challenge_id: uuid.UUID,
    score: int | None = None,
    solution: str | None = None,
    client: dict | None = None,
) -> Attempt:
    """The one-call submit: the same rules, grading and award as `attempt_start` then `attempt_submit`.

    Graded against the challenge as this process last read it, the attempt is inserted only if the
    challenge is still published and unchanged in what grading and the answer use: one statement.
    Otherwise (or the first time) two: the published challenge with what grading needs, then the
    attempt inserted already graded. A refused answer raises before any INSERT, so it leaves no
    attempt. Nobody can see the row before it exists graded, so no grade-once UPDATE, and a single
    statement needs no transaction of its own; the `post_save` of the INSERT schedules the award on
    commit.
    """

    def graded(challenge: Challenge) -> Attempt:
        attempt = Attempt(user=user, challenge=challenge)
        _grade(attempt, score=score, solution=solution, client=client)
        return attempt

    attempt: Attempt | None = None
    known = _graded_challenges.get(challenge_id)
    if known is not None:
        # A refusal may come of a rule changed since, or of a challenge unpublished since: read it.
        with contextlib.suppress(InvalidInput):
            attempt = graded(known)
        if attempt is not None and not sql.insert(attempt, only_if=(_CHALLENGE_AS_GRADED, _as_graded(known))):
            attempt = None
        if attempt is None:
            _graded_challenges.pop(challenge_id, None)
    if attempt is None:
        found = sql.fetch_one(_PUBLISHED_CHALLENGE_TO_GRADE, [challenge_id, True], _SUBMIT_CHALLENGE)
        if found is None:
            raise NotFound("Challenge not found.", code="challenge_not_found")
        challenge = cast(Challenge, found[0])  # its primary key is never NULL: a row has it
        attempt = graded(challenge)
        sql.insert(attempt)
        if len(_graded_challenges) >= _GRADED_CHALLENGES_MAX:
            _graded_challenges.clear()
        _graded_challenges[challenge_id] = challenge
    written = attempt
    _attempt_written(written, created=True)
    transaction.on_commit(lambda: _report_submitted(written), robust=True)
    return written


def _as_graded(challenge: Challenge) -> list[Any]:
    return [True, *(getattr(challenge, field.attname) for field in _SUBMIT_CHALLENGE.fields)]


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
