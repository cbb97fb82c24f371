"""``byzpgd.verify``: run claim checks as ``byzpgd verify`` does and return the typed report.

``verify(claims=None, profile="ci", seed=0, jobs=1, progress=False)`` runs the claim checks
exactly as ``byzpgd verify`` does (:func:`byzpgd.properties.registry.run_check` per claim) and
returns a :class:`VerifyReport` (a :class:`byzpgd.reports.model.Report`: ``.claims`` are typed
:class:`~byzpgd.properties.result.ClaimResult` objects with ``.id``, ``.status`` and every report
field; ``.ok``; ``.write(dir)`` writes report.json, report.md and report.html as the CLI does).
``claims`` are ids or shell-style patterns (``byzantine_pgd.*``), see :func:`select_claims`.
With ``jobs`` > 1 or ``max_seconds`` the checks run in a :class:`byzpgd._pool.KillablePool`.
"""

from __future__ import annotations

import fnmatch
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ._pool import KillablePool
from ._progress_arg import as_progress
from .progress import Progress
from .reports.model import Report

__all__ = ["verify", "select_claims", "VerifyReport", "ClaimSelectionError", "VerifyTimeout",
           "verify_command", "claim_line", "fmt_ratio", "draw_escape_illustration"]


# =================================================================================================
# claim selection
# =================================================================================================
class ClaimSelectionError(ValueError):
    """An id or pattern of ``claims`` matches no registered claim (a usage error)."""


def _patterns(claims) -> list[str]:
    if isinstance(claims, str):
        items = claims.split(",")
    else:
        try:
            items = list(claims)
        except TypeError:
            raise ClaimSelectionError(f"claims must be ids or patterns (a string or a list of strings), "
                                      f"got {type(claims).__name__}") from None
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ClaimSelectionError(f"claims must be strings, got {item!r}")
        if item.strip():
            out.append(item.strip())
    if not out:
        raise ClaimSelectionError("claims is empty: give ids or patterns, or None for every claim")
    return out


def select_claims(claims: str | Iterable[str] | None = None, known: list[str] | None = None) -> list[str]:
    """The claim ids ``claims`` selects, in the order given (each pattern's matches in registry order,
    no id twice). ``claims``: None (every registered claim), a comma-separated string, or a list of
    ids and shell-style patterns (``*``, ``?``, ``[...]``: ``byzantine_pgd.*``). An id or pattern
    that matches nothing raises :class:`ClaimSelectionError` naming it."""
    if known is None:
        from .properties.registry import claim_ids
        known = claim_ids()
    if claims is None:
        return list(known)
    out: list[str] = []
    unmatched = []
    for pat in _patterns(claims):
        hits = [c for c in known if fnmatch.fnmatchcase(c, pat)]
        if not hits:
            unmatched.append(pat)
        out.extend(h for h in hits if h not in out)
    if unmatched:
        kind = "id(s) or pattern(s)" if any(ch in "".join(unmatched) for ch in "*?[") else "id(s)"
        raise ClaimSelectionError(f"unknown claim {kind} {unmatched}: no registered claim matches; "
                                  "see 'byzpgd claims'")
    return out


# =================================================================================================
# verify
# =================================================================================================
@dataclass(frozen=True)


class VerifyReport(Report):
    """The verification report (:class:`byzpgd.reports.model.Report`: fields ``profile``, ``seed``,
    ``command``, ``claims`` (list of ClaimResult), ``environment``, ``seconds``, ``extra``,
    ``illustration``; ``ok`` and ``summary``), plus :meth:`write`, lookup by claim id and
    ``draw_illustration`` (whether :meth:`write` computes the escape illustration of report.html
    when the report has none: it is drawn only when a report is written)."""

    draw_illustration: bool = field(default=True, repr=False, compare=False)

    def write(self, out_dir, *, escape_illustration: bool = True,
              say: Callable[[str], None] | None = None) -> list[Path]:
        """Write DIR/report.json, report.md and report.html (the files of ``byzpgd verify --out
        DIR``, as one atomic set: either the three new files or the previous ones); returns the
        paths. ``say``: where a failure to compute the illustration is reported."""
        from .reports import write_all

        report = self
        if escape_illustration and self.draw_illustration and self.illustration is None:
            report = replace(self, illustration=draw_escape_illustration(say or (lambda msg: None)))
        return write_all(Path(out_dir), report, escape_illustration=escape_illustration)

    def __getitem__(self, claim_id: str):
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"no claim {claim_id!r} in this report; it has {[c.id for c in self.claims]}")

    @property
    def failed(self) -> list:
        """The claims that do not hold (violated, error or inconclusive)."""
        return [c for c in self.claims if not c.ok]

    @classmethod
    def of(cls, report: Report, draw_illustration: bool = True) -> VerifyReport:
        return cls(**{f.name: getattr(report, f.name) for f in fields(Report)},
                   draw_illustration=draw_illustration)


def verify_command(ids: list[str] | None, profile: str, seed: int, out: str | os.PathLike = "DIR",
                   claims_arg: str | None = None, complete: bool = False,
                   max_seconds: float | None = None, claims_from: Sequence[str] = ()) -> str:
    """The ``byzpgd verify`` command that reproduces a run (``claims_arg`` as the user wrote it, else
    the ids joined by commas; none for every claim; ``claims_from``: the user claim files)."""
    sel = claims_arg if claims_arg is not None else (",".join(ids) if ids is not None else None)
    return shlex.join(["byzpgd", "verify", *[a for src in claims_from for a in ("--claims-from", src)],
                       "--profile", profile, "--seed", str(seed),
                       *(["--claims", sel] if sel else []),
                       *(["--complete"] if complete else []),
                       *(["--max-seconds", f"{max_seconds:g}"] if max_seconds is not None else []),
                       "--out", str(out)])


class _InstanceNote:
    """run_check's progress(done, total) → the bar's note ('claim: done/total instances')."""

    def __init__(self, bar: Progress | None, claim_id: str):
        self.bar, self.claim_id = bar, claim_id

    def __call__(self, done, total):
        if self.bar is not None:
            self.bar.set(self.bar.done, note=f"{self.claim_id}: {done}/{total} instances")


def _check_one(task):
    from .properties.early import complete_instances
    from .properties.registry import run_check
    from .properties.runner import batched_trials
    from .properties.user import load_claims_from
    claim_id, profile, seed, batched, complete, claims_from = task
    for source in claims_from:      # a worker that did not inherit the user's claims loads them
        load_claims_from(source)
    with batched_trials(batched), complete_instances(complete):
        return run_check(claim_id, profile, seed)


SHARE_PARTS = 4     # chunks per worker of a claim whose instances share the pool


def _in_thread(fn, *args) -> Future:
    """``fn(*args)`` in a daemon thread of this process, as a Future (a run that is interrupted
    does not wait for it)."""
    future: Future = Future()

    def target():
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                future.set_exception(exc)

    threading.Thread(target=target, name=f"byzpgd-{fn.__name__}", daemon=True).start()
    return future


def _check_shared(task, executor, parts: int):
    """A check whose instances share the worker pool (:data:`byzpgd.properties.registry.SHARES_POOL`),
    run in a thread of this process: its instances go to ``executor`` as about ``parts`` chunks,
    queued with the other claims' tasks (:func:`byzpgd.properties.runner.shared_pool`), so one long
    claim no longer holds a single worker while the others idle. The result is the one
    :func:`_check_one` gives except ``seconds``: this thread's CPU time plus the instances' time in
    the workers (not the wall time, which waits for the queue)."""
    from .properties.early import complete_instances
    from .properties.registry import run_check
    from .properties.runner import batched_trials, shared_pool
    claim_id, profile, seed, batched, complete, _ = task
    t0 = time.thread_time()
    with batched_trials(batched), complete_instances(complete), shared_pool(executor, parts):
        result = run_check(claim_id, profile, seed)
    details = dict(result.details or {})
    pooled = details.pop("instance_seconds", None)
    if pooled is None:
        return result
    return replace(result, details=details).with_seconds(time.thread_time() - t0 + pooled)


def _on_cluster(ids: list[str], executor, rest: tuple) -> Iterable:
    """The results of the claims ``ids`` on a Dask ``executor``, in order of completion: one task
    per claim, except the claims that share the pool (:data:`byzpgd.properties.registry.SHARES_POOL`,
    when batched), whose checks run in threads of this process and send their instances to the
    cluster as about :data:`SHARE_PARTS` chunks per worker thread (as on the local pool), so one
    long claim is spread over every worker instead of holding one. ``rest``: the task's fields
    after the claim id (profile, seed, batched, complete, claims_from)."""
    from .properties.registry import shares_pool

    shared = [cid for cid in ids if rest[2] and shares_pool(cid)]
    alone = [(cid, *rest) for cid in ids if cid not in shared]
    finished: queue.SimpleQueue = queue.SimpleQueue()    # results, and the threads' futures as they end
    threads = []
    if alone:      # consumed in a thread, so that the shared claims submit their chunks meanwhile
        threads.append(_in_thread(_stream_results, executor, alone, finished))
    threads += [_in_thread(_check_shared, (cid, *rest), executor, SHARE_PARTS * executor.threads())
                for cid in shared]
    for thread in threads:
        thread.add_done_callback(finished.put)
    pending = len(threads)
    while pending:
        item = finished.get()
        if not isinstance(item, Future):     # one result of the one-task claims
            yield item
            continue
        pending -= 1
        value = item.result()                # re-raises what the thread raised
        if value is not None:                # a shared claim's result (the stream returns None)
            yield value


def _stream_results(executor, tasks: list, finished) -> None:
    """Put ``_check_one(task)`` for every task, run on ``executor`` one task each, on the queue
    ``finished`` as they complete (:func:`_on_cluster`)."""
    for _, result in executor.as_completed(_check_one, tasks):
        finished.put(result)


def _worker_init():
    """Pool workers: Ctrl-C is the parent's to handle (it ends them); SIGTERM/SIGHUP at their
    defaults (so the pool's terminate() ends a worker even though the fork copied the CLI's
    handlers); and a worker dies with its parent, even a SIGKILLed one (byzpgd.stopping); glibc's
    malloc thresholds for batches (byzpgd._malloc: the worker's, not the caller's)."""
    from ._malloc import tune_malloc
    from .stopping import worker_init
    worker_init(ignore_sigint=True)
    tune_malloc()


def fmt_ratio(x) -> str:
    """A worst ratio for a progress line (:func:`byzpgd.reports.words.ratio_text`: '—' when there is
    none, '∞' when infinite)."""
    from .reports.words import ratio_text
    return ratio_text(x)


def claim_line(k: int, total: int, result) -> str:
    """'[k/total] id: status (instances, non-vacuous, violations, worst ratio, seconds)', and,
    for a claim decided early (:mod:`byzpgd.properties.early`), after how many instances."""
    early = (result.details or {}).get("early_decision")
    decided = "" if not early else (f"; decided after {early['instances_run']}/"
                                    f"{early['instances_planned']} instances: {early['reason']}")
    from .reports.words import counts_text
    return (f"[{k}/{total}] {result.id}: {result.status} ({counts_text(result)}, "
            f"{result.seconds:.1f} s{decided})")


class VerifyTimeout(Exception):
    """``max_seconds`` of a verify ran out (:func:`verify` returns the partial report)."""


def _run_checks(ids: list[str], profile: str, seed: int, jobs: int, bar: Progress | None,
                executor=None, batched: bool = True, *, complete: bool = False,
                deadline: float | None = None, on_result: Callable[[dict], None] | None = None,
                claims_from: tuple[str, ...] = ()) -> dict:
    """The results by claim id, as they finish. ``on_result(results)`` after each one (the
    partial report). ``deadline`` (time.monotonic()): past it, :class:`VerifyTimeout` (the
    workers are ended; ``results`` so far are on the exception's ``results``); the checks then
    run in worker processes even with ``jobs`` = 1, so a claim still running can be stopped.
    With a Dask ``executor`` the deadline is looked at between claims only."""
    from .properties.early import complete_instances
    from .properties.registry import run_check
    from .properties.runner import batched_trials

    results: dict = {}

    def done(k, result):
        results[result.id] = result
        if bar is not None:
            bar.say(claim_line(k, len(ids), result))
            if result.replay:
                bar.say(f"    replay: {result.replay}")
            bar.set(k, note=f"{result.id}: {result.status}")
        if on_result is not None:
            on_result(results)

    def timed_out() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def timeout():
        exc = VerifyTimeout(f"max_seconds ran out with {len(ids) - len(results)} claim(s) unfinished")
        exc.results = results
        return exc

    if executor is not None:   # a Dask cluster (byzpgd.scaleout)
        for k, result in enumerate(_on_cluster(ids, executor, (profile, seed, batched, complete,
                                                                claims_from)), 1):
            done(k, result)
            if timed_out() and k < len(ids):
                raise timeout()
        return results
    if jobs == 1 and deadline is None:
        for k, cid in enumerate(ids, 1):
            if bar is not None:
                bar.set(k - 1, note=f"{cid}: running")
            with batched_trials(batched), complete_instances(complete):
                done(k, run_check(cid, profile, seed, progress=_InstanceNote(bar, cid)))
        return results
    from .properties.registry import shares_pool

    shared = [cid for cid in ids if batched and shares_pool(cid)]
    with KillablePool(jobs, initializer=_worker_init) as pool:
        # leaving by an exception (Ctrl-C, SIGTERM/SIGHUP, max_seconds, any error) ends the workers now
        # (and cancels the shared claims' chunks: their threads, daemons, are not waited for)
        if shared:
            pool.start()        # the workers are this thread's children, not a shared claim's thread's
        futures = {pool.submit(_check_one, (cid, profile, seed, batched, complete, claims_from)): cid
                   for cid in ids if cid not in shared}
        futures.update({_in_thread(_check_shared, (cid, profile, seed, batched, complete, claims_from),
                                   pool.executor, SHARE_PARTS * jobs): cid for cid in shared})
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            for k, fut in enumerate(as_completed(futures, timeout=remaining), 1):
                done(k, fut.result())
                if timed_out() and k < len(ids):
                    raise timeout()
        except FuturesTimeout:
            raise timeout() from None
    return results


def draw_escape_illustration(say):
    """The escape illustration of report.html, or None with the reason given to ``say``."""
    from .experiments.figures import escape_illustration

    try:
        return escape_illustration()
    except Exception as exc:  # a figure never costs the report
        say(f"no escape illustration: {type(exc).__name__}: {exc}")
        return None


def verify(claims: str | Iterable[str] | None = None, profile: str = "ci", seed: int = 0, *, jobs: int = 1,
           progress: bool | Progress | None = False, illustration: bool = True,
           command: str | None = None, executor=None, batched: bool = True, complete: bool = False,
           max_seconds: float | None = None,
           on_partial: Callable[[VerifyReport], None] | None = None,
           claims_from: str | Sequence[str] = ()) -> VerifyReport:
    """Check the claims ``claims`` (ids or patterns, :func:`select_claims`; None = all) on
    ``profile`` ('quick', 'ci' or 'deep') with ``seed``, in ``jobs`` processes, and return the
    :class:`VerifyReport` (this module's docstring). The result of each claim is exactly the one ``byzpgd
    verify`` reports for the same profile and seed (both call
    :func:`byzpgd.properties.registry.run_check`).

    ``progress``: False (silent, the default), True (a bar on a terminal, periodic lines otherwise)
    or a :class:`byzpgd.progress.Progress`. ``illustration``: draw the escape figure of report.html
    when the report is written (:meth:`VerifyReport.write`). ``command``: the command recorded in
    the report (default: the ``byzpgd verify`` command that reproduces the run). ``executor``: an
    executor with ``as_completed`` (a :class:`byzpgd.experiments.executors.DaskExecutor`, see
    :mod:`byzpgd.scaleout`) that runs one task per claim instead of ``jobs`` local processes (the
    claims that share the pool send their instances to it in chunks instead); the results are
    the same. ``batched`` (default True, how every command runs): the theorem and
    escape claims run their instances as batched trials of the one loop
    (:mod:`byzpgd.algorithms.engine`); False runs each instance as a batch of one, for comparisons
    (the same statuses, counts and worst cases: tests/test_batched.py).
    ``complete``: every claim runs every instance of the profile (default: a claim stops drawing
    instances once its verdict cannot change, :mod:`byzpgd.properties.early`).
    ``max_seconds``: the whole run's wall-clock limit; when it runs out the claims still running are
    ended and the report returned is partial (``partial == 'max_seconds'``, the unfinished claims in
    ``pending``). ``on_partial(report)`` is called after each finished claim with the partial report
    so far (``partial == 'running'``): ``byzpgd verify`` writes it. ``claims_from``: files or modules
    declaring user claims (:mod:`byzpgd.claims`), loaded first (and in every worker), so
    ``claims`` may select their ids. Raises
    :class:`ClaimSelectionError` or ValueError for bad arguments, before any check runs."""
    from .properties.profiles import PROFILES
    from .reports.json_report import build_report

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, int | float)
                                    or not 0 < max_seconds < float("inf")):
        raise ValueError(f"max_seconds must be a finite number > 0, got {max_seconds!r}")
    sources = (claims_from,) if isinstance(claims_from, str) else tuple(claims_from)
    if sources:
        from .properties.user import load_claims_from
        for source in sources:
            load_claims_from(source)
    ids = select_claims(claims)
    bar, own = as_progress(progress, "byzpgd verify", "claims")
    t0 = time.perf_counter()
    command = command or verify_command(None if claims is None else ids, profile, seed,
                                        complete=bool(complete), max_seconds=max_seconds,
                                        claims_from=sources)

    def make(results: dict, partial: str | None) -> VerifyReport:
        done = [c for c in ids if c in results]
        report = build_report(profile, seed, [results[c] for c in done], command,
                              seconds=time.perf_counter() - t0)
        pending = tuple(c for c in ids if c not in results)
        return VerifyReport.of(replace(report, partial=partial, pending=pending if partial else ()),
                               draw_illustration=illustration and partial is None)

    on_result = None if on_partial is None else (lambda results: on_partial(make(results, "running")))
    deadline = None if max_seconds is None else time.monotonic() + float(max_seconds)
    try:
        if bar is not None:
            bar.set(0, total=len(ids))
        try:
            results = _run_checks(ids, profile, seed, jobs, bar, executor, bool(batched),
                                  complete=bool(complete), deadline=deadline, on_result=on_result,
                                  claims_from=sources)
        except VerifyTimeout as exc:
            return make(exc.results, "max_seconds")
        return make(results, None)
    finally:
        if own:
            bar.close()


