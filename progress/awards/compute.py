"""What a batch of claimed attempts pays, in processing order. Pure: no I/O.

Given each claimed attempt, each player's total before the batch and each (player, challenge)'s best
score among earlier awards, it applies `progress.awards.rules` attempt by attempt, so that two
attempts of one player in one batch are paid exactly as if they had been awarded one after the other.

The earlier best is valued at the challenge's *current* XP and pass mark, as recalculation values
it: a challenge pays the base of its best result, once, so both agree on what a player is owed.
An attempt that counts for an event (`progress.events.rules`) also earns the event's bonus on what it
paid; the running totals, and so the levels, include it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from progress.awards import rules
from progress.events.rules import EventTerms, event_for


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
    challenge_xp: int
    earned: int  # what this attempt is worth on its own
    previous_best: int  # what the best earlier award on the challenge is worth
    xp: int  # what this award pays: the improvement
    total_xp: int
    old_level: int
    level: int
    awarded_at: datetime
    submitted_at: datetime | None
    event: EventTerms | None = None  # the event this award counted for (only when it paid something)
    bonus: int = 0  # the event's bonus on `xp`, paid as an entry of its own
    badges: tuple[str, ...] = ()  # slugs of the badges the player earned with this award
    quests: tuple[uuid.UUID, ...] = ()  # the daily quests this award completed (progress.quests)

    @property
    def levelled_up(self) -> bool:
        return self.level > self.old_level

    @property
    def explanation(self) -> dict[str, int]:
        """Why this award paid what it did, as the ledger entry keeps it ("why this XP")."""
        return {
            "challenge_xp": self.challenge_xp,
            "score": self.score,
            "earned": self.earned,
            "previous_best": self.previous_best,
            "paid": self.xp,
        }


def compute_awards(
    claimed: Sequence[Claimed],
    *,
    totals: Mapping[uuid.UUID, int],
    best_scores: Mapping[tuple[uuid.UUID, uuid.UUID], int],
    now: datetime,
    events: Sequence[EventTerms] = (),
) -> list[Award]:
    """The award of each claimed attempt, in the given order.

    `totals` is each player's total XP before the batch; `best_scores` each (player, challenge)'s
    best score among earlier awards (absent: none). A base is monotonic in the score, so the best
    score's base is the best earlier base. `events` are the terms of every event an attempt of the
    batch may count for.
    """
    totals = dict(totals)
    best_scores = dict(best_scores)
    awards: list[Award] = []
    for index, attempt in enumerate(claimed):
        key = (attempt.user_id, attempt.challenge_id)
        worth = dict(challenge_xp=attempt.challenge_xp, pass_score=attempt.pass_score)
        base = rules.attempt_base_xp(score=attempt.score, **worth)
        previous_best = rules.attempt_base_xp(score=best_scores[key], **worth) if key in best_scores else 0
        xp = rules.award_for(base=base, best_earlier_base=previous_best)
        best_scores[key] = max(best_scores.get(key, attempt.score), attempt.score)
        event = (
            event_for(events, challenge_id=attempt.challenge_id, submitted_at=attempt.submitted_at)
            if xp
            else None
        )
        bonus = rules.event_bonus(paid=xp, multiplier=event.multiplier) if event else 0
        old_total = totals[attempt.user_id]
        totals[attempt.user_id] = old_total + xp + bonus
        awards.append(
            Award(
                attempt_id=attempt.attempt_id,
                user_id=attempt.user_id,
                challenge_id=attempt.challenge_id,
                score=attempt.score,
                passed=attempt.score >= attempt.pass_score,
                challenge_xp=attempt.challenge_xp,
                earned=base,
                previous_best=previous_best,
                xp=xp,
                total_xp=totals[attempt.user_id],
                old_level=rules.level_for_xp(old_total),
                level=rules.level_for_xp(totals[attempt.user_id]),
                # Distinct instants in processing order, so (awarded_at, id) — the order recalculation
                # replays — is the order the rules were applied in here.
                awarded_at=now + timedelta(microseconds=index),
                submitted_at=attempt.submitted_at,
                event=event,
                bonus=bonus,
            )
        )
    return awards
