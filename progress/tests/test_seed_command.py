from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from progress.awards import rules

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_covers_every_grading_type(capsys):
    call_command("seed")
    first = (User.objects.count(), Challenge.objects.count(), Tag.objects.count(), Attempt.objects.count())
    call_command("seed")
    assert (
        User.objects.count(),
        Challenge.objects.count(),
        Tag.objects.count(),
        Attempt.objects.count(),
    ) == first
    assert Challenge.objects.count() >= 20
    kinds = {c.grading_type for c in Challenge.objects.all()}
    assert kinds == {"self_reported", "exact", "regex", "numeric"}
    assert set(Challenge.objects.values_list("difficulty", flat=True)) == {"easy", "medium", "hard"}
    assert User.objects.filter(is_staff=True, username="admin").exists()
    assert "SkillQuest-demo-2026" in capsys.readouterr().out


def test_load_seed_bulk_inserts_and_recalculates_consistently():
    call_command("seed", users=40, attempts=600)
    players = User.objects.filter(username__startswith="load")
    assert players.count() == 40
    attempts = Attempt.objects.filter(user__in=players)
    assert attempts.count() == 600
    assert not attempts.filter(xp_awarded__isnull=True).exists()
    for player in players:
        awarded = attempts.filter(user=player).aggregate(total=Sum("xp_awarded"))["total"] or 0
        assert player.total_xp == awarded
        assert player.level == rules.level_for_xp(player.total_xp)
    assert player.check_password("SkillQuest-demo-2026")


def test_load_seed_tops_up_instead_of_duplicating():
    call_command("seed", users=10, attempts=50)
    call_command("seed", users=12, attempts=80)
    assert User.objects.filter(username__startswith="load").count() == 12
    assert Attempt.objects.filter(user__username__startswith="load").count() == 80


@pytest.mark.parametrize("args", [{"users": -1}, {"attempts": 5}])
def test_load_seed_rejects_bad_arguments(args):
    with pytest.raises(CommandError):
        call_command("seed", **args)
