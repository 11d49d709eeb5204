"""Read replicas as configured, and the router with none (the suite's own setting).

On a real streaming replica: skillquest/tests/test_replica.py (serial).
"""

from __future__ import annotations

import subprocess

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS
from model_bakery import baker

from challenges.models import Challenge
from skillquest.replicas import STICKY_KEY, ReplicaRouter, players_wrote, replica_for, replica_reads
from skillquest.tests.helpers import client_for, settings_in_a_fresh_process

ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/skillquest",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": "x" * 50,
}
ALIASES = (
    "{a: [d.get('HOST'), d.get('PORT'), d['NAME'], d['ENGINE'], d['OPTIONS'].get('connect_timeout'), "
    "d['TEST'].get('MIRROR'), d['CONN_MAX_AGE']] for a, d in s.DATABASES.items() if a != 'default'}"
)


def test_each_replica_url_is_an_alias_connected_like_the_primary_with_a_short_connect_timeout():
    urls = (
        "postgres://reader@replica-a:5433/skillquest,postgres://reader@replica-b/skillquest?connect_timeout=5"
    )
    aliases = settings_in_a_fresh_process({**ENV, "DATABASE_REPLICA_URLS": urls}, ALIASES)
    engine = "skillquest.db.postgresql"
    assert aliases == {
        "replica_1": ["replica-a", 5433, "skillquest", engine, 2, "default", 60],
        "replica_2": ["replica-b", "", "skillquest", engine, 5, "default", 60],
    }


def test_no_replica_is_configured_by_default():
    assert settings_in_a_fresh_process(ENV, "sorted(s.DATABASES)") == ["default"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REPLICA_MAX_LAG_SECONDS": "10", "REPLICA_STICKY_SECONDS": "5"}, "REPLICA_STICKY_SECONDS must be"),
        ({"REDIS_URL": ""}, "DATABASE_REPLICA_URLS needs REDIS_URL"),
    ],
)
def test_settings_refuse_replicas_that_could_serve_a_player_a_stale_read(env, message):
    replica = {"DATABASE_REPLICA_URLS": "postgres://reader@replica-a/skillquest"}
    with pytest.raises(subprocess.CalledProcessError) as refused:
        settings_in_a_fresh_process({**ENV, **replica, **env}, "sorted(s.DATABASES)")
    assert message in refused.value.stderr


def test_without_replicas_everything_reads_the_primary_and_writes_mark_nobody(user):
    router = ReplicaRouter()
    with replica_reads(user=user) as alias:
        assert alias is None
        assert router.db_for_read(Challenge) == DEFAULT_DB_ALIAS
    assert replica_for(user) is None
    players_wrote(user_ids=[user.pk])
    challenge = baker.make(Challenge, xp=10, published=True)
    response = client_for(user).post("/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json")
    assert response.status_code == 201, response.content
    assert cache.get(STICKY_KEY.format(user_id=user.pk)) is None
