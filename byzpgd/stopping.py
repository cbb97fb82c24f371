"""Stopping a long command cleanly on SIGTERM and SIGHUP, as on Ctrl-C (issue 23).

A ``byzpgd`` command (verify, faults, calibrate, audit) already ends its workers on Ctrl-C: the
``KeyboardInterrupt`` unwinds through the code that owns them (the process pool is terminated,
the fault campaign's child ended, the Dask ``LocalCluster`` closed, the audit's sandbox killed),
and no report is written. SIGTERM (a CI cancel, ``timeout``) and SIGHUP (the terminal closed) used
to end the command process at once, leaving its workers to PID 1. Here:

- :func:`stop_on_signals` (the CLI's ``main``) turns SIGTERM and SIGHUP into :class:`Terminated`,
  a ``KeyboardInterrupt`` carrying the signal number, so the same clean-up runs; the command
  then exits with ``128 + signum`` (143, 129), as a shell reports a process ended by a signal.
  A second signal during the clean-up is ignored (the clean-up finishes).
- :func:`end_descendants` is the backstop after the clean-up: every process still descending
  from this one (found through ``/proc``, so one in its own session too) is sent SIGTERM, then
  SIGKILL after a grace period.
- :func:`worker_init` is for a forked worker (pool worker, the campaign's child): SIGTERM and
  SIGHUP back to their defaults (a fork inherits the parent's Python handler, which would turn
  the pool's ``terminate()`` into an exception the worker catches and survives), and, on Linux,
  ``PR_SET_PDEATHSIG`` = SIGKILL: the worker dies with its parent even when the parent is
  SIGKILLed and runs no clean-up (prctl(2)).

Neutral helper: imports no byzpgd module.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1   # <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """The command was asked to stop by ``signum`` (SIGTERM or SIGHUP); a KeyboardInterrupt, so
    every Ctrl-C clean-up path runs for it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class _State:
    received: int | None = None


def received() -> int | None:
    """The stop signal received under :func:`stop_on_signals` (None: none)."""
    return _State.received


def signal_words(signum: int | None = None) -> str:
    """' by SIGTERM' for a message ('' when no stop signal was received)."""
    signum = received() if signum is None else signum
    return f" by {signal.Signals(signum).name}" if signum else ""


def _handler(signum, frame):
    if _State.received is not None:   # already stopping: let the clean-up finish
        return
    _State.received = signum
    raise Terminated(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread while inside (module
    docstring); the previous handlers are restored on exit. Off the main thread (where Python
    cannot install handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.received = None
    previous = {s: signal.signal(s, _handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _children_map() -> dict[int, list[int]]:
    """parent pid → child pids, from /proc/*/stat (empty where there is no /proc)."""
    out: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 2:
            out.setdefault(int(fields[1]), []).append(int(entry))
    return out


def descendants(pid: int | None = None) -> list[int]:
    """Every living descendant of ``pid`` (default: this process), parents before children."""
    root = os.getpid() if pid is None else pid
    kids = _children_map()
    out, todo = [], list(kids.get(root, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _reap() -> None:
    """Collect the exit statuses of ended children (so they stop showing as zombies): first
    multiprocessing's own children through their process objects (a child reaped behind their
    back looks alive to them forever), then any other."""
    multiprocessing.active_children()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("utf-8", "replace")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] not in ("Z", "X")


def _helpers() -> set[int]:
    """multiprocessing's resource tracker and fork server of this process: they ignore SIGTERM
    and end by themselves when this process exits (their pipe closes), after releasing what the
    workers left registered; killing them would skip that."""
    out = set()
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    forkserver = sys.modules.get("multiprocessing.forkserver")
    for pid in (getattr(getattr(tracker, "_resource_tracker", None), "_pid", None),
                getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)):
        if isinstance(pid, int):
            out.add(pid)
    return out


def end_descendants(grace: float = 2.0) -> list[int]:
    """SIGTERM every descendant of this process, SIGKILL those still alive after ``grace``
    seconds (the whole tree is listed first, so a grandchild whose parent dies first is still
    found); returns the pids that had to be ended. multiprocessing's own helper processes are
    left to end with this process (:func:`_helpers`)."""
    spare = _helpers()
    procs = [p for p in descendants() if p not in spare]
    if not procs:
        return []
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not any(_alive(p) for p in procs):
            break
        time.sleep(0.05)
    for p in procs + [p for p in descendants() if p not in spare]:
        if _alive(p):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)
    _reap()
    return procs


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent ends (PR_SET_PDEATHSIG); if the parent already
    ended before that took effect, end now. Elsewhere: nothing."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # the parent died between fork and prctl
        os._exit(1)


def worker_init(ignore_sigint: bool = True) -> None:
    """For a forked worker process: SIGTERM and SIGHUP back to their defaults, SIGINT ignored
    (``ignore_sigint``: Ctrl-C is the parent's to handle; it ends the workers), and the worker
    dies with its parent (:func:`die_with_parent`)."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
