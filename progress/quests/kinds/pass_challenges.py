"""Pass some challenges today: `{"count": 3}` (distinct challenges, any difficulty)."""

from __future__ import annotations

from progress.quests.kinds.base import MAX_COUNT, QuestKind, plural, positive_int


class PassChallengesQuest(QuestKind):
    kind = "pass_challenges"
    keys = frozenset({"count"})

    def parse(self, params):
        self.count = positive_int(params, "count", self.kind, maximum=MAX_COUNT)

    @property
    def target(self):
        return self.count

    def progress(self, day):
        return len(day.passed)

    def describe(self):
        return f"Pass {plural(self.count, 'challenge')} today."
