from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from progress.webhooks.services import outbox_prune


class Command(BaseCommand):
    help = (
        "Delete finished webhook events (every delivery succeeded or failed) older than "
        "WEBHOOK_RETENTION_DAYS days, with their deliveries and attempt log. Safe to re-run; schedule daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="keep this many days (default: the setting)"
        )

    def handle(self, *args, days: int | None, **options):
        days = settings.WEBHOOK_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days: keep at least one day.")
        deleted = outbox_prune(before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"{deleted} finished webhook event(s) older than {days} day(s) deleted.")
