"""Δ-inexact gradient oracles (Definition 1 of docs/paper.md §1) and the certifying layer.

An oracle is a callable ``oracle(w) -> g`` with attribute ``delta`` and ``landscape``; it owns
its random generator. Algorithms announce their phase through :meth:`InexactOracle.notify`, so
adaptive adversaries (a later issue) can see iterates and, if white-box, perturbations.
"""

from __future__ import annotations

import math

import numpy as np

from byzpgd.algorithms.perturbed_gd import StopRun
from byzpgd.geometry import norms

from .landscapes.base import Landscape
from .stacking import Stack

EPS = np.finfo(np.float64).eps


class OracleBudgetExceeded(RuntimeError):
    """An oracle returned ĝ with ‖ĝ − ∇F(w)‖ > Δ beyond rounding: the run is invalid."""


class InexactOracle:
    """Base class: the exact gradient (Δ = 0)."""

    batchable = True  # answers depend only on w (and fresh randomness), not on the history

    def __init__(self, landscape: Landscape, delta: float = 0.0):
        if not (np.isfinite(delta) and delta >= 0):
            raise ValueError(f"delta must be finite and >= 0, got {delta}")
        self.landscape = landscape
        self.delta = float(delta)

    def error(self, w: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return np.zeros_like(grad)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return self.answer(w, self.landscape.grad(w))

    def answer(self, w: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """ĝ(w) = ∇F(w) + e(w), given ``grad`` = ∇F(w) computed by the caller (the certifying
        layer computes ∇F once and passes it here)."""
        return grad + self.error(w, grad)

    def notify(self, event: str, **data) -> None:
        """Hook for adaptive adversaries; events: 'candidate', 'perturbation', 'escape_round' (index: the
        round of a batch that escaped), 'escape'."""


ExactOracle = InexactOracle


def random_norm_delta_errors(Z, Delta):
    """e = Δ·z/‖z‖ for standard normal rows Z (Δ a number or a column): norm exactly Δ."""
    return Delta * Z / np.linalg.norm(Z, axis=-1, keepdims=True)


class RandomDirectionStack(Stack):
    """:func:`random_norm_delta_errors` for many trials, each with its own draws."""

    def errors(self, W, grad, idx):
        return random_norm_delta_errors(self.normals(idx)[0], self.column(self.delta, idx))


class RandomDirectionOracle(InexactOracle):
    """Error of norm exactly Δ in a uniformly random direction, drawn afresh at each call."""

    Stack = RandomDirectionStack

    def __init__(self, landscape: Landscape, delta: float, rng: np.random.Generator):
        super().__init__(landscape, delta)
        self.rng = rng

    def error(self, w, grad):
        return random_norm_delta_errors(self.rng.standard_normal(grad.shape), self.delta)


class ScaledGradientOracle(InexactOracle):
    """ĝ = c ∇F(w) clipped to the Δ budget: with c < 1 it under-reports the gradient (the
    error −(1−c)∇F is shortened to norm Δ when it would exceed it)."""

    def __init__(self, landscape: Landscape, delta: float, scale: float):
        super().__init__(landscape, delta)
        self.scale = float(scale)

    def error(self, w, grad):
        e = (self.scale - 1.0) * grad
        n = np.linalg.norm(e, axis=-1, keepdims=True)
        return e * np.minimum(1.0, self.delta / np.maximum(n, 1e-300))


def _square(x: float) -> float:
    """x² as a float, inf where it overflows (Python's ``x ** 2`` raises OverflowError there)."""
    return x * x


class CertifiedOracle:
    """Wraps an oracle; on every call measures ‖ĝ − ∇F(w)‖ and raises
    :class:`OracleBudgetExceeded` if it exceeds Δ + rounding, where the rounding allowance is
    4·eps·(‖ĝ‖ + ‖∇F(w)‖) (two roundings per coordinate of ĝ = ∇F + e and of ĝ − ∇F).

    Also records ``calls``, ``max_error`` and ``max_query_norm`` (for domain checks), and
    rejects non-finite or mis-shaped answers. A query where ∇F(w) itself is not finite (the run
    diverged beyond what the landscape can evaluate) ends the run as 'nonfinite' (:class:`StopRun`),
    as a non-finite iterate does in the loop: that is the run's outcome, not the oracle's fault, and
    never an exception (so no ``OverflowError``: squares of huge norms become inf)."""

    def __init__(self, oracle: InexactOracle, slack: float = 0.0):
        self.oracle = oracle
        self.landscape = oracle.landscape
        self.delta = oracle.delta
        self.slack = float(slack)
        self.calls = 0
        self.max_error = 0.0
        self._max_query_sq = 0.0          # largest ‖w‖² queried (inf once a square overflows)
        self.batchable = getattr(oracle, "batchable", False)
        # the wrapped oracle answers through InexactOracle.answer (its __call__ is the base one)
        self._answers_given_grad = (isinstance(oracle, InexactOracle)
                                    and type(oracle).__call__ is InexactOracle.__call__)

    def __call__(self, w):
        """Query the wrapped oracle at w (shape (d,), or (k, d) for a batch of k queries)."""
        w = np.asarray(w, dtype=np.float64)
        true = None
        if self._answers_given_grad:   # ĝ = answer(w, ∇F(w)): ∇F computed once, here
            true = self.landscape.grad(w)
            g = np.asarray(self.oracle.answer(w, true), dtype=np.float64)
        else:
            g = np.asarray(self.oracle(w), dtype=np.float64)
        self.calls += 1 if w.ndim == 1 else w.shape[0]
        if g.shape != w.shape:
            raise OracleBudgetExceeded(f"oracle returned shape {g.shape}, expected {w.shape}")
        if true is None:
            true = self.landscape.grad(w)
        if not np.isfinite(true).all():
            raise StopRun("nonfinite")
        if not np.isfinite(g).all():
            raise OracleBudgetExceeded(f"oracle returned a non-finite gradient at call {self.calls}")
        if g is true:                  # the exact answer itself (an adversary with Δ = 0)
            self._record(0.0, _square(float(np.max(norms(w)))))
            return g
        # ‖ĝ − ∇F‖, ‖ĝ‖, ‖∇F‖ and ‖w‖ in one overflow-safe pass
        err, g_norm, true_norm, w_norm = norms(np.stack((g - true, g, true, w)))
        allowed = self.delta * (1.0 + self.slack) + 4 * EPS * (g_norm + true_norm)
        if np.any(err > allowed):
            worst = float(np.max(err - allowed))
            raise OracleBudgetExceeded(
                f"oracle error exceeds Δ = {self.delta:.6g} by {worst:.3g} (call {self.calls})")
        self._record(float(np.max(err)), _square(float(np.max(w_norm))))
        return g

    def _record(self, error: float, w_sq: float):
        self.max_error = max(self.max_error, error)
        self._max_query_sq = max(self._max_query_sq, w_sq)

    @property
    def max_query_norm(self) -> float:
        """The largest ‖w‖ queried (inf when beyond 1e154, where its square overflows)."""
        return math.sqrt(self._max_query_sq)

    def notify(self, event, **data):
        self.oracle.notify(event, **data)
