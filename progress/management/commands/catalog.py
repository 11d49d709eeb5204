from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError

from progress.catalog.selectors import catalog_export
from progress.catalog.services import catalog_import


class Command(BaseCommand):
    help = (
        "Challenges, badges and tags as code. `catalog export [--format yaml|json]` prints the whole "
        "catalog (grading answers included); `catalog import FILE [--dry-run]` upserts it by slug, all or "
        "nothing (exit 1 listing every error). Safe to re-run: an unchanged file changes nothing."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        export = commands.add_parser("export", help="Print the catalog.")
        export.add_argument("--format", choices=["yaml", "json"], default="yaml")
        export.add_argument("--output", "-o", help="Write to this file instead of standard output.")
        imported = commands.add_parser(
            "import", help="Upsert the catalog from FILE (YAML or JSON; - for stdin)."
        )
        imported.add_argument("file")
        imported.add_argument("--dry-run", action="store_true", help="Report the changes; write nothing.")

    def handle(self, *args, **options):
        if options["command"] == "export":
            return self._export(options["format"], options.get("output"))
        return self._import(options["file"], dry_run=options["dry_run"])

    def _export(self, file_format: str, output: str | None) -> None:
        text = dump(catalog_export(), file_format)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"Catalog written to {output}.")
        else:
            self.stdout.write(text, ending="")

    def _import(self, file: str, *, dry_run: bool) -> None:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}")
        document = load(text, file)
        result = catalog_import(document=document, actor=None, dry_run=dry_run)
        for error in result["errors"]:
            self.stderr.write(f"{error['path']}: {error['message']}")
        if result["errors"]:
            raise CommandError(f"{len(result['errors'])} error(s); nothing was written.")
        for change in result["changes"]:
            self.stdout.write(
                f"{change['action']} {change['kind']} {change['slug']}: {', '.join(change['fields'])}"
            )
        summary = f"{result['created']} created, {result['updated']} updated, {result['unchanged']} unchanged"
        self.stdout.write(summary + (" (dry run: nothing written)." if dry_run else "."))


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a catalog has no use for them, and a few lines of aliases can
    expand into a document of billions of nodes (the "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases are not allowed", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)


def load(text: str, name: str) -> Any:
    try:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
        try:
            return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader, without aliases
        except yaml.YAMLError as exc:
            raise CommandError(f"{name} is neither JSON nor YAML: {exc}")
    except RecursionError:
        raise CommandError(f"{name} is nested too deeply.")


def dump(catalog: dict[str, Any], file_format: str) -> str:
    if file_format == "json":
        return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True, width=100)
