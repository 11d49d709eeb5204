"""skillquest.sql: statements built once must load and write rows exactly as the ORM does."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import DEFERRED
from model_bakery import baker

from accounts.models import User
from accounts.selectors import user_by_id
from challenges.models import Attempt, Challenge
from challenges.tests.helpers import make_challenge
from skillquest import sql
from skillquest.tests.helpers import settings_in_a_fresh_process

pytestmark = pytest.mark.django_db

CONCRETE = [field.attname for field in User._meta.concrete_fields]


def test_a_whole_row_loads_as_the_orm_loads_it(user):
    # User's primary key is declared after AbstractUser's fields: a loader that assumed "id first"
    # would shift every value by one column (is_active would read another boolean).
    User.objects.filter(pk=user.pk).update(
        profile={"bio": "hi", "links": ["https://example.com"]},
        timezone="Europe/Paris",
        total_xp=120,
        level=2,
    )
    expected = User.objects.get(pk=user.pk)
    loaded = user_by_id(user_id=user.pk)
    assert loaded is not None
    assert {name: getattr(loaded, name) for name in CONCRETE} == {
        name: getattr(expected, name) for name in CONCRETE
    }
    assert loaded.is_active is True and loaded.is_staff is False
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_an_unknown_id_loads_nothing(db):
    assert user_by_id(user_id=uuid.uuid4()) is None


def test_some_columns_leave_the_others_deferred(user):
    columns = sql.Columns(User, ("username", "total_xp"))
    statement = sql.Statement(
        lambda table: f"SELECT {columns.select_list('u')} FROM {table(User)} u WHERE u.id = %s",
        params=[User._meta.pk],
    )
    found = sql.fetch_one(statement, [user.pk], columns)
    assert found is not None
    (loaded,) = found
    assert loaded is not None
    assert (loaded.pk, loaded.username, loaded.total_xp) == (user.pk, "alice", 0)
    assert loaded.get_deferred_fields() == set(CONCRETE) - {"id", "username", "total_xp"}
    assert loaded.__dict__.get("email", DEFERRED) is DEFERRED


def test_the_missing_side_of_a_left_join_is_none(user):
    challenge = make_challenge()
    attempts = sql.Columns(Attempt, ("status",))
    challenges = sql.Columns(Challenge, ("title",))
    statement = sql.Statement(
        lambda table: (
            f"SELECT {challenges.select_list('c')}, {attempts.select_list('a')}"
            f" FROM {table(Challenge)} c LEFT JOIN {table(Attempt)} a ON a.challenge_id = c.id"
            " WHERE c.id = %s"
        ),
        params=[Challenge._meta.pk],
    )
    assert sql.fetch_all(statement, [challenge.pk], challenges, attempts) == [(challenge, None)]
    found = sql.fetch_one(statement, [challenge.pk], challenges, attempts)
    assert found is not None and found[0] is not None
    assert found[0].title == challenge.title


def test_insert_writes_what_create_would(user):
    challenge = make_challenge()
    attempt = Attempt(user=user, challenge=challenge)
    sql.insert(attempt)
    stored = Attempt.objects.get(pk=attempt.pk)
    assert stored.status == Attempt.Status.STARTED and stored.metadata == {}
    assert stored.started_at == attempt.started_at and stored.started_at is not None  # auto_now_add
    assert (stored.score, stored.xp_awarded, stored.submitted_at, stored.awarded_at) == (
        None,
        None,
        None,
        None,
    )
    assert attempt._state.adding is False


_PUBLISHED_WITH_XP = sql.Statement(
    lambda table: f"SELECT 1 FROM {table(Challenge)} c WHERE c.id = %s AND c.published = %s AND c.xp = %s",
    params=[Challenge._meta.pk, Challenge._meta.get_field("published"), Challenge._meta.get_field("xp")],
)


def test_insert_only_if_writes_the_row_while_the_condition_finds_one(user):
    challenge = make_challenge(xp=100)
    written = Attempt(user=user, challenge=challenge, status=Attempt.Status.PASSED, score=90)
    assert sql.insert(written, only_if=(_PUBLISHED_WITH_XP, [challenge.pk, True, 100])) is True
    stored = Attempt.objects.get(pk=written.pk)
    assert (stored.status, stored.score, stored.started_at) == ("passed", 90, written.started_at)
    assert written._state.adding is False

    refused = Attempt(user=user, challenge=challenge)
    assert sql.insert(refused, only_if=(_PUBLISHED_WITH_XP, [challenge.pk, True, 150])) is False
    assert refused._state.adding is True
    assert list(Attempt.objects.values_list("pk", flat=True)) == [written.pk]


def test_update_if_writes_only_while_the_row_holds_the_expected_values(user):
    attempt = baker.make(Attempt, user=user, challenge=make_challenge(), status=Attempt.Status.STARTED)
    attempt.status, attempt.score = Attempt.Status.PASSED, 90
    assert sql.update_if(attempt, ["status", "score"], expected={"status": Attempt.Status.STARTED}) is True
    attempt.score = 10
    assert sql.update_if(attempt, ["score"], expected={"status": Attempt.Status.STARTED}) is False
    assert Attempt.objects.values_list("status", "score").get(pk=attempt.pk) == ("passed", 90)


def test_update_rows_gives_each_row_its_own_values_and_touches_no_other():
    challenge = make_challenge()
    attempts = baker.make(Attempt, challenge=challenge, status=Attempt.Status.PASSED, score=70, _quantity=3)
    at = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)
    rows = [(attempts[0].pk, 7, at), (attempts[1].pk, 0, at + timedelta(seconds=1))]
    assert sql.update_rows(Attempt, ["xp_awarded", "awarded_at"], rows) == 2
    got = dict(Attempt.objects.values_list("pk", "xp_awarded"))
    assert got == {attempts[0].pk: 7, attempts[1].pk: 0, attempts[2].pk: None}
    assert Attempt.objects.get(pk=attempts[1].pk).awarded_at == at + timedelta(seconds=1)


def test_update_rows_increments_where_asked():
    players = baker.make(User, total_xp=100, level=2, _quantity=2)
    rows = [(players[0].pk, -30, 1), (players[1].pk, 21, 2)]
    sql.update_rows(User, ["total_xp", "level"], rows, increment=["total_xp"])
    got = {pk: (xp, level) for pk, xp, level in User.objects.values_list("pk", "total_xp", "level")}
    assert got == {players[0].pk: (70, 1), players[1].pk: (121, 2)}


def test_update_rows_refuses_rows_of_the_wrong_width():
    player = baker.make(User)
    with pytest.raises(ValueError, match="primary key and 2 values"):
        sql.update_rows(User, ["total_xp", "level"], [(player.pk, 1)])
    assert sql.update_rows(User, ["total_xp"], []) == 0


@pytest.mark.django_db(transaction=True)
def test_of_racing_updates_exactly_one_wins(user):
    attempt = baker.make(Attempt, user=user, challenge=make_challenge(), status=Attempt.Status.STARTED)
    barrier = threading.Barrier(8)
    results = []

    def race(score):
        try:
            mine = Attempt.objects.get(pk=attempt.pk)
            mine.status, mine.score = Attempt.Status.PASSED, score
            barrier.wait()
            results.append((score, sql.update_if(mine, ["status", "score"], expected={"status": "started"})))
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(score,)) for score in range(60, 68)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [score for score, won in results if won]
    assert len(results) == 8 and len(winners) == 1
    assert Attempt.objects.get(pk=attempt.pk).score == winners[0]


def test_a_statement_run_often_is_prepared_once_on_the_server(user):
    # The default configuration: parameters bound by the server, and a statement run 5 times on one
    # connection prepared there (PostgreSQL then skips planning it, most of a small read's cost).
    for _ in range(6):
        found = user_by_id(user_id=user.pk)
        assert found is not None and found.pk == user.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "accounts_user" u WHERE u.id = $1' in text for text in prepared), prepared


def test_prepared_statements_are_off_behind_a_pooler_that_cannot_track_them():
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/skillquest", "SECRET_KEY": "x" * 50}
    options = "s.DATABASES['default'].get('OPTIONS', {})"
    assert settings_in_a_fresh_process(env, options) == {"server_side_binding": True, "prepare_threshold": 5}
    assert settings_in_a_fresh_process({**env, "DATABASE_PREPARED_STATEMENTS": "false"}, options) == {}


def test_a_many_parameter_becomes_one_placeholder_per_value():
    players = baker.make(User, _quantity=3)
    statement = sql.Statement(
        lambda table: f"SELECT id FROM {table(User)} WHERE id IN (%s) AND username <> %s ORDER BY username",
        params=[sql.Many(User._meta.pk), User._meta.get_field("username")],
    )

    def found(ids: list[uuid.UUID], not_named: str = "") -> list[uuid.UUID]:
        return [pk for (pk,) in sql.fetch_values(statement, [ids, not_named], [User._meta.pk])]

    ordered = sorted(players, key=lambda player: player.username)
    assert found([player.pk for player in players]) == [player.pk for player in ordered]
    assert found([players[1].pk]) == [players[1].pk]
    assert found([players[1].pk, uuid.uuid4()], not_named=players[1].username) == []
    assert found([]) == []  # IN (NULL): nothing, not a syntax error
    # One text per length, each with its own placeholders; the other parameter keeps its place.
    assert statement.text(connection, [[1, 2, 3], ""]).count("%s") == 4
    assert "IN (NULL)" in statement.text(connection, [[], ""])


def test_a_many_parameter_needs_its_placeholder():
    statement = sql.Statement(
        lambda table: f"SELECT id FROM {table(User)} WHERE id IN (%s)",
        params=[sql.Many(User._meta.pk), User._meta.get_field("username")],
    )
    with pytest.raises(ValueError, match="1 placeholders for 2 parameters"):
        statement.text(connection, [[uuid.uuid4()], "x"])


def test_an_insert_condition_with_a_list_is_refused(user):
    condition = sql.Statement(
        lambda table: f"SELECT 1 FROM {table(User)} WHERE id IN (%s)", params=[sql.Many(User._meta.pk)]
    )
    challenge = make_challenge()
    with pytest.raises(ValueError, match="cannot have Many parameters"):
        sql.insert(Attempt(user=user, challenge=challenge), only_if=(condition, [[user.pk]]))
    assert not Attempt.objects.exists()
