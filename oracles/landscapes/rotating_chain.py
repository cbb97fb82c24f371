"""The rotating chain: an N-dimensional family of worst cases for the number of large-gradient
steps of ByzantinePGD's gradient phase (stopping test ‖ĝ‖ <= 3Δ, η = 1/L; docs/paper.md §3, §8.1),
realized as a certified L-smooth function (:class:`~.smooth_interpolant.SmoothInterpolant`) with a
scripted Δ-inexact oracle.

Why N dimensions (OWN analysis, guided by PEPit's primal worst case): in 1-D each step must
decrease f by at least 15Δ²/(4L); the interpolation condition between consecutive iterates only
forces (3G + Δ)(G − Δ)/(4L)-type decreases when the gradient keeps its direction. With
x_{k+1} = x_k − d_k/L, d_k = g_k + e_k, ‖d_k‖ = 3Δ, the decrease is at least Φ/(4L) with
Φ = −‖d_k‖² + 2⟨g_k + g_{k+1}, d_k⟩ + ‖g_k − g_{k+1}‖², and Φ is smallest (about 9.8Δ² at
Δ = 0.2, L = 1) when g_{k+1} is nearly orthogonal to g_k with ‖g_k − g_{k+1}‖ = ‖d_k‖ (the Lipschitz
bound active) and e_k leans on g_k. Repeated in one plane the iterates circle back and the
conditions between non-consecutive iterates fail; folding the plane at every step (a zigzag, as
in the PEP's solution where g_{k+2} ≈ 0.76 g_k) with a small tilt into fresh dimensions makes the
iterates drift, so that only consecutive conditions bind.

The family (seven parameters, :data:`PARAM_NAMES`; the first six alone give the family without
``last_theta``), with an orthonormal frame (f1_k, f2_k) and two fresh unit vectors n_k, m_k per
step (dimension 2N + 2):

- g_k = A f1_k, e_k = E (cos θ f1_k + sin θ f2_k), E = Δ(1 − 8 eps) and A > 0 such that
  ‖g_k + e_k‖ = 3Δ(1 + 1e-9) (every step passes the test ‖ĝ‖ > 3Δ by a hair);
- g_{k+1} = A (cos β f1_k + sin β cos λ f2_k + sin β sin λ n_k)  (β = bend, λ = lift);
- f2_{k+1} = the unit part orthogonal to g_{k+1} of cos ψ w_k + sin ψ m_k, w_k the in-plane
  normal of g_{k+1} (ψ = fold: ψ = π folds the plane back, a zigzag);
- the last gradient g_N = Δ e^τ (cos ϑ f1_{N−1} + sin ϑ f2_{N−1}) (τ = log_tail, ϑ = tail_angle):
  small, so that the final term ‖g_N‖²/(2L) of the budget is small;
- the last step's error may lean at its own angle ``last_theta`` (g_{N−1} = A′ f1_{N−1} with
  ‖g_{N−1} + e_{N−1}‖ = 3Δ(1 + 1e-9) again; the PEP's worst case aligns e_{N−1} with g_{N−1});
- f values: the largest ones the interpolation conditions allow, one after the other
  (f_0 = 0; f_k = min_{j<k} of the upper bounds the conditions (j, k) put on f_k, checked against
  their lower bounds), computed with L(1 − 1e-7) so that every condition holds with slack for L.

The budget f(x_0) − inf f of the interpolant is max_i (f_0 − f_i + ‖g_i‖²/(2L)) (exact, see
:mod:`.smooth_interpolant`); :func:`longest_design` finds the largest N whose budget is <= D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .smooth_interpolant import SmoothInterpolant

PARAM_NAMES = ("theta", "bend", "lift", "fold", "log_tail", "tail_angle", "last_theta")
EPS = np.finfo(np.float64).eps
ERROR_FACTOR = 1.0 - 8 * EPS        # ‖e_k‖ = Δ(1 − 8 eps): inside CertifiedOracle's allowance
PASS_FACTOR = 1.0 + 1e-9            # ‖d_k‖ = 3Δ(1 + 1e-9): above the test's threshold after rounding
DESIGN_MARGIN = 1e-7                # f values designed for L(1 − 1e-7): slack for L


@dataclass(frozen=True)
class ChainDesign:
    """One member of the family with N = ``steps`` steps.

    X, G : iterates x_0..x_N and gradients g_k (rows; dimension 2N + 2)
    E : the oracle's errors e_0..e_{N−1} (‖e_k‖ <= Δ; d_k = g_k + e_k, x_{k+1} = x_k − d_k/L)
    F : f(x_k), f_0 = 0 (the largest values the interpolation conditions allow)
    budget : f(x_0) − inf f of the interpolant = max_k (f_0 − f_k + ‖g_k‖²/(2L))
    Delta, L : of the design; params : the parameters (:data:`PARAM_NAMES`)
    """

    X: np.ndarray
    G: np.ndarray
    E: np.ndarray
    F: np.ndarray
    budget: float
    Delta: float
    L: float
    params: tuple

    @property
    def steps(self) -> int:
        return len(self.E)

    def landscape(self, *, check: bool = True) -> SmoothInterpolant:
        """The certified L-smooth interpolant of (X, G, F) (:class:`NotInterpolable` if not)."""
        return SmoothInterpolant(self.X, self.G, self.F, self.L, check=check)


def chain_vectors(params, n: int, Delta: float, L: float, error_factor: float = 1.0):
    """(X, G, E, T) of the family (module docstring) with n steps, or None for a degenerate frame:
    G[k] for k <= n are the steady gradients and T[k] (k >= 1) the tail gradient that replaces
    G[k] when the chain stops after k steps (the member with k steps is X[:k+1], G[:k] + T[k],
    E[:k]). ``error_factor`` scales the errors (1: ‖e_k‖ = Δ(1 − 8 eps); above 1 the oracle
    overspends: able-to-fail tests)."""
    th, bend, lift, fold, log_tail, tail_angle = (float(v) for v in params[:6])
    if not (n >= 1 and Delta > 0 and L > 0):
        raise ValueError(f"need n >= 1, Delta > 0, L > 0, got {n}, {Delta}, {L}")
    ct, st = math.cos(th), math.sin(th)
    E_ = Delta * ERROR_FACTOR * float(error_factor)
    r = 3 * Delta * PASS_FACTOR
    A = -E_ * ct + math.sqrt(E_ * E_ * ct * ct + r * r - E_ * E_)
    p, q, s = math.cos(bend), math.sin(bend) * math.cos(lift), math.sin(bend) * math.sin(lift)
    # f1_{k+1} = p f1_k + q f2_k + s n_k; f2_{k+1} = (cos ψ (−q f1_k + p f2_k) + sin ψ m_k)/ν, which
    # is already orthogonal to f1_{k+1}; ν = √(cos²ψ (p² + q²) + sin²ψ)
    nu = math.sqrt(math.cos(fold) ** 2 * (p * p + q * q) + math.sin(fold) ** 2)
    if not nu > 1e-12:
        return None
    M = np.array([[p, q], [-q * math.cos(fold) / nu, p * math.cos(fold) / nu]])
    dim = 2 * n + 2
    frames = np.zeros((n + 1, 2, dim))
    S = np.zeros((2, dim))
    S[0, 0] = S[1, 1] = 1.0
    for k in range(n + 1):
        frames[k] = S
        S = M @ S
        if k < n:
            S[0, 2 + 2 * k] = s
            S[1, 3 + 2 * k] = math.sin(fold) / nu
    f1, f2 = frames[:, 0, :], frames[:, 1, :]
    G = A * f1
    E = E_ * (ct * f1[:n] + st * f2[:n])
    tail = Delta * math.exp(log_tail)
    T = np.zeros((n + 1, dim))
    T[1:] = tail * (math.cos(tail_angle) * f1[:n] + math.sin(tail_angle) * f2[:n])
    X = np.zeros((n + 1, dim))
    X[1:] = -np.cumsum(G[:n] + E, axis=0) / L
    return X, G, E, T, (f1, f2)


def _gradient_norm(theta: float, E_: float, Delta: float) -> float:
    """A > 0 with ‖A f1 + E_(cos θ f1 + sin θ f2)‖ = 3Δ(1 + 1e-9)."""
    ct = math.cos(theta)
    r = 3 * Delta * PASS_FACTOR
    return -E_ * ct + math.sqrt(E_ * E_ * ct * ct + r * r - E_ * E_)


def _bounds(X, G, F, k, g_k, Ld):
    """(lo, hi): the interpolation conditions between point k (gradient g_k) and the points j < k
    bound f_k: f_k >= f_j + inner + q (IC with i = k) and f_k <= f_j + inner − q (IC with i = j)."""
    dx = X[k] - X[:k]
    dg = g_k - G[:k]
    inner = 0.5 * ((G[:k] + g_k) * dx).sum(axis=1)
    q = (dg * dg).sum(axis=1) / (4 * Ld) - (Ld / 4) * (dx * dx).sum(axis=1)
    return float(np.max(F[:k] + inner + q)), float(np.min(F[:k] + inner - q))


def assign_values(X, G, L: float, margin: float = DESIGN_MARGIN):
    """The largest f values f_1, f_2, ... (f_0 = 0) one after the other such that the interpolation
    conditions with L(1 − margin) hold between every pair; None if at some k the lower bounds
    exceed the upper bounds (no L-smooth function has these iterates and gradients)."""
    Ld = L * (1 - margin)
    F = np.zeros(len(X))
    for k in range(1, len(X)):
        lo, hi = _bounds(X, G, F, k, G[k], Ld)
        if lo > hi:
            return None
        F[k] = hi
    return F


def longest_design(params, Delta: float, L: float, D: float, cap: int, *, error_factor: float = 1.0,
                   smoothness_factor: float = 1.0) -> tuple[ChainDesign | None, float]:
    """(the member with the most steps n <= cap whose budget is <= D, ``progress``): one pass
    over the steady chain (the greedy values f_k depend only on the earlier points, so every
    member shares them), the tail tried at every n. ``error_factor`` > 1 overspends the oracle's
    budget, ``smoothness_factor`` > 1 assigns the f values for the constant smoothness_factor·L
    (the data is then not L-smooth interpolable): both break the design on purpose (able-to-fail
    tests). ``progress`` in [0, 1] (the search's tie-breaker) says how close the member with n + 1
    steps came to fitting: 1 − (its budget − D)/(the steady per-step decrease) when it is
    interpolable, 0.5/(1 + violation) when the steady chain stopped being interpolable (violation
    in units of Δ²/L), else 0."""
    vecs = chain_vectors(params, cap, Delta, L, error_factor)
    if vecs is None:
        return None, 0.0
    X, G, E, T, (f1, f2) = vecs
    Ld = L * smoothness_factor * (1 - DESIGN_MARGIN)
    last = len(params) > 6                           # the last step's own error angle
    if last:
        E_ = Delta * ERROR_FACTOR * float(error_factor)
        th_l = float(params[6])
        A_l = _gradient_norm(th_l, E_, Delta)
    # Gram blocks: every interpolation condition is a combination of inner products
    XX, GX, GG = X @ X.T, G @ X.T, G @ G.T
    TX, TG = T @ X.T, T @ G.T
    xsq, gsq, tsq = np.diag(XX), np.diag(GG), np.einsum("ij,ij->i", T, T)
    F = np.zeros(cap + 1)
    run_max = float(gsq[0]) / (2 * L)                # max_{i<k} (f_0 − f_i + ‖g_i‖²/(2L))
    hist = [run_max]                                 # hist[i] = max_{j<=i} (f_0 − f_j + ‖g_j‖²/(2L))
    best = None
    stop = 0.0
    member_budget: dict[int, float] = {}

    def bounds(k, gx_k, gg_kk, gx_row, gg_row):
        # with g = the gradient at x_k: <g, x_k − x_j>, <g_j, x_k − x_j>, ‖g − g_j‖², ‖x_k − x_j‖²
        dxx = xsq[k] + xsq[:k] - 2 * XX[k, :k]
        inner = 0.5 * (gx_k - gx_row + GX[:k, k] - np.diag(GX)[:k])
        dgg = gg_kk + gsq[:k] - 2 * gg_row
        q = dgg / (4 * Ld) - (Ld / 4) * dxx
        return float(np.max(F[:k] + inner + q)), float(np.min(F[:k] + inner - q))

    kf = 0                                           # F[:kf + 1] are the steady values computed
    for k in range(1, cap + 1):
        lo, hi = bounds(k, TX[k, k], tsq[k], TX[k, :k], TG[k, :k])       # the tail at x_k
        if lo <= hi:
            member_budget[k] = max(run_max, -hi + float(tsq[k]) / (2 * L))
            if member_budget[k] <= D:
                best = (k, hi, member_budget[k])
        lo, hi = bounds(k, GX[k, k], gsq[k], GX[k, :k], GG[k, :k])   # the steady chain continues
        if lo > hi:
            stop = (lo - hi) / (Delta * Delta / L)   # the steady chain is not interpolable beyond k
            break
        F[k] = hi
        kf = k
        run_max = max(run_max, -hi + float(gsq[k]) / (2 * L))
        hist.append(run_max)
        if hist[k - 1] > D:          # no member with more steps fits (its points 0..k-1 are steady)
            break
    if last:      # the last step with its own error angle: near the longest member only (cheap)
        n0 = best[0] if best is not None else 1
        for k in range(max(2, n0), min(n0 + 2, kf + 1, cap) + 1):
            g_l = A_l * f1[k - 1]
            e_l = E_ * (math.cos(th_l) * f1[k - 1] + math.sin(th_l) * f2[k - 1])
            x_k = X[k - 1] - (g_l + e_l) / L
            Xm = np.vstack([X[:k], x_k[None, :]])
            Gm = np.vstack([G[:k - 1], g_l[None, :], T[k][None, :]])
            Fm = np.append(F[:k], 0.0)
            lo1, hi1 = _bounds(Xm, Gm, Fm, k - 1, g_l, Ld)
            Fm[k - 1] = hi1
            lo, hi = _bounds(Xm, Gm, Fm, k, T[k], Ld) if lo1 <= hi1 else (1.0, 0.0)
            if lo > hi:
                continue
            budget = max(hist[k - 2], -hi1 + float(g_l @ g_l) / (2 * L), -hi + float(tsq[k]) / (2 * L))
            member_budget[k] = min(budget, member_budget.get(k, math.inf))
            if budget <= D and (best is None or k > best[0] or budget < best[2]):
                best = (k, hi, budget, hi1, g_l, e_l, x_k)
    if best is None:
        return None, 0.0
    des = _member(X, G, E, T, F, best, Delta, L, params)
    n = des.steps
    per_step = float(F[kf - 1] - F[kf]) if kf >= 1 else 0.0
    if n + 1 in member_budget and per_step > 0:      # how close the next member came to fitting
        return des, max(0.0, 1.0 - (member_budget[n + 1] - D) / per_step)
    if stop > 0:                                     # the steady chain stopped being interpolable
        return des, 0.5 / (1.0 + stop)
    return des, 0.0


def _member(X, G, E, T, F, best, Delta, L, params) -> ChainDesign:
    n, f_tail, budget = best[:3]
    Fn = np.append(F[:n], f_tail)
    Gn = np.vstack([G[:n], T[n][None, :]])
    Xn, En = X[:n + 1].copy(), E[:n].copy()
    if len(best) > 3:                                # the last step with its own error angle
        Fn[n - 1], Gn[n - 1], En[n - 1], Xn[n] = best[3:]
    dim = 2 * n + 2                                  # the coordinates the first n steps use
    return ChainDesign(Xn[:, :dim], Gn[:, :dim].copy(), En[:, :dim], Fn, budget,
                       float(Delta), float(L), tuple(float(v) for v in params))


def local_decrease(theta: float, bend: float, lift: float, Delta: float, L: float) -> tuple[float, float]:
    """(Φ/(4L), ‖d‖² − ‖g_k − g_{k+1}‖²) of one steady step of the family: the least decrease of f
    that the interpolation condition between consecutive iterates allows, and the Lipschitz
    condition's slack with a margin, (1 − 10·DESIGN_MARGIN)²‖d‖² − ‖g_k − g_{k+1}‖² (>= 0 needed:
    :func:`assign_values` works with L(1 − DESIGN_MARGIN)). Minimizing the first subject to the
    second gives the steady-state geometry (stage 1 of the search)."""
    ct, st = math.cos(theta), math.sin(theta)
    E_ = Delta * ERROR_FACTOR
    r = 3 * Delta * PASS_FACTOR
    A = -E_ * ct + math.sqrt(E_ * E_ * ct * ct + r * r - E_ * E_)
    a = np.array([A, 0.0, 0.0])
    d = a + E_ * np.array([ct, st, 0.0])
    b = A * np.array([math.cos(bend), math.sin(bend) * math.cos(lift), math.sin(bend) * math.sin(lift)])
    phi = -d @ d + 2 * (a + b) @ d + (a - b) @ (a - b)
    return float(phi / (4 * L)), float((1 - 10 * DESIGN_MARGIN) ** 2 * (d @ d) - (a - b) @ (a - b))
