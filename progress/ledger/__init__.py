"""The XP ledger: every change of a player's XP is an append-only `XpEntry`.

- `services`: appending entries and moving the totals with them (the one writer every source uses),
  staff grants and revocations.
- `selectors`: a player's history, and the check that every total equals its entries.
- `recalc`: recalculation as a diff against the ledger, dry run or applied as `recalc` entries.
"""
