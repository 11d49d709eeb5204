"""A real SMTP server (aiosmtpd) on a loopback port, and the worker that sends through it."""

from __future__ import annotations

import email
import re
import socket
from email import policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from rq import SimpleWorker

from skillquest.queue import default_queue

LINK = re.compile(r"https?://\S+")


class Inbox:
    """What the SMTP server received, parsed; aiosmtpd calls `handle_DATA` per message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def only_link_to(self, address: str) -> str:
        """The one action link in the one mail sent to `address` (its text part; the HTML part must agree).
        The signature's link to the site's home page is not an action link."""
        (message,) = self.to(address)
        text, html = (part_of(message, kind) for kind in ("plain", "html"))
        links = [link for link in LINK.findall(text) if urlsplit(link).path not in ("", "/")]
        assert len(links) == 1, text
        assert f'href="{links[0]}"' in html
        return links[0]


def part_of(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None, f"no text/{kind} part"
    return part.get_content()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(settings):
    received = Inbox()
    controller = Controller(received, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SITE_URL = "https://quest.example.com"
    yield received
    controller.stop()


@pytest.fixture
def run_jobs():
    """Run every queued job on a real RQ worker (the Procfile's kind: no fork), as the worker would."""

    def run() -> None:
        queue = default_queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)

    return run
