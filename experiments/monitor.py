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
    for one run (:class:`DescentMonitor`) and for a batch of trials
    (:class:`byzpgd.experiments.batched.BatchedDescentMonitor`)."""
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
    return (gn + Delta) * np.sqrt(np.einsum("ki,ki->k", P1, P1))


class DescentMonitor:
    """The monitor of the module docstring around ``oracle`` (L_F and Δ: the instance's).

    Each judged step compares F(w⁺) − F(w) with −‖ĝ‖(‖ĝ‖/2 − Δ)/L_F. The change comes from
    :meth:`Landscape.value_changes`, which differences each term of F analytically where the
    landscape can: its rounding is then relative to the terms of the change (TERMS_RTOL times their
    scale and that of the required decrease), so a step far smaller than |F| is still judged (the
    plain difference F(w⁺) − F(w), the fallback, rounds at RTOL·|F| + ATOL and hides steps below
    that)."""

    def __init__(self, oracle, L: float, Delta: float):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self.L, self.Delta = float(L), float(Delta)
        # the last query's points (k, d), required decreases (k,), their scales (k,) and whether
        # it was a batch (rounds) or a single query: the next query of the same kind is its step
        self._prev: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool] | None = None
        self.violation: str | None = None
        self.steps = 0                     # judged steps
        self.worst: float | None = None    # the worst step's excess over Lemma §8.1, in tolerances

    def __call__(self, w):
        nd = np.ndim(w)
        if nd not in (1, 2):
            self._prev = None
            return self.oracle(w)
        batch = nd == 2
        P = np.array(w, dtype=np.float64, ndmin=2)
        prev = self._prev
        if prev is not None and prev[4] == batch and prev[0].shape[0] >= P.shape[0]:
            k = P.shape[0]
            self._judge(prev[0][:k], P, prev[1][:k], prev[2][:k] + self._rounding(prev[3][:k], P), batch)
        g = self.oracle(w)
        gn = np.linalg.norm(np.array(g, dtype=np.float64, ndmin=2), axis=1)
        required = descent_required(gn, self.Delta, self.L)
        self._prev = (P, required, required_scale(gn, self.Delta, self.L), gn, batch)
        return g

    def _rounding(self, gn: np.ndarray, P1: np.ndarray) -> np.ndarray:
        return rounding_scale(gn, self.Delta, P1)

    def _judge(self, P0: np.ndarray, P1: np.ndarray, required: np.ndarray, req_scale: np.ndarray,
               batch: bool) -> None:
        """Lemma §8.1 on each row's step P0[i] → P1[i] (:func:`judge_steps`); records the worst
        excess; StopRun at the first broken row."""
        self.steps += P1.shape[0]
        change, scale = self.landscape.value_changes(P0, P1)
        f0 = self.landscape.values(P0) if scale is None else None
        excess, broken_rows = judge_steps(change, scale, required, req_scale, f0)
        worst = float(np.max(excess))
        self.worst = worst if self.worst is None else max(self.worst, worst)
        broken = np.flatnonzero(broken_rows)
        if broken.size:
            i = int(broken[0])
            where = f"a step of perturbation round {i}" if batch else "a step"
            self.violation = (f"{where} changed F by {change[i]:.3g} where Lemma §8.1 requires "
                              f"a decrease of at least {required[i]:.3g}")
            raise StopRun(STATUS)

    def __getattr__(self, name):
        """Everything else (calls, max_error, max_query_norm, ...) is the wrapped oracle's."""
        if name == "oracle":
            raise AttributeError(name)
        return getattr(self.oracle, name)

    def notify(self, event, **data):
        if event == "perturbation":
            self._prev = None            # the next query is w̃ + ξ, not a gradient step
        elif event == "escape_round" and self._prev is not None and self._prev[4]:
            # the rounds ran as a batch and row k escaped: the next (single) query, the escaped
            # point, is a gradient step from row k of the last batch
            k = int(data["index"])
            self._prev = (*(a[k:k + 1] for a in self._prev[:4]), False)
        self.oracle.notify(event, **data)


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
    start, oracle, seeds and algorithm: the same run) and return what its monitor saw."""
    from . import instances  # instances imports this module

    algorithm = algorithm or instances.default_algorithm
    land = instances.build_landscape(spec)
    w0 = instances.start_point(spec, land)
    oracle = instances.make_oracle(spec, land)
    monitored = DescentMonitor(oracle, land.L, oracle.delta)
    res = algorithm(spec, monitored, w0, np.random.default_rng(spec["run_seed"]))
    excess = monitored.worst if monitored.worst is not None else -math.inf
    return MonitorRecord(spec, res.status, monitored.steps, float(excess), monitored.violation)
