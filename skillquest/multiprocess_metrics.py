"""Prometheus multiprocess files: named by host and pid, set up before any metric exists.

Imported by skillquest/__init__.py, so it runs ahead of settings and of every metric (ours in
skillquest.metrics, django_prometheus's): hence no Django and no settings here, only the
environment. Also imported by gunicorn.conf.py, whose master drops a dead worker's live gauges.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import multiprocess, values

HOST = socket.gethostname()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_identifier() -> str:
    # Worker containers of a compose project share one metrics volume and each runs its worker as
    # the same small pid: the host name keeps their files apart. Called on every metric update.
    return f"{HOST}-{os.getpid()}"  # process_dead() below names files the same way


def configure_multiprocess() -> None:
    """Name multiprocess files by host and pid; must run before any metric is created."""
    if multiprocess_dir():
        values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)


def process_dead(pid: int) -> None:
    """Drop a dead process's live-gauge files (gunicorn's child_exit); its counters stay summed."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(f"{HOST}-{pid}")


configure_multiprocess()
