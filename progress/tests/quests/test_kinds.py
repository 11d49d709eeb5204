"""Quest kinds: each class validates its params, measures a day and says its rule. Pure but for tags."""

from __future__ import annotations

import uuid

import pytest

from challenges.models import Tag
from progress.quests import kinds
from progress.quests.kinds import Day, PassedChallenge

EASY, HARD = "easy", "hard"


def day(*passed: tuple[str, set[str]], xp: int = 0) -> Day:
    return Day(
        passed=tuple(
            PassedChallenge(uuid.uuid4(), difficulty, frozenset(tags)) for difficulty, tags in passed
        ),
        xp=xp,
    )


@pytest.mark.parametrize(
    ("kind", "params", "played", "progress", "target", "words"),
    [
        ("pass_challenges", {"count": 3}, day((EASY, set()), (HARD, set())), 2, 3,
         "Pass 3 challenges today."),
        ("pass_challenges", {"count": 1}, day(), 0, 1, "Pass 1 challenge today."),
        ("earn_xp", {"xp": 150}, day(xp=160), 160, 150, "Earn 150 XP from challenges today."),
        ("pass_difficulty", {"difficulty": "hard", "count": 2}, day((HARD, set()), (EASY, set())), 1, 2,
         "Pass 2 hard challenges today."),
        ("pass_tag", {"tag": "sql", "count": 2},
         day((EASY, {"sql", "web"}), (HARD, {"sql"}), (EASY, {"web"})), 2, 2,
         "Pass 2 challenges tagged 'sql' today."),
    ],
)  # fmt: skip
def test_each_kind_measures_a_day_and_says_its_rule(kind, params, played, progress, target, words):
    quest = kinds.parse(kind, params)
    assert (quest.progress(played), quest.target, quest.describe()) == (progress, target, words)
    assert quest.normalized() == params


@pytest.mark.parametrize(
    ("kind", "params", "field", "message"),
    [
        ("pass_everything", {"count": 1}, "kind", "Unknown quest kind 'pass_everything'"),
        (None, {}, "kind", "Unknown quest kind None"),
        ("pass_challenges", [], "params", "must be a JSON object"),
        ("pass_challenges", {}, "params", "'count' is required"),
        ("pass_challenges", {"count": 0}, "params", "'count' must be between 1 and 1,000"),
        ("pass_challenges", {"count": 1001}, "params", "'count' must be between 1 and 1,000"),
        ("pass_challenges", {"count": "3"}, "params", "'count' must be a whole number"),
        ("pass_challenges", {"count": True}, "params", "'count' must be a whole number"),
        ("pass_challenges", {"count": 2.5}, "params", "'count' must be a whole number"),
        ("pass_challenges", {"count": 1, "tag": "sql"}, "params", "Unknown param(s) 'tag'"),
        ("earn_xp", {"count": 5}, "params", "Unknown param(s) 'count'"),
        ("earn_xp", {"xp": -5}, "params", "'xp' must be between 1 and 1,000,000"),
        ("pass_difficulty", {"count": 1}, "params", "'difficulty' must be one of easy, medium, hard"),
        ("pass_difficulty", {"difficulty": "legendary", "count": 1}, "params", "'difficulty' must be one of"),
        ("pass_tag", {"count": 1}, "params", "'tag' must be a tag's slug"),
        ("pass_tag", {"tag": "", "count": 1}, "params", "'tag' must be a tag's slug"),
        ("pass_tag", {"tag": "sq\x00l", "count": 1}, "params", "'tag' must be a tag's slug"),
        ("pass_tag", {"tag": 7, "count": 1}, "params", "'tag' must be a tag's slug"),
        ("pass_tag", {"tag": "sql"}, "params", "'count' is required"),
    ],
)
def test_bad_kinds_and_params_are_refused_with_the_field_and_the_reason(kind, params, field, message):
    with pytest.raises(kinds.QuestParamsError) as refused:
        kinds.parse(kind, params)
    assert refused.value.field == field
    assert message in refused.value.message


def test_a_tag_is_matched_by_its_lower_cased_slug():
    quest = kinds.parse("pass_tag", {"tag": "  SQL ", "count": 1})
    assert quest.normalized() == {"count": 1, "tag": "sql"}
    assert quest.progress(day((EASY, {"sql"}))) == 1


@pytest.mark.django_db
def test_a_tag_quest_must_name_an_existing_tag():
    quest = kinds.parse("pass_tag", {"tag": "sql", "count": 1})
    with pytest.raises(kinds.QuestParamsError, match="There is no tag 'sql'"):
        quest.check_references()
    Tag.objects.create(name="SQL", slug="sql")
    quest.check_references()


def test_describe_never_raises_for_a_broken_stored_quest():
    assert kinds.describe("pass_challenges", {"count": "lots"}) == "Unavailable (invalid quest)."


def test_every_kind_of_the_issue_is_registered():
    assert set(kinds.REGISTRY) == {"pass_challenges", "earn_xp", "pass_difficulty", "pass_tag"}
