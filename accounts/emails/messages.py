"""Rendering and sending one account email: a subject, a plain-text part and an HTML part.

Each kind has three templates under `templates/email/`: `<kind>_subject.txt`, `<kind>.txt` and
`<kind>.html`, rendered with the same context (always `site_url`, `user` and `link`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

KINDS = ("password_reset", "verify_email", "email_change_notice")


def message_build(*, kind: str, to: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    if kind not in KINDS:
        raise ValueError(f"Unknown account email {kind!r}.")
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"email/{kind}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"email/{kind}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"email/{kind}.html", context), "text/html")
    return message


def duration_words(seconds: int) -> str:
    """How long a link works, as a mail says it: "1 hour", "3 days", "90 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
