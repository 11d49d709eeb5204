"""Level: `{"type": "level", "level": 5}`."""

from __future__ import annotations

from accounts.models import User
from progress.badges.conditions.base import LEVEL_GAINED, STAT_USER, Condition, column, positive_int, table


class LevelCondition(Condition):
    type = "level"
    keys = frozenset({"level"})
    changed_by = frozenset({LEVEL_GAINED})
    needs = frozenset({STAT_USER})

    def parse(self, config):
        self.level = positive_int(config, "level", self.type)

    def describe(self):
        return f"Reach level {self.level}."

    def progress(self, stats):
        return min(stats.level, self.level), self.level

    def qualifying_sql(self, *, now):
        return (
            f"SELECT {column(User, 'id')} AS user_id FROM {table(User)} WHERE {column(User, 'level')} >= %s",
            [self.level],
        )
