"""Pages of playing together: Follow on profiles; the leaderboard's friends, tag and around-me tabs."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from progress.boards import services as board_services
from progress.models import Follow
from progress.tests.boards.factory import award, challenge, player

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[tuple[str, str]]:
    """(rank, username) of each row of the leaderboard tables, in order."""
    return re.findall(r'<td>([^<]*)</td>\s*<td><a href="/u/[^/]+/">([^<]+)</a>', html)


@pytest.fixture
def ladder():
    now = timezone.now()
    regex = challenge("regex-golf", ("regex",))
    made = {name: player(name, (xp, now)) for name, xp in [("ada", 90), ("bob", 70), ("cy", 50), ("dee", 30)]}
    award(made["cy"], 5, now, regex)
    board_services.rebuild()
    return made


class TestFollowButton:
    def test_a_player_follows_and_unfollows_from_a_profile(self, client, user, ladder):
        client.force_login(user)
        page = client.get("/u/bob/").content.decode()
        assert "data-follow>" in page and "0 followers" in page
        assert client.post("/u/bob/follow/").url == "/u/bob/"
        assert Follow.objects.filter(follower=user, followed=ladder["bob"]).exists()
        page = client.get("/u/bob/").content.decode()
        assert "data-unfollow>" in page and "1 follower ·" in page
        client.post("/u/bob/unfollow/")
        assert not Follow.objects.exists()

    def test_your_own_profile_has_no_follow_button_and_following_yourself_is_refused(self, client, user):
        client.force_login(user)
        assert "data-follow>" not in client.get("/u/alice/").content.decode()
        response = client.post("/u/alice/follow/", follow=True)
        assert "You cannot follow yourself." in response.content.decode()
        assert not Follow.objects.exists()

    def test_anonymous_visitors_see_counts_and_are_sent_to_log_in(self, client, ladder):
        assert "data-follow>" not in client.get("/u/bob/").content.decode()
        response = client.post("/u/bob/follow/")
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
        assert not Follow.objects.exists()


class TestLeaderboardTabs:
    def test_the_friends_tab_lists_me_and_whom_i_follow(self, client, user, ladder):
        award(user, 60, timezone.now())
        Follow.objects.create(follower=user, followed=ladder["dee"])
        board_services.rebuild()
        client.force_login(user)
        html = client.get("/leaderboard/?board=friends").content.decode()
        assert rows(html) == [("1", "alice"), ("2", "dee")]
        assert 'aria-current="page">Friends' in html

    def test_a_tag_tab_ranks_only_its_challenges(self, client, ladder):
        html = client.get("/leaderboard/?tag=regex").content.decode()
        assert rows(html) == [("1", "cy")]
        assert 'aria-current="page">Regex' in html
        assert client.get("/leaderboard/?tag=nope").status_code == 404

    def test_around_me_shows_my_neighbours(self, client, ladder):
        client.force_login(ladder["dee"])
        html = client.get("/leaderboard/?view=around").content.decode()
        assert rows(html) == [("1", "ada"), ("2", "bob"), ("3", "cy"), ("4", "dee")]
        assert re.search(r'class="you"[^>]*>\s*<td>4</td>', html)

    def test_around_me_without_xp_shows_my_row_unranked(self, client, user, ladder):
        client.force_login(user)
        html = client.get("/leaderboard/?view=around").content.decode()
        assert rows(html)[-1] == ("\N{EN DASH}", "alice")  # no rank

    def test_tabs_keep_the_rest_of_the_query(self, client, user, ladder):
        client.force_login(user)
        html = client.get("/leaderboard/?period=week&tag=regex").content.decode()
        assert 'href="?period=week&amp;board=friends&amp;tag=regex"' in html
        assert 'href="?period=month&amp;tag=regex"' in html

    def test_a_hidden_player_is_told_why_they_are_not_seen(self, client, ladder):
        hidden = ladder["bob"]
        hidden.leaderboard_visible = False
        hidden.save(update_fields=["leaderboard_visible"])
        board_services.rebuild()
        client.force_login(hidden)
        html = client.get("/leaderboard/").content.decode()
        assert "data-hidden-note" in html
        assert ("2", "bob") in rows(html)  # their own row, below the board
        assert [name for _, name in rows(Client().get("/leaderboard/").content.decode())] == [
            "ada",
            "cy",
            "dee",
        ]
