"""XP awards: the rules and the award of graded attempts exactly once.

- `rules`: the XP and level formulas (pure; mirrored in SQL by `progress.ledger.sql`, with a test
  that they agree).
- `compute`: what a batch of claimed attempts pays, from the rules (pure).
- `services`: `awards_process` claims pending attempts, computes, writes their ledger entries with
  the totals and levels, and the badges, in one transaction.

Recalculation, which compares every player's ledger with what the rules owe them, is in
`progress.ledger`.
"""
