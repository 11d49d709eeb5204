"""Pass challenges of one difficulty today: `{"difficulty": "hard", "count": 1}`."""

from __future__ import annotations

from challenges.models import Challenge
from progress.quests.kinds.base import MAX_COUNT, QuestKind, QuestParamsError, plural, positive_int

DIFFICULTIES = tuple(Challenge.Difficulty.values)


class PassDifficultyQuest(QuestKind):
    kind = "pass_difficulty"
    keys = frozenset({"difficulty", "count"})

    def parse(self, params):
        self.count = positive_int(params, "count", self.kind, maximum=MAX_COUNT)
        self.difficulty = params.get("difficulty")
        if self.difficulty not in DIFFICULTIES:
            raise QuestParamsError(f"'difficulty' must be one of {', '.join(DIFFICULTIES)}.")

    @property
    def target(self):
        return self.count

    def progress(self, day):
        return sum(1 for challenge in day.passed if challenge.difficulty == self.difficulty)

    def describe(self):
        return f"Pass {plural(self.count, f'{self.difficulty} challenge')} today."
