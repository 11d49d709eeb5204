"""Daily quests: staff define them, players complete them within one local day of play.

- `kinds/`: one class per quest kind (its params, its target, its progress over a day, its words).
- `days`: a player's local day (their zone, DST-correct) and what they did in it, loaded for many
  players at once.
- `services`: staff edits, and `quests_pay`, which the award job calls inside its transaction to pay
  each quest whose target the batch's awards reached, once per player, quest and day.
- `selectors`: the signed-in player's quests of today (`GET /api/v1/quests/today`, home and profile).

A reward is a `quest` entry of the XP ledger whose idempotency key names the quest, the player and the
local day (`quest:<quest>:<player>:<YYYY-MM-DD>`): the key, unique in the database, is what pays it
once; the player's row lock, held by the award job, makes a second payer see the first one's entry.
"""
