"""Domain errors: a stable code and a message, mapped to HTTP statuses by skillquest.api."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    message = "The request could not be completed."
    status = 400

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.message
        self.code = code or self.code
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    message = "Not found."
    status = 404


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "Not one of your notifications."


class Conflict(DomainError):
    code = "conflict"
    message = "The resource is not in a state that allows this."
    status = 409


class AttemptAlreadySubmitted(Conflict):
    code = "attempt_already_submitted"
    message = "This attempt has already been submitted."


class ChallengeHasAttempts(Conflict):
    code = "challenge_has_attempts"
    message = "This challenge has attempts and cannot be deleted; unpublish it instead."


class BadgeHasAwards(Conflict):
    code = "badge_has_awards"
    message = "This badge has been awarded and cannot be deleted; deactivate it instead."


class BadgeAwardRevoked(Conflict):
    code = "badge_award_revoked"
    message = "This badge award has already been revoked."


class EventStarted(Conflict):
    code = "event_started"
    message = "This event has started: its window, challenges and multiplier can no longer change."


class EventEnded(Conflict):
    code = "event_ended"
    message = "This event has ended and its final standings are frozen: it can no longer change."


class QuestHasRewards(Conflict):
    code = "quest_has_rewards"
    message = "This quest has paid rewards and cannot be deleted; deactivate it instead."


class XpWouldGoNegative(Conflict):
    code = "xp_would_go_negative"
    message = "This revocation would take the player's XP below 0."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used for a different request."


class ApiKeyRevoked(Conflict):
    code = "api_key_revoked"
    message = "This API key is already revoked."


class InvalidInput(DomainError):
    """Bad input that only the domain can judge; rendered in DRF's per-field shape when `field` is set."""

    code = "invalid"
    message = "Invalid input."
    status = 400

    def __init__(self, message: str | None = None, *, field: str | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.field = field


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    message = "A backing service is unavailable; try again shortly."
    status = 503


class InvalidToken(DomainError):
    """A reset or verification link that is forged, expired, already used or meant for another address."""

    code = "invalid_token"
    message = "This link is invalid or has expired."
    status = 400


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"
    message = "Your email address is already verified."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "Another account uses this email address now."
