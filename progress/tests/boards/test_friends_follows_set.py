"""On Redis a friends board intersects the viewer's follows set with the board: the set follows every
follow and unfollow, a fill that raced a follow is not kept, an unread set expires, and a rebuild
(after a rename) drops the sets that name players by their old names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.models import User
from progress.boards import selectors as board_selectors
from progress.boards import services as board_services
from progress.boards.backends import FOLLOWS_SECONDS, RedisBackend, follows_keys
from progress.boards.ranks import Me
from progress.boards.windows import window_for
from progress.models import Follow
from progress.social.services import follow_create, follow_delete
from progress.tests.boards.factory import player

pytestmark = pytest.mark.django_db

AT = datetime(2037, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def redis_backend() -> RedisBackend:
    return RedisBackend()


@pytest.fixture
def follows(django_capture_on_commit_callbacks):
    """Follow or unfollow as the API does, its after-commit work run."""

    def change(follower: User, *followed: User, stop: bool = False) -> None:
        for user in followed:
            with django_capture_on_commit_callbacks(execute=True):
                if stop:
                    follow_delete(follower=follower, followed_id=user.pk)
                else:
                    follow_create(follower=follower, followed_id=user.pk)

    return change


def rows(viewer: User, backend: RedisBackend, **kwargs) -> list[tuple[int | None, str, int]]:
    page = board_selectors.friends(viewer, "all", at=AT, backend=backend, **kwargs)
    return [(entry.rank, entry.username, entry.xp) for entry in page.results]


def test_a_follow_and_an_unfollow_show_on_the_next_read(redis_backend, follows):
    me, ada, bob = player("me", (50, AT)), player("ada", (70, AT)), player("bob", (30, AT))
    board_services.rebuild(at=AT, backend=redis_backend)
    assert rows(me, redis_backend) == [(1, "me", 50)]  # following nobody: a set of one
    follows(me, ada)
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50)]
    follows(me, bob)
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50), (3, "bob", 30)]
    follows(me, ada, stop=True)
    assert rows(me, redis_backend) == [(1, "me", 50), (2, "bob", 30)]


def test_a_fill_that_read_the_follows_before_a_follow_committed_is_not_kept(redis_backend, follows):
    me, ada, bob = player("me", (50, AT)), player("ada", (70, AT)), player("bob", (30, AT))
    follows(me, ada)
    board_services.rebuild(at=AT, backend=redis_backend)

    def read_then_bob_is_followed() -> list[User]:
        followed = [ada]  # what the database said before the follow below committed
        follows(me, bob)
        return followed

    window = window_for("all", AT)
    found = redis_backend.friends(window, me, read_then_bob_is_followed, limit=10, offset=0, around_k=None)
    assert found is None
    assert not redis_backend.redis.exists(follows_keys(me.pk)[0])
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50), (3, "bob", 30)]


def test_a_set_lives_a_fixed_time_from_its_fill_however_often_it_is_read(redis_backend, follows):
    me, ada, bob = player("me", (50, AT)), player("ada", (70, AT)), player("bob", (30, AT))
    follows(me, ada)
    board_services.rebuild(at=AT, backend=redis_backend)
    key = follows_keys(me.pk)[0]
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50)]
    assert FOLLOWS_SECONDS - 5 < redis_backend.redis.ttl(key) <= FOLLOWS_SECONDS
    # A follow whose drop was lost (Redis down as it committed): the set is stale until it expires,
    # and reading it does not keep it longer.
    Follow.objects.create(follower=me, followed=bob)
    redis_backend.redis.expire(key, 5)
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50)]
    assert redis_backend.redis.ttl(key) <= 5
    redis_backend.redis.delete(key)  # as it expires
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50), (3, "bob", 30)]
    assert redis_backend.redis.exists(key)


def test_a_rebuild_after_a_rename_drops_the_sets_naming_the_old_name(redis_backend, follows):
    me, ada = player("me", (50, AT)), player("ada", (70, AT))
    follows(me, ada)
    board_services.rebuild(at=AT, backend=redis_backend)
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50)]
    User.objects.filter(pk=ada.pk).update(username="zed")  # staff rename it, then rebuild the boards
    board_services.rebuild(at=AT, backend=redis_backend)
    assert rows(me, redis_backend) == [(1, "zed", 70), (2, "me", 50)]


def test_a_forgotten_player_leaves_friends_boards_and_the_sets_are_left_alone(redis_backend, follows):
    me, ada = player("me", (50, AT)), player("ada", (70, AT))
    follows(me, ada)
    board_services.rebuild(at=AT, backend=redis_backend)
    assert rows(me, redis_backend) == [(1, "ada", 70), (2, "me", 50)]
    assert board_services.player_forget(user_id=ada.pk, username=ada.username)
    assert rows(me, redis_backend) == [(1, "me", 50)]
    assert redis_backend.redis.type(follows_keys(me.pk)[0]) == b"set"


def test_pages_and_around_me_rank_ties_by_username(redis_backend, follows):
    me = player("me", (50, AT))
    others = [player(name, (xp, AT)) for name, xp in [("b", 90), ("a", 90), ("c", 50), ("d", 10)]]
    quiet = player("quiet")  # no XP: not on the board
    follows(me, *others, quiet)
    board_services.rebuild(at=AT, backend=redis_backend)
    assert rows(me, redis_backend) == [(1, "a", 90), (1, "b", 90), (3, "c", 50), (3, "me", 50), (5, "d", 10)]
    assert rows(me, redis_backend, limit=2, offset=2) == [(3, "c", 50), (3, "me", 50)]
    assert rows(me, redis_backend, limit=5, offset=9) == []
    page = board_selectors.friends(me, "all", around_k=1, at=AT, backend=redis_backend)
    assert page.offset == 2 and page.count == 5 and page.me == Me(rank=3, xp=50, on_board=True)
    assert [(e.rank, e.username) for e in page.results] == [(3, "c"), (3, "me"), (5, "d")]
    # A viewer with no XP: the board's last k rows, then their own without a rank.
    page = board_selectors.friends(quiet, "all", around_k=1, at=AT, backend=redis_backend)
    assert [(e.rank, e.username) for e in page.results] == [(None, "quiet")]
    follows(quiet, me, *others)
    page = board_selectors.friends(quiet, "all", around_k=2, at=AT, backend=redis_backend)
    assert (page.offset, page.count, page.me) == (3, 5, Me(rank=None, xp=0, on_board=False))
    assert [(e.rank, e.username) for e in page.results] == [(3, "me"), (5, "d"), (None, "quiet")]
