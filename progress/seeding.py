"""Demo data for `manage.py seed`: idempotent, so `make run` can call it on every start."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from challenges.services import attempt_submit
from progress.badges.services import badges_reevaluate
from progress.boards.services import follows_changed
from progress.events.jobs import schedule_event_freeze
from progress.ledger.services import xp_recalculate
from progress.ledger.sql import BASE_XP_SQL, DIALECTS
from progress.models import Badge, Event, Follow, Quest

DEMO_PASSWORD = "SkillQuest-demo-2026"
STAFF = ("admin", "admin@skillquest.local")
PLAYERS = [
    ("ada", "ada@skillquest.local"),
    ("grace", "grace@skillquest.local"),
    ("linus", "linus@skillquest.local"),
]
TAGS = ["Python", "SQL", "Algorithms", "Web", "Security", "Math"]

# (title, difficulty, xp, pass_score, tags, grading, description)
CHALLENGES = [
    ("Hello, SkillQuest", "easy", 10, 50, ["Python"], {"type": "self_reported"}, "Say hello to the world."),
    ("FizzBuzz", "easy", 20, 50, ["Python", "Algorithms"], {"type": "self_reported"}, "The classic screen."),
    ("Sum of squares", "easy", 25, 100, ["Math"], {"type": "numeric", "answer": 385, "tolerance": 0},
     "What is the sum of the squares of 1 to 10?"),
    ("Capital of France", "easy", 15, 100, ["Web"], {"type": "exact", "answer": "Paris", "case_sensitive": False},
     "Type the capital of France."),
    ("Select star", "easy", 30, 50, ["SQL"], {"type": "self_reported"}, "Write your first SELECT."),
    ("Joins explained", "medium", 60, 60, ["SQL"], {"type": "self_reported"}, "Inner, left and full joins."),
    ("Pi to two places", "medium", 50, 100, ["Math"], {"type": "numeric", "answer": 3.14, "tolerance": 0.005},
     "Give pi to two decimal places."),
    ("Binary search", "medium", 80, 70, ["Algorithms", "Python"], {"type": "self_reported"},
     "Implement binary search and report your test score."),
    ("HTTP status for created", "medium", 40, 100, ["Web"], {"type": "exact", "answer": "201"},
     "Which status code means *Created*?"),
    ("A valid slug", "medium", 45, 100, ["Web"], {"type": "regex", "pattern": r"[a-z0-9]+(-[a-z0-9]+)*"},
     "Type any valid URL slug (lowercase words joined by hyphens)."),
    ("XSS basics", "medium", 70, 60, ["Security", "Web"], {"type": "self_reported"}, "Escape all the things."),
    ("Window functions", "hard", 150, 70, ["SQL"], {"type": "self_reported"}, "Running totals with OVER()."),
    ("Dijkstra", "hard", 200, 70, ["Algorithms"], {"type": "self_reported"}, "Shortest paths with a heap."),
    ("SQL injection", "hard", 180, 80, ["Security", "SQL"], {"type": "self_reported"}, "Find and fix it."),
    ("Euler's number", "hard", 120, 100, ["Math"], {"type": "numeric", "answer": 2.71828, "tolerance": 0.0001},
     "Give e to five decimal places."),
    ("Hash it out", "hard", 160, 100, ["Security"], {"type": "exact", "answer": "argon2", "case_sensitive": False},
     "Which password hasher does SkillQuest use first?"),
    ("Regex golf", "hard", 140, 100, ["Algorithms"], {"type": "regex", "pattern": r"(ab)+"},
     "Type a string of one or more 'ab'."),
    ("Async Python", "medium", 90, 60, ["Python"], {"type": "self_reported"}, "Await your turn."),
    ("CSS grid", "easy", 20, 50, ["Web"], {"type": "self_reported"}, "Lay out a page with grid."),
    ("Draft: graph coloring", "hard", 300, 80, ["Algorithms"], {"type": "self_reported"}, "Not yet published."),
]  # fmt: skip

# (name, icon, condition, description): First Steps, Conqueror and Streak are the seed's own.
BADGES = [
    ("First Steps", "👣", {"type": "attempt_count", "count": 1}, "Your first passed challenge."),
    ("Centurion", "💯", {"type": "xp", "threshold": 100}, "Your first hundred XP."),
    ("Conqueror", "🏆", {"type": "xp", "threshold": 1000}, "A thousand XP."),
    ("Streak", "🔥", {"type": "consecutive_days", "days": 7}, "A week without missing a day."),
    ("Level 3", "⭐", {"type": "level", "level": 3}, "Reach level 3."),
    ("Five Easy Pieces", "🍰", {"type": "challenges_completed", "count": 5, "difficulty": "easy"}, "Five easy challenges done."),
    ("SQL Adept", "🗄️", {"type": "challenges_completed", "count": 2, "tag": "sql"}, "Two SQL challenges done."),
    ("Night Shift", "🦉", {"type": "xp_in_window", "xp": 200, "days": 1}, "200 XP in a single day."),
]  # fmt: skip
SECRET_BADGES = {"Night Shift"}  # shown as "Secret badge" until earned

# (follower, followed): the demo's friends boards.
FOLLOWS = [("ada", "grace"), ("ada", "linus"), ("grace", "ada")]

# (slug, name, description, starts after the seed, lasts, multiplier, challenge titles): one live event
# (the demo history below plays in it) and one to come.
EVENTS = [
    ("spring-sql-sprint", "Spring SQL Sprint", "A week of SQL: every SQL challenge passed during the sprint pays half as much again.",
     timedelta(0), timedelta(days=7), "1.50", ["Select star", "Joins explained", "Window functions", "SQL injection"]),
    ("algorithms-weekend", "Algorithms Weekend", "Two days of algorithms at double XP.",
     timedelta(days=3), timedelta(days=2), "2.00", ["FizzBuzz", "Binary search", "Dijkstra", "Regex golf"]),
]  # fmt: skip

# (name, kind, params, reward XP, description): daily quests, from an easy start to a stretch.
QUESTS = [
    ("Warm-up", "pass_challenges", {"count": 2}, 20, "Two challenges a day keep the rust away."),
    ("Fifty a day", "earn_xp", {"xp": 50}, 15, "Earn 50 XP from challenges today."),
    ("Something hard", "pass_difficulty", {"difficulty": "hard", "count": 1}, 40, "One hard challenge today."),
    ("SQL practice", "pass_tag", {"tag": "sql", "count": 1}, 25, "One SQL challenge today."),
]  # fmt: skip

# (player, challenge title, score): some history so the leaderboard and profiles are not empty.
HISTORY = [
    ("ada", "Hello, SkillQuest", 100), ("ada", "FizzBuzz", 90), ("ada", "Binary search", 85),
    ("ada", "Window functions", 75), ("grace", "Hello, SkillQuest", 80), ("grace", "Select star", 100),
    ("grace", "Joins explained", 70), ("linus", "FizzBuzz", 60), ("linus", "XSS basics", 40),
]  # fmt: skip


def _user(username: str, email: str, *, staff: bool = False) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": staff, "is_superuser": staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user, created


@transaction.atomic
def seed_demo() -> list[str]:
    report: list[str] = []
    staff, created = _user(*STAFF, staff=True)
    players = {name: _user(name, email)[0] for name, email in PLAYERS}
    if created:
        report.append(f"Staff user: {STAFF[0]} / {DEMO_PASSWORD} (admin at /admin/)")
    tags = {}
    for name in TAGS:
        tags[name], _ = Tag.objects.get_or_create(slug=name.lower(), defaults={"name": name})
    challenges = {}
    for title, difficulty, xp, pass_score, tag_names, grading, description in CHALLENGES:
        challenge, made = Challenge.objects.get_or_create(
            slug=slugify(title),
            defaults={
                "title": title,
                "difficulty": difficulty,
                "xp": xp,
                "pass_score": pass_score,
                "grading": grading,
                "description": description,
                "published": not title.startswith("Draft"),
                "created_by": staff,
            },
        )
        if made:
            challenge.tags.set([tags[name] for name in tag_names])
        challenges[title] = challenge
    badges_made = 0
    for name, icon, condition, description in BADGES:
        _, made = Badge.objects.get_or_create(
            slug=slugify(name),
            defaults={
                "name": name,
                "icon": icon,
                "condition": condition,
                "description": description,
                "secret": name in SECRET_BADGES,
            },
        )
        badges_made += made
    if badges_made:
        report.append(f"Badges: {badges_made} created.")
        # Badges added to an existing demo history are earned now; new history earns them in its jobs.
        player_ids = [player.pk for player in players.values()]
        transaction.on_commit(lambda: badges_reevaluate(user_ids=player_ids))
    followers = set()
    for follower, followed in FOLLOWS:
        if Follow.objects.get_or_create(follower=players[follower], followed=players[followed])[1]:
            followers.add(follower)
    for follower in followers:
        transaction.on_commit(partial(follows_changed, user_id=players[follower].pk))
    report += _seed_events(challenges) + _seed_quests()
    if not Attempt.objects.filter(user__in=players.values()).exists():
        for username, title, score in HISTORY:
            attempt = Attempt.objects.create(user=players[username], challenge=challenges[title])
            attempt_submit(user=players[username], attempt_id=attempt.pk, score=score)
        report.append(f"History: {len(HISTORY)} submitted attempts (awards run after commit).")
    report.append(f"Demo players: {', '.join(players)} / password {DEMO_PASSWORD}")
    report.append(
        f"{Challenge.objects.count()} challenges, {Tag.objects.count()} tags, {Badge.objects.count()} badges,"
        f" {Event.objects.count()} events, {Quest.objects.count()} daily quests."
    )
    return report


def _seed_events(challenges: dict[str, Challenge]) -> list[str]:
    """The demo events, made once. Written directly, not by `event_create`: the live one starts at the
    moment of seeding, which the service (rightly) refuses as a start in the past; its freeze is
    scheduled all the same."""
    now, made = timezone.now(), 0
    for slug, name, description, after, lasts, multiplier, titles in EVENTS:
        starts_at = now + after
        event, created = Event.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "starts_at": starts_at,
                "ends_at": starts_at + lasts,
                "xp_multiplier": Decimal(multiplier),
            },
        )
        if created:
            event.challenges.set([challenges[title] for title in titles])
            transaction.on_commit(partial(schedule_event_freeze, event.pk, event.ends_at))
            made += 1
    return [f"Events: {made} created."] if made else []


def _seed_quests() -> list[str]:
    made = 0
    for name, kind, params, reward_xp, description in QUESTS:
        _, created = Quest.objects.get_or_create(
            name=name,
            defaults={"kind": kind, "params": params, "reward_xp": reward_xp, "description": description},
        )
        made += created
    return [f"Daily quests: {made} created."] if made else []


LOAD_PREFIX = "load"
LOAD_DAYS = 60
CHUNK = 50_000


def _load_user_rows(start: int, stop: int, password_hash: str, rng: random.Random, now: datetime):
    for index in range(start, stop):
        created = now - timedelta(days=LOAD_DAYS + 30, seconds=rng.randrange(30 * 86400))
        yield (
            uuid.uuid4(), f"{LOAD_PREFIX}{index:07d}", f"{LOAD_PREFIX}{index:07d}@load.skillquest.local",
            password_hash, created, created,
        )  # fmt: skip


def _load_attempt_rows(count: int, user_ids: list, challenges: list, rng: random.Random, now: datetime):
    for _ in range(count):
        challenge_id, pass_score = challenges[rng.randrange(len(challenges))]
        score = rng.randrange(101)
        status = Attempt.Status.PASSED if score >= pass_score else Attempt.Status.FAILED
        submitted = now - timedelta(seconds=rng.randrange(LOAD_DAYS * 86400))
        started = submitted - timedelta(seconds=rng.randrange(1, 3600))
        # Pending (xp_awarded NULL): `_award_loaded_attempts` then pays them set-based, by the rules.
        yield (uuid.uuid4(), user_ids[rng.randrange(len(user_ids))], challenge_id, status, score, None, None,
               started, submitted)  # fmt: skip


USER_COLUMNS = ("id", "username", "email", "password", "created_at", "date_joined")
ATTEMPT_COLUMNS = (
    "id", "user_id", "challenge_id", "status", "score", "xp_awarded", "awarded_at", "started_at", "submitted_at",
)  # fmt: skip
USER_DEFAULTS = {
    "first_name": "", "last_name": "", "is_staff": False, "is_active": True, "is_superuser": False,
    "profile": {}, "timezone": "UTC", "total_xp": 0, "level": 1,
}  # fmt: skip


def _insert(model, columns: tuple[str, ...], rows, defaults: dict, progress: Callable[[int], None]) -> None:
    """COPY on PostgreSQL (fastest by far for millions of rows), bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        names = [*columns, *defaults]
        extra = tuple(json.dumps(v) if isinstance(v, dict) else v for v in defaults.values())
        with connection.cursor() as cursor:
            sql = f"COPY {model._meta.db_table} ({', '.join(names)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for n, row in enumerate(rows, 1):
                    copy.write_row(row + extra)
                    if n % 10_000 == 0:
                        progress(10_000)
        return
    batch = []
    for row in rows:
        batch.append(model(**dict(zip(columns, row, strict=True)), **defaults))
        if len(batch) == 5_000:
            model.objects.bulk_create(batch)
            progress(len(batch))
            batch = []
    model.objects.bulk_create(batch)


def seed_load(
    *, users: int, attempts: int, progress: Callable[[str, int], Callable[[int], None]]
) -> list[str]:
    """Bulk load players and graded attempts (idempotent: tops up to the requested counts), then recalc."""
    rng = random.Random(20261124)
    now = timezone.now()
    report = seed_demo()
    challenges = list(Challenge.objects.filter(published=True).values_list("id", "pass_score"))
    existing_users = User.objects.filter(username__startswith=LOAD_PREFIX).count()
    if users > existing_users:
        password_hash = make_password(DEMO_PASSWORD)
        with transaction.atomic():
            _insert(
                User,
                USER_COLUMNS,
                _load_user_rows(existing_users, users, password_hash, rng, now),
                USER_DEFAULTS,
                progress("players", users - existing_users),
            )
    user_ids = list(
        User.objects.filter(username__startswith=LOAD_PREFIX).values_list("id", flat=True)[:users]
    )
    existing_attempts = Attempt.objects.filter(user__username__startswith=LOAD_PREFIX).count()
    missing = attempts - existing_attempts
    if missing > 0 and user_ids:
        tick = progress("attempts", missing)
        for start in range(0, missing, CHUNK * 4):
            with transaction.atomic():
                size = min(CHUNK * 4, missing - start)
                _insert(Attempt, ATTEMPT_COLUMNS, _load_attempt_rows(size, user_ids, challenges, rng, now), {
                    "metadata": {}
                }, tick)  # fmt: skip
    awarded = _award_loaded_attempts()
    result = xp_recalculate()
    report.append(
        f"Load data: {len(user_ids)} players, {max(existing_attempts, attempts)} attempts "
        f"({awarded} awarded now); recalculation changed {result['players_changed']} players."
    )
    return report


# The award job's rules in one pass over every pending attempt, in submission order after the awarded
# ones: too slow one batch at a time for millions of rows. Each pays the improvement of its base over
# the best earlier one on its challenge, and gets its ledger entry (dated its submission) when it
# pays; the recalculation that follows moves the players' totals to their ledgers.
SEED_AWARDS_SQL = """
CREATE TEMP TABLE seed_awards AS
SELECT id AS attempt_id, user_id, challenge_xp, score, at, base AS earned, previous_best,
       {greatest}(base - previous_best, 0) AS paid
FROM (
    SELECT a.id, a.user_id, a.score, c.xp AS challenge_xp, a.xp_awarded IS NULL AS pending,
           COALESCE(a.awarded_at, a.submitted_at) AS at, {base_xp} AS base,
           COALESCE(MAX({base_xp}) OVER (
               PARTITION BY a.user_id, a.challenge_id
               ORDER BY a.xp_awarded IS NULL, COALESCE(a.awarded_at, a.submitted_at), a.id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ), 0) AS previous_best
    FROM challenges_attempt a
    JOIN challenges_challenge c ON c.id = a.challenge_id
    WHERE a.status IN ('passed', 'failed')
) ranked
WHERE pending
"""

SEED_ENTRIES_SQL = """
INSERT INTO progress_xpentry (id, user_id, amount, kind, attempt_id, idempotency_key, reason, explanation, created_at)
SELECT {new_id}, user_id, paid, 'attempt', attempt_id, 'attempt:' || {attempt_id_text}, '',
       {json}('challenge_xp', challenge_xp, 'score', score, 'earned', earned, 'previous_best', previous_best,
              'paid', paid), at
FROM seed_awards WHERE paid > 0
"""

SEED_ATTEMPTS_SQL = """
UPDATE challenges_attempt SET xp_awarded = s.paid, awarded_at = s.at
FROM seed_awards s WHERE challenges_attempt.id = s.attempt_id
"""


def _award_loaded_attempts() -> int:
    dialect = DIALECTS[connection.vendor]
    base_xp = BASE_XP_SQL.format(score="a.score", pass_score="c.pass_score", xp="c.xp")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_awards")
        cursor.execute(SEED_AWARDS_SQL.format(base_xp=base_xp, greatest=dialect["greatest"]))
        cursor.execute(SEED_ENTRIES_SQL.format(**dialect))
        cursor.execute(SEED_ATTEMPTS_SQL)
        awarded = cursor.rowcount
        cursor.execute("DROP TABLE IF EXISTS seed_awards")
    return awarded
