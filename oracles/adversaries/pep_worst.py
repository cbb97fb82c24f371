"""Exact worst cases of the gradient phase (docs/paper.md §3, §8.1; closed form in
:mod:`byzpgd.theory.gd_phase`): the 1-D function and Δ-inexact oracle that attain the certified
worst case W(N, Δ, L, D), and the ratio-1 example of ‖∇F(w̃)‖ <= 4Δ, as named adversaries.

These adversaries are *constructions*: they are registered in :data:`CONSTRUCTIONS` (and resolved
by ``make_adversary``), never in the default set ``NAMES`` sampled by the theorem claims.

- :class:`PiecewiseSlope1D`: a 1-D function whose derivative f′ is continuous and piecewise
  linear (knots ``xs``, values ``slopes``), constant beyond the knots; f is L-smooth with L the
  largest slope of f′ between knots (f is C^{1,1}, not C²: ``rho`` is +inf).
- :func:`tent_chain`: the worst case of N steps: x_0 = 0, G = W, s = (G − Δ)/L, x_k = −ks,
  f′ ≡ G on x >= 0, on [x_{k+1}, x_k] f′(x) = G − L·min(x_k − x, x − x_{k+1}), after x_N f′ falls
  with slope L to 0 and stays 0; f(x_0) − inf f = N(3G + Δ)(G − Δ)/(4L) + G²/(2L) = D.
  With ``pep_under_report`` (d = f′ − Δ) the N steps of η = 1/L land on the x_k and
  min_{i<=N} |f′(x_i)| = W.
- :func:`chain`: the family the adversarial search explores (levels, errors and dip depths per
  step); :func:`tent_chain` is its member with equal levels, full dips and errors −Δ.
- :class:`ScriptedVectors` (``pep_scripted_vectors``): vector errors scripted per call, then
  ĝ over-reported by Δ; the oracle of the N-dimensional rotating chains
  (:mod:`byzpgd.oracles.landscapes.rotating_chain`) that the step-count search explores.
- :class:`Parabola` with ``pep_ratio_one``: F = (L/2)‖w‖², a start with ‖∇F‖ = 4Δ and the oracle
  ĝ = (3/4)∇F (error ∇F/4 of norm Δ): the stopping test ‖ĝ‖ <= 3Δ fires at once and
  ‖∇F(w̃)‖/(4Δ) = 1.
"""

from __future__ import annotations

import math

import numpy as np

from ..landscapes.base import CriticalPoint, Landscape
from .base import BUDGET_FACTOR, EPS, Adversary, unit


class PiecewiseSlope1D(Landscape):
    """f: R -> R with f′ continuous, piecewise linear through (xs[j], slopes[j]) and constant
    outside [xs[0], xs[-1]]; f(xs[-1]) = ``f_right``. ``L`` = the largest |slope of f′|."""

    name = "piecewise_slope_1d"

    def __init__(self, xs, slopes, f_right: float = 0.0, L: float | None = None):
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(slopes, dtype=np.float64)
        if xs.ndim != 1 or xs.shape != ys.shape or len(xs) < 2:
            raise ValueError("xs and slopes must be 1-D of the same length >= 2")
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)) and np.all(np.diff(xs) > 0)):
            raise ValueError("xs must be finite and strictly increasing, slopes finite")
        self.xs, self.ys = xs, ys
        self.dim = 1
        steep = float(np.max(np.abs(np.diff(ys) / np.diff(xs))))
        self.L = steep if L is None else float(L)
        if self.L < steep * (1 - 1e-12):
            raise ValueError(f"L = {self.L} is below the steepest slope of f' ({steep})")
        self.rho = math.inf
        # f at the knots: integrate f' (trapezoid is exact on linear pieces) from the right end
        seg = 0.5 * (ys[1:] + ys[:-1]) * np.diff(xs)
        self.f_knots = float(f_right) - np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
        self.f_star = self._infimum()

    def _infimum(self) -> float:
        if self.ys[0] > 0 or self.ys[-1] < 0:
            return -math.inf          # f decreases without end to the left (right)
        cands = list(self.f_knots)
        for j in range(len(self.xs) - 1):      # zero crossings of f' inside a piece
            y0, y1 = self.ys[j], self.ys[j + 1]
            if y0 * y1 < 0:
                x = self.xs[j] + (self.xs[j + 1] - self.xs[j]) * y0 / (y0 - y1)
                cands.append(float(self.value(np.array([x]))))
        return float(min(cands))

    def _deriv(self, x):
        return np.interp(x, self.xs, self.ys)

    def value(self, w) -> float:
        x = float(np.asarray(w, dtype=np.float64).reshape(-1)[0])
        xs, ys = self.xs, self.ys
        if x <= xs[0]:
            return float(self.f_knots[0] + ys[0] * (x - xs[0]))
        if x >= xs[-1]:
            return float(self.f_knots[-1] + ys[-1] * (x - xs[-1]))
        j = int(np.searchsorted(xs, x, side="right") - 1)
        y = self._deriv(x)
        return float(self.f_knots[j] + 0.5 * (ys[j] + y) * (x - xs[j]))

    def grad(self, w):
        w = np.asarray(w, dtype=np.float64)
        return self._deriv(w)

    def hvp(self, w, v):
        x = float(np.asarray(w, dtype=np.float64).reshape(-1)[0])
        j = int(np.clip(np.searchsorted(self.xs, x, side="right") - 1, -1, len(self.xs) - 1))
        if j < 0 or j >= len(self.xs) - 1:
            return np.zeros_like(np.asarray(v, dtype=np.float64))
        slope = (self.ys[j + 1] - self.ys[j]) / (self.xs[j + 1] - self.xs[j])
        return slope * np.asarray(v, dtype=np.float64)

    def critical_points(self) -> list[CriticalPoint]:
        zero = np.flatnonzero(self.ys == 0)
        if len(zero):
            x = self.xs[zero[0]]
            return [CriticalPoint(np.array([x]), "global_min", self.value(np.array([x])), 0.0)]
        return []

    def describe(self) -> dict:
        return {"name": self.name, "dim": 1, "L": self.L, "rho": self.rho, "f_star": self.f_star,
                "knots": len(self.xs)}


def chain(levels, errors, dips, Delta: float, L: float, D: float | None = None):
    """The search family: the 1-D function and the intended oracle errors of ``len(errors)`` steps.

    levels[k] > 0 is f′(x_k) (k = 0..N), errors[k] ∈ [−1, 1] the oracle's error at x_k in units
    of Δ (d_k = levels[k] + errors[k]·Δ, step x_{k+1} = x_k − d_k/L), dips[k] ∈ [0, 1] how deep f′
    dips between x_k and x_{k+1} (0: the straight line, 1: the deepest L-Lipschitz tent). After
    x_N f′ falls with slope L to 0. Returns (landscape, x) with f(x_0) − inf f = the budget used,
    f_right chosen so that inf f = 0; or None when the design is not L-smooth (a level change
    larger than L·s_k, or a step that does not move left).
    """
    levels = np.asarray(levels, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    dips = np.asarray(dips, dtype=np.float64)
    n = len(errors)
    if len(levels) != n + 1 or len(dips) != n:
        raise ValueError("need len(levels) = len(errors) + 1 = len(dips) + 1")
    xs, ys = [0.0], [float(levels[0])]
    x = 0.0
    pts = [0.0]
    for k in range(n):
        d = levels[k] + errors[k] * Delta
        if not d > 0:
            return None
        s = d / L
        g0, g1 = float(levels[k]), float(levels[k + 1])
        if abs(g1 - g0) > L * s * (1 + 1e-12):
            return None
        # the deepest tent: down from g0 with slope L (going left), up to g1 with slope L
        t = 0.5 * (s + (g0 - g1) / L)                   # distance from x_k to the bottom
        bottom = g0 - L * t
        straight = g0 + (g1 - g0) * t / s
        depth = straight - dips[k] * (straight - bottom)
        xs.append(x - t)
        ys.append(depth)
        x = x - s
        xs.append(x)
        ys.append(g1)
        pts.append(x)
    g = float(levels[-1])
    xs.append(x - g / L)
    ys.append(0.0)
    order = np.argsort(xs)
    xs_arr = np.asarray(xs)[order]
    ys_arr = np.asarray(ys)[order]
    keep = np.concatenate([[True], np.diff(xs_arr) > 1e-15 * max(1.0, float(np.max(np.abs(xs_arr))))])
    land = PiecewiseSlope1D(xs_arr[keep], ys_arr[keep], 0.0, L=max(L, 0.0))
    shift = -land.f_star
    land = PiecewiseSlope1D(xs_arr[keep], ys_arr[keep], shift, L=max(L, 0.0))
    return land, np.asarray(pts)


def tent_chain(N: int, Delta: float, L: float, D: float, G: float | None = None):
    """The construction attaining W(N, Δ, L, D) (module docstring): (landscape, iterates x_k)."""
    if G is None:
        from ...theory.gd_phase import w_value
        G = w_value(N, Delta, L, D)
    return chain(np.full(N + 1, G), -np.ones(N), np.ones(N), Delta, L)


class Parabola(Landscape):
    """F(w) = (L/2)‖w‖² in d dimensions (the ratio-1 example's landscape)."""

    name = "parabola"

    def __init__(self, dim: int = 1, L: float = 1.0):
        self.dim, self.L, self.rho, self.f_star = int(dim), float(L), 0.0, 0.0

    def value(self, w):
        w = np.asarray(w, dtype=np.float64)
        return 0.5 * self.L * float(w @ w)

    def grad(self, w):
        return self.L * np.asarray(w, dtype=np.float64)

    def hvp(self, w, v):
        return self.L * np.asarray(v, dtype=np.float64)

    def critical_points(self):
        return [CriticalPoint(np.zeros(self.dim), "global_min", 0.0, self.L)]


class UnderReport(Adversary):
    """ĝ = ∇F − min(Δ, ‖∇F‖)·∇F/‖∇F‖: the gradient reported shorter by exactly Δ (the oracle of
    the worst case of :func:`tent_chain`; unlike ``shrink`` it spends the whole budget)."""

    name = "pep_under_report"

    def error(self, w, grad):
        size = np.minimum(self.delta, np.linalg.norm(grad, axis=-1, keepdims=True))
        return -size * unit(grad)


class Scripted(Adversary):
    """The k-th answer has error −fractions[k]·Δ·∇F/‖∇F‖ (k counted from 0; 0 after the script):
    the intended errors of a :func:`chain` design, replayed on the real algorithm."""

    name = "pep_scripted"
    batchable = False

    def __init__(self, landscape, delta, rng, fractions=()):
        fr = [float(f) for f in fractions]
        if any(not (-1 <= f <= 1) for f in fr):
            raise ValueError("fractions must lie in [-1, 1]")
        super().__init__(landscape, delta, rng, fractions=fr)
        self.batchable = False
        self.fractions = fr
        self.k = 0

    def error(self, w, grad):
        f = self.fractions[self.k] if self.k < len(self.fractions) else 0.0
        self.k += 1
        return -f * self.delta * unit(grad)


class ScriptedVectors(Adversary):
    """The k-th answer has the error ``errors[k]`` (a vector of norm <= Δ; k counted from 0), and
    after the script the error Δ(1 − 8 eps)·∇F/‖∇F‖ (ĝ over-reported by Δ: the answer that keeps
    ‖ĝ‖ > 3Δ as long as any error can): the oracle of the rotating chain
    (:mod:`byzpgd.oracles.landscapes.rotating_chain`), replayed on the real algorithm."""

    name = "pep_scripted_vectors"
    batchable = False

    def __init__(self, landscape, delta, rng, errors=()):
        errs = np.asarray(errors, dtype=np.float64).reshape(-1, landscape.dim) if len(errors) else \
            np.zeros((0, landscape.dim))
        super().__init__(landscape, delta, rng)
        self.batchable = False
        self.errors = errs
        self.k = 0

    def error(self, w, grad):
        if self.k < len(self.errors):
            e = self.errors[self.k]
        else:
            e = self.delta * BUDGET_FACTOR * unit(grad)
        self.k += 1
        return e


class RatioOne(Adversary):
    """ĝ = (3/4)∇F while ‖∇F‖ <= 4Δ (error ∇F/4, norm <= Δ), ĝ = ∇F − Δ∇F/‖∇F‖ beyond: at a point
    with ‖∇F‖ = 4Δ the reported norm is 3Δ, ByzantinePGD's test fires and ‖∇F(w̃)‖ = 4Δ."""

    name = "pep_ratio_one"
    # ĝ = (3/4)(1 − 5 eps)∇F for ‖∇F‖ <= 4Δ(1 + 2 eps): ‖ĝ‖ <= 3Δ(1 − 3 eps) after rounding, and the
    # error ‖∇F‖(1/4 + 4 eps) <= Δ(1 + 17 eps) stays inside CertifiedOracle's rounding allowance
    SHORTEN = 1.0 - 5 * EPS
    INSIDE = 1.0 + 2 * EPS

    def __call__(self, w):
        grad = self.landscape.grad(w)
        if self.delta == 0:
            return grad
        n = np.linalg.norm(grad, axis=-1, keepdims=True)
        inside = 0.75 * self.SHORTEN * grad
        outside = grad - self.delta * BUDGET_FACTOR * unit(grad)
        return np.where(n <= 4 * self.delta * self.INSIDE, inside, outside)

    def error(self, w, grad):
        return self(w) - grad


CONSTRUCTIONS: dict[str, type[Adversary]] = {c.name: c for c in (UnderReport, Scripted, ScriptedVectors,
                                                                  RatioOne)}
