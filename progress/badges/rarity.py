"""Badge rarity: the share of players with any XP who hold each badge, kept on the badge itself.

Counted by a job in a few statements over every badge, never per request: `GET /api/v1/badges` and
the pages read `Badge.earned_by_percent` as it was last refreshed. The award job asks for a refresh
after its batches (`progress.jobs.schedule_rarity_refresh`); while one is scheduled, further asks
join it, so a busy server refreshes at most once per `BADGE_RARITY_REFRESH_SECONDS`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from progress.models import Badge, UserBadge


def percent(holders: int, players: int) -> float:
    """`holders` of `players` in percent, one decimal, rounded half up (0 without players)."""
    if players <= 0:
        return 0.0
    share = Decimal(holders * 100) / Decimal(players)
    return float(share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def badge_rarity_refresh() -> int:
    """Recount every badge's rarity; returns how many badges changed. Safe to run twice or at once
    (each run writes the figures of the moment it counted)."""
    counted = User.objects.filter(is_active=True, total_xp__gt=0)
    players = counted.count()
    holders = dict(
        UserBadge.objects.held()
        .filter(user__in=counted)
        .values("badge_id")
        .annotate(holders=Count("user_id"))
        .values_list("badge_id", "holders")
    )
    now = timezone.now()
    changed = []
    for badge in Badge.objects.only("id", "earned_by_percent", "rarity_refreshed_at"):
        share = percent(holders.get(badge.pk, 0), players)
        if share != badge.earned_by_percent or badge.rarity_refreshed_at is None:
            badge.earned_by_percent, badge.rarity_refreshed_at = share, now
            changed.append(badge)
    Badge.objects.bulk_update(changed, ["earned_by_percent", "rarity_refreshed_at"])
    return len(changed)
