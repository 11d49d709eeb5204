from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError
from tqdm import tqdm

from progress.boards import services as boards
from progress.boards.backends import get_backend


class Command(BaseCommand):
    help = (
        "Rebuild the current leaderboards (all-time, this week, this month) from the database. "
        "Safe to re-run; readers keep the old board until each new one is complete."
    )

    def handle(self, *args, **options):
        backend = get_backend()
        if backend.name == "sql":
            self.stdout.write("No REDIS_URL: leaderboards are read from the database, nothing to rebuild.")
        try:
            # disable=None: a bar on a terminal only, so logs and tests stay clean.
            quiet = True if options["verbosity"] < 1 else None
            with tqdm(total=boards.rebuild_size(), unit="entry", disable=quiet) as bar:
                report = boards.rebuild(backend=backend, on_progress=bar.update)
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable ({exc}); boards not swapped in yet are unchanged.")
        for board in report:
            self.stdout.write(f"{board.key}: {board.players} player(s)")
