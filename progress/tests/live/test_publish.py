"""Pushing happens only after the change commits, and a channel layer that fails never breaks it."""

from __future__ import annotations

import logging
import socket

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.ledger.services import xp_grant
from progress.models import Notification
from progress.tests.live.sockets import ORIGIN, admitted, open_socket, received, run, session_cookie
from progress.tests.notifications.test_notify import graded


class RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_nothing_is_pushed_for_an_award_that_rolls_back_and_the_retry_is_pushed_once(user):
    cookie = session_cookie(user)
    attempt = graded(user, make_challenge(xp=150), score=100)

    def award_then_fail() -> None:
        with transaction.atomic():
            assert awards_process(attempt_ids=[attempt.pk])
            raise RolledBack

    async def scenario():
        listener = await open_socket(headers=[ORIGIN, cookie])
        assert await admitted(listener)
        with pytest.raises(RolledBack):
            await sync_to_async(award_then_fail)()
        assert await listener.receive_nothing(timeout=0.5)
        assert await sync_to_async(Notification.objects.count)() == 0  # the level-up went with it

        await sync_to_async(awards_process)(attempt_ids=[attempt.pk])
        xp, level = await received(listener, 2)
        assert (xp["type"], level["type"]) == ("xp_awarded", "level_up")
        await sync_to_async(awards_process)(attempt_ids=[attempt.pk])  # a replay awards and pushes nothing
        assert await listener.receive_nothing(timeout=0.5)
        await listener.disconnect()

    run(scenario)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.mark.django_db(transaction=True)
def test_a_channel_layer_that_fails_is_logged_and_the_grant_stands(settings, user, staff_user, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{_closed_port()}/0"]},
        }
    }
    with caplog.at_level(logging.WARNING, logger="skillquest.live"):
        granted = xp_grant(user_id=user.pk, amount=10_000, reason="For the outage", actor=staff_user)

    user.refresh_from_db()
    assert granted.created and user.total_xp == 10_000
    assert list(Notification.objects.filter(user=user).values_list("type", flat=True)) == [
        "level_up",
        "xp_granted",
    ]
    assert [record.msg for record in caplog.records] == ["live_publish_failed"]
