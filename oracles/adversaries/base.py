"""Shared pieces of the adversarial Δ-inexact oracles (docs/paper.md §1 Def. 1, §2).

Every adversary is an :class:`~byzpgd.oracles.inexact.InexactOracle`: it answers
ĝ(w) = ∇F(w) + e(w) with an error e chosen by the adversary inside the ball ‖e‖ <= Δ
(Definition 1). The runs of the harness always wrap it in
:class:`~byzpgd.oracles.inexact.CertifiedOracle`, which re-measures ‖ĝ − ∇F(w)‖ on every call and
raises beyond Δ, so an adversary that overspends is caught rather than trusted.

Errors are kept at most Δ·(1 − 8·eps) in norm (:func:`clip_to_budget`): the float64 rounding of
ĝ = ∇F + e then never pushes the measured error above Δ when ∇F ≈ 0 (at an exact saddle the
certifying layer's rounding allowance is only 4·eps·Δ).
"""

from __future__ import annotations

import weakref

import numpy as np

from byzpgd.geometry import row_norms

from ..inexact import InexactOracle
from ..landscapes.base import Landscape

EPS = np.finfo(np.float64).eps
BUDGET_FACTOR = 1.0 - 8 * EPS


def norms(x):
    """‖x‖ along the last axis, summed in a defined order (:func:`byzpgd.geometry.row_norms`):
    each row's sum depends on that row alone, not on the zeros of a batch's padding."""
    return row_norms(x)


def _norm(x):
    return norms(x)[..., None]


def unit(x):
    """x/‖x‖ along the last axis (0 where x = 0 or ‖x‖ is not a number)."""
    n = _norm(x)
    out = x / np.maximum(n, 1e-300)
    degenerate = ~(n > 0)
    return np.where(degenerate, 0.0, out) if degenerate.any() else out


def clip_to_budget(e, Delta: float):
    """Scale each row of ``e`` down to norm <= Δ·(1 − 8 eps) (rows inside are kept)."""
    cap = Delta * BUDGET_FACTOR
    n = _norm(e)
    return e * np.minimum(1.0, cap / np.maximum(n, 1e-300))


def trap_centre(landscape: Landscape) -> np.ndarray:
    """The landscape's first known strict saddle (the origin when it has none)."""
    try:
        return np.array(landscape.saddle().point, dtype=np.float64)
    except LookupError:
        return np.zeros(landscape.dim)


def negative_eigenspace(landscape: Landscape, w, rel_tol: float = 1e-9):
    """(V, γ): orthonormal eigenvectors of ∇²F(w) with negative eigenvalues (d x k) and the
    curvatures γ_j = −λ_j > 0; when there is none, the eigenvector of λ_min with γ = −λ_min
    (possibly <= 0). Dense eigh: for the small dimensions of the property suites and demos."""
    h = landscape.hess(np.asarray(w, dtype=np.float64))
    vals, vecs = np.linalg.eigh(0.5 * (h + h.T))
    scale = max(abs(vals[0]), abs(vals[-1]), 1e-300)
    neg = vals < -rel_tol * scale
    if not neg.any():
        neg = np.zeros_like(neg)
        neg[0] = True
    return vecs[:, neg], -vals[neg]


_SADDLE_EIGENSPACES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def saddle_eigenspace(landscape: Landscape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c, V, γ): :func:`trap_centre` and :func:`negative_eigenspace` there. Computed once per
    landscape object (a landscape is immutable; the adversaries of its runs and the experiments
    building their starts all ask), each caller getting its own copies."""
    try:
        got = _SADDLE_EIGENSPACES.get(landscape)
    except TypeError:                   # not hashable or not weak-referenceable: no memo
        got, landscape_key = None, None
    else:
        landscape_key = landscape
    if got is None:
        c = trap_centre(landscape)
        got = (c, *negative_eigenspace(landscape, c))
        if landscape_key is not None:
            _SADDLE_EIGENSPACES[landscape_key] = got
    return tuple(x.copy() for x in got)


class Adversary(InexactOracle):
    """Base class of the adversaries: ``name``, JSON-able ``params``, ``describe()``, and
    ``sample_params(src)`` (draws the parameters through a property-suite source: the same
    primitives serve Hypothesis and numpy, see byzpgd.properties.strategies)."""

    name = "adversary"
    batchable = True
    Stack = None
    """The batched form (a :class:`~byzpgd.oracles.stacking.Stack` subclass) declared beside
    ``error`` in the adversary's own module; None: runs one trial at a time."""

    def __init__(self, landscape: Landscape, delta: float, rng: np.random.Generator, **params):
        super().__init__(landscape, delta)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.rng = rng
        self.params = dict(params)
        if self.delta == 0:  # no budget: every answer is ∇F(w), whatever the history
            self.batchable = True

    def answer(self, w, grad):
        if self.delta == 0:          # no budget: the exact gradient, whatever the adversary
            return grad
        return super().answer(w, grad)

    @classmethod
    def sample_params(cls, src) -> dict:
        return {}


class BudgetFraction(Adversary):
    """An adversary that spends ``fraction`` ∈ (0, 1] of its Δ budget (1 in 70% of draws)."""

    def __init__(self, landscape: Landscape, delta: float, rng: np.random.Generator,
                 fraction: float = 1.0):
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        super().__init__(landscape, delta, rng, fraction=float(fraction))
        self.fraction = float(fraction)

    @classmethod
    def sample_params(cls, src):
        return {"fraction": 1.0 if src.uniform(0, 1) < 0.7 else src.uniform(0.5, 1.0)}

    def describe(self) -> dict:
        return {"name": self.name, **self.params}

    def error(self, w, grad):  # pragma: no cover - overridden
        raise NotImplementedError
