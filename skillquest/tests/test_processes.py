"""The real-process helper the server and worker tests share (skillquest/tests/processes.py)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from skillquest.tests.helpers import wait_until
from skillquest.tests.processes import running, start_process, stop_processes


def _ended(pid: int) -> bool:
    """Gone, or a zombie nobody reaps yet (an orphan's reaper is not ours to wait on)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_stopping_ends_what_the_process_forked_too(tmp_path):
    child_pid = tmp_path / "child.pid"
    with running(
        ["bash", "-c", f"sleep 60 & echo $! > {child_pid}; wait"],
        ready=lambda: child_pid.exists() and child_pid.read_text().strip(),
        what="the child to start",
    ) as process:
        child = int(child_pid.read_text())
        assert not _ended(child)
    assert process.returncode == -signal.SIGTERM
    wait_until(lambda: _ended(child), what="the child to end", seconds=5)


def test_a_process_that_ignores_sigterm_is_killed_after_the_wait(tmp_path):
    trapped = tmp_path / "trapped"
    process = start_process(
        ["bash", "-c", f"trap '' TERM; touch {trapped}; while :; do sleep 0.1; done"],
        ready=trapped.exists,
        what="the trap to be set",
    )
    started = time.monotonic()
    stop_processes(process, seconds=0.5)
    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_a_process_that_exits_before_it_is_ready_fails_the_wait_with_its_log(tmp_path):
    with pytest.raises(AssertionError, match=r"while waiting for the server to listen\n.*no config"):
        start_process(
            ["bash", "-c", "echo no config >&2; exit 3"],
            log=tmp_path / "server.log",
            ready=lambda: False,
            what="the server to listen",
        )
