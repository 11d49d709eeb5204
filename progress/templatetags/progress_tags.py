"""Template tags for pages of other apps that show progress data (the challenges app must not import
progress, so its templates ask for what they need here)."""

from __future__ import annotations

from django import template

from progress.badges.selectors import attempt_badges as badges_of_attempt
from progress.models import UserBadge
from progress.openbadges import documents as open_badges

register = template.Library()


@register.simple_tag
def attempt_badges(user, attempt) -> list:
    """The badges `user` earned with `attempt` (one query; none before the award has run)."""
    if attempt is None or attempt.xp_awarded is None or not user.is_authenticated:
        return []
    return badges_of_attempt(user_id=user.pk, attempt_id=attempt.pk)


@register.filter
def assertion_url(award: UserBadge) -> str:
    """The award's public Open Badges assertion (progress.openbadges)."""
    return open_badges.assertion_url(award)


@register.filter
def baked_image_url(award: UserBadge) -> str:
    """The badge image with the award's assertion baked in."""
    return open_badges.baked_image_url(award)


@register.filter
def award_line(explanation: dict | None) -> str:
    """One line of "why this XP" from an award's ledger explanation:
    "95 % of 200 XP = 190; your best was 150; +40"."""
    if not explanation or "paid" not in explanation:
        return ""
    paid = explanation["paid"]
    if "challenge_xp" not in explanation or "earned" not in explanation:  # awarded before the ledger
        return f"{explanation.get('score', '?')} %: +{paid}"
    line = f"{explanation['score']} % of {explanation['challenge_xp']} XP = {explanation['earned']}"
    if explanation.get("previous_best"):
        line += f"; your best was {explanation['previous_best']}"
    return f"{line}; +{paid}"


@register.filter
def notification_line(data: dict) -> str:
    """An `xp_granted` notification in words: "You were given 50 XP" or "30 XP were taken back"."""
    amount = int(data.get("amount", 0))
    return f"You were given {amount} XP" if amount > 0 else f"{-amount} XP were taken back"
