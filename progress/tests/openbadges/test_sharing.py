"""Where a player finds an award's assertion URL: `assertion_url` in their badge list and progress, and
the "Share" links on their profile page (plain links: the CSP allows no inline script)."""

from __future__ import annotations

import re

import pytest

from progress.tests.openbadges.conftest import SITE

pytestmark = pytest.mark.django_db


def test_the_badge_list_gives_each_award_its_id_and_assertion_url(api_client, award, verified):
    [listed] = api_client.get(f"/api/v1/users/{verified.pk}/badges").json()
    assert listed["id"] == str(award.pk)
    assert listed["assertion_url"] == f"{SITE}/ob/assertions/{award.assertion_id}"
    assert api_client.get(listed["assertion_url"].removeprefix(SITE)).status_code == 200


def test_the_badge_list_keeps_its_query_count(api_client, make_award, verified, django_assert_num_queries):
    for name in ("One", "Two", "Three"):
        make_award(name=name)
    with django_assert_num_queries(2):
        assert len(api_client.get(f"/api/v1/users/{verified.pk}/badges").json()) == 3


def test_progress_lists_the_same_assertion_url(api_client, award, verified):
    [earned] = api_client.get(f"/api/v1/users/{verified.pk}/progress").json()["badges"]
    assert earned["assertion_url"] == f"{SITE}/ob/assertions/{award.assertion_id}"


def test_the_profile_has_share_links_to_the_assertion_and_the_baked_image(client, award, verified):
    page = client.get(f"/u/{verified.username}/").content.decode()
    share = re.search(r"<span class=\"badge-share help\" data-share>(.*?)</span>", page, re.S)
    assert share is not None
    assert f'href="{SITE}/ob/assertions/{award.assertion_id}"' in share.group(1)
    assert f'href="{SITE}/ob/assertions/{award.assertion_id}.png" download="first-steps.png"' in share.group(
        1
    )
    assert "<script>" not in page and " onclick=" not in page


def test_an_unverified_player_is_told_to_verify_before_sharing(client, award, verified):
    verified.email_verified_at = None
    verified.save()
    client.force_login(verified)
    page = client.get(f"/u/{verified.username}/").content.decode()
    assert "data-share>" not in page
    assert "data-share-needs-verification" in page
    client.logout()
    assert "data-share-needs-verification" not in client.get(f"/u/{verified.username}/").content.decode()
