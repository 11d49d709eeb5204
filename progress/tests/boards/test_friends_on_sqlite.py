"""The boards of the SQLite quickstart rank as PostgreSQL's and Redis' do: the friends board (its
followed players' XP read from the tables and ranked in Python; "C" byte order is SQLite's own),
and the public boards, whose names and levels come from a prebuilt statement (`IN`, not `ANY`)."""

from __future__ import annotations

from skillquest.tests.test_service_endpoints import quickstart

SCRIPT = """
import django; django.setup()
from django.core.management import call_command; call_command('migrate', verbosity=0)
from accounts.models import User
from progress.boards import selectors
from progress.models import Follow
def player(name, xp, visible=True):
    return User.objects.create(username=name, email=f'{name}@example.com', total_xp=xp,
                               leaderboard_visible=visible)
me = player('me', 50)
for name, xp in [('b.top', 90), ('a_tie', 70), ('B-tie', 70), ('low', 10), ('none', 0)]:
    Follow.objects.create(follower=me, followed=player(name, xp))
Follow.objects.create(follower=me, followed=player('hidden', 500, visible=False))
def show(page):
    return [(e.rank, e.username, e.xp) for e in page.results], page.count, page.offset, page.me
print(show(selectors.top(limit=3)))
print(show(selectors.around(me, k=1)))
print(show(selectors.friends(me)))
print(show(selectors.friends(me, limit=2, offset=1)))
print(show(selectors.friends(me, around_k=1)))
print(show(selectors.friends(player('newcomer', 0), around_k=1)))
"""


def test_the_friends_and_public_boards_rank_alike_on_the_sqlite_quickstart(tmp_path):
    result = quickstart(SCRIPT, tmp_path)
    assert result.returncode == 0, result.stderr
    top, around_me, page, part, around, newcomer = result.stdout.strip().splitlines()[-6:]
    # The public boards' names and levels come from one statement too (`IN` on SQLite, not `ANY`).
    assert top == "([(1, 'b.top', 90), (2, 'a_tie', 70), (2, 'B-tie', 70)], 5, 0, None)"
    assert around_me == (
        "([(2, 'B-tie', 70), (4, 'me', 50), (5, 'low', 10)], 5, 2, Me(rank=4, xp=50, on_board=True))"
    )
    # Ties by lower-cased username in byte order: "a_tie" < "b-tie" ("_" is 0x5f, "b" 0x62).
    assert page == (
        "([(1, 'b.top', 90), (2, 'a_tie', 70), (2, 'B-tie', 70), (4, 'me', 50), (5, 'low', 10)], 5, 0, None)"
    )
    assert part == "([(2, 'a_tie', 70), (2, 'B-tie', 70)], 5, 1, None)"
    assert around == (
        "([(2, 'B-tie', 70), (4, 'me', 50), (5, 'low', 10)], 5, 2, Me(rank=4, xp=50, on_board=True))"
    )
    assert newcomer == "([(None, 'newcomer', 0)], 0, 0, Me(rank=None, xp=0, on_board=False))"
