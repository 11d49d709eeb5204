"""The permissions matrix: every API operation and every page, called as anonymous, a player, another
player and staff, with the exact status each must get; and planted secrets that must never leak.

The table is checked against the OpenAPI schema (`/api/schema/`) and against the URL configuration,
so a new endpoint or page without a row fails `test_every_operation_and_page_has_a_row`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.emails.tokens import verification_token
from accounts.models import User
from challenges.ingest.services import api_key_create, api_key_revoke
from challenges.models import Attempt, Challenge, Tag
from progress import jobs
from progress.models import (
    Badge,
    Event,
    Notification,
    OutboxEvent,
    Quest,
    UserBadge,
    WebhookDelivery,
    WebhookEndpoint,
    XpEntry,
)
from skillquest import queue

ROLES = ("anon", "player", "other", "staff")
PASSWORD = "Correct-Horse-42-battery"

# Planted secrets: each must reach only the role allowed to see it.
ANSWER = "PLANTED-grading-answer-7f3a"
DRAFT_TITLE = "PLANTED draft challenge title"
DRAFT_SLUG = "planted-draft-challenge"
DRAFT_ANSWER = "PLANTED-draft-answer-91cc"
SOLUTION = {"player": "PLANTED-alice-solution-55e1", "other": "PLANTED-bob-solution-0d42"}
EMAIL = {"player": "alice-planted@example.com", "other": "bob-planted@example.com"}
# What a player is told is theirs alone: not even staff read another player's notifications.
NOTE = {"player": "PLANTED-alice-note-3b9d", "other": "PLANTED-bob-note-c7e0"}
# A webhook's signing secret: shown once when it is created, never in any read, not even to staff.
WEBHOOK_SECRET = "whsec_UExBTlRFRC13ZWJob29rLXNlY3JldC0xYTJiM2M0ZA=="


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # placeholders filled from the world: {own_attempt} {published} {draft} ...
    expect: str  # "anon player other staff" statuses
    body: dict[str, Any] | None = None
    form: bool = False  # a page form post rather than a JSON body
    schema_path: str = ""  # the OpenAPI path it covers ("" = same as path, "-" = none)
    note: str = field(default="", compare=False)

    def statuses(self) -> dict[str, int]:
        return dict(zip(ROLES, (int(code) for code in self.expect.split()), strict=True))


API = "/api/v1"
# "player" owns every object in the world; "other" is a second player; staff is staff.
API_ROWS = [
    # Auth: public commands (a fresh account "carol" logs in, so no planted secret is involved).
    Row("POST", f"{API}/auth/register/", "201 201 201 201", body={"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}),  # noqa: E501
    Row("POST", f"{API}/auth/login/", "200 200 200 200", body={"username": "carol", "password": PASSWORD}),
    Row("POST", f"{API}/auth/refresh/", "200 200 200 200", body={"refresh_token": "{carol_refresh}"}),
    Row("POST", f"{API}/auth/logout/", "204 204 204 204", body={"refresh_token": "{carol_refresh}"}),
    Row("POST", f"{API}/auth/logout-all/", "401 204 204 204"),
    Row("POST", f"{API}/auth/password/", "401 200 200 200", body={"current_password": PASSWORD, "new_password": "Brand-New-Staple-77"}),  # noqa: E501
    Row("POST", f"{API}/auth/password-reset/", "202 202 202 202", body={"email": "carol@example.com"}),
    Row("POST", f"{API}/auth/password-reset/confirm/", "204 204 204 204", body={"uid": "{carol_uid}", "token": "{carol_reset_token}", "new_password": "Brand-New-Staple-77"}),  # noqa: E501
    Row("POST", f"{API}/auth/verify-email/", "204 204 204 204", body={"token": "{carol_verify}"}),
    Row("POST", f"{API}/auth/verify-email/resend/", "401 202 202 202"),  # nobody in the world is verified
    Row("GET", f"{API}/auth/login/", "405 405 405 405", schema_path="-"),
    Row("GET", f"{API}/auth/me/", "401 200 200 200"),
    Row("PATCH", f"{API}/auth/me/", "401 200 200 200", body={"profile": {"bio": "hi"}}),
    Row("DELETE", f"{API}/auth/me/", "401 204 204 204", body={"password": PASSWORD}),  # erases oneself
    Row("GET", f"{API}/auth/me/export/", "401 200 200 200"),  # streamed JSON of one's own data
    # Challenges: published ones for everyone, drafts for staff only (404 otherwise), writes staff only.
    Row("GET", f"{API}/challenges/", "200 200 200 200"),
    Row("POST", f"{API}/challenges/", "401 403 403 201", body={"title": "New one", "slug": "new-one", "xp": 10, "grading": {"type": "self_reported"}}),  # noqa: E501
    Row("GET", f"{API}/challenges/{{published}}/", "200 200 200 200", schema_path=f"{API}/challenges/{{id}}/"),  # noqa: E501
    Row("GET", f"{API}/challenges/{{draft}}/", "404 404 404 200", schema_path="-"),
    Row("PUT", f"{API}/challenges/{{draft}}/", "401 403 403 200", body={"title": "Renamed", "slug": "renamed", "xp": 20, "grading": {"type": "self_reported"}}, schema_path=f"{API}/challenges/{{id}}/"),  # noqa: E501
    Row("PATCH", f"{API}/challenges/{{draft}}/", "401 403 403 200", body={"xp": 30}, schema_path=f"{API}/challenges/{{id}}/"),  # noqa: E501
    Row("DELETE", f"{API}/challenges/{{draft}}/", "401 403 403 204", schema_path=f"{API}/challenges/{{id}}/"),
    Row("GET", f"{API}/tags/", "200 200 200 200"),
    Row("POST", f"{API}/tags/", "405 405 405 405", schema_path="-"),
    # Attempts: a player's own only; someone else's is 404 (staff included: not revealed).
    Row("GET", f"{API}/attempts/", "401 200 200 200"),
    Row("POST", f"{API}/attempts/", "401 201 201 201", body={"challenge_id": "{published}"}),
    # The one-call submit: the answer in the start's body (its row counts the schema operation once).
    Row("POST", f"{API}/attempts/", "401 201 201 201", body={"challenge_id": "{published}", "solution": ANSWER}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/attempts/", "401 404 404 404", body={"challenge_id": "{draft}"}, schema_path="-"),
    Row("POST", f"{API}/attempts/", "401 404 404 404", body={"challenge_id": "{draft}", "solution": ANSWER}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/attempts/", "401 400 400 400", body={"challenge_id": "{published}", "score": 101}, schema_path="-"),  # noqa: E501
    Row("GET", f"{API}/attempts/{{own_attempt}}/", "401 200 404 404", schema_path=f"{API}/attempts/{{id}}/"),
    Row("DELETE", f"{API}/attempts/{{own_attempt}}/", "401 405 405 405", schema_path="-"),
    Row("POST", f"{API}/attempts/{{own_attempt}}/submit/", "401 200 404 404", body={"solution": ANSWER}, schema_path=f"{API}/attempts/{{id}}/submit/"),  # noqa: E501
    # Progress, badges and leaderboards: public reads of public facts.
    Row("GET", f"{API}/users/{{player_id}}/progress/", "200 200 200 200", schema_path=f"{API}/users/{{id}}/progress/"),  # noqa: E501
    Row("GET", f"{API}/users/{{player_id}}/badges/", "200 200 200 200", schema_path=f"{API}/users/{{id}}/badges/"),  # noqa: E501
    Row("GET", f"{API}/users/{{player_id}}/xp-history/", "200 200 200 200", schema_path=f"{API}/users/{{id}}/xp-history/"),  # noqa: E501
    Row("GET", f"{API}/users/not-a-uuid/progress/", "404 404 404 404", schema_path="-"),
    Row("GET", f"{API}/leaderboard/", "200 200 200 200"),
    Row("GET", f"{API}/leaderboard/?tag=planted", "200 200 200 200", schema_path="-"),
    Row("GET", f"{API}/leaderboard/?tag=no-such-tag", "404 404 404 404", schema_path="-"),
    Row("GET", f"{API}/leaderboard/?board=friends", "401 200 200 200", schema_path="-"),
    Row("GET", f"{API}/leaderboard/?around=me&k=3", "401 200 200 200", schema_path="-"),
    Row("GET", f"{API}/leaderboard/?around=me&k=0", "400 400 400 400", schema_path="-"),
    # Following: anyone signed in follows anyone else; who follows whom is public.
    Row("POST", f"{API}/users/{{player_id}}/follow/", "401 400 201 201", schema_path=f"{API}/users/{{id}}/follow/"),  # noqa: E501
    Row("DELETE", f"{API}/users/{{player_id}}/follow/", "401 204 204 204", schema_path=f"{API}/users/{{id}}/follow/"),  # noqa: E501
    Row("POST", f"{API}/users/00000000-0000-4000-8000-000000000000/follow/", "401 404 404 404", schema_path="-"),  # noqa: E501
    Row("GET", f"{API}/users/{{player_id}}/following/", "200 200 200 200", schema_path=f"{API}/users/{{id}}/following/"),  # noqa: E501
    Row("GET", f"{API}/users/{{player_id}}/followers/", "200 200 200 200", schema_path=f"{API}/users/{{id}}/followers/"),  # noqa: E501
    Row("GET", f"{API}/badges/", "200 200 200 200"),
    Row("POST", f"{API}/badges/", "401 403 403 201", body={"name": "Fresh", "slug": "fresh", "condition": {"type": "xp", "threshold": 10}}),  # noqa: E501
    Row("GET", f"{API}/badges/{{badge}}/", "200 200 200 200", schema_path=f"{API}/badges/{{id}}/"),
    Row("GET", f"{API}/badges/{{inactive_badge}}/", "404 404 404 200", schema_path="-"),
    Row("PUT", f"{API}/badges/{{badge}}/", "401 403 403 200", body={"name": "Renamed", "slug": "renamed", "condition": {"type": "xp", "threshold": 5}}, schema_path=f"{API}/badges/{{id}}/"),  # noqa: E501
    Row("PATCH", f"{API}/badges/{{badge}}/", "401 403 403 200", body={"name": "Patched"}, schema_path=f"{API}/badges/{{id}}/"),  # noqa: E501
    Row("DELETE", f"{API}/badges/{{inactive_badge}}/", "401 403 403 204", schema_path=f"{API}/badges/{{id}}/"),  # noqa: E501
    # Events: public reads (a draft challenge of an event stays hidden), staff writes; 409 once a change
    # would rewrite a started or finished event.
    Row("GET", f"{API}/events/", "200 200 200 200"),
    Row("GET", f"{API}/events/?state=someday", "400 400 400 400", schema_path="-"),
    Row("POST", f"{API}/events/", "401 403 403 201", body={"name": "Matrix event", "starts_at": "{future_start}", "ends_at": "{future_end}", "challenge_ids": ["{spare}"], "xp_multiplier": 2}),  # noqa: E501
    Row("POST", f"{API}/events/", "401 403 403 400", body={"name": "Naive", "starts_at": "2031-01-01T09:00:00", "ends_at": "{future_end}", "challenge_ids": ["{spare}"]}, schema_path="-"),  # noqa: E501
    Row("GET", f"{API}/events/{{live_event}}/", "200 200 200 200", schema_path=f"{API}/events/{{slug}}/"),
    Row("GET", f"{API}/events/no-such-event/", "404 404 404 404", schema_path="-"),
    Row("PUT", f"{API}/events/{{upcoming_event}}/", "401 403 403 200", body={"name": "Put", "starts_at": "{future_start}", "ends_at": "{future_end}", "challenge_ids": ["{spare}"], "xp_multiplier": "1.25"}, schema_path=f"{API}/events/{{slug}}/"),  # noqa: E501
    Row("PATCH", f"{API}/events/{{upcoming_event}}/", "401 403 403 200", body={"name": "Patched"}, schema_path=f"{API}/events/{{slug}}/"),  # noqa: E501
    Row("PATCH", f"{API}/events/{{live_event}}/", "401 403 403 409", body={"xp_multiplier": 4}, schema_path="-"),  # noqa: E501
    Row("PATCH", f"{API}/events/{{ended_event}}/", "401 403 403 409", body={"name": "Rewritten"}, schema_path="-"),  # noqa: E501
    Row("DELETE", f"{API}/events/{{upcoming_event}}/", "401 403 403 204", schema_path=f"{API}/events/{{slug}}/"),  # noqa: E501
    Row("DELETE", f"{API}/events/{{live_event}}/", "401 403 403 409", schema_path="-"),
    Row("GET", f"{API}/events/{{live_event}}/leaderboard/", "200 200 200 200", schema_path=f"{API}/events/{{slug}}/leaderboard/"),  # noqa: E501
    Row("GET", f"{API}/events/{{live_event}}/leaderboard/?limit=0", "400 400 400 400", schema_path="-"),
    # Daily quests: staff define them; every signed-in player reads their own day.
    Row("GET", f"{API}/quests/today/", "401 200 200 200"),
    Row("GET", f"{API}/quests/", "401 403 403 200"),
    Row("POST", f"{API}/quests/", "401 403 403 201", body={"name": "Matrix quest", "kind": "pass_challenges", "params": {"count": 2}, "reward_xp": 10}),  # noqa: E501
    Row("POST", f"{API}/quests/", "401 403 403 400", body={"name": "Bad", "kind": "pass_challenges", "params": {"count": -1}, "reward_xp": 10}, schema_path="-"),  # noqa: E501
    Row("GET", f"{API}/quests/{{quest}}/", "401 403 403 200", schema_path=f"{API}/quests/{{id}}/"),
    Row("GET", f"{API}/quests/00000000-0000-0000-0000-000000000000/", "401 403 403 404", schema_path="-"),
    Row("PUT", f"{API}/quests/{{quest}}/", "401 403 403 200", body={"name": "Put", "kind": "earn_xp", "params": {"xp": 50}, "reward_xp": 5}, schema_path=f"{API}/quests/{{id}}/"),  # noqa: E501
    Row("PATCH", f"{API}/quests/{{quest}}/", "401 403 403 200", body={"active": False}, schema_path=f"{API}/quests/{{id}}/"),  # noqa: E501
    Row("DELETE", f"{API}/quests/{{quest}}/", "401 403 403 204", schema_path=f"{API}/quests/{{id}}/"),
    Row("DELETE", f"{API}/quests/{{paid_quest}}/", "401 403 403 409", schema_path="-"),
    # Staff only.
    Row("GET", f"{API}/admin/stats/", "401 403 403 200"),
    Row("POST", f"{API}/admin/recalc-xp/", "401 403 403 202"),
    Row("POST", f"{API}/admin/recalc-xp/", "401 403 403 202", body={"dry_run": True}, schema_path="-"),
    Row("GET", f"{API}/admin/audit/", "401 403 403 200"),
    Row("GET", f"{API}/admin/audit/?actor=not-a-uuid", "401 403 403 400", schema_path="-"),
    Row("POST", f"{API}/admin/xp-grants/", "401 403 403 201", body={"user_id": "{player_id}", "amount": 5, "reason": "Matrix"}),  # noqa: E501
    Row("GET", f"{API}/admin/jobs/{{job}}/", "401 403 403 200", schema_path=f"{API}/admin/jobs/{{job_id}}/"),
    # Open Badges: staff revoke an award with a reason (its public assertion then answers 410).
    Row("POST", f"{API}/admin/badge-awards/{{dora_award}}/revoke/", "401 403 403 200", body={"reason": "Matrix"}, schema_path=f"{API}/admin/badge-awards/{{award_id}}/revoke/"),  # noqa: E501
    Row("POST", f"{API}/admin/badge-awards/{{dora_award}}/revoke/", "401 403 403 400", body={"reason": " "}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/admin/badge-awards/{{revoked_award}}/revoke/", "401 403 403 409", body={"reason": "Again"}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/admin/badge-awards/00000000-0000-4000-8000-000000000000/revoke/", "401 403 403 404", body={"reason": "Matrix"}, schema_path="-"),  # noqa: E501
    # Catalog as code (staff only: the export holds drafts and grading answers).
    Row("GET", f"{API}/admin/catalog/export/", "401 403 403 200"),
    Row("GET", f"{API}/admin/catalog/schema/", "401 403 403 200"),
    Row("POST", f"{API}/admin/catalog/import/", "401 403 403 200", body={"version": 1, "challenges": [{"slug": "from-file", "title": "From a file", "xp": 5}]}),  # noqa: E501
    Row("POST", f"{API}/admin/catalog/import/?dry_run=true", "401 403 403 200", body={"version": 1}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/admin/catalog/import/", "401 403 403 400", body={"version": 1, "challenges": [{"slug": "x", "title": "X", "xp": 0}]}, schema_path="-"),  # noqa: E501
    # API keys: staff issue, read and revoke them; ingestion takes a key, never a player's token
    # (its rows per kind of key: API_KEY_ROWS below).
    Row("GET", f"{API}/admin/api-keys/", "401 403 403 200"),
    Row("POST", f"{API}/admin/api-keys/", "401 403 403 201", body={"name": "Matrix", "scopes": ["ingest"]}),
    Row("POST", f"{API}/admin/api-keys/", "401 403 403 400", body={"name": "Matrix", "scopes": ["write"]}, schema_path="-"),  # noqa: E501
    Row("GET", f"{API}/admin/api-keys/{{api_key}}/", "401 403 403 200", schema_path=f"{API}/admin/api-keys/{{id}}/"),  # noqa: E501
    Row("GET", f"{API}/admin/api-keys/nosuchkey/", "401 403 403 404", schema_path="-"),
    Row("POST", f"{API}/admin/api-keys/{{api_key}}/revoke/", "401 403 403 200", schema_path=f"{API}/admin/api-keys/{{id}}/revoke/"),  # noqa: E501
    Row("POST", f"{API}/admin/api-keys/{{revoked_key}}/revoke/", "401 403 403 409", schema_path="-"),
    Row("POST", f"{API}/ingest/attempts/", "401 401 401 401", body={"username": "alice", "challenge": "spare-one", "score": 90, "idempotency_key": "matrix"}),  # noqa: E501
    # Webhooks: staff only; the signing secret shows once, in the create's answer, never in a read.
    Row("GET", f"{API}/admin/webhooks/", "401 403 403 200"),
    Row("POST", f"{API}/admin/webhooks/", "401 403 403 201", body={"url": "https://93.184.215.14/hook", "events": ["xp.awarded"]}),  # noqa: E501
    Row("POST", f"{API}/admin/webhooks/", "401 403 403 400", body={"url": "https://169.254.169.254/", "events": ["xp.awarded"]}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/admin/webhooks/", "401 403 403 400", body={"url": "https://93.184.215.14/hook", "events": ["xp.stolen"]}, schema_path="-"),  # noqa: E501
    Row("GET", f"{API}/admin/webhooks/{{webhook}}/", "401 403 403 200", schema_path=f"{API}/admin/webhooks/{{id}}/"),  # noqa: E501
    Row("GET", f"{API}/admin/webhooks/00000000-0000-4000-8000-000000000000/", "401 403 403 404", schema_path="-"),  # noqa: E501
    Row("PUT", f"{API}/admin/webhooks/{{webhook}}/", "401 403 403 200", body={"url": "https://93.184.215.15/hook", "events": ["level.up"]}, schema_path=f"{API}/admin/webhooks/{{id}}/"),  # noqa: E501
    Row("PATCH", f"{API}/admin/webhooks/{{webhook}}/", "401 403 403 200", body={"active": False}, schema_path=f"{API}/admin/webhooks/{{id}}/"),  # noqa: E501
    Row("DELETE", f"{API}/admin/webhooks/{{webhook}}/", "401 403 403 204", schema_path=f"{API}/admin/webhooks/{{id}}/"),  # noqa: E501
    Row("GET", f"{API}/admin/webhooks/{{webhook}}/deliveries/", "401 403 403 200", schema_path=f"{API}/admin/webhooks/{{id}}/deliveries/"),  # noqa: E501
    Row("POST", f"{API}/admin/webhooks/{{webhook}}/test/", "401 403 403 202", schema_path=f"{API}/admin/webhooks/{{id}}/test/"),  # noqa: E501
    Row("POST", f"{API}/admin/webhooks/{{webhook}}/deliveries/{{webhook_delivery}}/redeliver/", "401 403 403 202", schema_path=f"{API}/admin/webhooks/{{id}}/deliveries/{{delivery_id}}/redeliver/"),  # noqa: E501
    Row("POST", f"{API}/admin/webhooks/{{webhook}}/deliveries/999999/redeliver/", "401 403 403 404", schema_path="-"),  # noqa: E501
    # Live updates: one's own notifications only; a ticket for one's own socket.
    Row("GET", f"{API}/notifications/", "401 200 200 200"),
    Row("GET", f"{API}/notifications/?unread=maybe", "401 400 400 400", schema_path="-"),
    Row("POST", f"{API}/notifications/read/", "401 200 200 200", body={"all": True}),
    Row("POST", f"{API}/notifications/read/", "401 200 404 404", body={"ids": ["{player_notification}"]}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/notifications/read/", "401 400 400 400", body={"ids": [1], "all": True}, schema_path="-"),  # noqa: E501
    Row("POST", f"{API}/live/ticket/", "401 200 200 200"),
]  # fmt: skip

PAGE_ROWS = [
    Row("GET", "/", "200 200 200 200"),
    Row("GET", "/u/{player_name}/", "200 200 200 200"),
    Row("GET", "/u/nobody-here/", "404 404 404 404"),
    Row("GET", "/notifications/", "302 200 200 200"),
    Row("POST", "/notifications/read/", "302 302 302 302", form=True),
    Row("GET", "/staff/", "302 403 403 200"),
    Row("POST", "/staff/recalc/", "302 403 403 302", form=True),  # staff: back to the dashboard with the job
    Row("GET", "/leaderboard/", "200 200 200 200"),
    Row("GET", "/leaderboard/?period=year", "404 404 404 404"),
    Row("GET", "/leaderboard/?tag=planted&period=week", "200 200 200 200"),
    Row("GET", "/leaderboard/?tag=no-such-tag", "404 404 404 404"),
    Row("GET", "/leaderboard/?board=friends", "302 200 200 200"),  # anonymous: to log in
    Row("GET", "/leaderboard/?view=around&board=friends&tag=planted", "302 200 200 200"),
    Row("POST", "/u/{player_name}/follow/", "302 302 302 302", form=True),  # back to the profile
    Row("POST", "/u/{player_name}/unfollow/", "302 302 302 302", form=True),
    Row("POST", "/u/nobody-here/follow/", "302 404 404 404", form=True),
    Row("GET", "/events/", "200 200 200 200"),
    Row("GET", "/events/{live_event}/", "200 200 200 200"),
    Row("GET", "/events/no-such-event/", "404 404 404 404"),
    Row("GET", "/challenges/", "200 200 200 200"),
    Row("GET", "/challenges/{published_slug}/", "200 200 200 200"),
    Row("GET", f"/challenges/{DRAFT_SLUG}/", "404 404 404 404"),
    Row("POST", "/challenges/{published_slug}/start/", "302 302 302 302", form=True),
    Row("POST", f"/challenges/{DRAFT_SLUG}/start/", "302 404 404 404", form=True),
    Row("POST", "/challenges/{published_slug}/submit/", "302 302 404 404", body={"attempt_id": "{own_attempt}", "solution": ANSWER}, form=True),  # noqa: E501
    Row("GET", "/accounts/signup/", "200 302 302 302"),  # signed in: sent home
    Row("GET", "/accounts/login/", "200 302 302 302"),
    Row("POST", "/accounts/logout/", "302 302 302 302", form=True),
    Row("GET", "/accounts/profile/", "302 200 200 200"),
    Row("POST", "/accounts/logout-all/", "302 302 302 302", form=True),  # to the login page, signed out
    Row("GET", "/accounts/logout-all/", "302 405 405 405"),
    Row("GET", "/accounts/delete/", "302 200 200 200"),
    Row("POST", "/accounts/delete/", "302 302 302 302", body={"password": PASSWORD}, form=True),  # erased
    Row("GET", "/accounts/password/reset/", "200 200 200 200"),
    Row("POST", "/accounts/password/reset/", "302 302 302 302", body={"email": "carol@example.com"}, form=True),  # noqa: E501
    Row("GET", "/accounts/password/reset/sent/", "200 200 200 200"),
    Row("GET", "/accounts/password/reset/complete/", "200 200 200 200"),
    # The link moves its token into the session and redirects.
    Row("GET", "/accounts/password/reset/{carol_uid}/{carol_reset_token}/", "302 302 302 302"),
    Row("GET", "/accounts/verify-email/{carol_verify}/", "200 200 200 200"),
    Row("POST", "/accounts/verify-email/{carol_verify}/", "302 302 302 302", form=True),
    Row("POST", "/accounts/verify-email/resend/", "302 302 302 302", form=True),  # to log in / to the profile
    Row("GET", "/accounts/verify-email/resend/", "302 405 405 405"),
    Row("GET", "/admin/", "302 302 302 200"),
    Row("GET", "/api-auth/login/", "200 302 302 302"),
    Row("POST", "/api-auth/logout/", "302 302 302 302", form=True),
    Row("GET", "/api/schema/", "200 200 200 200"),
    Row("GET", "/api/docs/", "200 200 200 200"),
    Row("GET", "/healthz", "200 200 200 200"),
    Row("GET", "/readyz", "200 200 200 200"),
    Row("GET", "/metrics", "200 200 200 200"),  # allow-listed loopback; other addresses: test_metrics.py
    # Open Badges 2.0 (progress.openbadges): public documents, by unguessable assertion ids.
    Row("GET", "/ob/issuer", "200 200 200 200"),
    Row("GET", "/ob/assertions/{assertion}", "200 200 200 200"),
    Row("GET", "/ob/assertions/{assertion}.png", "200 200 200 200"),
    Row("POST", "/ob/assertions/{assertion}", "405 405 405 405", form=True),
    Row("GET", "/ob/assertions/{secret_assertion}/badge", "200 200 200 200"),
    Row("GET", "/ob/assertions/{secret_assertion}/badge.png", "200 200 200 200"),
    Row("GET", "/ob/assertions/{revoked_assertion}", "410 410 410 410"),
    Row("GET", "/ob/assertions/{revoked_assertion}.png", "410 410 410 410"),
    Row("GET", "/ob/assertions/{unverified_assertion}", "404 404 404 404"),  # alice's email is unverified
    Row("GET", "/ob/assertions/00000000-0000-4000-8000-000000000000", "404 404 404 404"),
    Row("GET", "/ob/badges/{badge}", "200 200 200 200"),
    Row("GET", "/ob/badges/{badge}.png", "200 200 200 200"),
    Row("GET", "/ob/badges/{secret_badge}", "404 404 404 404"),  # a secret badge only under an assertion
]  # fmt: skip

ROWS = API_ROWS + PAGE_ROWS


@pytest.fixture
def world(db, settings) -> dict[str, Any]:
    """Two players with attempts, solutions, badges and tokens; staff; a draft and a published challenge."""
    # A fast hasher: the matrix makes four accounts for each of its ~240 cases.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice = baker.make(User, username="alice", email=EMAIL["player"])
    bob = baker.make(User, username="bob", email=EMAIL["other"])
    staff = baker.make(User, username="staff", email="staff-planted@example.com", is_staff=True)
    carol = baker.make(User, username="carol", email="carol@example.com")
    for account in (alice, bob, staff, carol):
        account.set_password(PASSWORD)
        account.save()
    tag = Tag.objects.create(name="Planted", slug="planted")
    published = baker.make(
        Challenge,
        title="Published one",
        slug="published-one",
        xp=100,
        published=True,
        grading={"type": "exact", "answer": ANSWER},
    )
    published.tags.add(tag)
    draft = baker.make(
        Challenge,
        title=DRAFT_TITLE,
        slug=DRAFT_SLUG,
        xp=100,
        published=False,
        grading={"type": "exact", "answer": DRAFT_ANSWER},
    )
    draft.tags.add(tag)
    own_attempt = baker.make(Attempt, user=alice, challenge=published, status=Attempt.Status.STARTED)
    for role, account in (("player", alice), ("other", bob)):
        baker.make(
            Attempt,
            user=account,
            challenge=published,
            status=Attempt.Status.PASSED,
            score=100,
            xp_awarded=100,
            metadata={"solution": SOLUTION[role]},
        )
    badge = Badge.objects.create(name="First", slug="first", condition={"type": "xp", "threshold": 1})
    inactive = Badge.objects.create(
        name="Retired", slug="retired", condition={"type": "xp", "threshold": 1}, is_active=False
    )
    unverified_award = UserBadge.objects.create(user=alice, badge=badge)
    UserBadge.objects.create(user=bob, badge=badge)
    # Open Badges: a player with a verified email, holding a public and a secret badge, and a revoked one.
    dora = baker.make(User, username="dora", email="dora@example.com", email_verified_at=timezone.now())
    secret = Badge.objects.create(
        name="Hidden", slug="hidden", condition={"type": "xp", "threshold": 1}, secret=True
    )
    spent = Badge.objects.create(name="Spent", slug="spent", condition={"type": "xp", "threshold": 1})
    dora_award = UserBadge.objects.create(user=dora, badge=badge)
    secret_award = UserBadge.objects.create(user=dora, badge=secret)
    revoked_award = UserBadge.objects.create(
        user=dora, badge=spent, revoked_at=timezone.now(), revocation_reason="Matrix", revoked_by=staff
    )
    notes = {
        role: Notification.objects.create(
            user=account, type="xp_granted", data={"amount": 5, "reason": NOTE[role]}
        )
        for role, account in (("player", alice), ("other", bob))
    }
    now = timezone.now()
    spare = baker.make(Challenge, title="Spare one", slug="spare-one", xp=10, published=True)
    events = {
        name: Event.objects.create(
            name=name.title(), slug=f"{name}-event", starts_at=now + start, ends_at=now + end
        )
        for name, start, end in (
            ("live", timedelta(hours=-1), timedelta(hours=1)),
            ("upcoming", timedelta(days=30), timedelta(days=31)),
            ("ended", timedelta(days=-3), timedelta(days=-2)),
        )
    }
    events["live"].challenges.set([published, draft])  # the draft's title must reach staff only
    events["ended"].challenges.set([published])
    events["upcoming"].challenges.set([published])
    quest = Quest.objects.create(name="Warm-up", kind="pass_challenges", params={"count": 1}, reward_xp=5)
    paid_quest = Quest.objects.create(name="Paid", kind="earn_xp", params={"xp": 1}, reward_xp=5)
    XpEntry.objects.create(
        user=alice, amount=5, kind=XpEntry.Kind.QUEST, quest=paid_quest, idempotency_key="quest:matrix"
    )
    keys = {
        scopes: api_key_create(name=f"Matrix {scopes}", scopes=scopes.split(), actor=staff)
        for scopes in ("ingest", "read", "ingest read")
    }
    revoked, revoked_secret = api_key_create(name="Matrix revoked", scopes=["ingest", "read"], actor=staff)
    api_key_revoke(api_key=revoked, actor=staff)
    webhook = WebhookEndpoint.objects.create(
        url="https://93.184.215.14/planted", events=["xp.awarded"], secret=WEBHOOK_SECRET
    )
    webhook_delivery = WebhookDelivery.objects.create(
        endpoint=webhook, event=OutboxEvent.objects.create(type="xp.awarded", data={}), status="failed"
    )
    tokens = {  # issued (so they exist server-side), never sent: must never come back
        str(RefreshToken.for_user(alice)),
        str(RefreshToken.for_user(bob)),
        str(AccessToken.for_user(bob)),
        *(secret for _, secret in keys.values()),  # API keys are shown once, when issued
        revoked_secret,
    }
    return {
        "users": {"player": alice, "other": bob, "staff": staff},
        "api_keys": {
            "wrong": f"{keys['ingest'][0].prefix}.{'x' * 32}",
            "revoked": revoked_secret,
            "read": keys["read"][1],
            "ingest": keys["ingest"][1],
        },
        "tokens": tokens,
        "password_hashes": [account.password for account in (alice, bob, staff, carol)],
        "fill": {
            "published": str(published.pk),
            "draft": str(draft.pk),
            "published_slug": published.slug,
            "own_attempt": str(own_attempt.pk),
            "player_id": str(alice.pk),
            "player_name": alice.username,
            "badge": str(badge.pk),
            "inactive_badge": str(inactive.pk),
            "player_notification": str(notes["player"].pk),
            "job": queue.enqueue_tracked(jobs.recalculate_xp),
            "carol_refresh": str(RefreshToken.for_user(carol)),
            "carol_uid": urlsafe_base64_encode(force_bytes(carol.pk)),
            "carol_reset_token": default_token_generator.make_token(carol),
            "carol_verify": verification_token(user_id=carol.pk, email=carol.email),
            "live_event": events["live"].slug,
            "upcoming_event": events["upcoming"].slug,
            "ended_event": events["ended"].slug,
            "spare": str(spare.pk),
            "future_start": (now + timedelta(days=60)).isoformat(),
            "future_end": (now + timedelta(days=61)).isoformat(),
            "quest": str(quest.pk),
            "api_key": keys["ingest read"][0].prefix,
            "revoked_key": revoked.prefix,
            "paid_quest": str(paid_quest.pk),
            "dora_award": str(dora_award.pk),
            "revoked_award": str(revoked_award.pk),
            "assertion": str(dora_award.assertion_id),
            "secret_assertion": str(secret_award.assertion_id),
            "revoked_assertion": str(revoked_award.assertion_id),
            "unverified_assertion": str(unverified_award.assertion_id),
            "secret_badge": str(secret.pk),
            "webhook": str(webhook.pk),
            "webhook_delivery": str(webhook_delivery.pk),
        },
    }


def _fill(value: Any, fill: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda match: fill[match.group(1)], value)
    if isinstance(value, dict):
        return {key: _fill(item, fill) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, fill) for item in value]
    return value


def _client(world, role: str, *, page: bool) -> APIClient:
    client = APIClient()
    if role == "anon":
        return client
    account = world["users"][role]
    if page:
        client.force_login(account)
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(account)}")
    return client


def _call(world, row: Row, role: str):
    is_page = not row.path.startswith(API)
    client = _client(world, role, page=is_page)
    path = _fill(row.path, world["fill"])
    body = _fill(row.body, world["fill"])
    method = getattr(client, row.method.lower())
    if row.form:
        return method(path, body or {})
    if body is not None:
        return method(path, body, format="json")
    return method(path)


def _forbidden_strings(world, role: str) -> list[str]:
    """What this role must never see in any response body."""
    forbidden = [*world["tokens"], *world["password_hashes"], WEBHOOK_SECRET]
    for owner in ("player", "other"):
        if role != owner:
            forbidden += [SOLUTION[owner], NOTE[owner]]
            if role != "staff":
                forbidden += [EMAIL[owner]]
    if role != "staff":
        forbidden += [ANSWER, DRAFT_ANSWER, DRAFT_TITLE, DRAFT_SLUG]
    return forbidden


def _row_id(row: Row) -> str:
    return f"{row.method} {row.path}" + (" " + str(row.body) if row.body and "draft" in str(row.body) else "")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_endpoint_and_page_answers_each_role_exactly(world, row: Row, role: str):
    response = _call(world, row, role)
    content = b"".join(response.streaming_content) if response.streaming else response.content  # the export
    assert response.status_code == row.statuses()[role], (role, row.path, content[:300])
    body = content.decode("utf-8", errors="replace")
    if row.path != "/api/schema/":  # the schema describes fields, it holds no data
        leaked = [secret for secret in _forbidden_strings(world, role) if secret in body]
        assert not leaked, (role, row.method, row.path, leaked)
    if row.path.startswith(API) and response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        # A page's title is text: a block left open would swallow markup into it.
        title = re.search(r"<title>(.*?)</title>", body, re.S)
        assert title is not None and "<" not in title.group(1), (row.path, title and title.group(1)[:200])


# The same operations called with an API key (`Authorization: Api-Key ...`) instead of a token: none,
# a wrong secret for a real prefix, a revoked key, a `read` key and an `ingest` key.
# On an operation anyone may call, a key that grants nothing (wrong, revoked, without `read`) is ignored:
# the request is anonymous, as with a bearer token that does not verify (skillquest.access).
KEY_ROLES = ("none", "wrong", "revoked", "read", "ingest")
API_KEY_ROWS = [
    Row("POST", f"{API}/ingest/attempts/", "401 401 401 403 201", body={"username": "alice", "challenge": "spare-one", "score": 90, "idempotency_key": "key-matrix"}),  # noqa: E501
    Row("POST", f"{API}/ingest/attempts/", "401 401 401 403 404", body={"username": "alice", "challenge": DRAFT_SLUG, "score": 90, "idempotency_key": "key-matrix"}),  # noqa: E501
    Row("POST", f"{API}/ingest/attempts/", "401 401 401 403 400", body={"username": "alice", "challenge": "published-one", "score": 90, "idempotency_key": "key-matrix"}),  # noqa: E501
    Row("GET", f"{API}/challenges/", "200 200 200 200 200"),
    Row("GET", f"{API}/challenges/{{draft}}/", "404 404 404 404 404"),
    Row("GET", f"{API}/leaderboard/", "200 200 200 200 200"),
    Row("GET", f"{API}/users/{{player_id}}/progress/", "200 200 200 200 200"),
    Row("GET", f"{API}/auth/me/", "401 401 401 403 403"),
    Row("GET", f"{API}/attempts/", "401 401 401 403 403"),
    Row("POST", f"{API}/attempts/", "401 401 401 403 403", body={"challenge_id": "{published}"}),
    # A key is never a player: an ingest key cannot one-call submit either (ingestion is its way).
    Row("POST", f"{API}/attempts/", "401 401 401 403 403", body={"challenge_id": "{published}", "solution": ANSWER}),  # noqa: E501
    Row("GET", f"{API}/admin/api-keys/", "401 401 401 403 403"),
    Row("POST", f"{API}/admin/api-keys/", "401 401 401 403 403", body={"name": "Escalate", "scopes": ["ingest"]}),  # noqa: E501
    Row("GET", f"{API}/admin/catalog/export/", "401 401 401 403 403"),
]  # fmt: skip


@pytest.mark.parametrize("role", KEY_ROLES)
@pytest.mark.parametrize("row", API_KEY_ROWS, ids=_row_id)
def test_every_api_key_gets_exactly_its_scopes(world, row: Row, role: str):
    client = APIClient()
    if role != "none":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world['api_keys'][role]}")
    body = _fill(row.body, world["fill"])
    path = _fill(row.path, world["fill"])
    method = getattr(client, row.method.lower())
    response = method(path, body, format="json") if body is not None else method(path)
    expected = dict(zip(KEY_ROLES, (int(code) for code in row.expect.split()), strict=True))[role]
    assert response.status_code == expected, (role, row.path, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    leaked = [secret for secret in _forbidden_strings(world, "anon") if secret in response.content.decode()]
    assert not leaked, (role, row.method, row.path, leaked)


def _schema_operations(client) -> set[tuple[str, str]]:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def _page_routes(resolver=None, prefix: str = "") -> set[str]:
    """Every URL pattern outside the API and the Django admin's own pages, as a route string."""
    routes = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith(("api/v1/", "admin/")):
                continue
            routes |= _page_routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            routes.add(route)
    return routes


def test_every_operation_and_page_has_a_row(db):
    in_schema = _schema_operations(APIClient())
    covered = {(row.method, row.schema_path or row.path) for row in API_ROWS if row.schema_path != "-"}
    assert in_schema - covered == set(), "API operations without a permissions row"
    assert covered - in_schema == set(), "rows naming operations the schema does not have"

    sample = {
        "published_slug": "a-slug",
        "player_name": "someone",
        "own_attempt": "x",
        "carol_uid": "uid",
        "carol_reset_token": "token",
        "carol_verify": "token",
        "live_event": "a-slug",
        **dict.fromkeys(
            (
                "assertion",
                "secret_assertion",
                "revoked_assertion",
                "unverified_assertion",
                "badge",
                "secret_badge",
            ),
            "00000000-0000-4000-8000-000000000000",
        ),
    }
    pages = {resolve(_fill(row.path, sample).split("?")[0]).route for row in PAGE_ROWS}
    missing = _page_routes() - pages - {"admin/", "admin/login/"}
    assert missing == set(), "pages without a permissions row"
