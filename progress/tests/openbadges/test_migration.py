"""progress 0008: every award made before it gets an assertion id of its own (random, unique), and
awards inserted afterwards by recalculation's hand-written INSERT get one too."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from model_bakery import baker

from accounts.models import User
from progress.badges.services import badges_award_missing
from progress.models import Badge, UserBadge

BEFORE_OPEN_BADGES = ("progress", "0007_events_and_quests")


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


def _leaves() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_awards_get_distinct_random_assertion_ids():
    try:
        executor = _migrate([BEFORE_OPEN_BADGES])
        state = [BEFORE_OPEN_BADGES if app == "progress" else (app, name) for app, name in _leaves()]
        apps = executor.loader.project_state(state).apps
        user_model = apps.get_model("accounts", "User")
        badge_model = apps.get_model("progress", "Badge")
        award_model = apps.get_model("progress", "UserBadge")
        badge = badge_model.objects.create(name="Old", slug="old", condition={"type": "xp", "threshold": 1})
        awards = [
            award_model.objects.create(
                user=user_model.objects.create(
                    username=f"player{n}", email=f"p{n}@example.com", password="!"
                ),
                badge=badge,
                awarded_at=timezone.now(),
            ).pk
            for n in range(5)
        ]

        _migrate(_leaves())

        migrated = list(UserBadge.objects.filter(pk__in=awards))
        ids = {award.assertion_id for award in migrated}
        assert len(ids) == len(awards) and all(isinstance(value, uuid.UUID) for value in ids)
        assert all(value.version == 4 for value in ids)
        assert {award.assertion_id for award in migrated}.isdisjoint({award.pk for award in migrated})
        assert all(award.revoked_at is None and award.revocation_reason == "" for award in migrated)
    finally:
        _migrate(_leaves())


@pytest.mark.django_db
def test_awards_inserted_by_recalculation_get_assertion_ids(make_badge):
    players = [baker.make(User, total_xp=50, is_active=True) for _ in range(3)]
    make_badge("Fifty", {"type": "xp", "threshold": 50})
    assert badges_award_missing() == 3
    ids = set(UserBadge.objects.filter(user__in=players).values_list("assertion_id", flat=True))
    assert len(ids) == 3 and None not in ids
    assert Badge.objects.get(slug="fifty").awards.held().count() == 3
