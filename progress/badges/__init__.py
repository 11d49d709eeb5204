"""Badges: how a badge is decided, and who holds which.

- `conditions/`: one class per condition type, each owning its validation, its Python check, the
  statistics it reads and its set-based SQL.
- `stats`: the one loader of those statistics, for a batch of players.
- `services`: the one evaluator (award job, re-evaluation), the set-based award for recalculation,
  and the staff's create/update/delete. The rules never take a badge away; staff revoke an award
  with a reason (`progress.openbadges.services`).
- `selectors`: the catalogue and the badges players hold.
"""
