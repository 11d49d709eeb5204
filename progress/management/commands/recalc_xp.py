from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from progress.ledger.recalc import CHANGES_LISTED
from progress.ledger.selectors import ledger_mismatches
from progress.ledger.services import RECALC_STEPS, xp_recalculate

MISMATCHES_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Recalculate every player's XP from the challenges' current XP against the XP ledger: a "
        "'recalc' entry per changed player, then the leaderboards are rebuilt and missing badges "
        "awarded. --dry-run prints the diff and writes nothing; --verify checks that every total "
        "equals the sum of its ledger. Safe to re-run: consistent data stays as it is."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--dry-run", action="store_true", help="Print the diff; write nothing.")
        group.add_argument(
            "--verify",
            action="store_true",
            help="Report players whose total or level differs from their ledger; exit 1 if any.",
        )

    def handle(self, *args, **options):
        if options["verify"]:
            return self._verify()
        started = time.perf_counter()
        steps = 1 if options["dry_run"] else len(RECALC_STEPS)
        # disable=None: a bar on a terminal only, so logs and tests stay clean.
        quiet = True if options["verbosity"] < 1 else None
        with tqdm(total=steps, unit="step", disable=quiet) as bar:

            def step(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update()

            result = xp_recalculate(dry_run=options["dry_run"], on_step=step)
        elapsed = time.perf_counter() - started
        changes = result["changes"]
        if changes:
            self.stdout.write(f"{'player':<30} {'before':>10} {'after':>10} {'delta':>10} {'level':>9}")
            for change in changes:
                levels = f"{change['level_before']}→{change['level_after']}"
                self.stdout.write(
                    f"{change['username']:<30} {change['before']:>10} {change['after']:>10} "
                    f"{change['delta']:>+10} {levels:>9}"
                )
            if result["players_changed"] > len(changes):
                self.stdout.write(f"… the {CHANGES_LISTED} largest changes are listed.")
        verb = "would change" if options["dry_run"] else "changed"
        self.stdout.write(
            f"Recalculated in {elapsed:.1f}s: {result['players_changed']} player(s) {verb}, "
            f"{result['xp_delta_total']:+d} XP in all"
            + ("" if options["dry_run"] else f", {result['projections_repaired']} total(s) repaired")
            + (" (dry run: nothing written)." if options["dry_run"] else ".")
        )

    def _verify(self):
        mismatches = ledger_mismatches()
        for row in mismatches[:MISMATCHES_SHOWN]:
            self.stdout.write(
                f"{row.username}: total {row.total_xp} (level {row.level}), ledger {row.ledger_xp} "
                f"(level {row.ledger_level})"
            )
        if mismatches:
            raise CommandError(
                f"{len(mismatches)} player(s) differ from their ledger; run recalc_xp to repair."
            )
        self.stdout.write("Every player's total and level equal their ledger.")
