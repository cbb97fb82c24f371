"""An online check of the proofs' invariant during a run: Lemma §8.1 (inexact descent,
docs/paper.md §8.1) says that with η = 1/L_F every step w⁺ = w − ηĝ(w) of a Δ-inexact gradient
method has F(w⁺) <= F(w) − (1/L_F)‖ĝ‖(‖ĝ‖/2 − Δ). The theorems' algorithms (ByzantinePGD, exact
PGD, robust GD, Jin et al.'s PGD with c = 1) all take such steps; a run that breaks the inequality
beyond rounding is not the algorithm the theorem is about (an unstable or a too-short step), and
the monitor ends it at once (status 'descent_violated'), so such a run can neither hang nor pass.

The monitor sits between the algorithm and its oracle; it sees the queries and the answers and
the algorithm's perturbation events, and judges each pair of consecutive single queries not
separated by a perturbation. The Q perturbation rounds run as one batch
(a window of Q rounds, algorithms/engine.py) are judged row by row: after a perturbation,
each (K, d) batch holds the next point of rounds 0..K−1 (K never grows: a round that escapes ends
the later ones), so row i of a batch is a gradient step from row i of the batch before it, and
the rounds are held to the same inequality whether they run one by one or as a batch (the step
that leaves a batch, from the escaping row to the escaped point, is judged too: the loop names
the row in its 'escape_round' event). L_F and Δ
are the instance's (from the landscape and the oracle), never the run's.

The monitor is a claim of its own, ``monitor.descent`` (theory/claims/monitor.py, OWN): it gets
the kills it makes. :func:`run_monitored` runs a theorem instance exactly as
:func:`byzpgd.experiments.instances.run` does (same spec, seeds, algorithm and monitor) and returns
what the monitor saw; the theorem claims count a run it stopped as not observed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..algorithms import StopRun
from ..algorithms.engine import row_norms
from ..oracles.stacking import segments as _segments
from ..theory.mechanism import descent_required

RTOL = 1e-9      # fallback (plain F differences): relative rounding allowance on F
ATOL = 1e-12     # fallback absolute floor: F's rounding error scales with its terms, not with |F|
TERMS_RTOL = 1e-11   # analytic F changes (Landscape.value_changes): rounding relative to their terms
STATUS = "descent_violated"


def judge_steps(change, scale, required, req_scale, f0=None):
    """Lemma §8.1 on steps whose F changes are ``change`` (from ``Landscape.value_changes``, with
    the scale of the terms they were summed from, or None for a plain difference of values
    ``f0``-based): (excess, broken) per step, excess = (change + required)/tol (<= 1: holds),
    broken = change > −required + tol. With a scale, tol = TERMS_RTOL (scale + req_scale), where
    req_scale holds the required decrease's terms and the new iterate's rounding; without,
    tol = RTOL (|F(w)| + |F(w⁺)| + required) + ATOL max(1, |F(w)|). The one rule of the monitor,
    applied by :class:`BatchedDescentMonitor` (one run: :class:`DescentMonitor`, a batch of one)."""
    if scale is None:
        tol = (RTOL * (np.abs(f0) + np.abs(f0 + change) + np.abs(required))
               + ATOL * np.maximum(1.0, np.abs(f0)))
    else:
        tol = TERMS_RTOL * (scale + req_scale) + np.finfo(np.float64).tiny
    return (change + required) / tol, change > -required + tol


def required_scale(gn, Delta, L):
    """The scale of the terms of the required decrease ‖ĝ‖²/(2L) + Δ‖ĝ‖/L (for the tolerance)."""
    return gn * gn / (2 * L) + Delta * gn / L


def rounding_scale(gn, Delta, P1):
    """The scale of F's change caused by rounding the new iterate w⁺ = w − ηĝ to floating point
    (at most eps‖w⁺‖ away from the exact step, where ‖∇F‖ <= ‖ĝ‖ + Δ): (‖ĝ‖ + Δ)‖w⁺‖ per row."""
    return (gn + Delta) * row_norms(P1)


def tell(inner, b: int, event: str, data: dict) -> str | None:
    """Pass trial b's loop event on to the wrapped batched oracle, if it listens; its answer (a
    status ends the trial, as the engine's ``notify`` hook documents) is passed back."""
    notify = getattr(inner, "notify", None)
    return None if notify is None else notify(b, event, **data)


def ask(inner, W, idx, single, ended):
    """The inner oracle's answers for the rows of trials not in ``ended`` (a wrapper that ends a
    trial does so before its inner oracle is asked); zeros for the others."""
    if not ended:
        return inner.query(W, idx, single)
    keep = ~np.isin(idx, np.fromiter(ended, dtype=np.int64))
    G = np.zeros_like(W)
    inner_ended: dict = {}
    if keep.any():
        G[keep], inner_ended = inner.query(W[keep], idx[keep], single[keep])
    return G, inner_ended


class BatchedDescentMonitor:
    """The monitor of the module docstring for B trials (rows grouped by trial, the engine's
    batched-oracle interface ``query(W, idx, single)``), the one implementation of its rule: a
    single query is judged against the previous single query of its trial; a row of a round
    batch against the same row of the trial's previous batch (the rounds still running are a
    prefix); the step that leaves a batch, from the escaping row to the escaped point, once the
    engine names the row (``escape_round``). A perturbation clears the trial's previous query.
    L_F and Δ (arrays (B,)) are the instances'.

    Each judged step compares F(w⁺) − F(w) with −‖ĝ‖(‖ĝ‖/2 − Δ)/L_F. The change comes from the
    landscape's ``value_changes``, which differences each term of F analytically where the
    landscape can: its rounding is then relative to the terms of the change (TERMS_RTOL times their
    scale and that of the required decrease), so a step far smaller than |F| is still judged (the
    plain difference F(w⁺) − F(w), the fallback, rounds at RTOL·|F| + ATOL and hides steps below
    that). Per trial: ``steps`` judged, ``worst`` excess (−inf before any step), ``violations``
    (the message of the step that ended it).

    Storage (arrays, so every step is judged and remembered for all trials at once): trial b's
    previous single query is ``prev_point[b]`` (d,) with the decrease ``required[b]`` Lemma §8.1
    requires from it, its tolerance scale ``req_scale[b]`` and ‖ĝ‖ ``prev_gn[b]``, valid where
    ``has_prev[b]``; its last round batch is rows 0..``batch_rows[b]``−1 of ``batch_points[b]``
    (K, d) with ``batch_required``, ``batch_req_scale``, ``batch_gn`` (K,) alike (0 rows: no batch
    to judge against). K, the widest window seen, grows when a wider window appears; a narrower
    batch (rounds that escaped end the later ones) overwrites the prefix and sets the row count."""

    def __init__(self, inner, L, Delta):
        self.inner, self.landscape = inner, inner.landscape
        self.L, self.Delta = np.asarray(L, dtype=np.float64), np.asarray(Delta, dtype=np.float64)
        B, d = self.L.size, self.landscape.dim
        self.prev_point = np.zeros((B, d))        # each trial's previous single query ...
        self.required = np.zeros(B)               # ... the decrease Lemma §8.1 requires from it
        self.req_scale = np.zeros(B)
        self.prev_gn = np.zeros(B)
        self.has_prev = np.zeros(B, dtype=bool)
        # each trial's last round batch: its first batch_rows[b] rows (grown by _widen)
        self.batch_points = np.zeros((B, 0, d))
        self.batch_required = np.zeros((B, 0))
        self.batch_req_scale = np.zeros((B, 0))
        self.batch_gn = np.zeros((B, 0))
        self.batch_rows = np.zeros(B, dtype=np.int64)
        self.steps = np.zeros(B, dtype=np.int64)
        self.worst = np.full(B, -np.inf)
        self.violations: dict[int, str] = {}

    def _judge(self, P0, P1, idx, required, req_scale, gn, rounds):
        """Lemma §8.1 on each row's step P0[i] → P1[i] of trial idx[i] (:func:`judge_steps`);
        ``rounds[i]``: the row's perturbation round, −1 for a single step. Records the steps, the
        worst excess and the first broken row's message per trial; returns the broken mask."""
        change, scale = self.landscape.value_changes(P0, P1, idx)
        f0 = self.landscape.value(P0, idx) if scale is None else None
        rs = req_scale + rounding_scale(gn, self.Delta[idx], P1)
        excess, broken = judge_steps(change, scale, required, rs, f0)
        np.add.at(self.steps, idx, 1)
        np.maximum.at(self.worst, idx, excess)
        for i in np.flatnonzero(broken) if broken.any() else ():
            b = int(idx[i])
            if b not in self.violations:
                where = f"a step of perturbation round {rounds[i]}" if rounds[i] >= 0 else "a step"
                self.violations[b] = (f"{where} changed F by {change[i]:.3g} where Lemma §8.1 requires "
                                      f"a decrease of at least {required[i]:.3g}")
        return broken

    def query(self, W, idx, single):
        ended: dict[int, str] = {}
        s_rows, b_rows = np.flatnonzero(single), np.flatnonzero(~single)
        if s_rows.size:
            tb = idx[s_rows]
            judged = self.has_prev[tb]
            if judged.any():
                r, t = s_rows[judged], tb[judged]
                broken = self._judge(self.prev_point[t], W[r], t, self.required[t], self.req_scale[t],
                                     self.prev_gn[t], np.full(t.size, -1))
                ended.update({int(b): STATUS for b in t[broken]})
            self.batch_rows[tb] = 0               # a single query ends the trial's rounds
        if b_rows.size:
            self._judge_rounds(W, idx, b_rows, ended)
            self.has_prev[idx[b_rows]] = False
        G, inner_ended = ask(self.inner, W, idx, single, ended)
        self._remember(W, idx, s_rows, b_rows, G, ended)
        ended.update(inner_ended)
        return G, ended

    @staticmethod
    def _positions(t):
        """Each row's index within its trial's batch (rows grouped by trial: ``t`` = idx[rows])
        and the number of rows of its trial's batch, per row."""
        _, starts, stops = _segments(t)
        width = stops - starts
        return np.arange(t.size) - np.repeat(starts, width), np.repeat(width, width)

    def _judge_rounds(self, W, idx, b_rows, ended):
        """Row i of each trial's round batch against row i of its previous batch (a trial whose
        previous batch has fewer rows than this one, or none, is not judged)."""
        t = idx[b_rows]
        k, width = self._positions(t)
        ok = self.batch_rows[t] >= width
        if not ok.all():
            if not ok.any():
                return
            b_rows, t, k = b_rows[ok], t[ok], k[ok]
        at = self._slots(t, k)
        broken = self._judge(np.take(self.batch_points.reshape(-1, W.shape[1]), at, axis=0),
                             np.take(W, b_rows, axis=0), t, np.take(self.batch_required, at),
                             np.take(self.batch_req_scale, at), np.take(self.batch_gn, at), k)
        if broken.any():
            ended.update({int(b): STATUS for b in t[broken]})

    def _slots(self, t, k):
        """The flat index of row k of trial t's batch in the (B, K) storage (its (B·K, d) view for
        the points: every batch array is C-contiguous, so ``reshape`` is a view)."""
        return t * self.batch_points.shape[1] + k

    def _widen(self, K: int) -> None:
        """Room for round batches of K rows (the rows held so far kept as they are)."""
        old = self.batch_points.shape[1]
        if K <= old:
            return
        B, d = self.batch_points.shape[0], self.batch_points.shape[2]
        pts = np.zeros((B, K, d))
        pts[:, :old] = self.batch_points
        self.batch_points = pts
        for name in ("batch_required", "batch_req_scale", "batch_gn"):
            a = np.zeros((B, K))
            a[:, :old] = getattr(self, name)
            setattr(self, name, a)

    def _remember(self, W, idx, s_rows, b_rows, G, ended):
        """Each live trial's query, its answer's norm and the decrease Lemma §8.1 then requires."""
        live = ~np.isin(idx, np.fromiter(ended, dtype=np.int64)) if ended else np.ones(idx.size, dtype=bool)
        gn = row_norms(G)
        req_all = descent_required(gn, self.Delta[idx], self.L[idx])
        scale_all = required_scale(gn, self.Delta[idx], self.L[idx])
        rows = s_rows[live[s_rows]]
        if rows.size:
            t = idx[rows]
            self.prev_point[t], self.required[t], self.req_scale[t] = W[rows], req_all[rows], scale_all[rows]
            self.prev_gn[t] = gn[rows]
            self.has_prev[t] = True
        rows = b_rows[live[b_rows]]
        if rows.size:
            t = idx[rows]
            k, width = self._positions(t)
            self._widen(int(width.max()))
            at = self._slots(t, k)
            self.batch_points.reshape(-1, W.shape[1])[at] = np.take(W, rows, axis=0)
            self.batch_required.reshape(-1)[at] = np.take(req_all, rows)
            self.batch_req_scale.reshape(-1)[at] = np.take(scale_all, rows)
            self.batch_gn.reshape(-1)[at] = np.take(gn, rows)
            self.batch_rows[t] = width

    def forget(self, b: int) -> None:
        """Trial b's next query is no step from its last one."""
        self.has_prev[b] = False
        self.batch_rows[b] = 0

    def notify(self, b: int, event: str, **data) -> str | None:
        """'perturbation': trial b's next query starts rounds (w̃ + ξ: not a gradient step).
        'escape_round': its Q-round window ended with row ``index`` escaping, so its next (single)
        query, the escaped point, is a gradient step from that row of its last batch (row
        ``index`` < ``batch_rows[b]``; the batch is then dropped)."""
        if event == "perturbation":
            self.forget(b)
        elif event == "escape_round":
            k = int(data["index"])
            if 0 <= k < self.batch_rows[b]:
                self.prev_point[b], self.required[b] = self.batch_points[b, k], self.batch_required[b, k]
                self.req_scale[b], self.prev_gn[b] = self.batch_req_scale[b, k], self.batch_gn[b, k]
                self.has_prev[b] = True
            self.batch_rows[b] = 0
        return tell(self.inner, b, event, data)


class _OneLandscape:
    """A one-instance landscape as the batched monitor reads one (one trial: ``idx`` is all 0)."""

    def __init__(self, landscape):
        self.landscape, self.dim = landscape, landscape.dim

    def value_changes(self, P0, P1, idx):
        return self.landscape.value_changes(P0, P1)

    def value(self, P, idx):
        return self.landscape.values(P)


class _OneTrial:
    """A one-run oracle as a batched oracle of one trial, for the monitor (a :class:`StopRun`
    from a query or an event ends the trial with its status)."""

    def __init__(self, oracle):
        self.oracle, self.landscape = oracle, _OneLandscape(oracle.landscape)

    def query(self, W, idx, single):
        try:
            g = self.oracle(W[0]) if single[0] else self.oracle(W)
        except StopRun as stop:
            return np.zeros_like(W), {0: stop.status}
        return np.asarray(g, dtype=np.float64).reshape(W.shape), {}

    def notify(self, b, event, **data):
        notify = getattr(self.oracle, "notify", None)
        if notify is not None:
            try:
                notify(event, **data)
            except StopRun as stop:
                return stop.status
        return None


class DescentMonitor:
    """The monitor of one run around the one-run ``oracle`` (``oracle(w)``, a (k, d) batch of
    rounds, ``notify(event, **data)``): :class:`BatchedDescentMonitor` with one trial, so the rule
    exists once. Raises :class:`StopRun` ('descent_violated') at the first broken step; ``steps``,
    ``worst`` (None before any step) and ``violation`` are the trial's. Everything else (calls,
    max_error, max_query_norm, ...) is the wrapped oracle's."""

    def __init__(self, oracle, L: float, Delta: float):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self._rows = BatchedDescentMonitor(_OneTrial(oracle), [float(L)], [float(Delta)])

    @property
    def steps(self) -> int:
        return int(self._rows.steps[0])

    @property
    def worst(self) -> float | None:
        w = float(self._rows.worst[0])
        return None if w == -math.inf else w

    @property
    def violation(self) -> str | None:
        return self._rows.violations.get(0)

    def __call__(self, w):
        nd = np.ndim(w)
        if nd not in (1, 2):
            self._rows.forget(0)
            return self.oracle(w)
        W = np.array(w, dtype=np.float64, ndmin=2)
        G, ended = self._rows.query(W, np.zeros(W.shape[0], dtype=np.int64), np.full(W.shape[0], nd == 1))
        if ended:
            raise StopRun(ended[0])
        return G[0] if nd == 1 else G

    def __getattr__(self, name):
        if name in ("oracle", "_rows"):
            raise AttributeError(name)
        return getattr(self.oracle, name)

    def notify(self, event, **data):
        status = self._rows.notify(0, event, **data)
        if status is not None:
            raise StopRun(status)


@dataclass(frozen=True)
class MonitorRecord:
    """What the monitor saw on one theorem run: the run's status, the steps it judged, the worst
    step's excess F(w⁺) − (F(w) − ‖ĝ‖(‖ĝ‖/2 − Δ)/L_F) in units of the rounding tolerance
    (``excess`` <= 1: the step satisfies Lemma §8.1), and the violation message (None unless the
    monitor stopped the run)."""

    spec: dict
    status: str
    steps: int
    excess: float
    violation: str | None

    @property
    def stopped(self) -> bool:
        return self.status == STATUS


def run_monitored(spec: dict, algorithm=None) -> MonitorRecord:
    """Run a theorem instance as :func:`byzpgd.experiments.instances.run` does (the same landscape,
    start, oracle, seeds and algorithm: the same run, a batch of one of the batched trials with the
    default algorithm) and return what its monitor saw."""
    if algorithm is not None:
        return run_monitored_single(spec, algorithm)
    from .batched import run_monitored_batch  # batched builds on this module
    from .loop import only

    return only(run_monitored_batch([spec], raise_build_errors=True))


def run_monitored_single(spec: dict, algorithm=None) -> MonitorRecord:
    """:func:`run_monitored` with the one-run oracles (the batched trials' fallback)."""
    from . import instances  # instances imports this module

    algorithm = algorithm or instances.default_algorithm
    land = instances.build_landscape(spec)
    w0 = instances.start_point(spec, land)
    oracle = instances.make_oracle(spec, land)
    monitored = DescentMonitor(oracle, land.L, oracle.delta)
    res = algorithm(spec, monitored, w0, np.random.default_rng(spec["run_seed"]))
    excess = monitored.worst if monitored.worst is not None else -math.inf
    return MonitorRecord(spec, res.status, monitored.steps, float(excess), monitored.violation)
