"""The Open Badges 2.0 documents, as plain dicts: pure functions of an award, a badge and settings."""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

from django.conf import settings
from django.urls import reverse

from challenges.models import Attempt
from progress.models import Badge, UserBadge

OB_CONTEXT = "https://w3id.org/openbadges/v2"
SECRET_CRITERIA = "A secret badge: how it is earned is revealed only to those who earn it."


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def issuer_url() -> str:
    return absolute(reverse("openbadges:issuer"))


def assertion_url(award: UserBadge) -> str:
    return absolute(reverse("openbadges:assertion", kwargs={"token": award.assertion_id}))


def baked_image_url(award: UserBadge) -> str:
    return absolute(reverse("openbadges:assertion-image", kwargs={"token": award.assertion_id}))


def public_badge_class_url(badge: Badge) -> str:
    return absolute(reverse("openbadges:badge", kwargs={"badge_id": badge.pk}))


def badge_class_url(award: UserBadge) -> str:
    """A public badge's shared BadgeClass; a secret badge's, under the award's own unguessable URL."""
    if award.badge.secret:
        return absolute(reverse("openbadges:secret-badge", kwargs={"token": award.assertion_id}))
    return public_badge_class_url(award.badge)


def badge_image_url(badge_class: str) -> str:
    return f"{badge_class}.png"


def recipient_identity(email: str, salt: str) -> str:
    """OB 2.0's hashed identity: `sha256$` + hex SHA-256 of the address (lower-cased) and the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def recipient_salt(award: UserBadge) -> str:
    # Public by design (it is in the assertion): it makes the hashes of one address differ per award.
    return award.assertion_id.hex


def issuer_profile() -> dict[str, Any]:
    return {
        "@context": OB_CONTEXT,
        "type": "Issuer",
        "id": issuer_url(),
        "name": settings.OB_ISSUER_NAME,
        "url": settings.OB_ISSUER_URL,
        "email": settings.OB_ISSUER_EMAIL,
    }


def badge_class(badge: Badge, *, url: str) -> dict[str, Any]:
    criteria = SECRET_CRITERIA if badge.secret else badge.condition_description
    return {
        "@context": OB_CONTEXT,
        "type": "BadgeClass",
        "id": url,
        "name": badge.name,
        # Required by OB 2.0; staff may have left it blank.
        "description": badge.description or criteria,
        "image": badge_image_url(url),
        "criteria": {"narrative": criteria},
        "issuer": issuer_url(),
    }


def evidence(award: UserBadge, attempt: Attempt | None) -> list[dict[str, Any]]:
    """What earned the badge: the passed attempt whose award earned it, and the badge's condition
    (not a secret badge's: that stays secret)."""
    parts = [f"Earned on {settings.OB_ISSUER_NAME}"]
    if attempt is not None:
        parts.append(f" by passing the challenge \u201c{attempt.challenge.title}\u201d")
    if not award.badge.secret:
        parts.append(f", meeting its condition: {award.badge.condition_description.rstrip('.')}")
    item: dict[str, Any] = {"narrative": "".join(parts) + "."}
    if attempt is not None and attempt.challenge.published:
        item["id"] = absolute(reverse("challenges:detail", kwargs={"slug": attempt.challenge.slug}))
    return [item]


def assertion(award: UserBadge, *, email: str, attempt: Attempt | None) -> dict[str, Any]:
    salt = recipient_salt(award)
    return {
        "@context": OB_CONTEXT,
        "type": "Assertion",
        "id": assertion_url(award),
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": salt,
            "identity": recipient_identity(email, salt),
        },
        "badge": badge_class_url(award),
        "issuedOn": award.awarded_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "verification": {"type": "hosted"},
        "evidence": evidence(award, attempt),
    }


def revoked(award: UserBadge) -> dict[str, Any]:
    """The body of a revoked assertion's 410 (OB 2.0 hosted verification)."""
    return {
        "@context": OB_CONTEXT,
        "type": "Assertion",
        "id": assertion_url(award),
        "revoked": True,
        "revocationReason": award.revocation_reason,
        "detail": "This badge award was revoked.",
        "code": "assertion_revoked",
    }
