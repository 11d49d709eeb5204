from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError
from tqdm import tqdm

from progress import leaderboard


class Command(BaseCommand):
    help = (
        "Rebuild the current leaderboards (all-time, this week, this month) from the database. "
        "Safe to re-run; readers keep the old board until each new one is complete."
    )

    def handle(self, *args, **options):
        backend = leaderboard.get_backend()
        if backend.name == "sql":
            self.stdout.write("No REDIS_URL: leaderboards are read from the database, nothing to rebuild.")
        try:
            # disable=None: a bar on a terminal only, so logs and tests stay clean.
            quiet = True if options["verbosity"] < 1 else None
            with tqdm(total=leaderboard.rebuild_size(), unit="entry", disable=quiet) as bar:
                report = leaderboard.rebuild(backend=backend, on_progress=bar.update)
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable ({exc}); boards not swapped in yet are unchanged.")
        for board in report:
            self.stdout.write(f"{board.key}: {board.players} player(s)")
