"""What a batch of claimed attempts pays, in processing order. Pure: no I/O.

Given each claimed attempt, each player's total before the batch and what each (player, challenge)
has paid out so far, it applies `progress.awards.rules` attempt by attempt, so that two attempts of
one player in one batch are paid exactly as if they had been awarded one after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from progress.awards import rules


@dataclass(frozen=True)
class Claimed:
    """A graded attempt claimed for its award, with what the rules need of its challenge."""

    attempt_id: uuid.UUID
    user_id: uuid.UUID
    challenge_id: uuid.UUID
    score: int
    challenge_xp: int
    pass_score: int
    submitted_at: datetime | None


@dataclass(frozen=True)
class Award:
    attempt_id: uuid.UUID
    user_id: uuid.UUID
    challenge_id: uuid.UUID
    score: int
    passed: bool
    xp: int
    total_xp: int
    old_level: int
    level: int
    awarded_at: datetime
    submitted_at: datetime | None
    badges: tuple[str, ...] = ()  # slugs of the badges the player earned with this award

    @property
    def levelled_up(self) -> bool:
        return self.level > self.old_level


def compute_awards(
    claimed: Sequence[Claimed],
    *,
    totals: Mapping[uuid.UUID, int],
    paid: Mapping[tuple[uuid.UUID, uuid.UUID], int],
    now: datetime,
) -> list[Award]:
    """The award of each claimed attempt, in the given order.

    `totals` is each player's total XP before the batch; `paid` what each (player, challenge) has
    paid out in earlier awards, which telescopes to its best result so far.
    """
    totals = dict(totals)
    best = dict(paid)
    awards: list[Award] = []
    for index, attempt in enumerate(claimed):
        base = rules.attempt_base_xp(
            challenge_xp=attempt.challenge_xp, score=attempt.score, pass_score=attempt.pass_score
        )
        key = (attempt.user_id, attempt.challenge_id)
        xp = rules.award_for(base=base, best_earlier_base=best.get(key, 0))
        best[key] = max(best.get(key, 0), base)
        old_total = totals[attempt.user_id]
        totals[attempt.user_id] = old_total + xp
        awards.append(
            Award(
                attempt_id=attempt.attempt_id,
                user_id=attempt.user_id,
                challenge_id=attempt.challenge_id,
                score=attempt.score,
                passed=attempt.score >= attempt.pass_score,
                xp=xp,
                total_xp=totals[attempt.user_id],
                old_level=rules.level_for_xp(old_total),
                level=rules.level_for_xp(totals[attempt.user_id]),
                # Distinct instants in processing order, so (awarded_at, id) — the order recalculation
                # replays — is the order the rules were applied in here.
                awarded_at=now + timedelta(microseconds=index),
                submitted_at=attempt.submitted_at,
            )
        )
    return awards
