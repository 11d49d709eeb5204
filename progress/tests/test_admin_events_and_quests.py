"""The admin's event and quest pages: the same rules as the API, through the same services."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.models import Event, Quest
from progress.tests.events.helpers import graded, make_event
from skillquest.audit.models import AuditEntry
from skillquest.queue import default_queue

pytestmark = pytest.mark.django_db


def event_form(challenges, *, starts, ends, **overrides) -> dict:
    starts, ends = starts.astimezone(UTC), ends.astimezone(UTC)
    return {
        "name": "Admin Sprint", "slug": "admin-sprint", "description": "",
        "starts_at_0": starts.strftime("%Y-%m-%d"), "starts_at_1": starts.strftime("%H:%M:%S"),
        "ends_at_0": ends.strftime("%Y-%m-%d"), "ends_at_1": ends.strftime("%H:%M:%S"),
        "xp_multiplier": "1.50", "challenges": [str(challenge.pk) for challenge in challenges], **overrides,
    }  # fmt: skip


def test_staff_add_an_event_through_the_service(admin_client, settings, django_capture_on_commit_callbacks):
    settings.JOBS_IN_PROCESS = False
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/progress/event/add/",
            event_form([make_challenge()], starts=now + timedelta(days=1), ends=now + timedelta(days=2)),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = Event.objects.get(slug="admin-sprint")
    assert event.challenges.count() == 1
    assert AuditEntry.objects.filter(action="event.create", target_id=str(event.pk)).count() == 1
    assert len(default_queue().scheduled_job_registry) == 1  # the freeze


@pytest.mark.parametrize(
    ("starts", "ends", "message"),
    [
        (timedelta(hours=-2), timedelta(hours=3), "Must not be in the past."),
        (timedelta(hours=3), timedelta(hours=2), "Must be after starts_at."),
    ],
)
def test_the_add_form_refuses_a_bad_window(admin_client, starts, ends, message):
    now = timezone.now()
    response = admin_client.post(
        "/admin/progress/event/add/", event_form([make_challenge()], starts=now + starts, ends=now + ends)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Event.objects.exists()


def test_the_add_form_refuses_a_challenge_already_in_an_overlapping_event(admin_client):
    challenge = make_challenge(title="Shared")
    now = timezone.now()
    make_event(challenge, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=3))
    response = admin_client.post(
        "/admin/progress/event/add/",
        event_form([challenge], starts=now + timedelta(days=2), ends=now + timedelta(days=4)),
    )
    assert response.status_code == 200
    assert "already in the event" in response.content.decode()
    assert Event.objects.count() == 1


def test_a_live_event_keeps_its_fixed_fields_read_only_and_can_be_renamed(admin_client):
    event = make_event(make_challenge())
    page = admin_client.get(f"/admin/progress/event/{event.pk}/change/").content.decode()
    assert 'name="xp_multiplier"' not in page and 'name="starts_at_0"' not in page
    ends = event.ends_at.astimezone(UTC)
    response = admin_client.post(
        f"/admin/progress/event/{event.pk}/change/",
        {"name": "Renamed", "slug": event.slug, "description": "",
         "ends_at_0": ends.strftime("%Y-%m-%d"), "ends_at_1": ends.strftime("%H:%M:%S.%f")},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Event.objects.get(pk=event.pk).name == "Renamed"
    assert admin_client.get(f"/admin/progress/event/{event.pk}/delete/").status_code == 403


def test_an_ended_event_is_read_only_in_the_admin(admin_client):
    now = timezone.now()
    event = make_event(make_challenge(), starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    assert admin_client.get(f"/admin/progress/event/{event.pk}/change/").status_code == 200  # a view
    assert (
        admin_client.post(f"/admin/progress/event/{event.pk}/change/", {"name": "Rewritten"}).status_code
        == 403
    )
    assert Event.objects.get(pk=event.pk).name != "Rewritten"
    assert admin_client.get("/admin/progress/eventstanding/").status_code == 200


def test_an_upcoming_event_can_be_deleted_in_the_admin(admin_client):
    now = timezone.now()
    event = make_event(make_challenge(), starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    response = admin_client.post(f"/admin/progress/event/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Event.objects.exists()
    assert AuditEntry.objects.filter(action="event.delete").exists()


def quest_form(**overrides) -> dict:
    return {"name": "Warm-up", "description": "", "kind": "pass_challenges", "params": '{"count": 2}',
            "reward_xp": "20", "active": "on", **overrides}  # fmt: skip


def test_the_quest_form_checks_kind_and_params(admin_client):
    response = admin_client.post("/admin/progress/quest/add/", quest_form(params='{"count": 0}'))
    assert response.status_code == 200
    assert "between 1 and 1,000" in response.content.decode()
    response = admin_client.post("/admin/progress/quest/add/", quest_form(kind="karma"))
    assert "Select a valid choice" in response.content.decode()
    assert not Quest.objects.exists()
    assert admin_client.post("/admin/progress/quest/add/", quest_form()).status_code == 302
    assert Quest.objects.get().params == {"count": 2}
    assert AuditEntry.objects.filter(action="quest.create").exists()


def test_a_quest_that_has_paid_cannot_be_deleted_in_the_admin(admin_client, user):
    quest = Quest.objects.create(name="One", kind="pass_challenges", params={"count": 1}, reward_xp=5)
    assert admin_client.get(f"/admin/progress/quest/{quest.pk}/delete/").status_code == 200
    awards_process(attempt_ids=[graded(user, make_challenge(), 100).pk])
    assert admin_client.get(f"/admin/progress/quest/{quest.pk}/delete/").status_code == 403
