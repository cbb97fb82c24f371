"""The one instance loop: ``run_instances(specs, fn, executor)``.

Every claim check, the calibration, the fault campaign and the audit's end-to-end part run their
instances through it. An instance is a JSON-able spec; ``fn(spec)`` runs it and returns an
observation. A crash of one instance is captured as an :class:`InstanceError` (never hidden, never
fatal to the loop); results come back in the order of ``specs`` whatever the executor.

Executors (the seam a distributed backend plugs into): anything with
``map(fn, items) -> iterable`` yielding results in order, e.g. :class:`SerialExecutor` (default),
:class:`ProcessExecutor` (local processes; ``fn`` and specs must pickle), or
:class:`byzpgd.experiments.executors.DaskExecutor` (chunks as Dask tasks on a cluster). All three
also have ``as_completed(fn, items)`` (:class:`CompletingExecutor`).
"""

from __future__ import annotations

import concurrent.futures as cf
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class InstanceError:
    """An instance whose run raised: the spec, the error text and a short traceback."""

    spec: Any
    error: str
    traceback: str

    def as_example(self, spec_text: str | None = None) -> dict:
        return {"spec": spec_text if spec_text is not None else self.spec, "error": self.error,
                "traceback": self.traceback}


@dataclass(frozen=True)
class Timed:
    """The value ``fn(spec)`` returned, with its wall-clock time."""

    value: Any
    seconds: float


class BatchedRunError(RuntimeError):
    """A run of one spec as a batch of one ended in an error (the message the batch recorded)."""


def only(results: list):
    """The one result of a batch of one; an :class:`InstanceError` is raised as
    :class:`BatchedRunError` with its message (a run alone raises, as a one-run call does)."""
    (result,) = results
    if isinstance(result, InstanceError):
        raise BatchedRunError(result.error)
    return result


class Executor(Protocol):
    def map(self, fn: Callable, items: Iterable) -> Iterable: ...


class CompletingExecutor(Executor, Protocol):
    """An Executor that also yields ``(index, fn(items[index]))`` as each item finishes (one task
    per item: ``byzpgd verify`` runs one claim per task). Every executor here and
    :class:`byzpgd.experiments.executors.DaskExecutor` has both."""

    def as_completed(self, fn: Callable, items: Iterable) -> Iterable[tuple[int, Any]]: ...


class SerialExecutor:
    """Runs the instances one after another in this process."""

    def map(self, fn, items):
        return map(fn, items)

    def as_completed(self, fn, items):
        for i, item in enumerate(items):
            yield i, fn(item)


class ProcessExecutor:
    """Runs the instances in ``jobs`` local processes (results in order)."""

    def __init__(self, jobs: int, chunksize: int = 1):
        if int(jobs) < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
        self.jobs, self.chunksize = int(jobs), int(chunksize)

    def map(self, fn, items):
        pool = cf.ProcessPoolExecutor(self.jobs)
        try:
            yield from pool.map(fn, items, chunksize=self.chunksize)
        finally:   # a caller that stops early (run_instances' ``stop``) does not wait for the rest
            pool.shutdown(wait=True, cancel_futures=True)

    def as_completed(self, fn, items):
        with cf.ProcessPoolExecutor(self.jobs) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()


class _Guarded:
    """``fn`` wrapped so that an exception becomes an InstanceError (picklable when fn is)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, spec):
        t0 = time.perf_counter()
        try:
            return Timed(self.fn(spec), time.perf_counter() - t0)
        except Exception as exc:  # an instance that crashes is reported, never hidden
            return InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))


def run_instances(specs: Sequence, fn: Callable, executor: Executor | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  stop: Callable[[Timed | InstanceError], bool] | None = None) -> list[Timed | InstanceError]:
    """Run ``fn`` on every spec; one :class:`Timed` or :class:`InstanceError` per spec, in order.

    ``progress(done, total)`` is called after each instance. ``stop(result)``, called on each
    result in spec order, ends the loop when it returns True (early decisions,
    :mod:`byzpgd.properties.early`): the results so far are returned, later specs are not run
    (a process executor cancels the ones not started).
    """
    specs = list(specs)
    executor = executor or SerialExecutor()
    out: list[Timed | InstanceError] = []
    results = iter(executor.map(_Guarded(fn), specs))
    try:
        for i, result in enumerate(results):
            out.append(result)
            if progress is not None:
                progress(i + 1, len(specs))
            if stop is not None and stop(result):
                break
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
    return out


def run_in_chunks(specs: Sequence, fn: Callable, chunk_size: int, executor: Executor | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  stop: Callable[[Timed | InstanceError], bool] | None = None) -> list[Timed | InstanceError]:
    """:func:`run_instances` for a ``fn`` that runs many specs at once (batched trials):
    ``fn(chunk, progress)`` returns one :class:`Timed` or :class:`InstanceError` per spec of
    ``chunk`` (at most ``chunk_size`` specs; one task each on ``executor``), merged in spec
    order. ``progress(done, total)``: through ``fn`` as its instances end when the chunks run in
    this process (no executor), else after each chunk. ``stop`` as for :func:`run_instances`,
    applied in spec order: the results up to the deciding one are returned (the rest of its
    chunk, already computed, is dropped; later chunks are not run)."""
    specs = list(specs)
    chunks = [specs[i:i + chunk_size] for i in range(0, len(specs), chunk_size)]
    out: list[Timed | InstanceError] = []

    def take(results) -> bool:
        for r in results:
            out.append(r)
            if stop is not None and stop(r):
                return True
        return False

    if executor is None:
        for chunk in chunks:
            if take(fn(chunk, None if progress is None else _offset(progress, len(out), len(specs)))):
                break
        return out
    mapped = iter(executor.map(fn, chunks))
    try:
        for results in mapped:
            done = take(results)
            if progress is not None:
                progress(len(out), len(specs))
            if done:
                break
    finally:
        close = getattr(mapped, "close", None)
        if close is not None:
            close()
    return out


@dataclass(frozen=True)
class Batched:
    """The ``fn(chunk, progress)`` of :func:`run_in_chunks` made from a batch runner
    ``runner(specs) -> [value or InstanceError per spec]`` (a module-level function, so it
    pickles): each value is charged an equal share of the batch's time; a runner that raises
    gives every spec of the chunk that InstanceError (recorded, never hidden)."""

    runner: Callable

    def __call__(self, specs: list, progress=None) -> list[Timed | InstanceError]:
        t0 = time.perf_counter()
        try:
            values = self.runner(specs)
        except Exception as exc:
            tb = traceback.format_exc(limit=4)
            values = [InstanceError(s, f"{type(exc).__name__}: {exc}", tb) for s in specs]
        share = (time.perf_counter() - t0) / max(1, len(specs))
        if progress is not None:
            progress(len(specs), len(specs))
        return [v if isinstance(v, InstanceError) else Timed(v, share) for v in values]


def _offset(progress, start: int, total: int):
    """``progress`` for one chunk whose first instance is number ``start`` of ``total``."""
    return lambda done, _chunk_total: progress(start + done, total)


def split(results: Iterable[Timed | InstanceError]) -> tuple[list, list[InstanceError]]:
    """(values of the instances that ran, the errors)."""
    values, errors = [], []
    for r in results:
        (errors if isinstance(r, InstanceError) else values).append(
            r if isinstance(r, InstanceError) else r.value)
    return values, errors
