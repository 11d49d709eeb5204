"""Real processes a test starts (servers, workers, proxies): started, waited on, always ended.

Each runs in a session, and so a process group, of its own: ending the group ends what it forked too
(gunicorn's and nginx's workers, a `bash -c` line's commands, the scheduler an RQ worker forks), and
Ctrl-C on pytest reaches only pytest, whose clean-up then ends them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from skillquest.tests.helpers import wait_until


def start_process(
    command: Sequence[str | os.PathLike[str]],
    *,
    log: Path | None = None,
    ready: Callable[[], object] | None = None,
    what: str = "",
    seconds: float = 20.0,
    **popen: Any,
) -> subprocess.Popen:
    """`command` in a process group of its own, with stdout and stderr written to `log` (unless
    `popen` sends one of them elsewhere), returned once `ready()` is truthy (at once without `ready`).

    If it exits first or `seconds` run out, it is stopped and the wait fails naming `what`, with the
    end of the log.
    """
    with log.open("w") if log else contextlib.nullcontext() as out:
        process = subprocess.Popen(command, **{"stdout": out, "stderr": out, **popen}, start_new_session=True)
    if ready is None:
        return process
    try:
        wait_until(
            ready,
            what=what,
            seconds=seconds,
            processes=[process],
            logs=(lambda: log.read_text()[-3000:]) if log else None,
        )
    except BaseException:
        stop_processes(process)
        raise
    return process


def stop_processes(*processes: subprocess.Popen, seconds: float = 10.0) -> None:
    """SIGTERM to every process's group, then SIGKILL to the group of one still running after `seconds`;
    each reaped. A process that already exited (SIGKILLed by its test) still has its group signalled,
    for what it may have left running there."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def running(
    command: Sequence[str | os.PathLike[str]], *, stop_seconds: float = 10.0, **start: Any
) -> Iterator[subprocess.Popen]:
    """`start_process(command, **start)` for the block; stopped (`stop_processes`) when it ends."""
    process = start_process(command, **start)
    try:
        yield process
    finally:
        stop_processes(process, seconds=stop_seconds)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    # The group's id is the leader's pid (start_new_session); it is gone once all its members are.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
