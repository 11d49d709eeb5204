"""What challenges holds about a player, for export and erasure (accounts.personal_data)."""

from __future__ import annotations

import uuid

from accounts.personal_data.registry import Holding, Kept, keep, register
from challenges.models import ApiKey, Attempt, Challenge


def _erase_answers(user_id: uuid.UUID, anonymous: str) -> None:
    # Answers and client details go; scores and XP stay, so totals, ranks and the ledger hold.
    Attempt.objects.filter(user_id=user_id).exclude(metadata={}).update(metadata={})


def register_holdings() -> None:
    register(
        Holding(
            "attempts",
            Attempt,
            "user",
            (
                "id",
                "challenge_id",
                "challenge__title",
                "status",
                "score",
                "xp_awarded",
                "started_at",
                "submitted_at",
                "awarded_at",
                "metadata",
            ),
            erase=_erase_answers,
            order_by=("started_at", "id"),
        )
    )
    keep(
        Kept(Challenge, "created_by", "challenges a staff member authored stay; the author shows anonymised")
    )
    keep(
        Kept(
            ApiKey,
            "created_by",
            "API keys a staff member issued stay (revocable); the issuer shows anonymised",
        )
    )
