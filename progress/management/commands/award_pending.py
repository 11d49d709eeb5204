from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from challenges.models import Attempt
from progress import jobs


class Command(BaseCommand):
    help = "Schedule the award job for every graded attempt whose XP has not been awarded yet."

    def handle(self, *args, **options):
        pending = Attempt.objects.award_pending().count()
        if not pending:
            self.stdout.write("No pending awards.")
            return
        if not jobs.schedule_award(None, force=True):
            raise CommandError(
                f"{pending} pending award(s) could not be scheduled (is Redis up?); run again."
            )
        self.stdout.write(f"{pending} pending award(s) scheduled.")
