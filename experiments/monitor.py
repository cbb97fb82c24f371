"""An online check of the proofs' invariant during a run: Lemma §8.1 (inexact descent,
docs/paper.md §8.1) says that with η = 1/L_F every step w⁺ = w − ηĝ(w) of a Δ-inexact gradient
method has F(w⁺) <= F(w) − (1/L_F)‖ĝ‖(‖ĝ‖/2 − Δ). The theorems' algorithms (ByzantinePGD, exact
PGD, robust GD, Jin et al.'s PGD with c = 1) all take such steps; a run that breaks the inequality
beyond rounding is not the algorithm the theorem is about (an unstable or a too-short step), and
the monitor ends it at once (status 'descent_violated'), so such a run can neither hang nor pass.

The monitor sits between the algorithm and its oracle; it sees the queries and the answers and
the algorithm's perturbation events, and judges each pair of consecutive single queries not
separated by a perturbation. Batched queries (the rounds run as one (Q, d) batch) are passed on
unjudged. L_F and Δ are the instance's (from the landscape and the oracle), never the run's.
"""

from __future__ import annotations

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
        self._last: tuple[float, float] | None = None      # (F(w), required decrease) of the last query
        self.violation: str | None = None

    def __call__(self, w):
        if np.ndim(w) != 1:
            self._last = None
            return self.oracle(w)
        f = float(self.landscape.value(w))
        if self._last is not None:
            f_prev, required = self._last
            tol = RTOL * (abs(f_prev) + abs(f) + abs(required)) + ATOL * max(1.0, abs(f_prev))
            if f > f_prev - required + tol:
                self.violation = (f"a step raised F by {f - f_prev:.3g} where Lemma §8.1 requires "
                                  f"a decrease of at least {required:.3g}")
                raise StopRun(STATUS)
        g = self.oracle(w)
        gn = float(np.linalg.norm(g))
        self._last = (f, gn * (gn / 2 - self.Delta) / self.L)
        return g

    def __getattr__(self, name):
        """Everything else (calls, max_error, max_query_norm, ...) is the wrapped oracle's."""
        if name == "oracle":
            raise AttributeError(name)
        return getattr(self.oracle, name)

    def notify(self, event, **data):
        if event == "perturbation":
            self._last = None            # the next query is w̃ + ξ, not a gradient step
        self.oracle.notify(event, **data)
