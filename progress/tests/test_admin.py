from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django_rq import get_queue
from model_bakery import baker
from rq import SimpleWorker

from progress.models import Badge, UserBadge

pytestmark = pytest.mark.django_db

DAY = datetime(2025, 1, 10, 12, tzinfo=UTC)


def run_worker() -> None:
    queue = get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def badge_form(**overrides):
    return {"name": "First Steps", "slug": "first-steps", "description": "", "icon": "👣",
            "condition": '{"type": "attempt_count", "count": 1}', "is_active": "on", **overrides}  # fmt: skip


def test_the_admin_form_rejects_an_invalid_condition(admin_client):
    response = admin_client.post(
        "/admin/progress/badge/add/", badge_form(condition='{"type": "xp", "threshold": -3}')
    )
    assert response.status_code == 200
    assert "&#x27;threshold&#x27; must be a positive number." in response.content.decode()
    assert not Badge.objects.exists()


def test_the_admin_form_rejects_an_unknown_type(admin_client):
    response = admin_client.post("/admin/progress/badge/add/", badge_form(condition='{"type": "karma"}'))
    assert response.status_code == 200
    assert "Unknown condition type" in response.content.decode()
    assert not Badge.objects.exists()


def test_the_admin_form_saves_a_valid_badge(admin_client):
    response = admin_client.post("/admin/progress/badge/add/", badge_form())
    assert response.status_code == 302
    assert Badge.objects.get().condition == {"type": "attempt_count", "count": 1}


def test_badge_and_award_lists_render_with_filters(admin_client, make_badge, user):
    badge = make_badge("Conqueror", {"type": "xp", "threshold": 1000})
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    UserBadge.objects.create(user=user, badge=badge)
    response = admin_client.get("/admin/progress/badge/", {"condition_type": "xp", "q": "conq"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert admin_client.get("/admin/progress/userbadge/").status_code == 200


def test_reevaluate_badges_for_selected_users(
    admin_client, user, other_user, make_badge, make_attempt, django_capture_on_commit_callbacks
):
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_attempt(user, DAY)
    make_attempt(other_user, DAY)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/accounts/user/", {"action": "reevaluate_user_badges", "_selected_action": [str(user.pk)]}
        )
    assert response.status_code == 302
    assert get_queue("default").count == 1
    run_worker()
    assert list(UserBadge.objects.values_list("user_id", flat=True)) == [user.pk]


def test_reevaluate_selected_badges_for_players_who_lack_them(
    admin_client, user, other_user, make_badge, make_attempt, django_capture_on_commit_callbacks
):
    badge = make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_attempt(user, DAY)
    make_attempt(other_user, DAY)
    baker.make(UserBadge, user=other_user, badge=badge)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/progress/badge/", {"action": "reevaluate", "_selected_action": [str(badge.pk)]}
        )
    assert response.status_code == 302
    job = get_queue("default").jobs[0]
    queued = set(job.args[0])
    assert str(user.pk) in queued
    assert str(other_user.pk) not in queued  # already holds it
    run_worker()
    assert set(UserBadge.objects.values_list("user_id", flat=True)) == {user.pk, other_user.pk}


def test_recalculate_xp_action_runs_the_recalculation_on_the_worker(
    admin_client, user, make_badge, make_attempt
):
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_attempt(user, DAY)  # a passed attempt whose badge was never awarded
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "recalculate_xp", "_selected_action": [str(user.pk)]}, follow=True
    )
    assert response.status_code == 200
    assert "Recalculation started" in response.content.decode()
    assert get_queue("default").count == 1
    run_worker()
    assert UserBadge.objects.filter(user=user, badge__slug="first-steps").exists()


def test_accounts_does_not_depend_on_progress():
    """progress depends on challenges and accounts, never the other way round."""

    for app in ("accounts", "challenges"):
        for source in Path(app).rglob("*.py"):
            if "tests" in source.parts:
                continue  # a test may drive the whole flow
            text = source.read_text()
            assert "from progress" not in text and "import progress" not in text, source
