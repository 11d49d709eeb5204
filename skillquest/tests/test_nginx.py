"""The app behind a real nginx with scripts/nginx/skillquest.conf.template, as docker-compose runs it.

A module fixture starts the Procfile's `web:` (gunicorn) and `ws:` (daphne) on the test database and
Redis, and Debian's nginx in front of them on free loopback ports; the tests are transactional so the
other processes see their data. The micro-cache is watched through `X-Cache-Status`
($upstream_cache_status), and gunicorn's log (one `http_request` line per request it served, with
its request id) shows what reached the app.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx
import pytest
import websockets
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from progress.ledger.services import xp_grant
from scripts.nginx import render
from skillquest.tests.helpers import ROOT, answers_ok, free_port, run_in_own_loop
from skillquest.tests.processes import start_process, stop_processes

pytestmark = [pytest.mark.serial]
BOARD = "/api/v1/leaderboard?period=all&limit=10"
PAGE = "/leaderboard/"


def procfile(name: str) -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())[name]


class Stack:
    def __init__(self, proxy: str, web: str, web_log: Path):
        self.proxy, self.web, self.web_log = proxy, web, web_log

    def served_by_app(self, request_id: str) -> list[dict]:
        """The app's `http_request` lines for one request id."""
        lines = [json.loads(line) for line in self.web_log.read_text().splitlines() if line.startswith("{")]
        return [
            line
            for line in lines
            if line.get("event") == "http_request" and line.get("request_id") == request_id
        ]


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    db = connection.settings_dict
    workdir = tmp_path_factory.mktemp("nginx")
    web_port, ws_port, proxy_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        "PORT": str(web_port),
        "WS_PORT": str(ws_port),
        "WEB_CONCURRENCY": "2",
        # The app's own page memory off: what is asserted here is nginx's copy.
        "LEADERBOARD_CACHE_SECONDS": "0",
        # As docker-compose behind this nginx: one proxy, whose X-Forwarded-Proto may be trusted.
        "NUM_PROXIES": "1",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    }
    processes = []
    web_log, ws_log = workdir / "web.log", workdir / "ws.log"
    commands = [
        (procfile("web").replace("0.0.0.0", "127.0.0.1"), web_log, f"http://127.0.0.1:{web_port}/readyz"),
        (procfile("ws").replace("0.0.0.0", "127.0.0.1"), ws_log, f"http://127.0.0.1:{ws_port}/healthz"),
    ]
    # Not under pytest's own tmp (0700): nginx's workers run as nobody and must reach the cache dir,
    # and the static files, copied there as collectstatic fills STATIC_ROOT in a deployment: the
    # checkout itself may sit in a directory only its owner can enter (a clean clone in mktemp -d).
    prefix = Path(tempfile.mkdtemp(prefix="skillquest-nginx-"))
    prefix.chmod(0o755)
    static_root = shutil.copytree(ROOT / "static", prefix / "static")
    nginx = render.standalone(
        prefix,
        listen=f"127.0.0.1:{proxy_port}",
        web=f"127.0.0.1:{web_port}",
        ws=f"127.0.0.1:{ws_port}",
        static_root=static_root,
        max_body_size="1m",
    )
    proxy_ready = f"http://127.0.0.1:{proxy_port}/healthz"
    try:
        for command, log, ready in commands:
            processes.append(
                start_process(
                    ["bash", "-c", f"exec {command}"],
                    cwd=ROOT,
                    env=env,
                    log=log,
                    ready=partial(answers_ok, ready),
                    what=f"{ready} to answer 200",
                    seconds=60,
                )
            )
        processes.append(
            start_process(
                nginx,
                log=workdir / "nginx.log",
                ready=partial(answers_ok, proxy_ready),
                what=f"{proxy_ready} to answer 200",
                seconds=60,
            )
        )
        yield Stack(f"http://127.0.0.1:{proxy_port}", f"http://127.0.0.1:{web_port}", web_log)
    finally:
        stop_processes(*reversed(processes), seconds=15)
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture
def players(transactional_db, staff_user):
    """Two players on the board (alice 300 XP, bob 200 XP), committed for the other processes."""
    alice = User.objects.create_user(username="alice", email="alice@example.com", password="pw-alice-123")
    bob = User.objects.create_user(username="bob", email="bob@example.com", password="pw-bob-123")
    xp_grant(user_id=alice.pk, amount=300, reason="test", actor=staff_user)
    xp_grant(user_id=bob.pk, amount=200, reason="test", actor=staff_user)
    return alice, bob


def session_cookie(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def usernames(response: httpx.Response) -> list[str]:
    return [row["username"] for row in response.json()["results"]]


# ------------------------------------------------------------------------------------ micro-cache


@pytest.mark.parametrize("path", [BOARD, PAGE, "/api/v1/leaderboard?period=week", f"{PAGE}?period=month"])
def test_anonymous_boards_are_served_from_the_cache(stack, players, path):
    # Every test asks with a parameter the app ignores: nginx's copies outlive each test's data.
    url = f"{stack.proxy}{path}{'&' if '?' in path else '?'}fresh={time.monotonic_ns()}"
    first = httpx.get(url)
    assert first.status_code == 200
    assert first.headers["X-Cache-Status"] == "MISS"
    assert first.headers["Cache-Control"] == "public, max-age=1, stale-while-revalidate=5"
    second = httpx.get(url)
    assert second.headers["X-Cache-Status"] == "HIT"
    assert second.content == first.content
    assert second.headers["ETag"] == first.headers["ETag"]
    # The hit never reached the app; the miss did, with the id nginx gave it.
    assert stack.served_by_app(second.headers["X-Request-ID"]) == []
    assert len(stack.served_by_app(first.headers["X-Request-ID"])) == 1


def test_the_cached_board_is_refreshed_after_a_second(stack, players, staff_user):
    _, bob = players
    url = f"{stack.proxy}{BOARD}&refresh={time.monotonic_ns()}"
    stored = time.monotonic()
    assert usernames(httpx.get(url)) == ["alice", "bob"]
    answered = time.monotonic() - stored  # the copy was stored before this answer arrived
    xp_grant(user_id=bob.pk, amount=500, reason="overtake", actor=staff_user)
    answers: list[tuple[float, str, list[str]]] = []
    while time.monotonic() - stored < 6:
        response = httpx.get(url)
        answers.append((time.monotonic() - stored, response.headers["X-Cache-Status"], usernames(response)))
        if answers[-1][2] == ["bob", "alice"]:
            break
        time.sleep(0.05)
    # Fresh for max-age=1 (nginx counts whole seconds, so one to two): the copy, from the cache.
    assert all(status == "HIT" and names == ["alice", "bob"] for at, status, names in answers if at < 0.9), (
        answers
    )
    assert answers[-1][2] == ["bob", "alice"] and answers[-1][0] - answered < 3.5, answers
    # The first request after that is answered at once with the stale copy while one background
    # request refreshes it (stale-while-revalidate, proxy_cache_background_update).
    first_expired = next(answer for answer in answers if answer[1] != "HIT")
    assert first_expired[1] in {"STALE", "UPDATING"} and first_expired[2] == ["alice", "bob"], answers


def test_if_none_match_is_304_from_the_app_and_through_nginx(stack, players):
    direct = httpx.get(f"{stack.web}{BOARD}")
    etag = direct.headers["ETag"]
    assert httpx.get(f"{stack.web}{BOARD}", headers={"If-None-Match": etag}).status_code == 304
    url = f"{stack.proxy}{BOARD}&etag={time.monotonic_ns()}"
    # The app's ETag hashes the body, which is the same whatever the query's unused parameters.
    first = httpx.get(url)
    assert first.headers["ETag"] == etag
    miss = httpx.get(f"{stack.proxy}{BOARD}&etag2={time.monotonic_ns()}", headers={"If-None-Match": etag})
    assert miss.status_code == 304 and miss.headers["X-Cache-Status"] == "MISS"
    hit = httpx.get(url, headers={"If-None-Match": etag})
    assert hit.status_code == 304 and hit.headers["X-Cache-Status"] == "HIT"
    assert hit.content == b""
    assert httpx.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


# -------------------------------------------------------------------------------- personal views


def test_a_session_never_reads_or_fills_the_cached_page(stack, players):
    alice, bob = players
    url = f"{stack.proxy}{PAGE}?period=all&s={time.monotonic_ns()}"
    anonymous = httpx.get(url)
    assert httpx.get(url).headers["X-Cache-Status"] == "HIT"
    for player in (alice, bob, alice):
        page = httpx.get(url, cookies=session_cookie(player))
        assert page.status_code == 200
        assert page.headers["X-Cache-Status"] == "BYPASS"
        assert page.headers["Cache-Control"] == "private, no-store"
        assert f'href="/u/{player.username}/">My profile'.encode() in page.content
        other = bob if player == alice else alice
        assert f'href="/u/{other.username}/">My profile'.encode() not in page.content
    # The signed-in pages left the shared copy alone: it answers, still fresh or (when the pages above
    # took longer than its one to two seconds) stale while it is refreshed.
    again = httpx.get(url)
    assert again.headers["X-Cache-Status"] in {"HIT", "STALE", "UPDATING"}
    assert again.content == anonymous.content
    assert b"My profile" not in again.content


@pytest.mark.parametrize("credentials", ["jwt", "session"])
def test_two_players_each_see_their_own_around_me(stack, players, credentials):
    alice, bob = players
    url = f"{stack.proxy}/api/v1/leaderboard?around=me&k=1&c={time.monotonic_ns()}"
    for player, rank in ((alice, 1), (bob, 2), (alice, 1), (bob, 2)):
        headers = bearer(player) if credentials == "jwt" else {}
        cookies = session_cookie(player) if credentials == "session" else {}
        response = httpx.get(url, headers=headers, cookies=cookies)
        assert response.status_code == 200
        assert response.json()["me"]["rank"] == rank
        assert response.headers["X-Cache-Status"] == "BYPASS"
        assert response.headers["Cache-Control"] == "private, no-store"
    assert httpx.get(url).status_code == 401


def test_a_token_never_gets_the_cached_public_board(stack, players):
    alice, _ = players
    url = f"{stack.proxy}{BOARD}&t={time.monotonic_ns()}"
    httpx.get(url)
    assert httpx.get(url).headers["X-Cache-Status"] == "HIT"
    signed_in = httpx.get(url, headers=bearer(alice))
    assert signed_in.headers["X-Cache-Status"] == "BYPASS"
    assert signed_in.headers["Cache-Control"] == "private, no-store"
    assert len(stack.served_by_app(signed_in.headers["X-Request-ID"])) == 1


def test_an_answer_that_sets_a_cookie_is_never_cached(stack, players):
    # The login page sets the CSRF cookie; it is asked anonymously, twice.
    url = f"{stack.proxy}/accounts/login/?c={time.monotonic_ns()}"
    for _ in range(2):
        response = httpx.get(url)
        assert response.status_code == 200 and "csrftoken" in response.cookies
        assert response.headers.get("X-Cache-Status", "") in {"", "MISS"}
        assert len(stack.served_by_app(response.headers["X-Request-ID"])) == 1
    # A board shown with a one-off message clears the message cookie: that answer is not kept.
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(messages.INFO, "A message for one visitor")
    carrier = HttpResponse()
    storage.update(carrier)
    page_url = f"{stack.proxy}{PAGE}?m={time.monotonic_ns()}"
    with_message = httpx.get(page_url, cookies={"messages": carrier.cookies["messages"].value})
    assert b"A message for one visitor" in with_message.content
    assert "messages" in with_message.headers.get("set-cookie", "")
    assert with_message.headers["Cache-Control"] == "private, no-store"
    plain = httpx.get(page_url)
    assert plain.headers["X-Cache-Status"] == "MISS"
    assert b"A message for one visitor" not in plain.content


# ----------------------------------------------------------------------- sockets, static, headers


@pytest.mark.django_db(transaction=True)
def test_the_live_socket_is_upgraded_through_nginx(stack, user):
    cookie = session_cookie(user)
    ws_url = stack.proxy.replace("http://", "ws://") + "/ws/live/"
    header = {"Origin": stack.proxy, "Cookie": "; ".join(f"{k}={v}" for k, v in cookie.items())}

    async def scenario() -> tuple[str, int | None]:
        async with websockets.connect(ws_url, additional_headers=header, open_timeout=10) as sock:
            await sock.send(json.dumps({"type": "hello"}))
            answer = json.loads(await asyncio.wait_for(sock.recv(), 10))
        async with websockets.connect(ws_url, additional_headers={"Origin": stack.proxy}) as anonymous:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(anonymous.recv(), 10)
            return answer["type"], anonymous.close_code

    kind, refused = run_in_own_loop(scenario)
    assert kind == "error"  # admitted: it reads messages and answers one it cannot use
    assert refused == 4401  # refused after the handshake: the upgrade itself went through


def test_static_files_are_served_by_nginx(stack):
    response = httpx.get(f"{stack.proxy}/static/css/site.css")
    assert response.status_code == 200
    assert response.content == (ROOT / "static" / "css" / "site.css").read_bytes()
    assert response.headers["Content-Type"] == "text/css"
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert stack.served_by_app(response.headers["X-Request-ID"]) == []
    assert httpx.get(f"{stack.proxy}/static/css/no-such.css").status_code == 404


def test_a_request_id_is_made_or_kept_echoed_and_logged_by_the_app(stack):
    made = httpx.get(f"{stack.proxy}/healthz")
    request_id = made.headers["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    assert len(stack.served_by_app(request_id)) == 1
    kept = httpx.get(f"{stack.proxy}/healthz", headers={"X-Request-ID": "trace-abc-12345"})
    assert kept.headers.get_list("X-Request-ID") == ["trace-abc-12345"]
    assert len(stack.served_by_app("trace-abc-12345")) == 1
    junk = httpx.get(f"{stack.proxy}/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert junk.headers["X-Request-ID"] != "bad id with spaces" and len(junk.headers["X-Request-ID"]) == 32


def test_a_cached_answer_carries_the_id_of_the_request_it_answers(stack, players):
    url = f"{stack.proxy}{BOARD}&rid={time.monotonic_ns()}"
    httpx.get(url, headers={"X-Request-ID": "filler-request-1"})
    hit = httpx.get(url, headers={"X-Request-ID": "reader-request-2"})
    assert hit.headers["X-Cache-Status"] == "HIT"
    assert hit.headers.get_list("X-Request-ID") == ["reader-request-2"]


def test_a_body_over_the_limit_is_413_json_before_the_app(stack):
    body = b"x" * (1024 * 1024 + 1)
    response = httpx.post(
        f"{stack.proxy}/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert stack.served_by_app(response.headers["X-Request-ID"]) == []
    small = httpx.post(f"{stack.proxy}/api/v1/auth/login", json={"username": "x", "password": "y"})
    assert small.status_code in {400, 401}


def test_a_client_cannot_claim_https_through_nginx_and_metrics_stay_inside(stack):
    """The app trusts X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER, as when nginx terminates TLS):
    nginx replaces the client's with its own scheme, so plain HTTP stays plain (the CSP names ws://)."""
    forged = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-For": "203.0.113.9",
    }
    response = httpx.get(f"{stack.proxy}/challenges/", headers=forged)
    assert response.status_code == 200
    host = stack.proxy.removeprefix("http://")
    assert f"connect-src 'self' ws://{host}" in response.headers["Content-Security-Policy"]
    # The same header sent straight to the app is believed: the replacement is what protects it.
    direct = httpx.get(f"{stack.web}/challenges/", headers=forged)
    assert "connect-src 'self' wss://" in direct.headers["Content-Security-Policy"]
    metrics = httpx.get(f"{stack.proxy}/metrics")
    assert metrics.status_code == 404 and metrics.json()["code"] == "not_found"
