"""What each step of the one-call submit costs the web process, in-process: run by bench/submit.py.

Issue 17 (7b) asks, where the per-request ratio to the PK-UPDATE view stays under 0.5, to say what
each step costs. wrk's figures drift by 10-20 % between runs on a shared machine, so this times in
this process's CPU time (`time.process_time`: Python, psycopg's and redis-py's work and the kernel's
for their sockets; not PostgreSQL's or Redis's own CPU), against the same database and Redis as the
wrk runs, two ways:

- whole requests through Django's full WSGI handler (every middleware, DRF, the response; no
  gunicorn, no socket): the one-call submit, the PK-UPDATE view, and the one-call submit with one
  step taken out (patched away; its cost in a real request is the difference);
- each step alone, called in a loop: cheaper than in a request, where the code and data around it
  are not already in the CPU's caches.

Prints one `STEPSJSON {...}` line: per measurement, the median over `--rounds` rounds of the CPU
microseconds per call (each round `--repeat` calls; every measurement takes its turn in each round,
so the machine's drift reaches them alike).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillquest.settings")

import django

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402
from rest_framework_simplejwt.settings import api_settings  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.authentication import JWTAuthentication  # noqa: E402
from accounts.models import User  # noqa: E402
from challenges import services  # noqa: E402
from challenges.api.serializers import AttemptStartSerializer  # noqa: E402
from challenges.api.views import AttemptViewSet  # noqa: E402
from progress import jobs  # noqa: E402


def wsgi_call(app: WSGIHandler, method: str, path: str, body: bytes = b"", token: str = "") -> int:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
    }  # fmt: skip
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    status = []
    response = app(environ, lambda line, headers, exc_info=None: status.append(line))
    b"".join(response)
    response.close()
    return int(status[0][:3])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=300)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args()
    app = WSGIHandler()
    players = list(User.objects.filter(username__startswith="load").order_by("pk")[:32])
    tokens = [str(AccessToken.for_user(player)) for player in players]
    challenges = os.environ["BENCH_CHALLENGES"].split(",")
    player, token, challenge = players[0], tokens[0], challenges[0]
    body = {"challenge_id": challenge, "score": 85}
    calls = itertools.count(1)

    def one_call_request() -> None:
        index = next(calls)
        payload = json.dumps({"challenge_id": challenges[index % len(challenges)], "score": 85}).encode()
        status = wsgi_call(app, "POST", "/api/v1/attempts", payload, tokens[index % len(tokens)])
        assert status == 201, status

    def pk_update_request() -> None:
        assert wsgi_call(app, "GET", "/bench/pk-update") == 200

    authentication = JWTAuthentication()
    raw_token = token.encode()
    validated = authentication.get_validated_token(raw_token)

    factory = APIRequestFactory()

    def create_view() -> tuple[AttemptViewSet, object]:
        """The view and DRF request of a one-call submit by `player`, its body parsed."""
        view = AttemptViewSet(
            format_kwarg=None, args=(), kwargs={}, headers={}, action_map={"post": "create"}
        )
        request = view.initialize_request(factory.post("/api/v1/attempts", body, format="json"))
        request.user = player
        view.request = request
        request.data  # noqa: B018 - parsed here, as the throttles would
        return view, request

    def throttles() -> None:
        view, request = create_view()
        view.check_throttles(request)

    def validation() -> None:
        AttemptStartSerializer(data=body).is_valid(raise_exception=True)

    schedule_award = jobs.schedule_award
    no_award_slot = mock.patch.object(jobs, "schedule_award", lambda *args, **kwargs: True)

    def statement() -> None:
        # The attempt inserted graded and its post_save; the award slot is timed on its own below.
        with no_award_slot:
            services.attempt_start_and_submit(user=player, challenge_id=uuid.UUID(challenge), score=85)

    award_slot_attempt = uuid.uuid4()
    alone = {
        "JWT decoded and checked": lambda: authentication.get_validated_token(raw_token),
        "the player's row and its checks": lambda: authentication.get_user(validated),
        "throttles (+ request set-up)": throttles,
        "request set-up only": create_view,
        "body validation (serializer)": validation,
        "the statement (INSERT, grading, post_save)": statement,
        "award slot (SET NX)": lambda: schedule_award(award_slot_attempt),
    }
    # The same request with one step taken out: what the step costs inside a whole request, where the
    # code and data around it are not already in the CPU's caches as in a loop of the step alone.
    users = {f"Bearer {t}": User(pk=p.pk) for t, p in zip(tokens, players, strict=True)}
    without = {
        "the throttles": mock.patch.object(AttemptViewSet, "check_throttles", lambda self, request: None),
        "the award slot": no_award_slot,
        "the player's row": mock.patch.object(
            JWTAuthentication,
            "get_user",
            lambda self, token: User(pk=uuid.UUID(token[api_settings.USER_ID_CLAIM])),
        ),
        "the JWT and the player's row": mock.patch.object(
            JWTAuthentication,
            "authenticate",
            lambda self, request: (users[request.META["HTTP_AUTHORIZATION"]], None),
        ),
    }
    # Each whole request: what it calls, under what patch.
    whole = {
        "whole one-call request": (one_call_request, contextlib.nullcontext()),
        "PK-UPDATE view request": (pk_update_request, contextlib.nullcontext()),
        **{f"one-call request without {name}": (one_call_request, patch) for name, patch in without.items()},
    }

    for step in alone.values():  # warm: statements prepared, scripts loaded, caches filled
        for _ in range(50):
            step()
    for request, patch in whole.values():
        with patch:
            for _ in range(50):
                request()
    rounds: dict[str, list[float]] = {name: [] for name in [*whole, *alone]}
    for _ in range(args.rounds):
        for name, (request, patch) in whole.items():
            with patch:
                rounds[name].append(_cpu_us(request, args.repeat))
        for name, step in alone.items():
            rounds[name].append(_cpu_us(step, args.repeat))
    us = {name: round(statistics.median(values), 1) for name, values in rounds.items()}
    us["throttles"] = round(us.pop("throttles (+ request set-up)") - us.pop("request set-up only"), 1)
    full = us["whole one-call request"]
    in_request = {
        "throttles": full - us["one-call request without the throttles"],
        "award slot (SET NX)": full - us["one-call request without the award slot"],
        "the player's row and its checks": full - us["one-call request without the player's row"],
        "JWT decoded and checked": us["one-call request without the player's row"]
        - us["one-call request without the JWT and the player's row"],
    }
    print(
        "STEPSJSON "
        + json.dumps(
            {
                "us_cpu": us,
                "in_request_us_cpu": {name: round(value, 1) for name, value in in_request.items()},
                "rounds": rounds,
                "repeat": args.repeat,
            }
        )
    )


def _cpu_us(call, repeat: int) -> float:
    """This process's CPU time per call of `call`, in microseconds."""
    started = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - started) / repeat * 1e6


if __name__ == "__main__":
    main()
