"""Run the instance checks of Theorem 1 and Theorem 2 (docs/paper.md §4, §7.3): draw the claim's instances
(seeded: the same profile and seed draw the same instances), run each through the one instance
loop (:func:`byzpgd.experiments.loop.run_instances`), or, with ``batched``, as batched trials
(:class:`TheoremBatch`, the same records up to rounding), observe, aggregate into a
:class:`ClaimResult`.

Used by the theorem suite (``byzpgd verify``) and by the pytest suites.

Result cache
------------
:data:`CACHE` is an explicit hook for callers that want to reuse results (the pytest plugin
installs one with :func:`set_result_cache`). When set, a *plain* call of :func:`check_claim`
(no ``algorithm``, ``constant`` or ``n`` override: the call ``byzpgd verify`` makes) first asks
``CACHE.lookup(key)`` and returns the hit; otherwise it computes the result and hands it to
``CACHE.record(key, result)``. The key is ``(claim_id, profile, seed, batched, complete)``:
check_claim is deterministic in them (the executor changes only timings; batched trials change
values at the rounding level, so their results are kept apart; ``complete`` is ``--complete``,
:mod:`byzpgd.properties.early`).

Early decisions: unless ``--complete`` (:data:`byzpgd.properties.early.COMPLETE`), a claim stops
drawing instances once its verdict cannot change (:class:`byzpgd.properties.early.EarlyStop`).
"""

from __future__ import annotations

import contextlib
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from ..experiments.batched import BATCH_SIZE
from ..experiments.budget import FAILURE_PROBABILITY, budget
from ..experiments.instances import run, spec_call_cap
from ..experiments.loop import Executor, InstanceError, Timed, run_in_chunks, run_instances, split
from ..theory.claims import get
from .checks import Observation, instance_group, observe, verdict
from .early import COMPLETE, stop_rule
from .profiles import examples
from .result import ClaimResult
from .strategies import sample_specs


@dataclass(frozen=True)
class CacheKey:
    """What a plain :func:`check_claim` call is a function of."""

    claim_id: str
    profile: str
    seed: int
    batched: bool = True
    complete: bool = False     # --complete: every instance (no early decision)


class ResultCache(Protocol):
    def lookup(self, key: CacheKey) -> ClaimResult | None: ...

    def record(self, key: CacheKey, result: ClaimResult) -> None: ...


CACHE: ResultCache | None = None


def set_result_cache(cache: ResultCache | None) -> ResultCache | None:
    """Install ``cache`` as :data:`CACHE` (None removes it); returns the previous one."""
    global CACHE
    previous, CACHE = CACHE, cache
    return previous


BATCHED: ContextVar[bool] = ContextVar("byzpgd_batched_trials", default=True)
"""Whether a :func:`check_claim` call that does not say runs its instances as batched trials
(default True: how every command runs; :func:`batched_trials` sets it around a block, False
runs each instance as a batch of one, for comparisons)."""


@contextlib.contextmanager
def batched_trials(on: bool = True):
    """Within the block, :func:`check_claim` runs the instances of the theorem claims as batched
    trials (:mod:`byzpgd.experiments.batched`) unless told otherwise."""
    token = BATCHED.set(bool(on))
    try:
        yield
    finally:
        BATCHED.reset(token)


SHARED_POOL: ContextVar[tuple[Executor, int] | None] = ContextVar("byzpgd_shared_pool", default=None)
"""(executor, parts) when a batched :func:`check_claim` without an executor of its own runs its
instances as about ``parts`` chunks on ``executor`` (``byzpgd verify``'s worker pool, shared with
the other claims: :func:`shared_pool`); None (default): in the calling process."""
MIN_SHARE = 256         # the smallest chunk a shared pool gets (a batch keeps its speed-up)


@contextlib.contextmanager
def shared_pool(executor: Executor, parts: int):
    """Within the block, a batched :func:`check_claim` that is given no executor runs its instances
    as about ``parts`` chunks (at least :data:`MIN_SHARE` specs each) on ``executor``, so one
    long claim is spread over the workers instead of holding one. The chunks are merged in spec
    order and the early decision applied in that order (:func:`byzpgd.experiments.loop.run_in_chunks`):
    the same result as in one process; only the times differ."""
    if int(parts) < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    token = SHARED_POOL.set((executor, int(parts)))
    try:
        yield
    finally:
        SHARED_POOL.reset(token)


def pool_chunks(n: int, executor: Executor | None) -> tuple[Executor | None, int, bool]:
    """(executor, chunk size, shared) of a batched run of ``n`` specs: the caller's executor and
    one batch, or the :data:`SHARED_POOL` and its chunks when one is set and the caller has none."""
    shared = SHARED_POOL.get() if executor is None else None
    if shared is None:
        return executor, BATCH_SIZE, False
    pool, parts = shared
    return pool, max(MIN_SHARE, -(-n // parts)), True


def instance_seconds(results) -> dict:
    """``{'instance_seconds': s}``: the instances' own time (the :class:`Timed` shares) of a
    run on a shared pool, for the claim's details (``byzpgd verify`` makes it the claim's seconds:
    its wall time waits for the queue)."""
    return {"instance_seconds": round(sum(r.seconds for r in results if isinstance(r, Timed)), 3)}


@dataclass(frozen=True)
class TheoremBatch:
    """Instances of a Theorem 1/2 claim as batched trials: ``run_batch`` gives, per spec, the
    record ``instances.run`` gives (up to rounding, tests/test_batched.py), observed as
    :class:`TheoremInstance` observes it; each instance is charged an equal share of the
    batch's time. A picklable callable on a list of specs, for any executor."""

    claim_id: str
    constant: float | None = None

    def __call__(self, specs: list[dict], progress=None) -> list[Timed | InstanceError]:
        from ..experiments.batched import run_batch, timed

        t0 = time.perf_counter()
        records = run_batch(specs, progress=progress)
        out: list[Timed | InstanceError] = []
        for spec, r in zip(specs, timed(records, time.perf_counter() - t0), strict=True):
            if isinstance(r, InstanceError):
                out.append(r)
                continue
            try:
                out.append(Timed(observe(get(self.claim_id), r.value, self.constant), r.seconds))
            except Exception as exc:   # as run_instances: recorded, never hidden
                out.append(InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4)))
        return out


@dataclass(frozen=True)
class TheoremInstance:
    """One instance of a Theorem 1/2 claim: run the spec (``algorithm`` replaces the algorithm
    under test) and observe the claim on it (``constant`` replaces the claim's constant).
    A picklable callable, so a process executor can run it."""

    claim_id: str
    algorithm: object = None
    constant: float | None = None

    def __call__(self, spec: dict) -> Observation:
        return observe(get(self.claim_id), run(spec, self.algorithm), self.constant)


def cap_order(specs: list[dict]) -> list[int]:
    """The order in which early decisions run the specs: by their theory call cap, smallest first
    (:func:`byzpgd.experiments.instances.spec_call_cap`; ties and specs whose cap cannot be computed
    keep their order). A run that never settles reaches a small cap in moments, so a claim it
    violates is decided before the long instances run; the verdict of a complete run does not depend
    on the order, and the results are put back in spec order before the verdict."""
    def key(i: int) -> float:
        try:
            return float(spec_call_cap(specs[i]).calls)
        except Exception:   # a spec that cannot be built crashes in its run, reported there
            return float("inf")
    return sorted(range(len(specs)), key=lambda i: (key(i), i))


def check_claim(claim_id: str, profile: str = "ci", seed: int = 0, *, algorithm=None,
                constant: float | None = None, n: int | None = None, progress=None,
                executor: Executor | None = None, batched: bool | None = None) -> ClaimResult:
    """Check one claim on ``n`` instances (default: the profile's count).

    ``algorithm`` replaces the algorithm under test and ``constant`` the claim's constant (both
    for the able-to-fail tests). ``progress(done, total)`` is called after each instance;
    ``executor`` runs the instances (default: serially, see :mod:`byzpgd.experiments.loop`).
    ``batched`` (default: :data:`BATCHED`) runs them as batched trials (:class:`TheoremBatch`,
    chunks of specs as the executor's tasks; not with ``algorithm``, which runs one at a time):
    the same specs and records up to rounding, so the same statuses and counts; the details
    say ``trials: 'batched'``. A plain call consults :data:`CACHE` (module docstring).
    """
    batched = (BATCHED.get() if batched is None else bool(batched)) and algorithm is None
    plain = algorithm is None and constant is None and n is None
    key = CacheKey(claim_id, profile, int(seed), batched, COMPLETE.get())
    if plain and CACHE is not None and (hit := CACHE.lookup(key)) is not None:
        return hit
    claim = get(claim_id)
    t0 = time.perf_counter()
    specs = sample_specs(claim_id, n or examples(profile, claim_id), seed)
    stop = stop_rule(claim.kind, specs, instance_group, FAILURE_PROBABILITY)
    shared = False
    if batched:
        run_on, size, shared = pool_chunks(len(specs), executor)
        results = run_in_chunks(specs, TheoremBatch(claim_id, constant), size, run_on, progress, stop=stop)
    else:
        order = list(range(len(specs))) if stop is None else cap_order(specs)
        ran = run_instances([specs[i] for i in order], TheoremInstance(claim_id, algorithm, constant),
                            executor, progress, stop=stop)
        results = [r for _, r in sorted(zip(order, ran, strict=False), key=lambda pair: pair[0])]
    observations, errors = split(results)
    details = {"budget": budget("theorems"), **({"trials": "batched"} if batched else {}),
               **(stop.details() if stop is not None else {})}
    if shared:
        details.update(instance_seconds(results))
    result = verdict(claim, observations, errors, FAILURE_PROBABILITY, details=details,
                     group_of=instance_group)
    result = result.with_seconds(time.perf_counter() - t0)
    if plain and CACHE is not None:
        CACHE.record(key, result)
    return result


def replay(claim_id: str, spec: dict) -> dict:
    """Re-run one instance and report its observation (what ``byzpgd replay`` prints; the
    replay contract of :func:`byzpgd.properties.registry.register_replay`)."""
    rec = run(spec)
    obs = observe(get(claim_id), rec)
    return {"claim": claim_id, "observed": obs.observed, "bound": obs.bound, "holds": obs.holds,
            "vacuous": obs.vacuous, "in_hypotheses": obs.in_hypotheses, "note": obs.note,
            "status": rec.status, "values": rec.values}
