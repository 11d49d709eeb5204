"""Demo data for `manage.py seed`: idempotent, so `make run` can call it on every start."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from challenges.services import attempt_submit
from progress import services
from progress.models import Badge

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
            defaults={"name": name, "icon": icon, "condition": condition, "description": description},
        )
        badges_made += made
    if badges_made:
        report.append(f"Badges: {badges_made} created.")
        # Badges added to an existing demo history are earned now; new history earns them in its jobs.
        player_ids = [player.pk for player in players.values()]
        transaction.on_commit(lambda: services.badges_reevaluate(user_ids=player_ids))
    if not Attempt.objects.filter(user__in=players.values()).exists():
        for username, title, score in HISTORY:
            attempt = Attempt.objects.create(user=players[username], challenge=challenges[title])
            attempt_submit(user=players[username], attempt_id=attempt.pk, score=score)
        report.append(f"History: {len(HISTORY)} submitted attempts (awards run after commit).")
    report.append(f"Demo players: {', '.join(players)} / password {DEMO_PASSWORD}")
    report.append(
        f"{Challenge.objects.count()} challenges, {Tag.objects.count()} tags, {Badge.objects.count()} badges."
    )
    return report
