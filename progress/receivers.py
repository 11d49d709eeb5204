"""Signal receivers: each schedules a job after commit and holds no logic of its own."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.signals import account_erased, leaderboard_visibility_changed
from challenges.models import Attempt
from progress import jobs
from progress.boards.services import player_forget, player_show


@receiver(post_save, sender=Attempt, dispatch_uid="progress.attempt_saved")
def attempt_saved(sender, instance: Attempt, **kwargs) -> None:
    if instance.award_pending:
        attempt_id = instance.pk
        transaction.on_commit(lambda: jobs.schedule_award(attempt_id), robust=True)


@receiver(account_erased, dispatch_uid="progress.account_erased")
def account_erased_off_the_boards(sender, user_id, username, **kwargs) -> None:
    transaction.on_commit(lambda: player_forget(user_id=user_id, username=username), robust=True)


@receiver(leaderboard_visibility_changed, dispatch_uid="progress.leaderboard_visibility_changed")
def visibility_changed_on_the_boards(sender, user_id, username, visible, **kwargs) -> None:
    if visible:
        transaction.on_commit(lambda: player_show(user_id=user_id), robust=True)
    else:
        transaction.on_commit(lambda: player_forget(user_id=user_id, username=username), robust=True)
