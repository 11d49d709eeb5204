"""XP and level rules: the one implementation, used by the award job, recalculation and the pages.

Recalculation and the load seeder mirror `attempt_base_xp` and `level_for_xp` in SQL
(`progress.ledger.sql`); `progress/tests/ledger/test_recalc.py` checks that they agree.
"""

from __future__ import annotations

import math
from decimal import Decimal


def base_xp(*, challenge_xp: int, score: int) -> int:
    """round_half_up(challenge_xp * score / 100) in exact integer arithmetic (xp 5 at score 50 gives 3)."""
    return (challenge_xp * score * 2 + 100) // 200


def attempt_base_xp(*, challenge_xp: int, score: int, pass_score: int) -> int:
    """What a graded attempt is worth on its own: 0 if it failed."""
    return base_xp(challenge_xp=challenge_xp, score=score) if score >= pass_score else 0


def award_for(*, base: int, best_earlier_base: int) -> int:
    """A challenge pays its best result once: only the improvement over earlier awards counts."""
    return max(0, base - best_earlier_base)


def event_bonus(*, paid: int, multiplier: Decimal) -> int:
    """round_half_up((multiplier - 1) * paid) in exact integer arithmetic (x1.5 on 5 XP gives 3).

    Multipliers have two decimals (the column's scale), so they are whole hundredths.
    """
    hundredths = int(multiplier * 100)
    return ((hundredths - 100) * paid * 2 + 100) // 200


def level_for_xp(total_xp: int) -> int:
    """level = int(sqrt(total_xp) / 10) + 1: 0-99 XP is level 1, 100 is level 2, 400 is level 3."""
    return math.isqrt(max(total_xp, 0)) // 10 + 1


def next_level_xp(level: int) -> int:
    """Total XP at which `level + 1` starts."""
    return 100 * level**2


def level_floor_xp(level: int) -> int:
    """Total XP at which `level` starts."""
    return 100 * (level - 1) ** 2


def level_progress(total_xp: int) -> float:
    """Fraction (0-1) of the way from the current level's start to the next level."""
    level = level_for_xp(total_xp)
    floor, ceiling = level_floor_xp(level), next_level_xp(level)
    return round((total_xp - floor) / (ceiling - floor), 4)
