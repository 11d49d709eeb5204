"""XP earned lately: `{"type": "xp_in_window", "xp": 500, "days": 7}` — at least `xp` XP from attempts
passed in the player's last `days` local calendar days, today included (days as in progress.streaks)."""

from __future__ import annotations

from accounts.models import User
from challenges.models import Attempt
from progress.badges.conditions.base import (
    STAT_PASSED_DAYS,
    XP_GAINED,
    Condition,
    ConditionError,
    column,
    local_day_sql,
    passed_attempts_sql,
    plural,
    positive_int,
)

MAX_DAYS = 366


class XpInWindowCondition(Condition):
    type = "xp_in_window"
    keys = frozenset({"xp", "days"})
    changed_by = frozenset({XP_GAINED})
    needs = frozenset({STAT_PASSED_DAYS})

    def parse(self, config):
        self.xp = positive_int(config, "xp", self.type)
        self.days = positive_int(config, "days", self.type)
        if self.days > MAX_DAYS:
            raise ConditionError(f"'days' must be at most {MAX_DAYS}.")

    def describe(self):
        return f"Earn {self.xp} XP within {plural(self.days, 'day')}."

    def progress(self, stats):
        today = stats.today
        earned = (
            sum(xp for day, xp in stats.xp_by_day.items() if 0 <= (today - day).days < self.days)
            if today is not None
            else 0
        )
        return min(earned, self.xp), self.xp

    def qualifying_sql(self, *, now):
        passed, params = passed_attempts_sql(with_day=True)
        day, today = local_day_sql(), f"(%s AT TIME ZONE {column(User, 'timezone', 'u')})::date"
        user, xp = column(User, "id", "u"), column(Attempt, "xp_awarded", "a")
        return (
            f"SELECT {user} AS user_id{passed} AND {day} <= {today} AND {day} > {today} - %s"
            f" GROUP BY {user} HAVING COALESCE(SUM({xp}), 0) >= %s",
            [*params, now, now, self.days, self.xp],
        )
