"""An online check of the proofs' invariant during a run: Lemma §8.1 (inexact descent,
docs/paper.md §8.1) says that with η = 1/L_F every step w⁺ = w − ηĝ(w) of a Δ-inexact gradient
method has F(w⁺) <= F(w) − (1/L_F)‖ĝ‖(‖ĝ‖/2 − Δ). The theorems' algorithms (ByzantinePGD, exact
PGD, robust GD, Jin et al.'s PGD with c = 1) all take such steps; a run that breaks the inequality
beyond rounding is not the algorithm the theorem is about (an unstable or a too-short step), and
the monitor ends it at once (status 'descent_violated'), so such a run can neither hang nor pass.

The monitor sits between the algorithm and its oracle; it sees the queries and the answers and
the algorithm's perturbation events, and judges each pair of consecutive single queries not
separated by a perturbation. The Q perturbation rounds run as one batch
(algorithms/perturbed_gd.py ``_batched_rounds``) are judged row by row: after a perturbation,
each (K, d) batch holds the next point of rounds 0..K−1 (K never grows: a round that escapes ends
the later ones), so row i of a batch is a gradient step from row i of the batch before it, and
the rounds are held to the same inequality whether they run one by one or as a batch. L_F and Δ
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

RTOL = 1e-9      # relative rounding allowance on F (as for the deterministic claims)
ATOL = 1e-12     # absolute floor: F's rounding error scales with its terms, not with |F|
STATUS = "descent_violated"


class DescentMonitor:
    def __init__(self, oracle, L: float, Delta: float):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, oracle.delta
        self.batchable = getattr(oracle, "batchable", False)
        self.L, self.Delta = float(L), float(Delta)
        self._last: tuple[float, float, float] | None = None   # (F(w), required decrease, ‖ĝ‖)
        self._rows: tuple[np.ndarray, np.ndarray] | None = None  # a batch's (F rows, required rows)
        self.violation: str | None = None
        self.steps = 0                     # judged steps
        self.worst: float | None = None    # the worst step's excess over Lemma §8.1, in tolerances

    def __call__(self, w):
        if np.ndim(w) == 2:
            return self._batch(w)
        self._rows = None
        if np.ndim(w) != 1:
            self._last = None
            return self.oracle(w)
        f = float(self.landscape.value(w))
        if self._last is not None:
            f_prev, required, gn = self._last
            self._judge(f_prev, f, required, gn)
        g = self.oracle(w)
        gn = float(np.linalg.norm(g))
        self._last = (f, gn * (gn / 2 - self.Delta) / self.L, gn)
        return g

    def _batch(self, W):
        """A (K, d) batch of round points: row i judged against row i of the previous batch when
        that batch had at least K rows (module docstring)."""
        self._last = None
        f = self.landscape.values(W)
        if self._rows is not None and self._rows[0].shape[0] >= W.shape[0]:
            f_prev, required = (a[:W.shape[0]] for a in self._rows)
            self._judge_rows(f_prev, f, required)
        g = self.oracle(W)
        gn = np.linalg.norm(g, axis=1)
        self._rows = (f, gn * (gn / 2 - self.Delta) / self.L)
        return g

    def _judge_rows(self, f_prev: np.ndarray, f: np.ndarray, required: np.ndarray) -> None:
        """:meth:`_judge` on each row of a batch at once (the first broken row is reported)."""
        self.steps += f.shape[0]
        tol = RTOL * (np.abs(f_prev) + np.abs(f) + np.abs(required)) + ATOL * np.maximum(1.0, np.abs(f_prev))
        excess = (f - (f_prev - required)) / tol
        worst = float(np.max(excess))
        self.worst = worst if self.worst is None else max(self.worst, worst)
        broken = np.flatnonzero(f > f_prev - required + tol)
        if broken.size:
            i = int(broken[0])
            self.violation = (f"a step of perturbation round {i} changed F by {f[i] - f_prev[i]:.3g} "
                              f"where Lemma §8.1 requires a decrease of at least {required[i]:.3g}")
            raise StopRun(STATUS)

    def _judge(self, f_prev: float, f: float, required: float, gn: float) -> None:
        """Lemma §8.1 on one step: F(w⁺) <= F(w) − ‖ĝ‖(‖ĝ‖/2 − Δ)/L_F up to rounding, i.e.
        F(w⁺) − F(w) + ‖ĝ‖²/(2L_F) <= Δ‖ĝ‖/L_F; records the worst step's excess
        (F(w⁺) − F(w) + required)/tol (<= 1: holds); StopRun when broken."""
        self.steps += 1
        tol = RTOL * (abs(f_prev) + abs(f) + abs(required)) + ATOL * max(1.0, abs(f_prev))
        excess = (f - (f_prev - required)) / tol
        self.worst = excess if self.worst is None else max(self.worst, excess)
        if f > f_prev - required + tol:
            self.violation = (f"a step changed F by {f - f_prev:.3g} where Lemma §8.1 requires "
                              f"a decrease of at least {required:.3g}")
            raise StopRun(STATUS)

    def __getattr__(self, name):
        """Everything else (calls, max_error, max_query_norm, ...) is the wrapped oracle's."""
        if name == "oracle":
            raise AttributeError(name)
        return getattr(self.oracle, name)

    def notify(self, event, **data):
        if event == "perturbation":
            self._last = self._rows = None   # the next query is w̃ + ξ, not a gradient step
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
