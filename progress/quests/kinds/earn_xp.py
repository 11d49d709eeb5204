"""Earn XP today: `{"xp": 100}` — what today's attempts paid, event bonuses included."""

from __future__ import annotations

from progress.quests.kinds.base import MAX_XP, QuestKind, positive_int


class EarnXpQuest(QuestKind):
    kind = "earn_xp"
    keys = frozenset({"xp"})

    def parse(self, params):
        self.xp = positive_int(params, "xp", self.kind, maximum=MAX_XP)

    @property
    def target(self):
        return self.xp

    def progress(self, day):
        return day.xp

    def describe(self):
        return f"Earn {self.xp:,} XP from challenges today."
