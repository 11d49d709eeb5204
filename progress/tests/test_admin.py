from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django_rq import get_queue
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from progress.models import Badge, UserBadge, XpEntry

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


def test_recalculate_xp_action_previews_on_the_worker_and_the_dashboard_offers_to_apply(
    admin_client, user, make_badge, make_attempt
):
    make_badge("First Steps", {"type": "attempt_count", "count": 1})
    make_attempt(user, DAY)  # a passed attempt whose badge was never awarded
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "recalculate_xp", "_selected_action": [str(user.pk)]}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/?job=")
    assert get_queue("default").count == 1
    run_worker()
    page = admin_client.get(response["Location"].split("#")[0]).content.decode()
    assert "Preview: 1 player would change (+10 XP in all)" in page
    assert not UserBadge.objects.exists()  # a preview writes nothing
    admin_client.post("/staff/recalc/")
    run_worker()
    assert UserBadge.objects.filter(user=user, badge__slug="first-steps").exists()


class TestGrantXpAction:
    URL = "/admin/accounts/user/"

    def test_the_action_asks_for_an_amount_and_a_reason(self, admin_client, user):
        response = admin_client.post(
            self.URL, {"action": "grant_or_revoke_xp", "_selected_action": [str(user.pk)]}
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Grant or revoke XP" in html and 'name="amount"' in html and 'name="reason"' in html
        assert not XpEntry.objects.exists()

    def test_applying_grants_each_selected_player(self, admin_client, user, other_user):
        response = admin_client.post(
            self.URL,
            {
                "action": "grant_or_revoke_xp",
                "_selected_action": [str(user.pk), str(other_user.pk)],
                "apply": "1",
                "amount": "75",
                "reason": "Community day",
            },
            follow=True,
        )
        assert "+75 XP for" in response.content.decode()
        entries = XpEntry.objects.filter(kind="grant")
        assert {entry.user_id for entry in entries} == {user.pk, other_user.pk}
        assert {entry.reason for entry in entries} == {"Community day"}
        assert User.objects.get(pk=user.pk).total_xp == 75

    def test_a_revocation_refused_for_one_player_leaves_the_others_done(self, admin_client, user, other_user):
        admin_client.post(
            self.URL,
            {
                "action": "grant_or_revoke_xp",
                "_selected_action": [str(user.pk)],
                "apply": "1",
                "amount": "10",
                "reason": "a",
            },
        )
        response = admin_client.post(
            self.URL,
            {
                "action": "grant_or_revoke_xp",
                "_selected_action": [str(user.pk), str(other_user.pk)],
                "apply": "1",
                "amount": "-10",
                "reason": "Undo",
            },
            follow=True,
        )
        shown = [str(message) for message in response.context["messages"]]
        assert any(message.startswith(f"{other_user.username}: The player has 0 XP") for message in shown), (
            shown
        )
        assert User.objects.get(pk=user.pk).total_xp == 0
        assert not XpEntry.objects.filter(user=other_user).exists()

    @pytest.mark.parametrize(
        ("amount", "reason"), [("0", "zero"), ("100001", "big"), ("5", ""), ("x", "nan")]
    )
    def test_a_bad_form_is_shown_again_with_its_error(self, admin_client, user, amount, reason):
        response = admin_client.post(
            self.URL,
            {
                "action": "grant_or_revoke_xp",
                "_selected_action": [str(user.pk)],
                "apply": "1",
                "amount": amount,
                "reason": reason,
            },
        )
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
        assert not XpEntry.objects.exists()

    def test_the_ledger_admin_is_read_only(self, admin_client, user):
        admin_client.post(
            self.URL,
            {
                "action": "grant_or_revoke_xp",
                "_selected_action": [str(user.pk)],
                "apply": "1",
                "amount": "5",
                "reason": "r",
            },
        )
        entry = XpEntry.objects.get()
        assert admin_client.get("/admin/progress/xpentry/").status_code == 200
        assert admin_client.get("/admin/progress/xpentry/add/").status_code == 403
        assert admin_client.get(f"/admin/progress/xpentry/{entry.pk}/delete/").status_code == 403
        change = admin_client.get(f"/admin/progress/xpentry/{entry.pk}/change/")
        assert change.status_code == 200 and 'name="_save"' not in change.content.decode()


def test_accounts_does_not_depend_on_progress():
    """progress depends on challenges and accounts, never the other way round."""

    for app in ("accounts", "challenges"):
        for source in Path(app).rglob("*.py"):
            if "tests" in source.parts:
                continue  # a test may drive the whole flow
            text = source.read_text()
            assert "from progress" not in text and "import progress" not in text, source
