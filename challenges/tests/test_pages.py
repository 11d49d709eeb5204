from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from model_bakery import baker

from challenges.models import Attempt, Challenge, Tag

pytestmark = pytest.mark.django_db


def make_challenge(**fields) -> Challenge:
    fields.setdefault("published", True)
    fields.setdefault("xp", 50)
    fields.setdefault("grading", {"type": "self_reported"})
    return baker.make(Challenge, **fields)


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def add_cards(user, count: int) -> None:
    tags = baker.make(Tag, _quantity=2)
    for _ in range(count):
        challenge = make_challenge(tags=tags)
        baker.make(Attempt, user=user, challenge=challenge, status="passed", score=80)


@pytest.mark.parametrize("who", ["anonymous", "player", "staff"])
def test_catalogue_is_open_to_everyone(client, who, user, staff_user):
    make_challenge(title="Visible one")
    make_challenge(title="Draft one", published=False)
    if who != "anonymous":
        client.force_login(user if who == "player" else staff_user)
    response = client.get("/challenges/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Visible one" in html
    assert "Draft one" not in html


def test_catalogue_filters_by_difficulty_tag_and_search(client):
    python = baker.make(Tag, name="Python", slug="python")
    make_challenge(title="Easy python", difficulty="easy", tags=[python])
    make_challenge(title="Hard python", difficulty="hard", tags=[python])
    make_challenge(title="Hard other", difficulty="hard")
    html = client.get("/challenges/?difficulty=hard&tag=python").content.decode()
    assert "Hard python" in html
    assert "Easy python" not in html and "Hard other" not in html
    html = client.get("/challenges/?q=other").content.decode()
    assert "Hard other" in html and "Hard python" not in html


def test_catalogue_paginates_and_keeps_filters(client):
    for n in range(15):
        make_challenge(title=f"Challenge {n:02d}", difficulty="easy")
    first = client.get("/challenges/?difficulty=easy").content.decode()
    assert "Page 1 of 2" in first
    assert "?difficulty=easy&amp;page=2" in first
    second = client.get("/challenges/?difficulty=easy&page=2").content.decode()
    assert "Challenge 14" in second and "Challenge 00" not in second
    assert client.get("/challenges/?page=banana").status_code == 200


def test_catalogue_shows_the_players_completion_and_best_score(client, user, other_user):
    done = make_challenge(title="Done")
    tried = make_challenge(title="Tried", pass_score=90)
    baker.make(Attempt, user=user, challenge=done, status="passed", score=70)
    baker.make(Attempt, user=user, challenge=done, status="failed", score=20)
    baker.make(Attempt, user=user, challenge=tried, status="failed", score=40)
    baker.make(Attempt, user=other_user, challenge=tried, status="passed", score=99)
    client.force_login(user)
    html = client.get("/challenges/").content.decode()
    assert "Completed · best score 70" in html
    assert "Attempted · best score 40" in html
    assert "best score 99" not in html  # another player's result


def test_catalogue_query_count_does_not_grow_with_cards(client, user):
    client.force_login(user)
    add_cards(user, 3)
    few = queries_for(client, "/challenges/")
    add_cards(user, 6)
    many = queries_for(client, "/challenges/")
    assert Challenge.objects.count() == 9
    assert few == many


def test_detail_renders_sanitised_markdown(client):
    make_challenge(slug="md", description="**bold** <script>alert(1)</script> [x](javascript:alert(1))")
    html = client.get("/challenges/md/").content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)" not in html
    assert "javascript:" not in html


@pytest.mark.parametrize("who", ["anonymous", "player", "staff"])
def test_detail_status_codes(client, who, user, staff_user):
    make_challenge(slug="open")
    make_challenge(slug="draft", published=False)
    if who != "anonymous":
        client.force_login(user if who == "player" else staff_user)
    assert client.get("/challenges/open/").status_code == 200
    assert client.get("/challenges/draft/").status_code == 404
    assert client.get("/challenges/missing/").status_code == 404


def test_anonymous_start_redirects_to_login(client):
    make_challenge(slug="open")
    response = client.post("/challenges/open/start/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Attempt.objects.count() == 0


def test_start_then_submit_self_reported(client, user, django_capture_on_commit_callbacks):
    challenge = make_challenge(slug="self", xp=40, pass_score=50)
    client.force_login(user)
    assert client.post("/challenges/self/start/").status_code == 302
    attempt = Attempt.objects.get(user=user, challenge=challenge)
    page = client.get("/challenges/self/").content.decode()
    assert 'name="score"' in page and 'name="solution"' not in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/challenges/self/submit/", {"attempt_id": attempt.pk, "score": 80})
    assert response.status_code == 302
    assert response["Location"] == f"/challenges/self/?result={attempt.pk}#result"
    attempt.refresh_from_db()
    assert (attempt.status, attempt.score, attempt.xp_awarded) == ("passed", 80, None)
    html = client.get(response["Location"]).content.decode()
    assert "XP pending" in html
    assert f'data-attempt-url="/api/v1/attempts/{attempt.pk}"' in html
    assert "js/challenge_detail.js" in html


def test_answer_checked_challenge_shows_answer_field_and_grades_it(client, user):
    challenge = make_challenge(slug="cap", grading={"type": "exact", "answer": "Paris"}, pass_score=100)
    attempt = baker.make(Attempt, user=user, challenge=challenge)
    client.force_login(user)
    page = client.get("/challenges/cap/").content.decode()
    assert 'name="solution"' in page and 'name="score"' not in page
    response = client.post("/challenges/cap/submit/", {"attempt_id": attempt.pk, "solution": "paris"})
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.status, attempt.score) == ("passed", 100)


def test_submit_errors_are_shown_in_place(client, user):
    challenge = make_challenge(slug="self")
    attempt = baker.make(Attempt, user=user, challenge=challenge)
    client.force_login(user)
    response = client.post("/challenges/self/submit/", {"attempt_id": attempt.pk, "score": 101})
    assert response.status_code == 400
    assert 'id="id_score_error"' in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.status == "started"


def test_domain_error_becomes_a_field_error(client, user):
    challenge = make_challenge(slug="cap", grading={"type": "exact", "answer": "Paris"})
    attempt = baker.make(Attempt, user=user, challenge=challenge)
    client.force_login(user)
    response = client.post("/challenges/cap/submit/", {"attempt_id": attempt.pk, "solution": "   "})
    assert response.status_code == 400
    assert 'id="id_solution_error"' in response.content.decode()


def test_second_submit_is_409_with_a_form_error(client, user):
    challenge = make_challenge(slug="self")
    attempt = baker.make(Attempt, user=user, challenge=challenge)
    client.force_login(user)
    assert client.post("/challenges/self/submit/", {"attempt_id": attempt.pk, "score": 60}).status_code == 302
    response = client.post("/challenges/self/submit/", {"attempt_id": attempt.pk, "score": 90})
    assert response.status_code == 409
    assert "already been submitted" in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.score == 60


def test_cannot_submit_someone_elses_or_another_challenges_attempt(client, user, other_user):
    challenge = make_challenge(slug="self")
    other = make_challenge(slug="other")
    theirs = baker.make(Attempt, user=other_user, challenge=challenge)
    mine_elsewhere = baker.make(Attempt, user=user, challenge=other)
    client.force_login(user)
    assert client.post("/challenges/self/submit/", {"attempt_id": theirs.pk, "score": 60}).status_code == 404
    response = client.post("/challenges/self/submit/", {"attempt_id": mine_elsewhere.pk, "score": 60})
    assert response.status_code == 404
    assert Attempt.objects.filter(status="started").count() == 2


def test_someone_elses_result_is_not_shown(client, user, other_user):
    challenge = make_challenge(slug="self")
    theirs = baker.make(Attempt, user=other_user, challenge=challenge, status="passed", score=77)
    client.force_login(user)
    html = client.get(f"/challenges/self/?result={theirs.pk}").content.decode()
    assert "Your result" not in html
    assert client.get("/challenges/self/?result=not-a-uuid").status_code == 200


def test_detail_query_count_does_not_grow_with_history(client, user):
    challenge = make_challenge(slug="self", tags=baker.make(Tag, _quantity=2))
    client.force_login(user)
    baker.make(Attempt, user=user, challenge=challenge, status="passed", score=50, _quantity=2)
    result = baker.make(Attempt, user=user, challenge=challenge, status="passed", score=60)
    baker.make(Attempt, user=user, challenge=challenge)
    few = queries_for(client, f"/challenges/self/?result={result.pk}")
    baker.make(Attempt, user=user, challenge=challenge, status="failed", score=10, _quantity=6)
    many = queries_for(client, f"/challenges/self/?result={result.pk}")
    assert few == many
