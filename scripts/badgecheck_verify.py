"""Run the 1EdTech Open Badges validator on one badge, offline except for the URLs it names.

Runs in .venv-badgecheck (make .venv-badgecheck/.installed), not in the project's venv:
    .venv-badgecheck/bin/python scripts/badgecheck_verify.py URL|FILE [--email ADDRESS]
URL is an assertion URL or a baked image URL, FILE a baked image on disk; --email is the recipient the
assertion must name. Prints the validator's report as JSON.

The validator compacts every document against the Open Badges JSON-LD context, which it would fetch
from https://w3id.org/openbadges/v2. It accepts a requests-cache backend as an option
(`cache_backend`), and every HTTP session it opens (JSON-LD loader, node and image fetches) reads that
one backend: it is handed one already holding the context, from the copy the validator itself ships
(`openbadges.verifier.openbadges_context.OPENBADGES_CONTEXT_V2_DICT`). Everything else is fetched for
real, from the server under test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests
from openbadges import verify
from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT, OPENBADGES_CONTEXT_V2_URI
from requests_cache.backends.base import BaseCache


def cache_with_context() -> BaseCache:
    cache = BaseCache()
    request = requests.Request("GET", OPENBADGES_CONTEXT_V2_URI).prepare()
    response = requests.Response()
    response.status_code = 200
    response.url = OPENBADGES_CONTEXT_V2_URI
    response.request = request
    response.encoding = "utf-8"
    response.headers["Content-Type"] = "application/ld+json"
    response._content = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode()
    cache.save_response(cache.create_key(request), response)
    return cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("badge", help="an assertion or baked image URL, or a baked image file")
    parser.add_argument("--email", help="the recipient the assertion must name")
    args = parser.parse_args()
    recipient = {"email": args.email} if args.email else None
    if Path(args.badge).is_file():
        with open(args.badge, "rb") as image:
            report = verify(image, recipient_profile=recipient, cache_backend=cache_with_context())
    else:
        report = verify(args.badge, recipient_profile=recipient, cache_backend=cache_with_context())
    json.dump(report, sys.stdout, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
