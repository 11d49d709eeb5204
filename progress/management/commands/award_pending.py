from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from progress import jobs, services


class Command(BaseCommand):
    help = "Schedule the award job for every graded attempt whose XP has not been awarded yet."

    def handle(self, *args, **options):
        pending = services.pending_award_count()
        if not pending:
            self.stdout.write("No pending awards.")
            return
        if not jobs.schedule_award(None, force=True):
            raise CommandError(
                f"{pending} pending award(s) could not be scheduled (is Redis up?); run again."
            )
        self.stdout.write(f"{pending} pending award(s) scheduled.")
