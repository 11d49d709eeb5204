"""Signals accounts sends for what other apps keep about a player (accounts imports none of them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the erasing transaction, with `user_id` and the `username` the player had before it
# was replaced: receivers schedule their own clean-up on commit (progress takes the player off the
# leaderboards, whose members are named by username).
account_erased = Signal()

# Sent inside the transaction that changes `leaderboard_visible` (or, in the admin, `is_active`), with
# `user_id`, `username` and whether the player now shows (`visible`: active and not opted out):
# progress takes the player off every public board, or puts them back, on commit.
leaderboard_visibility_changed = Signal()
