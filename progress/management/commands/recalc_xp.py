from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from progress.awards.services import xp_recalculate


class Command(BaseCommand):
    help = (
        "Recompute every awarded attempt's XP from current challenge XP, then totals and levels, "
        "rebuild the leaderboards and award missing badges. Safe to re-run: consistent data stays as it is."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = xp_recalculate()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Recalculated in {elapsed:.1f}s: {result['attempts_changed']} attempt(s) and "
            f"{result['users_changed']} player(s) changed."
        )
