from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from challenges.models import Attempt
from progress import jobs
from progress.events.jobs import freeze_delay, schedule_event_freeze_now
from progress.events.selectors import events_due_for_freeze
from progress.webhooks.jobs import schedule_sweep as schedule_webhooks


class Command(BaseCommand):
    help = (
        "Schedule the award job for every graded attempt whose XP has not been awarded yet, and the freeze "
        "of every ended event whose standings are not frozen yet, and the webhook deliveries that are due or "
        "undispatched (their scheduled jobs may have been lost with Redis). The Procfile's worker runs it on "
        "start-up."
    )

    def handle(self, *args, **options):
        failed = []
        pending = Attempt.objects.award_pending().count()
        if not pending:
            self.stdout.write("No pending awards.")
        elif jobs.schedule_award(None, force=True):
            self.stdout.write(f"{pending} pending award(s) scheduled.")
        else:
            failed.append(f"{pending} pending award(s)")
        due = events_due_for_freeze(delay=freeze_delay())
        unscheduled = [event_id for event_id in due if not schedule_event_freeze_now(event_id)]
        if due and len(unscheduled) < len(due):
            self.stdout.write(f"{len(due) - len(unscheduled)} ended event(s) scheduled for freezing.")
        if unscheduled:
            failed.append(f"the freeze of {len(unscheduled)} ended event(s)")
        webhooks = schedule_webhooks()
        if webhooks:
            self.stdout.write("Webhook deliveries scheduled.")
        elif webhooks is False:
            failed.append("the webhook deliveries")
        if failed:
            raise CommandError(f"{' and '.join(failed)} could not be scheduled (is Redis up?); run again.")
