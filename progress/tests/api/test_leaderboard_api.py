from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from progress.api.serializers import LeaderboardSerializer, leaderboard_data
from progress.api.views import leaderboard_pages
from progress.boards import selectors as board_selectors
from progress.boards import services as board_services
from progress.boards import windows
from progress.models import Follow
from progress.tests.boards.factory import award, challenge, player
from skillquest.cache import RecentPages

pytestmark = pytest.mark.django_db

URL = "/api/v1/leaderboard"


@pytest.fixture(params=["redis", "sql"])
def backend_name(request, settings):
    if request.param == "sql":
        settings.REDIS_URL = ""
    return request.param


def rows(response):
    return [(r["rank"], r["username"], r["xp"], r["level"]) for r in response.json()["results"]]


def test_anyone_reads_the_board_with_ranks_usernames_and_levels(api_client, backend_name):
    now = timezone.now()
    ada = player("ada", (150, now))
    player("Bob", (150, now))
    player("cy", (20, now))
    board_services.rebuild()
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("period", "count", "offset", "limit")} == {
        "period": "all", "count": 3, "offset": 0, "limit": 10,
    }  # fmt: skip
    assert rows(response) == [(1, "ada", 150, 2), (1, "Bob", 150, 2), (3, "cy", 20, 1)]
    assert body["results"][0]["user_id"] == str(ada.pk)
    assert rows(api_client.get(URL, {"limit": 1, "offset": 1})) == [(1, "Bob", 150, 2)]
    assert rows(api_client.get(f"{URL}/", {"period": "week"})) == rows(response)


def test_periods_are_separate_boards(api_client, backend_name):
    now = timezone.now()
    month_start = windows.window_for("month", now).start
    assert month_start is not None
    player("old", (500, month_start - timedelta(days=3)))
    player("new", (10, now))
    board_services.rebuild()
    assert rows(api_client.get(URL, {"period": "all"})) == [(1, "old", 500, 3), (2, "new", 10, 1)]
    assert rows(api_client.get(URL, {"period": "month"})) == [(1, "new", 10, 1)]
    assert api_client.get(URL, {"period": "month"}).json()["period"] == "month"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"offset": 10**30}, "offset"),
        ({"period": "year"}, "period"),
        ({"period": ""}, "period"),
    ],
)
def test_bad_parameters_are_400_per_field(api_client, params, field):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_limit_bounds_are_accepted(api_client):
    assert api_client.get(URL, {"limit": 1}).status_code == 200
    assert api_client.get(URL, {"limit": 100}).status_code == 200


def test_query_count_does_not_grow_with_the_page(api_client, backend_name, django_assert_num_queries):
    now = timezone.now()
    for index in range(30):
        player(f"p{index:02d}", (index + 1, now))
    board_services.rebuild()
    # Redis: one query for the page's usernames and levels. SQL: count, page, rank of the first
    # row, usernames and levels.
    expected = 1 if backend_name == "redis" else 4
    for period in windows.PERIODS:
        for limit in (1, 5, 30):
            with django_assert_num_queries(expected):
                response = api_client.get(URL, {"limit": limit, "period": period})
            assert len(response.json()["results"]) == limit


def test_progress_shows_the_all_time_rank(api_client, backend_name):
    now = timezone.now()
    first = player("first", (300, now))
    tied_a = player("tied-a", (100, now))
    tied_b = player("tied-b", (100, now))
    newcomer = player("newcomer")
    board_services.rebuild()
    ranks = [api_client.get(f"/api/v1/users/{u.pk}/progress").json()["rank"] for u in (first, tied_a, tied_b)]
    assert ranks == [1, 2, 2]
    assert api_client.get(f"/api/v1/users/{newcomer.pk}/progress").json()["rank"] is None


def test_schema_describes_one_board_object_with_its_query_parameters(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/leaderboard/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "period", "limit", "offset", "board", "tag", "around", "k",
    }  # fmt: skip
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Leaderboard"
    }
    entry = schema["components"]["schemas"]["LeaderboardEntry"]["properties"]
    assert set(entry) == {"rank", "user_id", "username", "xp", "level"}


@pytest.fixture
def page_cache(settings):

    # Long enough for the writes a test makes between two reads of one page, on a slow machine too.
    settings.LEADERBOARD_CACHE_SECONDS = 2
    leaderboard_pages.clear()
    yield leaderboard_pages
    leaderboard_pages.clear()


def test_a_page_is_reused_for_a_moment_then_read_afresh(api_client, page_cache, django_assert_num_queries):

    now = timezone.now()
    player("ada", (150, now))
    board_services.rebuild()
    first = api_client.get(URL, {"limit": 5})
    kept_until = time.monotonic() + page_cache.seconds()  # stored before its answer came back
    bob = player("bob", (300, now))
    board_services.rebuild()
    with django_assert_num_queries(0):  # from this process's memory: no SQL, no Redis board read
        assert api_client.get(URL, {"limit": 5}).json() == first.json()
    assert rows(api_client.get(URL, {"limit": 6}))[0][1] == "bob"  # another query is another page
    time.sleep(max(0.0, kept_until - time.monotonic()))
    fresh = api_client.get(URL, {"limit": 5}).json()
    assert fresh["count"] == 2 and fresh["results"][0]["user_id"] == str(bob.pk)


def test_bad_parameters_are_never_served_from_the_cache(api_client, page_cache):
    for _ in range(2):
        assert api_client.get(URL, {"limit": 0}).status_code == 400
    assert len(page_cache._entries) == 0


def test_the_page_cache_is_bounded_and_off_at_zero_seconds(settings):

    pages = RecentPages(seconds=lambda: 60, max_entries=3)
    for key in "abcd":
        pages.put(key, key.upper())
    assert [pages.get(key) for key in "abcd"] == [None, "B", "C", "D"]  # the oldest made room
    off = RecentPages(seconds=lambda: 0)
    off.put("a", "A")
    assert off.get("a") is None


def test_junk_parameters_do_not_fill_the_page_cache(api_client, page_cache):
    for junk in range(5):
        assert api_client.get(URL, {"limit": 5, "junk": junk}).status_code == 200
    assert list(page_cache._entries) == ["|5|||||"]


class TestMoreBoards:
    """board=friends, tag=<slug>, around=me: who may ask, and what each answers."""

    @pytest.fixture
    def ladder(self):
        now = timezone.now()
        regex = challenge("regex-golf", ("regex",))
        ada, bob, cy = player("ada", (100, now)), player("bob", (50, now)), player("cy", (10, now))
        award(cy, 5, now, regex)
        Follow.objects.create(follower=bob, followed=cy)
        board_services.rebuild()
        return ada, bob, cy

    def test_a_tag_board(self, api_client, ladder, backend_name):
        body = api_client.get(URL, {"tag": "regex"}).json()
        assert (body["tag"], body["board"], body["count"]) == ("regex", "global", 1)
        assert rows(api_client.get(URL, {"tag": "regex"})) == [(1, "cy", 5, 1)]

    def test_an_unknown_tag_is_404(self, api_client, ladder):
        response = api_client.get(URL, {"tag": "no-such-tag"})
        assert (response.status_code, response.json()["code"]) == (404, "tag_not_found")

    def test_the_friends_board_of_the_signed_in_player(self, api_client, ladder, backend_name):
        _, bob, _ = ladder
        api_client.force_authenticate(bob)
        body = api_client.get(URL, {"board": "friends"}).json()
        assert (body["board"], body["count"], "me" in body) == ("friends", 2, False)
        assert rows(api_client.get(URL, {"board": "friends"})) == [(1, "bob", 50, 1), (2, "cy", 15, 1)]

    def test_around_me_says_where_i_stand(self, api_client, ladder, backend_name):
        _, bob, _ = ladder
        api_client.force_authenticate(bob)
        body = api_client.get(URL, {"around": "me", "k": 1}).json()
        assert [r["username"] for r in body["results"]] == ["ada", "bob", "cy"]
        assert (body["offset"], body["limit"], body["me"]) == (0, 3, {"rank": 2, "xp": 50, "on_board": True})

    def test_around_me_without_xp_has_my_row_with_no_rank(self, api_client, ladder):
        newcomer = player("newcomer")
        api_client.force_authenticate(newcomer)
        body = api_client.get(URL, {"around": "me", "k": 1}).json()
        assert [(r["rank"], r["username"]) for r in body["results"]] == [(3, "cy"), (None, "newcomer")]
        assert body["me"] == {"rank": None, "xp": 0, "on_board": False}

    @pytest.mark.parametrize(
        "query", [{"board": "friends"}, {"around": "me"}, {"board": "friends", "around": "me"}]
    )
    def test_personal_boards_need_a_signed_in_player(self, api_client, ladder, query):
        response = api_client.get(URL, query)
        assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")

    @pytest.mark.parametrize(
        "query",
        [{"k": 0}, {"k": 51}, {"k": "x"}, {"around": "you"}, {"board": "enemies"}, {"tag": "not a slug"}],
    )
    def test_bad_parameters_are_400(self, api_client, ladder, query):
        api_client.force_authenticate(ladder[0])
        response = api_client.get(URL, {"around": "me", **query})
        assert response.status_code == 400
        assert set(response.json()) <= {"k", "around", "board", "tag"}

    def test_personal_answers_are_never_reused_for_someone_else(self, api_client, ladder, page_cache):
        ada, bob, _ = ladder
        api_client.force_authenticate(bob)
        assert api_client.get(URL, {"around": "me", "k": 1}).json()["me"]["rank"] == 2
        api_client.force_authenticate(ada)
        assert api_client.get(URL, {"around": "me", "k": 1}).json()["me"]["rank"] == 1
        assert len(page_cache._entries) == 0


def test_the_plain_renderer_matches_the_documented_serializer(api_client, backend_name):
    now = timezone.now()
    ada = player("ada", (100, now))
    player("bob", (50, now))
    board_services.rebuild()
    for page in (board_selectors.top("all", limit=5), board_selectors.around(ada, "all", k=1)):
        assert leaderboard_data(page) == dict(LeaderboardSerializer(page).data)
