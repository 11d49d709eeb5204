"""Tag boards, friends boards, the rows around a player and opting out, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from progress.boards import selectors as board_selectors
from progress.boards import services as board_services
from progress.boards.backends import RedisBackend, SqlBackend
from progress.boards.ranks import Me
from progress.ledger.services import xp_grant
from progress.models import Follow
from progress.tests.boards.factory import award, challenge, player, rank_of

pytestmark = pytest.mark.django_db

AT = datetime(2037, 4, 1, 12, 0, tzinfo=UTC)  # in the future: Redis keeps windowed boards until then
LAST_MONTH = datetime(2037, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sql", "redis"])
def backend(request):
    return SqlBackend() if request.param == "sql" else RedisBackend()


def sync(backend) -> None:
    board_services.rebuild(at=AT, backend=backend)


def rows(page) -> list[tuple[int | None, str, int]]:
    return [(entry.rank, entry.username, entry.xp) for entry in page.results]


def follow(follower, *followed) -> None:
    for user in followed:
        Follow.objects.create(follower=follower, followed=user)


class TestTagBoards:
    def test_a_tag_board_counts_only_what_attempts_on_its_challenges_paid(self, backend, staff_user):
        regex, both, plain = challenge("r", ("regex",)), challenge("rs", ("regex", "sql")), challenge()
        ada, bob = player("ada"), player("bob")
        award(ada, 50, AT, regex)
        award(ada, 30, AT, both)
        award(ada, 500, AT, plain)
        award(bob, 60, LAST_MONTH, both)
        xp_grant(user_id=bob.pk, amount=1000, reason="A staff grant has no challenge", actor=staff_user)
        sync(backend)
        assert rows(board_selectors.top("all", tag="regex", at=AT, backend=backend)) == [
            (1, "ada", 80),
            (2, "bob", 60),
        ]
        assert rows(board_selectors.top("all", tag="sql", at=AT, backend=backend)) == [
            (1, "bob", 60),
            (2, "ada", 30),
        ]
        assert rows(board_selectors.top("month", tag="sql", at=AT, backend=backend)) == [(1, "ada", 30)]
        assert board_selectors.top("all", tag="nothing-here", at=AT, backend=backend).count == 0

    def test_the_award_path_writes_the_tag_boards_of_the_awarded_challenge(self):
        regex = challenge("r", ("regex",))
        ada = player("ada")
        board_services.record_awards([award(ada, 40, AT, regex)])
        board_services.record_awards([award(ada, 2, AT)])  # untagged: the regex board keeps 40
        assert rows(board_selectors.top("week", tag="regex", at=AT)) == [(1, "ada", 40)]
        assert rows(board_selectors.top("week", at=AT)) == [(1, "ada", 42)]


class TestFriendsBoards:
    def test_me_and_whom_i_follow_ranked_among_ourselves(self, backend):
        me = player("me", (100, AT))
        tied, low, stranger = player("tied", (100, AT)), player("low", (10, AT)), player("top", (999, AT))
        quiet = player("quiet")  # followed, no XP: not on the board
        follow(me, tied, low, quiet)
        follow(stranger, me)  # who follows me does not matter
        sync(backend)
        page = board_selectors.friends(me, "all", at=AT, backend=backend)
        assert (page.board, page.count, rows(page)) == (
            "friends",
            3,
            [(1, "me", 100), (1, "tied", 100), (3, "low", 10)],
        )
        assert rows(board_selectors.friends(me, "all", limit=1, offset=2, at=AT, backend=backend)) == [
            (3, "low", 10)
        ]
        assert rows(board_selectors.friends(stranger, "all", at=AT, backend=backend)) == [
            (1, "top", 999),
            (2, "me", 100),
        ]

    def test_a_friends_board_follows_the_period_and_the_tag(self, backend):
        regex = challenge("r", ("regex",))
        me, old = player("me"), player("old", (500, LAST_MONTH))
        award(me, 20, AT, regex)
        follow(me, old)
        sync(backend)
        assert rows(board_selectors.friends(me, "all", at=AT, backend=backend)) == [
            (1, "old", 500),
            (2, "me", 20),
        ]
        assert rows(board_selectors.friends(me, "month", at=AT, backend=backend)) == [(1, "me", 20)]
        assert rows(board_selectors.friends(me, "all", tag="regex", at=AT, backend=backend)) == [
            (1, "me", 20)
        ]

    def test_around_me_on_a_friends_board(self, backend):
        me = player("me", (50, AT))
        others = [player(f"p{xp}", (xp, AT)) for xp in (90, 80, 70, 40, 30)]
        follow(me, *others)
        sync(backend)
        page = board_selectors.friends(me, "all", around_k=1, at=AT, backend=backend)
        assert (rows(page), page.offset, page.me) == (
            [(3, "p70", 70), (4, "me", 50), (5, "p40", 40)],
            2,
            Me(rank=4, xp=50, on_board=True),
        )


class TestAroundMe:
    @pytest.fixture
    def ladder(self):
        # Ranks 1, 2, 3, 3, 5, 6, 7 (two players tie at 70).
        return {
            name: player(name, (xp, AT))
            for name, xp in [("a", 100), ("b", 90), ("c", 70), ("d", 70), ("e", 50), ("f", 40), ("g", 30)]
        }

    def test_k_players_above_and_below_with_their_true_ranks(self, backend, ladder):
        sync(backend)
        page = board_selectors.around(ladder["d"], "all", k=2, at=AT, backend=backend)
        assert rows(page) == [(2, "b", 90), (3, "c", 70), (3, "d", 70), (5, "e", 50), (6, "f", 40)]
        assert (page.offset, page.limit, page.count, page.me) == (1, 5, 7, Me(rank=3, xp=70, on_board=True))

    def test_near_the_top_there_is_nobody_above(self, backend, ladder):
        sync(backend)
        assert rows(board_selectors.around(ladder["a"], "all", k=2, at=AT, backend=backend)) == [
            (1, "a", 100),
            (2, "b", 90),
            (3, "c", 70),
        ]

    def test_a_player_without_xp_comes_after_the_last_k_with_no_rank(self, backend, ladder):
        newcomer = player("newcomer")
        sync(backend)
        page = board_selectors.around(newcomer, "all", k=2, at=AT, backend=backend)
        assert rows(page) == [(6, "f", 40), (7, "g", 30), (None, "newcomer", 0)]
        assert page.me == Me(rank=None, xp=0, on_board=False)

    def test_a_hidden_player_sees_where_they_would_rank_without_being_counted(self, backend, ladder):
        hidden = player("hidden", (70, AT), visible=False)
        sync(backend)
        page = board_selectors.around(hidden, "all", k=1, at=AT, backend=backend)
        assert rows(page) == [(2, "b", 90), (3, "hidden", 70), (3, "c", 70)]
        assert page.me == Me(rank=3, xp=70, on_board=False)
        # Nobody else's rank counts them.
        assert rows(board_selectors.around(ladder["e"], "all", k=1, at=AT, backend=backend))[1] == (
            5,
            "e",
            50,
        )


class TestOptingOut:
    def test_a_hidden_player_is_on_no_public_board_and_on_nobody_elses_friends_board(self, backend):
        regex = challenge("r", ("regex",))
        hidden, fan = player("hidden", visible=False), player("fan", (5, AT))
        award(hidden, 80, AT, regex)
        follow(fan, hidden)
        follow(hidden, fan)
        sync(backend)
        for period in ("all", "week", "month"):
            assert [e.username for e in board_selectors.top(period, at=AT, backend=backend).results] == [
                "fan"
            ]
            assert board_selectors.top(period, tag="regex", at=AT, backend=backend).count == 0
        assert rows(board_selectors.friends(fan, "all", at=AT, backend=backend)) == [(1, "fan", 5)]
        # Their own friends board and their own standing still show them.
        assert rows(board_selectors.friends(hidden, "all", at=AT, backend=backend)) == [
            (1, "hidden", 80),
            (2, "fan", 5),
        ]
        assert rank_of(hidden, "all", at=AT, backend=backend) is None
        own = board_selectors.own_standing(hidden, "all", at=AT, backend=backend)
        assert own is not None and (own.rank, own.xp) == (1, 80)

    def test_the_award_path_takes_a_hidden_player_off_the_redis_boards(self):
        regex = challenge("r", ("regex",))
        ada = player("ada")
        board_services.record_awards([award(ada, 40, AT, regex)])
        assert board_selectors.top("all", tag="regex", at=AT).count == 1
        ada.leaderboard_visible = False
        ada.save(update_fields=["leaderboard_visible"])
        board_services.record_awards([award(ada, 5, AT, regex)])
        assert board_selectors.top("all", at=AT).count == 0
        assert board_selectors.top("week", tag="regex", at=AT).count == 0
