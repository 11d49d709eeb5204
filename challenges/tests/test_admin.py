"""Django admin: grading validated in the challenge form, publish/unpublish actions, attempt list."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.tests.helpers import make_challenge

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/challenges/challenge/add/"
CHANGELIST = "/admin/challenges/challenge/"
ATTEMPTS_CHANGELIST = "/admin/challenges/attempt/"


@pytest.fixture
def admin_client_(db) -> Client:
    superuser = baker.make(User, username="root", email="root@example.com", is_staff=True)
    superuser.is_superuser = True
    superuser.save()
    client = Client()
    client.force_login(superuser)
    return client


def form_data(grading: str, **overrides) -> dict:
    return {
        "title": "Admin made",
        "slug": "admin-made",
        "description": "",
        "xp": "50",
        "difficulty": "easy",
        "pass_score": "50",
        "grading": grading,
        **overrides,
    }


@pytest.mark.parametrize(
    ("grading", "message"),
    [
        ('{"type": "essay"}', "Unknown grading type"),
        ('{"type": "regex", "pattern": "(unclosed"}', "not a valid regular expression"),
        ('{"type": "numeric", "answer": NaN}', "finite"),
        ('{"type": "exact", "answer": "x", "hint": "y"}', "Unknown keys"),
    ],
)
def test_challenge_form_rejects_invalid_grading(admin_client_, grading, message):
    response = admin_client_.post(ADD_URL, form_data(grading))
    assert response.status_code == 200  # the form is shown again
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors["grading"])
    assert not Challenge.objects.exists()


def test_challenge_form_saves_valid_grading_and_records_the_creator(admin_client_):
    grading = {"type": "exact", "answer": "Paris", "case_sensitive": False}
    response = admin_client_.post(ADD_URL, form_data(json.dumps(grading)))
    assert response.status_code == 302
    challenge = Challenge.objects.get(slug="admin-made")
    assert challenge.grading == grading
    assert challenge.created_by is not None and challenge.created_by.username == "root"


def test_publish_and_unpublish_actions(admin_client_):
    drafts = [make_challenge(published=False) for _ in range(2)]
    untouched = make_challenge(published=False)
    selected = [str(c.pk) for c in drafts]

    response = admin_client_.post(CHANGELIST, {"action": "publish", "_selected_action": selected})
    assert response.status_code == 302
    assert set(Challenge.objects.filter(published=True)) == set(drafts)
    assert Challenge.objects.get(pk=untouched.pk).published is False

    response = admin_client_.post(CHANGELIST, {"action": "unpublish", "_selected_action": selected[:1]})
    assert response.status_code == 302
    assert list(Challenge.objects.filter(published=True)) == [drafts[1]]


def test_challenge_changelist_search_and_filters_load(admin_client_):
    make_challenge(title="Findable")
    make_challenge(title="Other")
    response = admin_client_.get(CHANGELIST, {"q": "Findable", "difficulty": "easy", "published__exact": "1"})
    assert response.status_code == 200
    assert [c.title for c in response.context["cl"].result_list] == ["Findable"]


def test_attempt_changelist_loads_for_a_superuser(admin_client_, user, django_assert_max_num_queries):
    challenge = make_challenge(title="Listed")
    for status in ("started", "passed", "failed"):
        baker.make(Attempt, user=user, challenge=challenge, status=status)
    with django_assert_max_num_queries(12):
        response = admin_client_.get(ATTEMPTS_CHANGELIST)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 3
    assert "alice" in response.content.decode()
    filtered = admin_client_.get(ATTEMPTS_CHANGELIST, {"status__exact": "passed"})
    assert filtered.context["cl"].result_count == 1


def test_attempts_cannot_be_added_in_the_admin(admin_client_):
    assert admin_client_.get("/admin/challenges/attempt/add/").status_code == 403


def test_admin_is_closed_to_players(client, user):
    client.force_login(user)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
