"""An award to share: a verified player who passed a challenge and earned a badge with it."""

from __future__ import annotations

import pytest
from django.utils import timezone
from model_bakery import baker

from challenges.models import Attempt, Challenge
from progress.models import Badge, UserBadge

SITE = "https://quest.example.com"


@pytest.fixture(autouse=True)
def _open_badges_settings(settings):
    settings.SITE_URL = SITE
    settings.OB_ISSUER_NAME = "Quest Academy"
    settings.OB_ISSUER_URL = "https://academy.example.com"
    settings.OB_ISSUER_EMAIL = "badges@academy.example.com"


@pytest.fixture
def verified(user):
    user.email = "Alice@Example.com"
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email", "email_verified_at"])
    return user


@pytest.fixture
def make_award(verified):
    def make(*, secret: bool = False, name: str = "First Steps", user=None, badge=None) -> UserBadge:
        owner = user or verified
        challenge = baker.make(
            Challenge,
            title="Hello, world",
            slug=f"hello-{name.lower().replace(' ', '-')}-{owner.username}",
            xp=10,
            published=True,
        )
        attempt = baker.make(
            Attempt, user=owner, challenge=challenge, status=Attempt.Status.PASSED, score=100, xp_awarded=10
        )
        badge = badge or Badge.objects.create(
            name=name,
            slug=name.lower().replace(" ", "-"),
            description="" if secret else "Your first passed challenge.",
            condition={"type": "xp", "threshold": 10},
            icon="🏆",
            secret=secret,
        )
        return UserBadge.objects.create(user=owner, badge=badge, metadata={"attempt_id": str(attempt.pk)})

    return make


@pytest.fixture
def award(make_award) -> UserBadge:
    return make_award()
