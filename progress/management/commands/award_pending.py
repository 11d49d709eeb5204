from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from progress import jobs, services


class Command(BaseCommand):
    help = "Re-schedule the award job for every graded attempt whose XP has not been awarded yet."

    def handle(self, *args, **options):
        pending = services.pending_award_ids()
        queued = sum(1 for attempt_id in pending if jobs.schedule_award(attempt_id))
        self.stdout.write(f"{len(pending)} pending award(s), {queued} scheduled.")
        if queued < len(pending):
            raise CommandError("Some awards could not be scheduled (is Redis up?); run this command again.")
