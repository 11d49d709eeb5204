"""Passed attempts: `{"type": "attempt_count", "count": 10}` (every passed attempt counts, retries too)."""

from __future__ import annotations

from challenges.models import Attempt
from progress.badges.conditions.base import (
    ATTEMPT_PASSED,
    STAT_PASSED_DAYS,
    Condition,
    column,
    passed_attempts_sql,
    plural,
    positive_int,
)


class AttemptCountCondition(Condition):
    type = "attempt_count"
    keys = frozenset({"count"})
    changed_by = frozenset({ATTEMPT_PASSED})
    needs = frozenset({STAT_PASSED_DAYS})

    def parse(self, config):
        self.count = positive_int(config, "count", self.type)

    def describe(self):
        return f"Pass {plural(self.count, 'challenge attempt')}."

    def progress(self, stats):
        return min(stats.passed_attempts, self.count), self.count

    def qualifying_sql(self, *, now):
        passed, params = passed_attempts_sql()
        user = column(Attempt, "user", "a")
        return f"SELECT {user} AS user_id{passed} GROUP BY {user} HAVING COUNT(*) >= %s", [
            *params,
            self.count,
        ]
