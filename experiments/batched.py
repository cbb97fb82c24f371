"""Many instances of one claim as batched trials (:mod:`byzpgd.algorithms.engine`); a spec run
alone is a batch of one through the same functions, and a trial's record does not depend on the
batch it runs in (benchmarks/batched_trials.py measures the instances per second of both).

- :func:`run_batch` (the theorem claims): ``run_batch(specs)`` returns, for each spec of
  :mod:`.instances`, its :class:`~.instances.RunRecord` (``instances.run(spec)`` is
  ``run_batch([spec])``; ``instances.run_single``, the one-run classes, agrees up to rounding), or
  the :class:`~.loop.InstanceError` that ``run_instances`` would have recorded for it; in spec order.
- :func:`run_monitored_batch` (``monitor.descent``): what the descent monitor saw on each run.
- :func:`run_escape_batch` (the mechanism escape claims): what ``mechanism.run_escape(spec,
  stop_distance, max_calls)`` returns, per spec.
- :func:`run_attack_batch` (the saddle-attack claims): what ``saddle_attack.run_attack(spec,
  control=..., attacked_control=...)`` returns, per spec (robust GD, Jin et al.'s PGD and
  ByzantinePGD, with their controls).

Specs are grouped by what one vectorised batch needs in common (landscape family, algorithm
family; dimensions and adversaries may differ, :mod:`byzpgd.oracles.batched`); a spec whose
oracle has no batched form (every adversary of the claims has one) runs one at a time through the
one-run experiment, so every spec gets its result. The descent monitor
(:class:`~.monitor.BatchedDescentMonitor`, the one implementation of its rule) and the observers
of the mechanism runs work row by row.

Claim checks plug these in where they call ``run_instances`` (:func:`timed` gives the same
``Timed``/``InstanceError`` list); the able-to-fail overrides (another algorithm or constant)
keep the one-at-a-time runs.
"""

from __future__ import annotations

import importlib
import traceback
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..algorithms.engine import ERROR_PREFIX, batched_perturbed_gd, row_norms
from ..oracles.batched import (
    BatchedCertifiedOracle,
    batch_adversaries,
    batch_landscapes,
    kind_order,
    oracle_kind,
)
from ..oracles.inexact import CertifiedOracle, ExactOracle
from ..oracles.stacking import take_rows
from ..theory.certify import certify
from ..theory.parameters import CALIBRATED_FACTORS
from . import mechanism as mech
from .budget import FAILURE_PROBABILITY, INSTANCE_SECONDS
from .instances import (
    RunRecord,
    build_landscape,
    cap_for_values,
    make_oracle,
    record_status,
    run_single,
    start_point,
    theorem_values,
)
from .loop import InstanceError
from .monitor import BatchedDescentMonitor, MonitorRecord, run_monitored_single
from .monitor import ask as _ask
from .monitor import tell as _tell


def byz_params(*args, **kwargs):
    """``algorithms.byzantine_pgd.theorem_params``, looked up at each call (as ByzantinePGD
    looks it up), so a patched module attribute (a parameter fault of the campaign) reaches
    the batched trials too."""
    return importlib.import_module("byzpgd.algorithms.byzantine_pgd").theorem_params(*args, **kwargs)


def exact_params(*args, **kwargs):
    """``algorithms.exact_pgd.theorem_params``, looked up at each call (as byz_params)."""
    return importlib.import_module("byzpgd.algorithms.exact_pgd").theorem_params(*args, **kwargs)


BATCH_SIZE = 4096
"""Trials per vectorised batch (larger groups are split). Large: a batch runs as many engine
steps as its longest trial, so the per-step cost is shared by more trials (3000 exact-PGD
trials: 14.4 s in batches of 512, 8.7 s in one batch; ByzantinePGD's 800: the same either way)."""


class BatchedLeaveObserver:
    """:class:`~.mechanism.LeaveObserver` row by row: a trial whose query (any row of it) is at
    distance >= radius from the centre ends with 'left_region' before the oracle answers."""

    def __init__(self, inner, centre, radius):
        self.inner, self.landscape = inner, inner.landscape
        self.centre, self.radius = np.asarray(centre), np.asarray(radius, dtype=np.float64)

    def query(self, W, idx, single):
        far = row_norms(W - take_rows(self.centre, idx)) >= self.radius[idx]
        ended = {int(b): "left_region" for b in np.unique(idx[far])}
        G, inner_ended = _ask(self.inner, W, idx, single, ended)
        ended.update(inner_ended)
        return G, ended

    def notify(self, b: int, event: str, **data):
        return _tell(self.inner, b, event, data)


class BatchedFirstEscapeObserver:
    """:class:`~.mechanism.FirstEscapeObserver` for batched trials: after trial b's first
    'escape' event, its next query is the escaped iterate (the loop queries ĝ there next); the
    observer records that query's distance from the trial's centre and ends the trial
    ('escaped') before the oracle answers, whatever the reading of the escape test. The distance
    is measured on the loop's own query, never on the point the event reports. The trial's round
    counter then holds the rounds started at the centre."""

    def __init__(self, inner, centre):
        self.inner, self.landscape = inner, inner.landscape
        self.centre = np.asarray(centre, dtype=np.float64)
        self.escape_distance = np.full(self.centre.shape[0], np.nan)
        self.pending = np.zeros(self.centre.shape[0], dtype=bool)

    def query(self, W, idx, single):
        ended: dict[int, str] = {}
        rows = np.flatnonzero(self.pending[idx])
        if rows.size:
            b = idx[rows]
            self.escape_distance[b] = row_norms(W[rows] - take_rows(self.centre, b))
            self.pending[b] = False
            ended = {int(t): "escaped" for t in b}
        G, inner_ended = _ask(self.inner, W, idx, single, ended)
        ended.update(inner_ended)
        return G, ended

    def notify(self, b: int, event: str, **data):
        why = _tell(self.inner, b, event, data)
        if event == "escape":
            self.pending[b] = True
        return why


def _error(spec, message):
    return InstanceError(spec, message, "batched run (byzpgd.experiments.batched)")


def _guarded(fn, spec):
    try:
        return fn(spec)
    except Exception as exc:   # as run_instances: a crash is recorded, never hidden
        return InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))


def _chunks(indices, size, oracles):
    """Chunks of at most ``size`` of ``indices``, in :func:`~byzpgd.oracles.batched.kind_order` of
    their one-instance oracles ``oracles[i]``: each adversary kind's trials contiguous."""
    ordered = [indices[k] for k in kind_order([oracles[i] for i in indices])]
    for i in range(0, len(ordered), size):
        yield ordered[i:i + size]


# --- theorem instances ----------------------------------------------------------------------
def _theorem_key(spec, land, oracle):
    return (spec["family"], type(land).__name__, oracle_kind(oracle.oracle) is not None)


def _theorem_params(spec, land, w0, oracle):
    gap = land.value(w0) - land.f_star
    if spec["family"] == "byzantine_pgd":
        if not (oracle.delta > 0):
            raise ValueError(f"Delta (oracle.delta) must be > 0 for ByzantinePGD, got {oracle.delta}")
        return byz_params(oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap)
    if oracle.delta != 0:
        raise ValueError(f"exact_pgd needs an exact oracle (delta = 0), got delta = {oracle.delta}")
    return exact_params(spec["epsilon"], land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap,
                        spec.get("variant", "proved"))


def run_batch(specs: list[dict], batch_size: int = BATCH_SIZE, progress=None, *,
              raise_build_errors: bool = False) -> list[RunRecord | InstanceError]:
    """One result per theorem spec, in order: what ``instances.run(spec)`` returns (module
    docstring), or the InstanceError ``run_instances`` would record. ``progress(done, total)``
    is called as trials finish (in a batch) or instances end (one at a time, or an error).
    ``raise_build_errors``: a spec that cannot be built raises instead (a run alone)."""
    return _theorem_batches(specs, batch_size, progress, _run_record, run_single, raise_build_errors)


def run_monitored_batch(specs: list[dict], batch_size: int = BATCH_SIZE, progress=None, *,
                        raise_build_errors: bool = False) -> list[MonitorRecord | InstanceError]:
    """One result per theorem spec, in order: what ``monitor.run_monitored(spec)`` returns (what
    the descent monitor saw on the run ``instances.run(spec)`` makes), or the InstanceError
    ``run_instances`` would record; ``progress`` and ``raise_build_errors`` as :func:`run_batch`."""
    return _theorem_batches(specs, batch_size, progress, _monitor_record, run_monitored_single,
                            raise_build_errors)


def _theorem_batches(specs, batch_size, progress, make_record, one, raise_build_errors=False):
    specs = list(specs)
    counter = _Counter(len(specs), progress)
    out: list = [None] * len(specs)
    built: dict[int, tuple] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, spec in enumerate(specs):
        try:
            land = build_landscape(spec)
            w0 = start_point(spec, land)
            oracle = make_oracle(spec, land)
            params = _theorem_params(spec, land, w0, oracle)
        except Exception as exc:
            if raise_build_errors:
                raise
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))
            counter.add(1)
            continue
        built[i] = (land, w0, oracle, params)
        groups[_theorem_key(spec, land, oracle)].append(i)
    inner = {i: b[2].oracle for i, b in built.items()}
    for members in groups.values():
        for chunk in _chunks(members, batch_size, inner):
            _run_theorem_chunk(specs, chunk, built, out, counter, make_record, one)
    return out


class _Counter:
    """Instances done across the batches of one call, reported as ``progress(done, total)``."""

    def __init__(self, total, progress):
        self.total, self.progress, self.done = total, progress, 0

    def add(self, k):
        self.done += k
        if self.progress is not None and k:
            self.progress(self.done, self.total)

    def batch(self):
        """A ``progress(done_in_batch)`` callback for one batched_perturbed_gd call."""
        start = self.done

        def report(done_in_batch):
            self.add(start + done_in_batch - self.done)
        return report


def _run_theorem_chunk(specs, chunk, built, out, counter, make_record, one):
    lands = [built[i][0] for i in chunk]
    inner = [built[i][2].oracle for i in chunk]
    try:
        blands = batch_landscapes(lands)
        badv = batch_adversaries(inner, blands)
    except ValueError:
        badv = None
    if badv is None:                          # no batched form: one at a time
        for i in chunk:
            out[i] = _guarded(one, specs[i])
            counter.add(1)
        return
    cert = BatchedCertifiedOracle(badv)
    monitored = BatchedDescentMonitor(cert, blands.L, badv.delta)
    W0 = blands.pad([built[i][1] for i in chunk])
    values = [theorem_values(specs[i], built[i][0], built[i][0].value(built[i][1]) - built[i][0].f_star)
              for i in chunk]
    caps = [cap_for_values(specs[i]["family"], v) for i, v in zip(chunk, values, strict=True)]
    res = batched_perturbed_gd(monitored, W0, [built[i][3] for i in chunk],
                               [np.random.default_rng(specs[i]["run_seed"]) for i in chunk],
                               max_oracle_calls=np.array([c.calls for c in caps], dtype=np.int64),
                               max_seconds=INSTANCE_SECONDS, dims=blands.dims, progress=counter.batch())
    for j, i in enumerate(chunk):
        spec, r = specs[i], res[j]
        if r.status == "error":
            out[i] = _error(spec, res.errors[j])
            continue
        try:
            out[i] = make_record(_Trial(spec, built[i][0], built[i][1], r, values[j], caps[j], j),
                                 cert, monitored)
        except Exception as exc:
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))


@dataclass(frozen=True)
class _Trial:
    """Trial j of a theorem batch: its spec, landscape, start, result, theory values and cap."""

    spec: dict
    land: object
    w0: np.ndarray
    result: object
    values: dict
    cap: object
    j: int


def _run_record(t: _Trial, cert: BatchedCertifiedOracle, monitored: BatchedDescentMonitor) -> RunRecord:
    """The trial's :class:`~.instances.RunRecord`, as ``instances.run`` makes it."""
    r, land = t.result, t.land
    c = certify(land, r.w)
    left = land.domain_radius is not None and cert.max_query_norm[t.j] > land.domain_radius
    return RunRecord(t.spec, t.values, c.grad_norm, c.lambda_min, c.lambda_min_error,
                     r.grad_oracle_calls, record_status(r.status, r.grad_oracle_calls, t.cap),
                     float(np.linalg.norm(land.grad(t.w0))), bool(left), t.cap.calls, t.cap.source)


def _monitor_record(t: _Trial, cert: BatchedCertifiedOracle,
                    monitored: BatchedDescentMonitor) -> MonitorRecord:
    """What the trial's monitor saw, as ``monitor.run_monitored`` reports it."""
    return MonitorRecord(t.spec, t.result.status, int(monitored.steps[t.j]), float(monitored.worst[t.j]),
                         monitored.violations.get(t.j))


# --- mechanism escape instances -------------------------------------------------------------
def run_escape_batch(specs: list[dict], stop_distances, max_calls,
                     batch_size: int = BATCH_SIZE) -> list[mech.EscapeRun | InstanceError]:
    """One result per mechanism escape spec, in order: what ``mechanism.run_escape(spec,
    stop_distances[i], max_calls[i])`` returns, or the InstanceError ``run_instances`` would
    record."""
    specs = list(specs)
    stop = np.broadcast_to(np.asarray(stop_distances, dtype=np.float64), (len(specs),))
    caps = np.broadcast_to(np.asarray(max_calls, dtype=np.int64), (len(specs),))
    out: list = [None] * len(specs)
    built: dict[int, tuple] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, spec in enumerate(specs):
        try:
            land = mech.escape_landscape(spec)
            oracle = mech._oracle(spec, land)
            c = np.zeros(land.dim)
            if spec["family"] == "exact_pgd":
                params = exact_params(spec["epsilon"], land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                                      land.value(c) - land.f_star)
            else:
                if not (oracle.delta > 0):
                    raise ValueError(f"Delta (oracle.delta) must be > 0 for ByzantinePGD, got {oracle.delta}")
                params = byz_params(oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                                    land.value(c) - land.f_star, CALIBRATED_FACTORS)
        except Exception as exc:
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))
            continue
        built[i] = (land, oracle, params)
        groups[(spec["family"], oracle_kind(oracle.oracle) is not None)].append(i)
    inner = {i: b[1].oracle for i, b in built.items()}
    for members in groups.values():
        for chunk in _chunks(members, batch_size, inner):
            _run_escape_chunk(specs, chunk, built, stop, caps, out)
    return out


def _run_escape_chunk(specs, chunk, built, stop, caps, out):
    lands = [built[i][0] for i in chunk]
    try:
        blands = batch_landscapes(lands)
        badv = batch_adversaries([built[i][1].oracle for i in chunk], blands)
    except ValueError:
        badv = None
    if badv is None:
        for i in chunk:
            out[i] = _guarded(lambda s, i=i: mech.run_escape(s, float(stop[i]), int(caps[i])), specs[i])
        return
    d = blands.dim
    observer = BatchedLeaveObserver(BatchedCertifiedOracle(badv), np.zeros((len(chunk), d)),
                                    stop[chunk])
    res = batched_perturbed_gd(observer, np.zeros((len(chunk), d)), [built[i][2] for i in chunk],
                               [np.random.default_rng(specs[i]["run_seed"]) for i in chunk],
                               max_oracle_calls=caps[chunk], max_seconds=INSTANCE_SECONDS,
                               dims=blands.dims)
    for j, i in enumerate(chunk):
        r = res[j]
        if r.status == "error":
            out[i] = _error(specs[i], res.errors[j])
            continue
        try:
            c = certify(lands[j], r.w)
            out[i] = mech.EscapeRun(float(c.lambda_min), float(np.linalg.norm(r.w)), r.status,
                                    int(r.grad_oracle_calls))
        except Exception as exc:
            out[i] = InstanceError(specs[i], f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))


def timed(results, seconds: float):
    """``run_instances``-shaped results (:class:`~.loop.Timed` / InstanceError) from a batch
    that took ``seconds`` in all (each instance's share)."""
    from .loop import Timed

    share = seconds / max(1, len(results))
    return [r if isinstance(r, InstanceError) else Timed(r, share) for r in results]




# --- saddle-attack escape instances ---------------------------------------------------------
def run_attack_batch(specs: list[dict], batch_size: int = BATCH_SIZE, *, control: bool = False,
                     attacked_control: str | None = "robust_gd") -> list:
    """One result per saddle-attack spec, in order: what ``saddle_attack.run_attack(spec,
    control=control, attacked_control=attacked_control)`` returns (the defaults: the call of the
    claim saddle_attack.byzantine_pgd_escapes; ``control=True, attacked_control=None``: the
    trapped claims'), or the InstanceError ``run_instances`` would record. Each algorithm runs
    on the one loop with the parameters of ``saddle_attack.loop_params``: ByzantinePGD under the
    descent monitor and its theory cap, Jin et al.'s PGD with its decrease test, robust GD; the
    control (the same algorithm with the exact oracle, or ``attacked_control`` under a fresh
    copy of the adversary) from the same start and seed. A spec whose adversary has no batched
    form runs one at a time (one spec alone is a batch of one)."""
    from . import saddle_attack as sa

    def one(spec):
        return sa.run_attack(spec, control=control, attacked_control=attacked_control)

    specs = list(specs)
    out: list = [None] * len(specs)
    built: dict[int, _AttackTrial] = {}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, spec in enumerate(specs):
        try:
            trial = _attack_trial(spec, sa, control, attacked_control)
        except LookupError:
            out[i] = _guarded(one, spec)
            continue
        except Exception as exc:
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))
            continue
        built[i] = trial
        groups[(trial.name, trial.control_name, type(trial.land).__name__)].append(i)
    inner = {i: t.oracle.oracle for i, t in built.items()}
    for members in groups.values():
        for chunk in _chunks(members, batch_size, inner):
            _run_attack_chunk(specs, chunk, built, out, sa)
    return out


@dataclass(frozen=True)
class _AttackTrial:
    """One saddle-attack spec built for a batch: its algorithm and control, their oracles and
    loop parameters, the start, γ and ByzantinePGD's theory cap (None for the others)."""

    land: object
    w0: np.ndarray
    gamma: float
    name: str
    oracle: object
    params: object
    control_name: str | None
    control_oracle: object
    control_params: object
    cap: object


def _attack_trial(spec, sa, control, attacked_control) -> _AttackTrial:
    """LookupError: the spec runs one at a time (no batched form, or a combination run_attack
    alone knows, e.g. an unknown algorithm, whose error it reports)."""
    name = spec.get("algorithm")
    if name not in sa.ALGORITHMS:
        raise LookupError
    land = build_landscape(spec)
    w0, gam = sa.attack_start(spec, land)
    attacked = make_oracle({**spec, "family": "byzantine_pgd"}, land)
    if oracle_kind(attacked.oracle) is None:
        raise LookupError
    control_name = attacked_control if attacked_control is not None else (name if control else None)
    control_oracle = control_params = None
    if control_name is not None:
        control_oracle = (make_oracle({**spec, "family": "byzantine_pgd"}, land)
                          if attacked_control is not None else CertifiedOracle(ExactOracle(land)))
        if control_name == "byzantine_pgd" and not control_oracle.delta > 0:
            raise LookupError        # run_attack reports ByzantinePGD's refusal of an exact oracle
        control_params = sa.loop_params(control_name, spec, land, w0, control_oracle)
    cap = sa.escape_cap(spec, land, w0) if name == "byzantine_pgd" else None
    return _AttackTrial(land, w0, gam, name, attacked, sa.loop_params(name, spec, land, w0, attacked),
                        control_name, control_oracle, control_params, cap)


def _attack_runs(name, oracle, bl, W0, params, rngs, caps, monitored: bool):
    """One algorithm's trials of a chunk on the one loop (``saddle_attack.run_algorithm``'s
    budgets; ByzantinePGD under the descent monitor when ``monitored``)."""
    if monitored:
        oracle = BatchedDescentMonitor(oracle, bl.L, oracle.delta)
    jin = ({"escape_test": "final", "batch_rounds": False, "escape_values": bl.value}
           if name == "jin_pgd" else {})
    return batched_perturbed_gd(oracle, W0, params, rngs, max_oracle_calls=caps, max_seconds=INSTANCE_SECONDS,
                                dims=bl.dims, **jin)


def _run_attack_chunk(specs, chunk, built, out, sa):
    trials = [built[i] for i in chunk]
    name, control_name = trials[0].name, trials[0].control_name
    bl = batch_landscapes([t.land for t in trials])
    W0 = bl.pad([t.w0 for t in trials])
    seeds = [specs[i]["run_seed"] for i in chunk]
    caps = np.array([t.cap.calls if t.cap is not None else sa.MAX_CALLS for t in trials], dtype=np.int64)
    attacked = BatchedCertifiedOracle(batch_adversaries([t.oracle.oracle for t in trials], bl))
    res = _attack_runs(name, attacked, bl, W0, [t.params for t in trials],
                       [np.random.default_rng(s) for s in seeds], caps, monitored=name == "byzantine_pgd")
    ctrl = None
    if control_name is not None:
        control = BatchedCertifiedOracle(batch_adversaries([t.control_oracle.oracle for t in trials], bl))
        ctrl = _attack_runs(control_name, control, bl, W0, [t.control_params for t in trials],
                            [np.random.default_rng(s) for s in seeds], sa.MAX_CALLS, monitored=False)
    for j, i in enumerate(chunk):
        spec, t, r = specs[i], trials[j], res[j]
        if r.status == "error" or (ctrl is not None and ctrl[j].status == "error"):
            out[i] = _error(spec, res.errors.get(j) or ctrl.errors[j])
            continue
        try:
            c = certify(t.land, r.w)
            land = t.land
            out[i] = sa.AttackRun(
                lambda_min=c.lambda_min, lambda_min_error=c.lambda_min_error, grad_norm=c.grad_norm,
                gamma=t.gamma, status=sa.run_status(name, r.status, r.grad_oracle_calls, t.cap),
                oracle_calls=r.grad_oracle_calls, escapes=r.escapes,
                values={"Delta": spec["Delta"], "L_F": land.L, "rho_F": land.rho, "d": land.dim,
                        "delta": FAILURE_PROBABILITY, "gamma": t.gamma},
                left_domain=bool(land.domain_radius is not None
                                 and attacked.max_query_norm[j] > land.domain_radius),
                control_lambda_min=None if ctrl is None else certify(land, ctrl[j].w).lambda_min)
        except Exception as exc:
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))


__all__ = ["run_batch", "run_monitored_batch", "run_escape_batch", "run_attack_batch", "timed",
           "BatchedDescentMonitor", "BatchedLeaveObserver", "BatchedFirstEscapeObserver", "ERROR_PREFIX"]
