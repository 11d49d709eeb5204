from __future__ import annotations

from django.core.management.base import BaseCommand

from progress import seeding


class Command(BaseCommand):
    help = "Load demo data (idempotent): a staff user, demo players, challenges, tags and some history."

    def handle(self, *args, **options):
        report = seeding.seed_demo()
        for line in report:
            self.stdout.write(line)
