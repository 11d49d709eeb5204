"""Fixtures for progress tests: challenges and graded attempts at chosen times."""

from __future__ import annotations

from datetime import datetime

import pytest
from model_bakery import baker

from challenges.models import Attempt, Challenge, Tag
from progress.models import Badge


@pytest.fixture
def make_challenge(db):
    def make(title: str = "Challenge", *, difficulty: str = "easy", xp: int = 10, tags=()) -> Challenge:
        challenge = baker.make(
            Challenge, title=title, difficulty=difficulty, xp=xp, pass_score=50, published=True
        )
        for slug in tags:
            challenge.tags.add(Tag.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0])
        return challenge

    return make


@pytest.fixture
def make_attempt(db, make_challenge):
    """A graded attempt whose award is already done, so no award job is scheduled for it."""

    def make(user, submitted_at: datetime, *, passed: bool = True, challenge: Challenge | None = None):
        return baker.make(
            Attempt,
            user=user,
            challenge=challenge or make_challenge(),
            status=Attempt.Status.PASSED if passed else Attempt.Status.FAILED,
            score=100 if passed else 0,
            xp_awarded=0,
            submitted_at=submitted_at,
        )

    return make


@pytest.fixture
def make_badge(db):
    def make(name: str, condition: dict, **fields) -> Badge:
        return Badge.objects.create(
            name=name, slug=name.lower().replace(" ", "-"), condition=condition, **fields
        )

    return make
