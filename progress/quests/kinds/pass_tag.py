"""Pass challenges with one tag today: `{"tag": "sql", "count": 2}` (the tag's slug)."""

from __future__ import annotations

import re

from challenges.models import Tag
from progress.quests.kinds.base import MAX_COUNT, QuestKind, QuestParamsError, plural, positive_int

# What a tag's SlugField accepts, lower-cased as tags are matched (slugs are stored lower-case).
TAG_SLUG = re.compile(r"\A[-a-z0-9_]{1,60}\Z")


class PassTagQuest(QuestKind):
    kind = "pass_tag"
    keys = frozenset({"tag", "count"})
    needs_tags = True

    def parse(self, params):
        self.count = positive_int(params, "count", self.kind, maximum=MAX_COUNT)
        tag = params.get("tag")
        self.tag = tag.strip().lower() if isinstance(tag, str) else ""
        if not TAG_SLUG.match(self.tag):
            raise QuestParamsError("'tag' must be a tag's slug: letters, digits, '-' or '_'.")
        self.params = {**params, "tag": self.tag}

    @property
    def target(self):
        return self.count

    def progress(self, day):
        return sum(1 for challenge in day.passed if self.tag in challenge.tags)

    def describe(self):
        return f"Pass {plural(self.count, 'challenge')} tagged '{self.tag}' today."

    def check_references(self):
        if not Tag.objects.filter(slug=self.tag).exists():
            raise QuestParamsError(f"There is no tag '{self.tag}'.")
