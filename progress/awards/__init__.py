"""XP awards: the rules, the award of graded attempts exactly once, and recalculation.

- `rules`: the XP and level formulas (pure; mirrored in SQL by `recalc`, with a test that they agree).
- `compute`: what a batch of claimed attempts pays, from the rules (pure).
- `services`: `awards_process` claims pending attempts, computes, writes totals, levels and badges
  in one transaction; `xp_recalculate` recomputes everything from the database.
- `recalc`: the set-based SQL of recalculation.
"""
