"""Total XP: `{"type": "xp", "threshold": 1000}`."""

from __future__ import annotations

from accounts.models import User
from progress.badges.conditions.base import STAT_USER, XP_GAINED, Condition, column, positive_int, table


class XpCondition(Condition):
    type = "xp"
    keys = frozenset({"threshold"})
    changed_by = frozenset({XP_GAINED})
    needs = frozenset({STAT_USER})

    def parse(self, config):
        self.threshold = positive_int(config, "threshold", self.type)

    def describe(self):
        return f"Earn {self.threshold} XP in total."

    def progress(self, stats):
        return min(stats.total_xp, self.threshold), self.threshold

    def qualifying_sql(self, *, now):
        return (
            f"SELECT {column(User, 'id')} AS user_id FROM {table(User)}"
            f" WHERE {column(User, 'total_xp')} >= %s",
            [self.threshold],
        )
