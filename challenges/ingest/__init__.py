"""Server-to-server score ingestion with API keys.

- `services`: issue and revoke keys (audited), and `attempt_ingest`, which records a graded attempt for
  a player once per (key, idempotency key) and leaves its award to the same job as a submit.
- `authentication`: `Authorization: Api-Key <key>` for DRF, the key's scopes, and its OpenAPI scheme.
- `selectors`: the keys for staff.
"""
