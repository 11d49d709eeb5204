"""API keys (issue, revoke, every use audited) and score ingestion with them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from challenges.models import ApiKey, Attempt, Challenge, IngestedAttempt, validate_scopes
from challenges.services import attempt_start_and_submit
from skillquest.audit.services import audit_record
from skillquest.errors import ApiKeyRevoked, IdempotencyKeyReused, InvalidInput, NotFound

AUDITED_PATH_CHARS = 300


def _audit_key(*, actor: User | None, action: str, api_key: ApiKey, changes: dict) -> None:
    # The key's public prefix names it: its primary key holds the hash, which stays out of the log.
    audit_record(
        actor=actor,
        actor_name="" if actor else f"api-key:{api_key.name}",
        action=action,
        target_type=ApiKey._meta.label_lower,
        target_id=api_key.prefix,
        changes=changes,
    )


@transaction.atomic
def api_key_create(
    *, name: str, scopes: list[str], actor: User | None, expiry_date: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is returned once and stored only hashed."""
    api_key = ApiKey(name=name, scopes=scopes, expiry_date=expiry_date)
    return api_key, api_key_issue(api_key=api_key, actor=actor)


@transaction.atomic
def api_key_issue(*, api_key: ApiKey, actor: User | None) -> str:
    """Give an unsaved key (the admin's form, `api_key_create`) its secret, save and audit it."""
    name = api_key.name.strip() if api_key.name else ""
    if not name:
        raise InvalidInput("A name is required.", field="name")
    try:
        validate_scopes(api_key.scopes)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], field="scopes")
    api_key.name = name
    api_key.scopes = sorted(api_key.scopes)
    api_key.created_by = actor
    secret = ApiKey.objects.assign_key(api_key)
    api_key.save()
    _audit_key(
        actor=actor,
        action="api_key.create",
        api_key=api_key,
        changes={"name": name, "scopes": api_key.scopes, "expiry_date": api_key.expiry_date},
    )
    return secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None) -> ApiKey:
    """Revoke a key for good: its next use is a 401. A second revocation is a 409."""
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked:
        raise ApiKeyRevoked()
    locked.revoked, locked.revoked_at = True, timezone.now()
    locked.save(update_fields=["revoked", "revoked_at"])
    _audit_key(actor=actor, action="api_key.revoke", api_key=locked, changes={"revoked": True})
    return locked


def api_key_used(*, api_key: ApiKey, method: str, path: str) -> None:
    """Every request made with a key, in the audit log under the key's name: one INSERT, no reads."""
    _audit_key(
        actor=None,
        action="api_key.use",
        api_key=api_key,
        changes={"method": method, "path": path[:AUDITED_PATH_CHARS]},
    )


@dataclass(frozen=True)
class Ingested:
    attempt: Attempt
    created: bool  # False: the attempt an earlier call with the same idempotency key made


def attempt_ingest(
    *,
    api_key: ApiKey,
    idempotency_key: str,
    challenge_slug: str,
    score: int,
    user_id: uuid.UUID | None = None,
    username: str | None = None,
) -> Ingested:
    """Record a graded attempt on a player's behalf, once per (key, idempotency key).

    It is the player's one-call start and submit (`attempt_start_and_submit`): the challenge must be
    published (404), the score is graded against the pass mark, and the award job is scheduled after
    commit by progress.receivers. What differs: the challenge must also be self-reported (400: a server
    cannot know the answers to the others), the player's start/submit limits are replaced by the key's
    own (THROTTLE_INGEST), and the player must exist and be active (404, erased accounts included).

    Idempotent and race-safe: the (key, idempotency key) row is unique in the database and inserted in
    the attempt's transaction, so of two racing calls the second waits on the index until the first
    commits, rolls its own attempt back and answers with the first one's. The same idempotency key
    with another player, challenge or score is a 409.
    """
    player = _active_player(user_id=user_id, username=username)
    with transaction.atomic():
        earlier = _earlier(api_key, idempotency_key)
        if earlier is not None:
            return _replayed(earlier, player=player, challenge_slug=challenge_slug, score=score)
        challenge = (
            Challenge.objects.filter(slug=challenge_slug, published=True).only("id", "grading").first()
        )
        if challenge is None:
            raise NotFound("Challenge not found.", code="challenge_not_found")
        if challenge.grading_type != "self_reported":
            raise InvalidInput(
                "Only self-reported challenges take a score from an API key.",
                field="challenge",
                code="not_self_reported",
            )
        try:
            with transaction.atomic():
                # A player's own start and submit, so the attempt is graded, logged, counted and
                # awarded exactly as theirs would be; then the claim, whose unique index makes a racing
                # call with the same key wait here until this one commits (and then roll back its own).
                attempt = attempt_start_and_submit(user=player, challenge_id=challenge.pk, score=score)
                IngestedAttempt.objects.create(
                    api_key=api_key, idempotency_key=idempotency_key, attempt=attempt
                )
        except IntegrityError:
            raced = _earlier(api_key, idempotency_key)
            if raced is None:  # the row that conflicted is gone again (its transaction rolled back)
                raise
            return _replayed(raced, player=player, challenge_slug=challenge_slug, score=score)
    return Ingested(attempt=attempt, created=True)


def _active_player(*, user_id: uuid.UUID | None, username: str | None) -> User:
    players = User.objects.filter(is_active=True)
    player = (
        players.filter(pk=user_id).first()
        if user_id is not None
        else players.filter(username__iexact=username).first()
    )
    if player is None:
        raise NotFound("User not found.", code="user_not_found")
    return player


def _earlier(api_key: ApiKey, idempotency_key: str) -> IngestedAttempt | None:
    return (
        IngestedAttempt.objects.select_related("attempt__challenge")
        .filter(api_key=api_key, idempotency_key=idempotency_key)
        .first()
    )


def _replayed(earlier: IngestedAttempt, *, player: User, challenge_slug: str, score: int) -> Ingested:
    attempt = earlier.attempt
    if (attempt.user_id, attempt.challenge.slug, attempt.score) != (player.pk, challenge_slug, score):
        raise IdempotencyKeyReused("This idempotency_key was already used for a different attempt.")
    return Ingested(attempt=attempt, created=False)
