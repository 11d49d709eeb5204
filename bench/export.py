"""export: `GET /api/v1/auth/me/export` for a player with 1,000 and with 100,000 attempts — peak RSS.

    .venv/bin/python bench/export.py [--quick] [--small 1000] [--large 100000]

Each size runs in a fresh process (`manage.py shell -c`) that signs the player in and reads the whole
streamed document through Django's full handler; the harness samples the process's RSS. The export
streams from server-side cursors, so the peak must not grow with the attempts (target: ratio < 1.2
between the two sizes). Every attempt carries a 200-character answer, as a real one might.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h

ATTEMPTS_SQL = """
INSERT INTO challenges_attempt
    (id, user_id, challenge_id, status, score, xp_awarded, awarded_at, started_at, submitted_at, metadata)
SELECT gen_random_uuid(), p.id, c.id, 'failed', 10, 0, now(), now(), now(),
       jsonb_build_object('solution', repeat('x', 200))
FROM generate_series(1, {count}) g
CROSS JOIN (SELECT id FROM accounts_user WHERE username = '{player}') p
JOIN LATERAL (SELECT id FROM challenges_challenge WHERE published ORDER BY slug
              OFFSET g % {challenges} LIMIT 1) c ON true
"""
EXPORT_CODE = """
import time
from django.test import Client
from accounts.models import User
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(User.objects.get(username="{player}"))
started = time.perf_counter()
response = client.get("/api/v1/auth/me/export")
assert response.status_code == 200, response.status_code
size = sum(len(piece) for piece in response.streaming_content)
print(size, round(time.perf_counter() - started, 3))
"""


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--small", type=int, default=1_000)
    p.add_argument("--large", type=int, default=100_000)
    args = p.parse_args()
    if args.quick:
        args.small, args.large = 100, 2_000
    results: list[h.Result] = []
    peaks: dict[int, float] = {}
    with h.Harness("export") as bench:
        bench.dataset(100, 0, name=f"{h.DB_PREFIX}export")
        challenges = int(bench.psql("SELECT count(*) FROM challenges_challenge WHERE published"))
        for count in (args.small, args.large):
            player = f"exporter{count}"
            have = bench.psql(
                "SELECT count(*) FROM challenges_attempt a JOIN accounts_user u ON u.id = a.user_id "
                f"WHERE u.username = '{player}'"
            )
            if have != str(count):
                bench.psql(f"DELETE FROM accounts_user WHERE username = '{player}'")
                bench.manage(
                    "shell",
                    "-c",
                    f"from model_bakery import baker; baker.make('accounts.User', username='{player}')",
                )
                bench.psql(ATTEMPTS_SQL.format(count=count, player=player, challenges=challenges))
            wall, peak, out = bench.manage("shell", "-c", EXPORT_CODE.format(player=player))
            size, seconds = out.strip().splitlines()[-1].split()  # after any log lines
            peaks[count] = peak or 0
            results.append(
                h.Result(
                    "export",
                    f"export of {count:,} attempts",
                    round(count / float(seconds)),
                    "attempts/s",
                    peak_rss_mb=peak,
                    extra={
                        "bytes": int(size),
                        "export_seconds": float(seconds),
                        "process_seconds": round(wall, 2),
                    },
                )
            )
            print(f"[export] {count:,} attempts: {int(size) / 1e6:.1f} MB in {seconds} s, peak RSS {peak} MB")
        name = f"peak RSS ratio {args.large:,} / {args.small:,} attempts"
        results.append(h.memory_ratio("export", name, peaks[args.small], peaks[args.large]))
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
