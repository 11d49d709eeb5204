"""Following and unfollowing players."""

from __future__ import annotations

import uuid
from functools import partial

from django.db import transaction

from accounts.models import User
from progress.boards import services as boards
from progress.models import Follow
from progress.players.selectors import player_visible
from skillquest.errors import InvalidInput


@transaction.atomic
def follow_create(*, follower: User, followed_id: uuid.UUID) -> tuple[Follow, bool]:
    """Follow an active player; returns the follow and whether it is new (following again is no error).

    The follower's row is locked first, so two requests of one player are counted one after the
    other: the limit holds, and the same player followed twice at once is one follow.
    """
    if followed_id == follower.pk:
        raise InvalidInput("You cannot follow yourself.", code="cannot_follow_self")
    followed = player_visible(user_id=followed_id)
    User.objects.select_for_update().filter(pk=follower.pk).values_list("pk").get()
    existing = Follow.objects.filter(follower=follower, followed=followed).first()
    if existing is not None:
        return existing, False
    if Follow.objects.filter(follower=follower).count() >= Follow.MAX_FOLLOWING:
        raise InvalidInput(
            f"You already follow {Follow.MAX_FOLLOWING:,} players, the most allowed; unfollow one first.",
            code="follow_limit_reached",
        )
    follow = Follow.objects.create(follower=follower, followed=followed)
    transaction.on_commit(partial(boards.follows_changed, user_id=follower.pk))
    return follow, True


@transaction.atomic
def follow_delete(*, follower: User, followed_id: uuid.UUID) -> bool:
    """Stop following a player; False if the viewer was not following them (no error either way)."""
    deleted, _ = Follow.objects.filter(follower=follower, followed_id=followed_id).delete()
    if deleted:
        transaction.on_commit(partial(boards.follows_changed, user_id=follower.pk))
    return bool(deleted)
