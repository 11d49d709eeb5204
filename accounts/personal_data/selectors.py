"""The export: every holding about a player, as one JSON document produced piece by piece."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from accounts.models import User
from accounts.personal_data.registry import holdings

FORMAT = "skillquest-export/1"
ACCOUNT_FIELDS = (
    "id", "username", "email", "email_verified_at", "pending_email", "first_name", "last_name", "profile",
    "timezone", "total_xp", "level", "is_staff", "created_at", "date_joined", "last_login",
)  # fmt: skip
# Rows per piece of the stream: memory stays flat whatever the number of attempts.
CHUNK_ROWS = 1000


def _dumps(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def export_chunks(*, user: User) -> Iterator[str]:
    """{"format", "exported_at", "account": {...}, "<holding>": [rows...], ...}, in pieces.

    Each holding is read with a server-side cursor (`iterator`), so neither the rows nor the document
    are ever all in memory (bench/export.py measures the peak) — except with
    DISABLE_SERVER_SIDE_CURSORS (behind PgBouncer), where the rows arrive client-side first.
    """
    account = {name: getattr(user, name) for name in ACCOUNT_FIELDS}
    yield f'{{"format":{_dumps(FORMAT)},"exported_at":{_dumps(timezone.now())},"account":{_dumps(account)}'
    for holding in holdings():
        yield f",{_dumps(holding.name)}:["
        batch: list[str] = []
        first = True
        for row in holding.rows(user.pk).iterator(chunk_size=CHUNK_ROWS):
            batch.append(_dumps(row))
            if len(batch) == CHUNK_ROWS:
                yield ("" if first else ",") + ",".join(batch)
                first, batch = False, []
        if batch:
            yield ("" if first else ",") + ",".join(batch)
        yield "]"
    yield "}"
