"""Signals accounts sends for what other apps keep about a player (accounts imports none of them)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the erasing transaction, with `user_id` and the `username` the player had before it
# was replaced: receivers schedule their own clean-up on commit (progress takes the player off the
# leaderboards, whose members are named by username).
account_erased = Signal()
