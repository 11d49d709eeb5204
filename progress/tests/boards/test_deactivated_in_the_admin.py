"""Staff deactivating a player in the admin takes them off every board, friends boards included, and
reactivating them puts them back, as opting out and in does (the boards list active players only)."""

from __future__ import annotations

import pytest
from django.contrib.auth.forms import ReadOnlyPasswordHashWidget
from django.forms import MultiWidget
from django.utils import timezone

from progress.boards import selectors as board_selectors
from progress.boards import services as board_services
from progress.social.services import follow_create
from progress.tests.boards.factory import player

pytestmark = pytest.mark.django_db


def change_form(admin_client, user, **changes) -> dict:
    """The admin's change form of `user` as it renders, with `changes` applied: what a save posts."""
    form = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").context["adminform"].form
    data: dict = {}
    for name, field in form.fields.items():
        value = changes.get(name, form[name].value())
        widget = field.widget
        if isinstance(widget, ReadOnlyPasswordHashWidget) or field.disabled:
            continue
        if isinstance(widget, MultiWidget):
            for index, part in enumerate(widget.decompress(value) or ()):
                data[f"{name}_{index}"] = "" if part is None else part
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def test_a_player_deactivated_in_the_admin_leaves_the_boards_and_comes_back(
    admin_client, django_capture_on_commit_callbacks
):
    now = timezone.now()
    me, ada = player("me", (50, now)), player("ada", (70, now))
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=me, followed_id=ada.pk)
    board_services.rebuild()
    names = lambda page: [entry.username for entry in page.results]  # noqa: E731
    assert names(board_selectors.friends(me)) == ["ada", "me"]
    assert names(board_selectors.top()) == ["ada", "me"]

    url = f"/admin/accounts/user/{ada.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, change_form(admin_client, ada, is_active=False))
    assert response.status_code == 302, response.context["adminform"].form.errors
    ada.refresh_from_db()
    assert not ada.is_active
    assert names(board_selectors.friends(me)) == ["me"]
    assert names(board_selectors.top()) == ["me"]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, change_form(admin_client, ada, is_active=True))
    assert response.status_code == 302
    assert names(board_selectors.friends(me)) == ["ada", "me"]
    assert names(board_selectors.top()) == ["ada", "me"]
