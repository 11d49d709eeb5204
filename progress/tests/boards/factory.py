"""Award histories written straight into the tables, as the award job leaves them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import redis
from model_bakery import baker
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from progress.awards import rules
from progress.boards import selectors as board_selectors
from progress.boards import windows
from progress.ledger.services import attempt_key
from progress.models import Follow, XpEntry


class Awarded:
    """What `record_awards` reads from an Award: the player, when, and the challenge (for its tags)."""

    def __init__(self, user_id, awarded_at: datetime, challenge_id=None) -> None:
        self.user_id = user_id
        self.awarded_at = awarded_at
        self.challenge_id = challenge_id


def challenge(slug: str = "leaderboard-test", tags: tuple[str, ...] = ()) -> Challenge:
    """A published challenge (made once per slug) with these tag slugs."""
    found = Challenge.objects.filter(slug=slug).first()
    if found is None:
        found = baker.make(Challenge, title=slug.title(), slug=slug, xp=1000, published=True)
        for tag in tags:
            found.tags.add(Tag.objects.get_or_create(slug=tag, defaults={"name": tag.title()})[0])
    return found


def award(user: User, xp: int, awarded_at: datetime, on: Challenge | None = None) -> Awarded:
    """One awarded attempt and its ledger entry; keeps `total_xp` and `level` as the award job would."""
    on = on or challenge()
    attempt = baker.make(
        Attempt,
        user=user,
        challenge=on,
        status=Attempt.Status.PASSED,
        score=100,
        xp_awarded=xp,
        awarded_at=awarded_at,
    )
    if xp:
        XpEntry.objects.create(
            user=user,
            amount=xp,
            kind=XpEntry.Kind.ATTEMPT,
            attempt=attempt,
            idempotency_key=attempt_key(attempt.pk),
            created_at=awarded_at,
        )
    user.total_xp += xp
    user.level = rules.level_for_xp(user.total_xp)
    User.objects.filter(pk=user.pk).update(total_xp=user.total_xp, level=user.level)
    return Awarded(user.pk, awarded_at, on.pk)


def player(
    username: str, *awards: tuple[int, datetime], is_active: bool = True, visible: bool = True
) -> User:
    user = baker.make(
        User,
        username=username,
        email=f"{username}@example.com",
        is_active=is_active,
        leaderboard_visible=visible,
    )
    for xp, awarded_at in awards:
        award(user, xp, awarded_at)
    return user


# Challenges of random histories: untagged, one tag, two tags (an entry counts on both tag boards).
TAGGED = (("leaderboard-test", ()), ("regex-golf", ("regex",)), ("sql-regex", ("regex", "sql")))


def random_history(rng: random.Random, *, at: datetime, players: int = 40) -> list[Awarded]:
    """Players with mixed-case names, XP from a small set (many ties), awards on the challenges of
    `TAGGED` spread over this week, earlier this month, last month and long ago, a few inactive, a few
    opted out, each following a few others. Returns awards in time order."""
    challenges = [challenge(slug, tags) for slug, tags in TAGGED]
    week = windows.window_for("week", at)
    month = windows.window_for("month", at)
    assert week.start is not None and month.start is not None  # only the all-time window has none
    spans = [
        (week.start, at),
        (month.start, at),
        (month.start - timedelta(days=40), month.start),
        (week.start - timedelta(days=400), week.start),
    ]
    awards = []
    for index in range(players):
        name = rng.choice(["ada", "Bob", "cy", "a_b", "ab", "ab-c", "Zed", "z.z", "M0"]) + f"{index:02d}"
        if rng.random() < 0.3:  # shared prefixes: the tie order must compare whole names
            name = "ab" + name
        user = player(name, is_active=rng.random() > 0.1, visible=rng.random() > 0.1)
        for _ in range(rng.randint(0, 4)):
            start, end = rng.choice(spans)
            moment = start + (end - start) * rng.random()
            awards.append(award(user, rng.choice([0, 5, 10, 10, 20, 50]), moment, rng.choice(challenges)))
    users = list(User.objects.all())
    for user in users:
        for followed in rng.sample(users, min(len(users), rng.randint(0, 8))):
            if followed != user:
                Follow.objects.get_or_create(follower=user, followed=followed)
    return sorted(awards, key=lambda a: a.awarded_at)


def dead_redis() -> redis.Redis:
    """A real client for a port nothing listens on (one of this suite's reserved ports), failing fast."""
    return redis.Redis(host="127.0.0.1", port=8129, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


def rank_of(user: User, period: str = "all", **where) -> int | None:
    """The player's public rank on a board (None: not on it), as the progress endpoint shows it."""
    standing = board_selectors.standing_for(user, period, **where)
    return standing.rank if standing else None
