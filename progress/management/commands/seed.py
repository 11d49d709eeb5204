from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from progress import seeding


class Command(BaseCommand):
    help = (
        "Load demo data (idempotent): a staff user, demo players, challenges, tags, badges and some history. "
        "With --users/--attempts, also bulk-load that many load-test players and attempts, then recalculate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=0, help="Load-test players to have in total.")
        parser.add_argument(
            "--attempts", type=int, default=0, help="Load-test graded attempts to have in total."
        )

    def handle(self, *args, users: int, attempts: int, **options):
        if users < 0 or attempts < 0:
            raise CommandError("--users and --attempts must be >= 0.")
        if attempts and not users:
            raise CommandError("--attempts needs --users (attempts belong to load-test players).")
        if users or attempts:
            bars: list[tqdm] = []

            def progress(label: str, total: int):
                bar = tqdm(total=total, desc=label, unit="rows", file=self.stderr, disable=None)
                bars.append(bar)
                return bar.update

            report = seeding.seed_load(users=users, attempts=attempts, progress=progress)
            for bar in bars:
                bar.close()
        else:
            report = seeding.seed_demo()
        for line in report:
            self.stdout.write(line)
