"""Template filters for challenge pages."""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, then sanitised: authors are staff, but a page never trusts stored HTML."""
    html = markdown_lib.markdown(text or "", extensions=["fenced_code", "tables"], output_format="html")
    return mark_safe(nh3.clean(html))  # noqa: S308 - nh3 has just removed anything unsafe
