"""A streak: `{"type": "consecutive_days", "days": 7}` — passes on that many consecutive local days."""

from __future__ import annotations

from accounts.models import User
from progress.badges.conditions.base import (
    ATTEMPT_PASSED,
    STAT_PASSED_DAYS,
    Condition,
    column,
    local_day_sql,
    passed_attempts_sql,
    positive_int,
)


class ConsecutiveDaysCondition(Condition):
    type = "consecutive_days"
    keys = frozenset({"days"})
    changed_by = frozenset({ATTEMPT_PASSED})
    needs = frozenset({STAT_PASSED_DAYS})

    def parse(self, config):
        self.days = positive_int(config, "days", self.type)

    def describe(self):
        return f"Pass a challenge on {self.days} consecutive days."

    def evaluate(self, stats):
        # Earned by any run of `days`, even one that has since ended (the job may run late).
        return stats.longest_streak >= self.days

    def progress(self, stats):
        # For an unearned badge the useful figure is the streak the player can still extend.
        if self.evaluate(stats):
            return self.days, self.days
        return min(stats.current_streak, self.days), self.days

    def qualifying_sql(self, *, now):
        # Gaps and islands over each player's distinct local days with a pass: consecutive days minus
        # their row number are constant within a run.
        passed, params = passed_attempts_sql(with_day=True)
        user = column(User, "id", "u")
        return (
            f"WITH days AS (SELECT DISTINCT {user} AS user_id, {local_day_sql()} AS day{passed}),"
            " runs AS (SELECT user_id,"
            " day - (ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY day))::int AS run FROM days)"
            " SELECT user_id FROM runs GROUP BY user_id, run HAVING COUNT(*) >= %s",
            [*params, self.days],
        )
