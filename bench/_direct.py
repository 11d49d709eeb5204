"""In-process costs, no network: run by the bench scripts with the bench database in the environment.

Prints one `DIRECTJSON {...}` line: per endpoint the server-side time of a request through Django's
full handler (middleware, auth, view, serializer; no gunicorn, no sockets) and its SQL query count;
the raw Redis and SQL calls behind a leaderboard; and the cost of one award by the award job.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillquest.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from bench._harness import latency_ms  # noqa: E402
from challenges.models import Attempt, Challenge  # noqa: E402
from progress import jobs  # noqa: E402
from progress.api.views import leaderboard_pages  # noqa: E402
from progress.models import XpEntry  # noqa: E402
from skillquest.redis_client import redis_connection  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float], **extra) -> dict:
    return {
        "n": len(samples),
        "mean_ms": round(sum(samples) / len(samples) * 1000, 3),
        **latency_ms(samples),
        **extra,
    }


def endpoint(client: Client, path: str, repeat: int, headers: dict) -> dict:
    response = client.get(path, **headers)
    if response.status_code != 200:
        return {"status": response.status_code, "skipped": True}
    # A wrapper, not CaptureQueriesContext: request_started resets connection.queries mid-request.
    queries = []
    with connection.execute_wrapper(
        lambda execute, sql, params, many, context: (
            queries.append(sql),
            execute(sql, params, many, context),
        )[1]
    ):
        client.get(path, **headers)
    samples = timed(lambda: client.get(path, **headers), repeat)
    body = response.json()
    return summary(
        samples, status=200, queries=len(queries), has_rank="rank" in body if isinstance(body, dict) else None
    )


def _player_with_entries(entries: int):
    """A load player with at least `entries` ledger entries: staff grants of 1 XP (idempotent keys, so
    a re-run adds none), the total moved with them as the ledger requires."""
    player = User.objects.filter(username="load0000001").values_list("pk", flat=True).first()
    staff, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"email": "b@s.local", "is_staff": True}
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO progress_xpentry (id, user_id, amount, kind, idempotency_key, reason, actor_id,"
            " explanation, created_at)"
            " SELECT gen_random_uuid(), %s, 1, 'grant', 'bench-history:' || g, 'bench history', %s, '{}',"
            " now() - g * interval '1 hour' FROM generate_series(1, %s) g"
            " ON CONFLICT (idempotency_key) DO NOTHING",
            [player, staff.pk, entries],
        )
        added = cursor.rowcount
        cursor.execute(
            "UPDATE accounts_user SET total_xp = total_xp + %s,"
            " level = CAST(FLOOR(SQRT(total_xp + %s) / 10) AS INTEGER) + 1 WHERE id = %s",
            [added, added, player],
        )
    return player


def _follow(viewer, count: int) -> None:
    """`viewer` follows `count` load players (idempotent: a re-run adds none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO progress_follow (id, follower_id, followed_id, created_at)"
            " SELECT gen_random_uuid(), %s, id, now() FROM accounts_user"
            " WHERE username LIKE 'load%%' AND id <> %s ORDER BY username LIMIT %s"
            " ON CONFLICT (follower_id, followed_id) DO NOTHING",
            [viewer.pk, viewer.pk, count],
        )
    from progress.boards.services import follows_changed

    follows_changed(user_id=viewer.pk)  # its friends board reads the follows afresh


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--awards", type=int, default=0)
    p.add_argument("--friends", type=int, default=500, help="players the friends board's viewer follows")
    p.add_argument(
        "--history-entries",
        type=int,
        default=0,
        help="give one player this many ledger entries, time xp-history",
    )
    args = p.parse_args()
    out: dict = {"endpoints": {}, "redis": {}, "sql": {}}
    headers = {"HTTP_HOST": "127.0.0.1"}
    client = Client()
    users = list(
        User.objects.filter(username__startswith="load").order_by("?").values_list("pk", flat=True)[:50]
    )
    total = User.objects.filter(username__startswith="load").count()
    one = users[0]
    paths = {
        "leaderboard top 10 (page built)": "/api/v1/leaderboard?period=all&limit=10&offset=0",
        "leaderboard deep page (page built)": f"/api/v1/leaderboard?period=all&limit=10&offset={total // 2}",
        "progress (+ rank)": f"/api/v1/users/{one}/progress",
        "tag board top 10 (page built)": "/api/v1/leaderboard?period=all&limit=10&offset=0&tag=sql",
    }
    # The cost of building each answer: leaderboard pages are not reused from memory here.
    leaderboard_pages.clear()
    with override_settings(LEADERBOARD_CACHE_SECONDS=0):
        for name, path in paths.items():
            out["endpoints"][name] = endpoint(client, path, args.repeat, headers)
    if args.history_entries:
        historian = _player_with_entries(args.history_entries)
        for name, path in {
            "xp-history first page": f"/api/v1/users/{historian}/xp-history",
            "progress (player with the long history)": f"/api/v1/users/{historian}/progress",
        }.items():
            out["endpoints"][name] = endpoint(client, path, args.repeat, headers)
        out["ledger_entries"] = XpEntry.objects.count()
    # Boards of one signed-in player: their friends board (following `--friends` players) and the
    # rows around them; neither is reused from memory (they differ per player).
    viewer = User.objects.get(pk=users[1])
    _follow(viewer, args.friends)
    # Signed in as an API client is: a JWT (the same user lookup as every authenticated request).
    as_viewer = {**headers, "HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(viewer)}"}
    with override_settings(LEADERBOARD_CACHE_SECONDS=0):
        for name, path in {
            f"friends board ({args.friends} followed)": "/api/v1/leaderboard?board=friends&limit=10",
            "around me (k=5)": "/api/v1/leaderboard?around=me&k=5",
            "around me on a tag board (k=5)": "/api/v1/leaderboard?around=me&k=5&tag=sql",
        }.items():
            out["endpoints"][name] = endpoint(client, path, args.repeat, as_viewer)
    # What most top-10 reads cost in production: the page a web process keeps for a second.
    out["endpoints"]["leaderboard top 10 (page from memory)"] = endpoint(
        client, paths["leaderboard top 10 (page built)"], args.repeat, headers
    )

    r = redis_connection()  # the client the leaderboard itself uses
    key = "bench:ceiling:zset"
    if r.zcard(key):
        member = r.zrange(key, r.zcard(key) // 2, r.zcard(key) // 2)[0]
        out["redis"]["ZREVRANGE top 10"] = summary(
            timed(lambda: r.zrevrange(key, 0, 9, withscores=True), args.repeat)
        )
        out["redis"]["ZREVRANGE deep page"] = summary(
            timed(
                lambda: r.zrevrange(key, r.zcard(key) // 2, r.zcard(key) // 2 + 9, withscores=True),
                args.repeat,
            )
        )
        out["redis"]["ZREVRANK"] = summary(timed(lambda: r.zrevrank(key, member), args.repeat))

    def sql(query: str, params=()):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                cursor.fetchall()

        return summary(timed(run, args.repeat))

    xp = User.objects.filter(pk=one).values_list("total_xp", flat=True)[0]
    out["sql"]["top 10 by total_xp"] = sql(
        "SELECT id, username, total_xp FROM accounts_user ORDER BY total_xp DESC, id LIMIT 10"
    )
    out["sql"]["rank by COUNT(total_xp > x)"] = sql(
        "SELECT count(*) FROM accounts_user WHERE total_xp > %s", [xp]
    )
    out["sql"]["user by PK"] = sql("SELECT id, total_xp, level FROM accounts_user WHERE id = %s", [one])

    if args.awards:
        challenges = list(Challenge.objects.filter(published=True))
        pending = []
        for i in range(args.awards):
            challenge = challenges[i % len(challenges)]
            pending.append(
                Attempt(
                    user_id=users[i % len(users)],
                    challenge=challenge,
                    status=Attempt.Status.PASSED,
                    score=90,
                    metadata={"bench": "direct-award"},
                )
            )
        # bulk_create sends no post_save, so no job is queued: the award below is the only one.
        Attempt.objects.bulk_create(pending)
        samples = []
        for attempt in pending:
            started = time.perf_counter()
            jobs.award_xp_and_badges(str(attempt.pk))
            samples.append(time.perf_counter() - started)
        out["award"] = summary(samples)
    print("DIRECTJSON " + json.dumps(out))


if __name__ == "__main__":
    main()
