"""Distinct challenges passed, optionally of one difficulty and/or one tag:
`{"type": "challenges_completed", "count": 3, "difficulty": "hard", "tag": "sql"}`."""

from __future__ import annotations

from challenges.models import Attempt, Challenge, Tag
from progress.badges.conditions.base import (
    ATTEMPT_PASSED,
    STAT_COMPLETED,
    Condition,
    ConditionError,
    column,
    plural,
    positive_int,
    table,
)

DIFFICULTIES = tuple(Challenge.Difficulty.values)


class ChallengesCompletedCondition(Condition):
    type = "challenges_completed"
    keys = frozenset({"count", "difficulty", "tag"})
    # A pass that paid 0 XP can still be a challenge's first pass (a tiny base rounds to 0).
    changed_by = frozenset({ATTEMPT_PASSED})
    needs = frozenset({STAT_COMPLETED})

    def parse(self, config):
        self.count = positive_int(config, "count", self.type)
        self.difficulty = config.get("difficulty")
        if "difficulty" in config and self.difficulty not in DIFFICULTIES:
            raise ConditionError(f"'difficulty' must be one of {', '.join(DIFFICULTIES)}.")
        self.tag = config.get("tag")
        if "tag" in config and (not isinstance(self.tag, str) or not self.tag.strip()):
            raise ConditionError("'tag' must be a tag slug (a non-empty string).")
        if self.tag is not None:
            self.tag = self.tag.strip().lower()
            self.config = {**config, "tag": self.tag}

    def describe(self):
        what = "challenge"
        if self.difficulty:
            what = f"{self.difficulty} {what}"
        text = f"Complete {plural(self.count, what)}"
        if self.tag:
            text += f" tagged '{self.tag}'"
        return text + "."

    def progress(self, stats):
        done = sum(
            1
            for challenge in stats.completed
            if (self.difficulty is None or challenge.difficulty == self.difficulty)
            and (self.tag is None or self.tag in challenge.tags)
        )
        return min(done, self.count), self.count

    def qualifying_sql(self, *, now):
        # Every passed attempt, submitted or not: the same set as the completed-challenges stat.
        challenge_id, attempt_challenge = column(Challenge, "id", "c"), column(Attempt, "challenge", "a")
        joins, join_params = f" JOIN {table(Challenge)} c ON {challenge_id} = {attempt_challenge}", []
        if self.tag:
            through = Challenge.tags.through
            joins += (
                f" JOIN {table(through)} ct ON {column(through, 'challenge', 'ct')} = {challenge_id}"
                f" JOIN {table(Tag)} t ON {column(Tag, 'id', 't')} = {column(through, 'tag', 'ct')}"
                f" AND {column(Tag, 'slug', 't')} = %s"
            )
            join_params.append(self.tag)
        where, where_params = f"{column(Attempt, 'status', 'a')} = %s", [Attempt.Status.PASSED.value]
        if self.difficulty:
            where += f" AND {column(Challenge, 'difficulty', 'c')} = %s"
            where_params.append(self.difficulty)
        user = column(Attempt, "user", "a")
        return (
            f"SELECT {user} AS user_id FROM {table(Attempt)} a{joins} WHERE {where}"
            f" GROUP BY {user} HAVING COUNT(DISTINCT {attempt_challenge}) >= %s",
            [*join_params, *where_params, self.count],
        )
