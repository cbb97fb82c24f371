"""A process pool whose workers can be ended at once (``byzpgd verify``'s local processes).

:class:`concurrent.futures.ProcessPoolExecutor` has no public way to stop a running task: its
``shutdown(cancel_futures=True)`` cancels the queued ones and waits for (or, with ``wait=False``,
forgets) the running ones. Ctrl-C, SIGTERM/SIGHUP (:mod:`byzpgd.stopping`) and ``max_seconds``
must end them now. :class:`KillablePool` gives the executor a multiprocessing context (its public
``mp_context`` argument) whose ``Process`` records every worker process the executor creates, so
the pool holds its own list of workers and ends them with the public
:class:`multiprocessing.Process` methods (``terminate``, ``kill``, ``sentinel``) — no private
attribute of the executor is read.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["KillablePool", "TrackingContext"]

#: seconds a worker is given after SIGTERM before SIGKILL, and after SIGKILL before it is left
TERM_GRACE_SECONDS = 5.0
KILL_GRACE_SECONDS = 1.0


def _still_running(procs: list, seconds: float) -> list:
    """Of ``procs``, those still running after waiting up to ``seconds`` for them to end. A process
    has ended when its sentinel is ready; waiting on sentinels (not ``join``, which reaps) leaves
    the reaping to the executor, whose thread joins the same processes."""
    pending = {}
    for proc in procs:
        with contextlib.suppress(ValueError):   # never started: nothing to end
            pending[proc.sentinel] = proc
    deadline = time.monotonic() + seconds
    while pending:
        for sentinel in multiprocessing.connection.wait(list(pending), max(0.0, deadline - time.monotonic())):
            del pending[sentinel]
        if time.monotonic() >= deadline:
            break
    return list(pending.values())


class TrackingContext:
    """A multiprocessing context (the default start method's, or ``base``) that records the
    :class:`multiprocessing.Process` objects created through it; everything else is the base
    context's."""

    def __init__(self, base: Any = None):
        self._base = base if base is not None else multiprocessing.get_context()
        self._lock = threading.Lock()
        self._created: list[multiprocessing.process.BaseProcess] = []

    def Process(self, *args, **kwargs):  # noqa: N802  (the context API's name)
        proc = self._base.Process(*args, **kwargs)
        with self._lock:
            self._created.append(proc)
        return proc

    @property
    def processes(self) -> list:
        """Every process created so far (started or not, alive or not), oldest first."""
        with self._lock:
            return list(self._created)

    def __getattr__(self, name: str):
        if name == "_base":   # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._base, name)


def _idle() -> None:
    """A task that does nothing (:meth:`KillablePool.start`)."""


class KillablePool:
    """``ProcessPoolExecutor(max_workers, initializer)`` with :meth:`end_now` (a context
    manager: leaving it normally shuts the pool down and waits; by an exception, ends it now)."""

    def __init__(self, max_workers: int, initializer: Callable[[], None] | None = None):
        self.context = TrackingContext()
        self.max_workers = int(max_workers)
        self.executor = ProcessPoolExecutor(max_workers=max_workers, initializer=initializer,
                                            mp_context=self.context)

    @property
    def workers(self) -> list:
        """The worker processes this pool started (those already gone included)."""
        return self.context.processes

    def submit(self, fn, /, *args, **kwargs):
        return self.executor.submit(fn, *args, **kwargs)

    def start(self) -> None:
        """Start every worker now, from the calling thread. The pool starts its workers from
        whichever thread submits first, and a worker that dies with its parent
        (:func:`byzpgd.stopping.die_with_parent`, Linux's PR_SET_PDEATHSIG) is ended when the
        *thread* that started it ends: call this from the main thread before other threads
        submit (``byzpgd verify``'s shared claims do)."""
        for fut in [self.executor.submit(_idle) for _ in range(self.max_workers)]:
            fut.result()

    def running(self) -> list:
        """The workers that have not ended (read from each process's sentinel, which does not reap
        it: the executor's own thread joins its workers concurrently)."""
        return _still_running(self.workers, 0.0)

    def end_now(self) -> None:
        """End the workers now instead of waiting for their tasks: SIGTERM to each, the queued
        tasks cancelled, and a worker still running :data:`TERM_GRACE_SECONDS` later killed."""
        procs = self.workers
        for proc in procs:
            with contextlib.suppress(Exception):   # not started, or already ended
                proc.terminate()
        self.executor.shutdown(wait=False, cancel_futures=True)
        for proc in _still_running(procs, TERM_GRACE_SECONDS):
            with contextlib.suppress(Exception):
                proc.kill()
        _still_running(procs, KILL_GRACE_SECONDS)
        # the executor's own thread reaps the workers it sees end; let it finish (a waiting
        # shutdown joins it) before anything else reaps them: a child reaped elsewhere looks alive
        # to it forever, its shutdown then spins while tasks fill its queue, and the interpreter's
        # exit waits for it. Waited for in a thread of its own, at most KILL_GRACE_SECONDS.
        waiter = threading.Thread(target=self.executor.shutdown, kwargs={"wait": True}, daemon=True,
                                  name="byzpgd-pool-shutdown")
        waiter.start()
        waiter.join(KILL_GRACE_SECONDS)

    def __enter__(self) -> KillablePool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.executor.shutdown(wait=True)
        else:   # Ctrl-C, SIGTERM/SIGHUP (byzpgd.stopping), max_seconds or any error
            self.end_now()
