from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.awards import services as award_services

pytestmark = pytest.mark.django_db

STATS = "/api/v1/admin/stats"
RECALC = "/api/v1/admin/recalc-xp"


def _award(user, challenge, score):
    status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
    attempt = Attempt.objects.create(user=user, challenge=challenge, score=score, status=status)
    award_services.awards_process(attempt_ids=[attempt.pk])
    return attempt


class TestStats:
    def test_anonymous_is_401(self, api_client):
        assert api_client.get(STATS).status_code == 401

    def test_player_is_403(self, auth_client):
        assert auth_client.get(STATS).status_code == 403

    def test_staff_sees_totals_and_14_day_series(self, staff_client, user, other_user):
        easy = baker.make(Challenge, xp=100, pass_score=50, published=True)
        baker.make(Challenge, xp=10, published=False)
        _award(user, easy, 90)
        _award(other_user, easy, 10)
        Attempt.objects.create(user=user, challenge=easy, score=70, status=Attempt.Status.PASSED)  # pending
        Attempt.objects.create(user=other_user, challenge=easy)  # started
        body = staff_client.get(STATS).json()
        assert body["users"] == 3
        assert (body["challenges_published"], body["challenges_total"]) == (1, 2)
        assert body["attempts_by_status"] == {"started": 1, "passed": 2, "failed": 1}
        assert body["xp_distributed"] == 90
        assert body["pending_awards"] == 1
        assert len(body["new_users_per_day"]) == len(body["xp_awarded_per_day"]) == 14
        assert body["xp_awarded_per_day"][-1] == {"day": timezone.now().date().isoformat(), "value": 90}
        assert body["new_users_per_day"][-1]["value"] == 2  # players, not staff
        assert sum(row["value"] for row in body["xp_awarded_per_day"][:-1]) == 0

    def test_old_activity_is_outside_the_window(self, staff_client, user):
        User.objects.filter(pk=user.pk).update(created_at=timezone.now() - timedelta(days=30))
        body = staff_client.get(STATS).json()
        assert sum(row["value"] for row in body["new_users_per_day"]) == 0  # staff are not players

    def test_query_count_is_fixed(self, staff_client, user, django_assert_max_num_queries):
        challenge = baker.make(Challenge, xp=10, pass_score=0, published=True)
        for _ in range(5):
            _award(user, challenge, 100)
        with django_assert_max_num_queries(10):
            assert staff_client.get(STATS).status_code == 200


class TestRecalcJob:
    def test_anonymous_401_and_player_403(self, api_client, auth_client):
        assert api_client.post(RECALC).status_code == 401
        assert auth_client.post(RECALC).status_code == 403

    def test_staff_recalc_runs_on_worker_and_reports_result(self, staff_client, user):
        challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
        _award(user, challenge, 80)
        Challenge.objects.filter(pk=challenge.pk).update(xp=200)
        response = staff_client.post(RECALC)
        assert response.status_code == 202
        job_id = response.json()["job_id"]
        queued = staff_client.get(f"/api/v1/admin/jobs/{job_id}").json()
        assert queued["status"] == "queued"
        queue = django_rq.get_queue("default")
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        done = staff_client.get(f"/api/v1/admin/jobs/{job_id}").json()
        assert done["status"] == "finished"
        result = done["result"]
        assert (result["dry_run"], result["players_changed"], result["xp_delta_total"]) == (False, 1, 80)
        assert result["changes"] == [
            {
                "user_id": str(user.pk),
                "username": user.username,
                "before": 80,
                "after": 160,
                "delta": 80,
                "level_before": 1,
                "level_after": 2,
            }
        ]
        assert result["badges_awarded"] == 0
        user.refresh_from_db()
        assert user.total_xp == 160

    def test_unknown_or_malformed_job_is_404(self, staff_client):
        assert staff_client.get("/api/v1/admin/jobs/" + "0" * 32).status_code == 404
        assert staff_client.get("/api/v1/admin/jobs/not-a-job").status_code == 404

    def test_player_cannot_read_jobs(self, auth_client):
        assert auth_client.get("/api/v1/admin/jobs/" + "0" * 32).status_code == 403

    def test_in_process_mode_runs_at_once(self, staff_client, settings):
        settings.JOBS_IN_PROCESS = True
        job_id = staff_client.post(RECALC).json()["job_id"]
        done = staff_client.get(f"/api/v1/admin/jobs/{job_id}").json()
        assert (done["job_id"], done["status"]) == (job_id, "finished")
        assert (done["result"]["players_changed"], done["result"]["changes"]) == (0, [])

    @pytest.mark.parametrize("body", [{"dry_run": "maybe"}, {"dry_run": [True]}, {"dry_run": None}])
    def test_a_dry_run_flag_that_is_not_a_boolean_is_400(self, staff_client, body):
        response = staff_client.post(RECALC, body, format="json")
        assert response.status_code == 400
        assert "dry_run" in response.json()

    def test_queue_down_is_503(self, staff_client, settings):
        settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
        response = staff_client.post(RECALC)
        assert response.status_code == 503
        assert response.json()["code"] == "queue_unavailable"
