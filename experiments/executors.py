"""Executors of the one instance loop beyond this machine: a Dask cluster.

:func:`byzpgd.experiments.loop.run_instances` takes any object with an ordered ``map(fn, items)``
(the :class:`~byzpgd.experiments.loop.Executor` protocol). This module adds

- :class:`DaskExecutor`: ``map`` sends the items in chunks, one Dask task per chunk, to a
  ``distributed`` cluster and yields the results in the order of ``items``; ``as_completed``
  sends one task per item and yields ``(index, result)`` as the tasks finish (``byzpgd verify``
  runs one task per claim);
- :func:`dask_client`: a context manager connecting to an existing scheduler (``tcp://HOST:PORT``)
  or starting a ``LocalCluster`` of N single-threaded worker processes, checking that every
  worker runs the same code (:func:`code_fingerprint`) and closing what it started.

Why the results equal a local run's. An instance is a JSON-able spec that carries its own seed
(drawn by ``byzpgd.seeding.instance_rng`` from the run's seed, the claim and the instance index,
before anything is sent), and ``fn(spec)`` is a pure function of it: it reads no global state that
a previous task could have changed, and its only output is its return value. So where an instance
runs, in which chunk, in which order and how often (a task re-run after its worker died) does not
change its result, and the results are merged by position (``map``) or by index
(``as_completed``), never by arrival. Same seed and profile, same software on the same CPU
architecture: same statuses, counts and worst cases. (Different BLAS builds or CPUs can change
the last bits of floating-point results; :func:`code_fingerprint` compares the Python, numpy and
scipy versions and the byzpgd source of every worker with the client's, and refuses a mismatch.)

Failures. A worker that dies mid-task (killed, out of memory) is survived by Dask itself: the
scheduler re-runs its tasks, and the results it held, on the other workers (up to the scheduler's
``distributed.scheduler.allowed-failures``, default 3, deaths per task); a task that raises is
retried ``retries`` times (an instance's own exception never reaches Dask: ``run_instances`` turns
it into an :class:`~byzpgd.experiments.loop.InstanceError`). A task lost beyond that, or a lost
scheduler, ends the run with :class:`ClusterError`.

Dask is an optional dependency (``pip install 'byzpgd[dask]'``): it is imported only when a Dask
executor is built.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import importlib
import logging
import math
import os
import platform
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from byzpgd._malloc import ENVIRONMENT, user_chose

INSTALL_HINT = "pip install 'byzpgd[dask]'"
DEFAULT_RETRIES = 3                 # re-runs of a task that raised (a worker death is not counted here)
CHUNKS_PER_THREAD = 4               # map: about this many chunks per worker thread (load balance)
CONNECT_SECONDS = 10.0              # connecting to a scheduler
WORKER_WAIT_SECONDS = 30.0          # waiting for the first worker of a scheduler
# the packages whose source makes the code fingerprint (byzpgd and its parts)
FINGERPRINT_PACKAGES = ("byzpgd", "byzpgd.theory", "byzpgd.algorithms", "byzpgd.oracles",
                        "byzpgd.properties", "byzpgd.experiments", "byzpgd.audit", "byzpgd.reports")


class DaskUnavailable(ImportError):
    """``dask.distributed`` is not installed."""


class ClusterError(RuntimeError):
    """The cluster cannot be used (unreachable scheduler, no worker, different code on a worker:
    ``exit_code`` 2, a usage error) or lost a task for good during the run (``exit_code`` 1); the
    message says which and what to do."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def require_distributed():
    """The ``distributed`` module, or :class:`DaskUnavailable` saying how to install it."""
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise DaskUnavailable(f"Dask is not installed ({exc}): {INSTALL_HINT}") from None


# --- tasks ------------------------------------------------------------------------------------------
def run_chunk(fn: Callable, items: list) -> list:
    """One Dask task of :meth:`DaskExecutor.map`: ``[fn(x) for x in items]`` (pure when ``fn`` is)."""
    return [fn(x) for x in items]


def chunk_size(n: int, threads: int, per_thread: int = CHUNKS_PER_THREAD) -> int:
    """Items per task for ``n`` items on ``threads`` worker threads: ceil(n / (per_thread·threads)),
    at least 1, so that each thread gets about ``per_thread`` tasks (balance against per-task
    overhead; a dead worker loses at most one chunk per thread)."""
    if n < 0 or threads < 1 or per_thread < 1:
        raise ValueError(f"need n >= 0, threads >= 1, per_thread >= 1; got {n}, {threads}, {per_thread}")
    return max(1, math.ceil(n / (per_thread * threads)))


def chunks(items: list, size: int) -> list[list]:
    """``items`` cut into consecutive lists of ``size`` (the last one shorter); concatenating them
    gives back ``items``."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [items[i:i + size] for i in range(0, len(items), size)]


# --- the executor -----------------------------------------------------------------------------------
class DaskExecutor:
    """The Executor protocol of :mod:`byzpgd.experiments.loop` on a ``distributed.Client``.

    ``chunksize`` (items per task of ``map``; default :func:`chunk_size` of the cluster's threads),
    ``retries`` (re-runs of a task that raised). ``fn`` and the items must pickle (cloudpickle) and
    ``fn`` must be importable on the workers (byzpgd installed there).
    """

    def __init__(self, client, chunksize: int | None = None, retries: int = DEFAULT_RETRIES):
        if chunksize is not None and int(chunksize) < 1:
            raise ValueError(f"chunksize must be >= 1, got {chunksize!r}")
        self.client, self.chunksize, self.retries = client, chunksize, int(retries)

    def threads(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def _submit(self, fn, args_list, label: str) -> list:
        token = uuid.uuid4().hex[:12]
        # explicit keys: a task's key names it uniquely (no accidental sharing between calls); the
        # task itself is a pure function of its arguments, so Dask may re-run it after a worker death
        return [self.client.submit(fn, *args, key=f"byzpgd-{label}-{token}-{k}", retries=self.retries)
                for k, args in enumerate(args_list)]

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """``fn(x)`` for every item, in the order of ``items``, computed in chunks on the cluster."""
        items = list(items)
        if not items:
            return
        size = self.chunksize or chunk_size(len(items), self.threads())
        futures = self._submit(run_chunk, [(fn, c) for c in chunks(items, size)], "map")
        try:
            for fut in futures:
                yield from _result(fut)
                fut.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def as_completed(self, fn: Callable, items: Iterable) -> Iterator[tuple[int, object]]:
        """``(i, fn(items[i]))`` for every item, one task each, in order of completion."""
        distributed = require_distributed()
        futures = self._submit(fn, [(x,) for x in items], "task")
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in distributed.as_completed(futures):
                yield index[fut.key], _result(fut)
                fut.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])


def _result(fut):
    """A future's result; a task Dask gave up on (its workers died too often, the scheduler is
    gone) becomes a :class:`ClusterError`; an exception of the task itself propagates as is."""
    distributed = require_distributed()
    try:
        return fut.result()
    except (distributed.KilledWorker, distributed.comm.CommClosedError) as exc:
        raise ClusterError(f"the Dask cluster lost task {fut.key}: {type(exc).__name__}: {exc}",
                           exit_code=1) from exc
    except concurrent.futures.CancelledError as exc:   # the scheduler dropped the task (restart, lost)
        raise ClusterError(f"the Dask cluster cancelled task {fut.key} (scheduler restarted or lost?): "
                           f"{exc}", exit_code=1) from exc


# --- same code everywhere ---------------------------------------------------------------------------
def code_fingerprint() -> dict:
    """What a worker's results depend on besides the spec: Python, numpy and scipy versions, the
    machine architecture and a SHA-256 of the byzpgd source (every .py file of its packages)."""
    import importlib.util

    import numpy
    import scipy

    h = hashlib.sha256()
    for name in FINGERPRINT_PACKAGES:   # located, not imported (importing them costs seconds)
        root = Path(next(iter(importlib.util.find_spec(name).submodule_search_locations)))
        for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
            h.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            h.update(path.read_bytes())
    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "machine": platform.machine(), "byzpgd_source": h.hexdigest()}


def check_same_code(client) -> None:
    """:class:`ClusterError` unless every worker has the client's :func:`code_fingerprint`."""
    here = code_fingerprint()
    try:
        there = client.run(code_fingerprint)
    except ImportError as exc:   # a worker without byzpgd cannot unpickle the function
        raise ClusterError(f"a Dask worker cannot import byzpgd ({exc}); install the same byzpgd on "
                           "every worker") from None
    bad = {w: {k: (fp.get(k), here[k]) for k in here if fp.get(k) != here[k]} for w, fp in there.items()
           if fp != here}
    if bad:
        lines = "; ".join(f"{w}: " + ", ".join(f"{k} {a!r} (here {b!r})" for k, (a, b) in d.items())
                          for w, d in sorted(bad.items()))
        raise ClusterError("Dask workers run different code or libraries than this process, so their "
                           f"results could differ: {lines}. Install the same byzpgd (and numpy, scipy, "
                           "Python) on every worker.")


# --- clients ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterSpec:
    """Where tasks go: ``scheduler`` (an address such as tcp://HOST:PORT) or ``workers`` (start a
    LocalCluster of that many single-threaded processes); exactly one is set."""

    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self):
        if (self.scheduler is None) == (self.workers is None):
            raise ValueError("exactly one of scheduler and workers must be given")
        if self.workers is not None and int(self.workers) < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers!r}")


def local_cluster_config() -> dict:
    """The Dask configuration of the LocalCluster that ``--workers N`` starts: non-daemonic
    workers, and glibc's malloc thresholds of byzpgd's own processes (:mod:`byzpgd._malloc`) in
    place of Dask's ``MALLOC_TRIM_THRESHOLD_=65536``, which alone fixes the mmap threshold at
    128 KiB (every temporary array above it mapped and unmapped afresh: half of a worker's time in
    the kernel, docs/scale-out.md). When the user chose (their own variables, or the opt-out),
    Dask's value is only unset (None: Dask's documented way) and theirs are inherited."""
    env = {} if user_chose() else ENVIRONMENT
    spawn = "distributed.nanny.pre-spawn-environ."
    return {"distributed.worker.daemon": False, **{spawn + k: env.get(k) for k in ENVIRONMENT}}


def harmful_malloc_settings(env: dict) -> bool:
    """A malloc trim threshold set without an mmap threshold: glibc's mmap threshold frozen at
    128 KiB (what Dask's default does to the workers its nannies start)."""
    return env.get("MALLOC_TRIM_THRESHOLD_") is not None and env.get("MALLOC_MMAP_THRESHOLD_") is None


def _restore_environ(saved: dict) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def malloc_environment() -> dict:
    """This process's malloc variables (run on each worker by :func:`describe`)."""
    return {k: os.environ.get(k) for k in ENVIRONMENT}


@contextlib.contextmanager
def dask_client(spec: ClusterSpec, *, check_code: bool = True, quiet: bool = True):
    """A connected ``distributed.Client`` for ``spec``; closes it (and the LocalCluster it
    started) on exit. Raises :class:`DaskUnavailable` or :class:`ClusterError` (unreachable
    scheduler, no worker within WORKER_WAIT_SECONDS, a worker with different code)."""
    distributed = require_distributed()
    import dask

    level = logging.ERROR if quiet else logging.WARNING
    with contextlib.ExitStack() as stack:
        if spec.workers is not None:
            # the nannies set their pre-spawn variables in this process too: put ours back at the end
            stack.callback(_restore_environ, malloc_environment())
            # non-daemonic worker processes, so a task may start processes of its own (the fault
            # campaign runs each fault in a forked child); one thread each; no dashboard; glibc's
            # own malloc tuning (LOCAL_CLUSTER_CONFIG)
            stack.enter_context(dask.config.set(local_cluster_config()))
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=int(spec.workers), threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=level))   # any free port: never a clash
            client = stack.enter_context(distributed.Client(cluster))
            client.wait_for_workers(int(spec.workers), timeout=WORKER_WAIT_SECONDS)
        else:
            try:
                client = stack.enter_context(
                    distributed.Client(spec.scheduler, timeout=CONNECT_SECONDS))
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"cannot reach the Dask scheduler at {spec.scheduler} within "
                                   f"{CONNECT_SECONDS:g} s ({type(exc).__name__}: {exc}); start one with "
                                   "'dask scheduler' or check the address") from None
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
            except (TimeoutError, OSError):
                raise ClusterError(f"no Dask worker joined the scheduler at {spec.scheduler} within "
                                   f"{WORKER_WAIT_SECONDS:g} s; start workers with 'dask worker "
                                   f"{spec.scheduler} --nthreads 1'") from None
        if check_code:
            check_same_code(client)
        yield client


def describe(client) -> str:
    """'N worker(s), T thread(s) at ADDRESS' for a progress line, and a word on the workers that
    run with a trim threshold but no mmap threshold (:func:`harmful_malloc_settings`: Dask's default
    for the workers its nannies start; about 2x slower runs)."""
    nthreads = client.nthreads()
    text = f"{len(nthreads)} Dask worker(s), {sum(nthreads.values())} thread(s) at {client.scheduler.address}"
    trimmed = [w for w, env in client.run(malloc_environment).items() if harmful_malloc_settings(env)]
    if trimmed:
        text += (f"; {len(trimmed)} of them run with MALLOC_TRIM_THRESHOLD_ set (Dask's default), which "
                 "makes byzpgd's runs about 2x slower: start them with it unset (docs/scale-out.md)")
    return text
