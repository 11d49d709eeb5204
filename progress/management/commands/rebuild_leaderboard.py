from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError
from tqdm import tqdm

from progress.boards import services as boards
from progress.boards.backends import get_backend
from skillquest.replicas import replica_reads


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
            # The scan may read a replica: the board it writes can miss the last REPLICA_MAX_LAG_SECONDS
            # of awards, as a scan of the primary misses those made while it runs (docs/architecture.md).
            with replica_reads(), tqdm(total=boards.rebuild_size(), unit="entry", disable=quiet) as bar:
                report = boards.rebuild(backend=backend, on_progress=bar.update)
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable ({exc}); boards not swapped in yet are unchanged.")
        for board in report:
            self.stdout.write(f"{board.key}: {board.players} player(s)")
