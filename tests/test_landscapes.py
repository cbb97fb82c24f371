"""Landscapes: exact derivatives and certified constants (docs/ARCHITECTURE.md:
"oracles/" for the Landscape interface, "How claims are checked").

For every landscape family (CosineSaddle with identity / dense / Householder rotations,
RandomPhaseCosine, PhaseRetrieval) this module checks

- derivatives: gradient vs central differences of ``value``, Hessian-vector products vs central
  differences of ``grad``, ``hess(w) @ v == hvp(w, v)``, symmetry of ``hess``, and (CosineSaddle
  with identity rotation, PhaseRetrieval) value / gradient / Hessian against SymPy derivatives of
  the formulas in the module docstrings; SymPy also re-derives the docstring identities that the
  certified constants rest on;
- certified constants: ``L`` (spectral radius of the Hessian and gradient differences on random
  points and pairs, and attained at a known point), ``rho`` (Hessian differences on random pairs
  and on an analytically tight pair; for PhaseRetrieval only inside ``domain_radius``),
  ``f_star`` (attained at the global minimum, a lower bound on random points), the known critical
  points (zero gradient, stated value and λ_min, kind consistent with the spectrum);
- the Δ-inexact shared oracle of RandomPhaseCosine (docs/paper.md §7.1);
- rotations (orthogonal, batched) and batched gradients;
- input validation (ValueError naming the parameter).

The constant checks are functions returning the list of violations they found; the same
functions are run against deliberately broken constants (ρ/2, L/2, a too-high F*) and must then
report violations, so that a check that can never fail would be noticed.

Rounding tolerances are stated next to each comparison; they are multiples of
``EPS * dim * scale`` for exact identities and ~1e-6 relative for finite differences.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from byzpgd.oracles.landscapes import (
    CosineSaddle,
    DenseRotation,
    HouseholderRotation,
    PhaseRetrieval,
    RandomPhaseCosine,
    Rotation,
    random_rotation,
)

EPS = np.finfo(np.float64).eps
FAMILIES = ("cosine_identity", "cosine_dense", "cosine_householder", "random_phase",
            "phase_retrieval")
SEEDS = st.integers(0, 2**32 - 1)
DIMS = st.integers(2, 9)
FAST = settings(max_examples=25, deadline=None)


# --------------------------------------------------------------------------------------------
# instance and point generators
# --------------------------------------------------------------------------------------------
def make_landscape(family: str, dim: int, seed: int):
    """A random instance of ``family`` in dimension ``dim`` (all randomness from ``seed``)."""
    rng = np.random.default_rng(seed)
    if family.startswith("cosine_"):
        n_neg = int(rng.integers(1, dim + 1))
        return CosineSaddle.random(dim, rng, n_neg=n_neg, L=rng.uniform(0.5, 3.0),
                                   rho=rng.uniform(0.5, 5.0), rotation=family[len("cosine_"):])
    if family == "random_phase":
        return RandomPhaseCosine.random(dim, 10 ** rng.uniform(-3, 0), rng,
                                        rho=rng.uniform(0.5, 5.0), L=rng.uniform(0.5, 3.0))
    if family == "phase_retrieval":
        w_star = rng.standard_normal(dim) * rng.uniform(0.5, 2.0)
        return PhaseRetrieval(w_star, radius=np.linalg.norm(w_star) * rng.uniform(1.0, 2.0))
    raise AssertionError(family)


def sample_points(land, rng: np.random.Generator, k: int) -> np.ndarray:
    """k points where the landscape is interesting (several periods of the cosines; inside the
    certified ball for PhaseRetrieval, including its boundary sphere)."""
    d = land.dim
    if isinstance(land, PhaseRetrieval):
        u = rng.standard_normal((k, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r = land.domain_radius * rng.uniform(0.0, 1.0, size=(k, 1)) ** (1.0 / d)
        r[: k // 4] = land.domain_radius  # a quarter of them on the boundary
        return u * r
    if isinstance(land, RandomPhaseCosine):
        w = rng.standard_normal((k, d))
        w[:, 0] = land.theta + rng.uniform(-3 * np.pi, 3 * np.pi, size=k) * land.s
        return w
    scale = np.concatenate([3 * np.pi * land.s, np.ones(d - land.n_neg)])
    y = rng.uniform(-1.0, 1.0, size=(k, d)) * scale
    return land.rotation.apply(y)


def sample_pairs(land, rng: np.random.Generator, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k random pairs: half far apart, half at distance ~1e-3 (local slopes)."""
    w = sample_points(land, rng, k)
    v = sample_points(land, rng, k)
    close = rng.standard_normal((k, land.dim))
    close *= 1e-3 / np.linalg.norm(close, axis=1, keepdims=True)
    v[k // 2:] = w[k // 2:] + close[k // 2:]
    if isinstance(land, PhaseRetrieval):  # keep both points inside the certified ball
        n = np.linalg.norm(v, axis=1, keepdims=True)
        v = np.where(n > land.domain_radius, v / n * land.domain_radius, v)
    return list(zip(w, v, strict=True))


def _unit_orthogonal_to(x: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to x (the basis vector least aligned with x, projected)."""
    u = np.zeros(x.size)
    u[np.argmin(np.abs(x))] = 1.0
    u -= (u @ x) / (x @ x) * x
    return u / np.linalg.norm(u)


def tight_rho_pair(land, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A pair whose Hessian-difference ratio is within ~1e-6 relative of the certified ρ."""
    if isinstance(land, CosineSaddle):
        j = int(np.argmax(land.gamma / land.s))
        y = np.zeros(land.dim)
        y[land.n_neg:] = rng.standard_normal(land.dim - land.n_neg)
        y[j] = 0.5 * np.pi * land.s[j]
        y2 = y.copy()
        y2[j] += 1e-3 * land.s[j]
        return land.rotation.apply(y), land.rotation.apply(y2)
    if isinstance(land, RandomPhaseCosine):
        w = rng.standard_normal(land.dim)
        w[0] = land.theta + 0.5 * np.pi * land.s
        v = w.copy()
        v[0] += 1e-3 * land.s
        return w, v
    u = rng.standard_normal(land.dim)
    u /= np.linalg.norm(u)
    b = land.domain_radius
    return b * u, (1 - 1e-6) * b * u


def tight_L_point(land) -> np.ndarray:
    """A point where the spectral radius of the Hessian equals the certified L."""
    if isinstance(land, CosineSaddle):
        return np.zeros(land.dim)
    if isinstance(land, RandomPhaseCosine):
        return land.critical_points()[0].point  # phase 0: curvature −√(ρΔ); L_quad elsewhere
    return land.domain_radius * _unit_orthogonal_to(land.w_star)


def tight_L_pair(land, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A pair whose gradient-difference ratio is within ~1e-6 relative of the certified L."""
    if isinstance(land, CosineSaddle):
        k = int(np.argmax(np.abs(land.hess_diag(np.zeros(land.dim)))))
        y = np.zeros(land.dim)
        y[k] = 1e-4 * land.s.min()
        return np.zeros(land.dim), land.rotation.apply(y)
    if isinstance(land, RandomPhaseCosine):
        w = land.critical_points()[0].point + rng.standard_normal(land.dim)
        w[0] = land.theta
        v = w.copy()
        if land.dim >= 2 and land.L_quad >= np.sqrt(land.rho * land.delta):
            v[1] += 1e-3
        else:
            v[0] += 1e-4 * land.s
        return w, v
    w = tight_L_point(land)
    return w, (1 - 1e-6) * w


# --------------------------------------------------------------------------------------------
# checking helpers: each returns the list of violations it found
# --------------------------------------------------------------------------------------------
def _norm(x: np.ndarray) -> float:
    return float(np.linalg.norm(x, 2) if x.ndim == 2 else np.linalg.norm(x))


def lipschitz_violations(fn, pairs, const: float, dim: int) -> list[tuple[float, np.ndarray,
                                                                          np.ndarray]]:
    """Pairs (w, v) with ‖fn(w) − fn(v)‖ > const·‖w − v‖ + slack (spectral norm for matrices).

    slack = 64·dim·EPS·(‖fn(w)‖ + ‖fn(v)‖) covers the rounding of fn; it is returned as
    (ratio, w, v) for each violation.
    """
    bad = []
    for w, v in pairs:
        fw, fv = fn(w), fn(v)
        num, dist = _norm(fw - fv), float(np.linalg.norm(w - v))
        slack = 64 * dim * EPS * (_norm(fw) + _norm(fv))
        if num > const * dist + slack:
            bad.append((num / dist, w, v))
    return bad


def max_ratio(fn, pairs) -> float:
    return max(_norm(fn(w) - fn(v)) / float(np.linalg.norm(w - v)) for w, v in pairs)


def L_violations(land, rng: np.random.Generator, n: int = 40) -> list:
    """Spectral radius of ∇²F on random points and gradient-difference ratios on random pairs
    plus a tight pair, against ``land.L``."""
    bad = []
    pts = list(sample_points(land, rng, n)) + [tight_L_point(land)]
    for w in pts:
        top = float(np.abs(np.linalg.eigvalsh(land.hess(w))).max())
        if top > land.L * (1 + 64 * land.dim * EPS):
            bad.append(("eig", top, w))
    pairs = sample_pairs(land, rng, n) + [tight_L_pair(land, rng)]
    bad += [("grad", *b) for b in lipschitz_violations(land.grad, pairs, land.L, land.dim)]
    return bad


def rho_violations(land, rng: np.random.Generator, n: int = 60) -> list:
    """Hessian-difference ratios on random pairs (inside the ball for PhaseRetrieval) and on the
    analytically tight pair, against ``land.rho``."""
    pairs = sample_pairs(land, rng, n) + [tight_rho_pair(land, rng)]
    return lipschitz_violations(land.hess, pairs, land.rho, land.dim)


def f_star_violations(land, rng: np.random.Generator, n: int = 60) -> list:
    """value(w) >= f_star on random points and critical points; value(global min) == f_star."""
    tol = 64 * land.dim * EPS * (1 + abs(land.f_star) + land.L)
    bad = []
    cps = land.critical_points()
    for w in list(sample_points(land, rng, n)) + [cp.point for cp in cps]:
        if land.value(w) < land.f_star - tol:
            bad.append(("below", land.value(w), w))
    for cp in cps:
        if cp.kind == "global_min" and abs(land.value(cp.point) - land.f_star) > tol:
            bad.append(("global_min", land.value(cp.point), cp.point))
    return bad


# --------------------------------------------------------------------------------------------
# derivatives
# --------------------------------------------------------------------------------------------
def fd_grad(land, w: np.ndarray, h: float) -> np.ndarray:
    eye = np.eye(land.dim)
    return np.array([(land.value(w + h * e) - land.value(w - h * e)) / (2 * h) for e in eye])


@pytest.mark.parametrize("family", FAMILIES)
@FAST
@given(dim=DIMS, seed=SEEDS)
def test_grad_matches_central_differences(family, dim, seed):
    land = make_landscape(family, dim, seed)
    rng = np.random.default_rng(seed + 1)
    for w in sample_points(land, rng, 4):
        h = 1e-5 * (1 + np.linalg.norm(w)) * (land.s if isinstance(land, RandomPhaseCosine)
                                              else 1.0)
        g = land.grad(w)
        # truncation O(h²·ρ) and cancellation O(EPS·|F|/h): far below 1e-6
        np.testing.assert_allclose(fd_grad(land, w, h), g, rtol=1e-6,
                                   atol=1e-7 * (1 + abs(land.value(w)) + np.linalg.norm(g)))


@pytest.mark.parametrize("family", FAMILIES)
@FAST
@given(dim=DIMS, seed=SEEDS)
def test_hvp_matches_differences_of_grad_and_hess(family, dim, seed):
    land = make_landscape(family, dim, seed)
    rng = np.random.default_rng(seed + 2)
    for w in sample_points(land, rng, 4):
        v = rng.standard_normal(dim)
        h = 1e-5 * (land.s if isinstance(land, RandomPhaseCosine) else 1.0)
        hv = land.hvp(w, v)
        fd = (land.grad(w + h * v) - land.grad(w - h * v)) / (2 * h)
        np.testing.assert_allclose(fd, hv, rtol=1e-6,
                                   atol=1e-7 * (1 + np.linalg.norm(land.grad(w)) + land.L)
                                   * np.linalg.norm(v))
        H = land.hess(w)
        scale = land.L * np.linalg.norm(v)
        np.testing.assert_allclose(H @ v, hv, rtol=0, atol=64 * dim * EPS * (1 + scale))
        np.testing.assert_allclose(H, H.T, rtol=0, atol=64 * dim * EPS * land.L)


# ---- SymPy: the docstring formulas, differentiated symbolically ----------------------------
@functools.cache
def _sympy_cosine(n_neg: int):
    """CosineSaddle (identity rotation, d = 3) with fixed parameters, and its SymPy
    value / gradient / Hessian from F = ½Σ a_i y_i² + Σ γ_j s_j² (cos(y_j/s_j) − 1)."""
    rng = np.random.default_rng(20190 + n_neg)
    gamma = rng.uniform(0.5, 2.0, n_neg)
    s = rng.uniform(0.3, 1.5, n_neg)
    a = rng.uniform(0.2, 2.0, 3 - n_neg)
    y = sp.symbols("y0:3", real=True)
    F = sum(g * si**2 * (sp.cos(y[j] / si) - 1) for j, (g, si) in enumerate(zip(gamma, s,
                                                                                strict=True)))
    F += sum(sp.Rational(1, 2) * ai * y[n_neg + i] ** 2 for i, ai in enumerate(a))
    grad = [sp.diff(F, yi) for yi in y]
    hess = sp.hessian(F, y)
    fns = tuple(sp.lambdify([y], e, "numpy") for e in (F, grad, hess))
    return CosineSaddle(a, gamma, s), fns


@functools.cache
def _sympy_phase_retrieval():
    """PhaseRetrieval (d = 3) and the SymPy derivatives of
    F(w) = ¾‖w‖⁴ − ½‖w‖²‖w*‖² − ⟨w, w*⟩² + ¾‖w*‖⁴."""
    w_star = np.array([0.9, -0.4, 0.3])
    w = sp.Matrix(sp.symbols("w0:3", real=True))
    ws = sp.Matrix(w_star.tolist())
    n2, m2, c = (w.T * w)[0], (ws.T * ws)[0], (w.T * ws)[0]
    F = sp.Rational(3, 4) * n2**2 - sp.Rational(1, 2) * n2 * m2 - c**2 + sp.Rational(3, 4) * m2**2
    grad = [sp.diff(F, wi) for wi in w]
    hess = sp.hessian(F, list(w))
    fns = tuple(sp.lambdify([list(w)], e, "numpy") for e in (F, grad, hess))
    return PhaseRetrieval(w_star, radius=1.5), fns


_COORD = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)
_POINT3 = st.lists(_COORD, min_size=3, max_size=3)


def _compare_with_sympy(land, fns, w):
    f, g, h = fns
    scale = 1 + abs(land.value(w)) + land.L * (1 + np.linalg.norm(w))
    # the library evaluates cos − 1 as −2 sin²(·/2); lambdify evaluates cos − 1 directly:
    # absolute agreement to ~EPS·scale
    np.testing.assert_allclose(land.value(w), f(w), rtol=1e-12, atol=64 * EPS * scale)
    np.testing.assert_allclose(land.grad(w), np.asarray(g(w), dtype=float), rtol=1e-12,
                               atol=64 * EPS * scale)
    np.testing.assert_allclose(land.hess(w), np.asarray(h(w), dtype=float), rtol=1e-12,
                               atol=64 * EPS * scale)


@pytest.mark.parametrize("n_neg", [1, 2, 3])
@settings(max_examples=30, deadline=None)
@given(point=_POINT3)
def test_cosine_saddle_matches_sympy(n_neg, point):
    land, fns = _sympy_cosine(n_neg)
    _compare_with_sympy(land, fns, np.array(point))


@settings(max_examples=30, deadline=None)
@given(point=_POINT3)
def test_phase_retrieval_matches_sympy(point):
    land, fns = _sympy_phase_retrieval()
    w = np.array(point)
    w *= min(1.0, land.domain_radius / max(np.linalg.norm(w), 1e-300))
    _compare_with_sympy(land, fns, w)


def test_sympy_derivations_behind_the_constants():
    """The symbolic identities the docstrings derive L, ρ and F* from."""
    y, th = sp.symbols("y theta", real=True)
    g, s, delta, rho = sp.symbols("gamma s Delta rho", positive=True)
    # CosineSaddle, one negative coordinate: h = −γ cos(y/s), ∂h = (γ/s) sin(y/s), F* at y = πs
    f = g * s**2 * (sp.cos(y / s) - 1)
    assert sp.simplify(sp.diff(f, y, 2) + g * sp.cos(y / s)) == 0
    assert sp.simplify(sp.diff(f, y, 3) - g / s * sp.sin(y / s)) == 0
    assert sp.simplify(f.subs(y, sp.pi * s) + 2 * g * s**2) == 0
    assert sp.diff(f, y).subs(y, sp.pi * s) == 0
    # RandomPhaseCosine with s = √(Δ/ρ): ∂₁F = −Δ sin φ, ∂²₁₁F = −√(ρΔ) cos φ, ∂³₁₁₁F = ρ sin φ
    sr = sp.sqrt(delta / rho)
    phi = (y - th) / sr
    F = delta * sr * sp.cos(phi)
    assert sp.simplify(sp.diff(F, y) + delta * sp.sin(phi)) == 0
    assert sp.simplify(sp.diff(F, y, 2) + sp.sqrt(rho * delta) * sp.cos(phi)) == 0
    assert sp.simplify(sp.diff(F, y, 3) - rho * sp.sin(phi)) == 0
    # PhaseRetrieval in d = 2: E ¼(⟨x,w⟩² − ⟨x,w*⟩²)² under x ~ N(0, I) from the Gaussian
    # moments E x^0 = 1, E x^2 = 1, E x^4 = 3 (odd moments 0) equals the docstring's F.
    x1, x2, w1, w2, u1, u2 = sp.symbols("x1 x2 w1 w2 u1 u2", real=True)
    loss = sp.Rational(1, 4) * ((x1 * w1 + x2 * w2) ** 2 - (x1 * u1 + x2 * u2) ** 2) ** 2
    moment = {0: 1, 1: 0, 2: 1, 3: 0, 4: 3}
    risk = sum(coef * moment[p] * moment[q]
               for (p, q), coef in sp.Poly(sp.expand(loss), x1, x2).terms())
    n2, m2, c = w1**2 + w2**2, u1**2 + u2**2, w1 * u1 + w2 * u2
    closed = sp.Rational(3, 4) * n2**2 - sp.Rational(1, 2) * n2 * m2 - c**2 \
        + sp.Rational(3, 4) * m2**2
    assert sp.expand(risk - closed) == 0


# --------------------------------------------------------------------------------------------
# certified constants
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=15, deadline=None)
@given(dim=DIMS, seed=SEEDS)
def test_L_certified_and_attained(family, dim, seed):
    land = make_landscape(family, dim, seed)
    assert L_violations(land, np.random.default_rng(seed + 3)) == []
    # attained: spectral radius at the tight point equals L up to rounding
    top = np.abs(np.linalg.eigvalsh(land.hess(tight_L_point(land)))).max()
    np.testing.assert_allclose(top, land.L, rtol=64 * dim * EPS)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=15, deadline=None)
@given(dim=DIMS, seed=SEEDS)
def test_rho_certified_and_tight(family, dim, seed):
    land = make_landscape(family, dim, seed)
    rng = np.random.default_rng(seed + 4)
    assert rho_violations(land, rng) == []
    # the analytic pair comes within 1e-5 of ρ: the check is not vacuous
    assert max_ratio(land.hess, [tight_rho_pair(land, rng)]) >= land.rho * (1 - 1e-5)


def test_phase_retrieval_rho_only_holds_on_the_ball():
    """Outside ‖w‖ <= domain_radius the certified ρ is violated (why pairs must stay inside)."""
    land = PhaseRetrieval(np.array([1.0, 0.0, 0.0]), radius=1.0)
    u = np.array([0.0, 1.0, 0.0])
    assert lipschitz_violations(land.hess, [(2.0 * u, 1.999 * u)], land.rho, land.dim)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=15, deadline=None)
@given(dim=DIMS, seed=SEEDS)
def test_f_star_certified(family, dim, seed):
    land = make_landscape(family, dim, seed)
    assert land.f_star_exact
    assert f_star_violations(land, np.random.default_rng(seed + 5)) == []


@pytest.mark.parametrize("family", FAMILIES)
@FAST
@given(dim=DIMS, seed=SEEDS)
def test_critical_points(family, dim, seed):
    land = make_landscape(family, dim, seed)
    kinds = [cp.kind for cp in land.critical_points()]
    assert "global_min" in kinds and land.saddle().kind in ("strict_saddle", "local_max")
    for cp in land.critical_points():
        w = cp.point
        scale = 64 * dim * EPS * (1 + land.L) * (1 + np.linalg.norm(w)) ** 3
        assert np.linalg.norm(land.grad(w)) <= scale, cp.kind
        evals = np.linalg.eigvalsh(land.hess(w))
        np.testing.assert_allclose(cp.lambda_min, evals[0], rtol=0, atol=scale)
        np.testing.assert_allclose(cp.value, land.value(w), rtol=0, atol=scale)
        if cp.kind == "global_min":
            assert cp.lambda_min >= 0
        elif cp.kind == "strict_saddle":
            assert cp.lambda_min < 0
        elif cp.kind == "local_max":
            assert evals[-1] < 0
        else:
            raise AssertionError(f"unknown kind {cp.kind!r}")


def test_cosine_saddle_critical_points_exact_values():
    land = CosineSaddle([0.5, 2.0], [1.5, 0.7], [0.3, 0.2])
    saddle, gmin = land.critical_points()
    assert saddle.lambda_min == -1.5 and gmin.lambda_min == 0.5
    assert land.L == 2.0 and land.rho == pytest.approx(5.0)
    assert land.f_star == pytest.approx(-2 * (1.5 * 0.09 + 0.7 * 0.04))


def test_random_phase_dim1_global_min_lambda_min():
    land = RandomPhaseCosine(1, delta=1.0, rho=4.0, L=0.5)
    gmin = land.critical_points()[1]
    assert gmin.kind == "global_min"
    assert gmin.lambda_min == pytest.approx(np.linalg.eigvalsh(land.hess(gmin.point))[0])


# ---- the checks can fail --------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_checks_catch_wrong_constants(family):
    for dim, seed in ((2, 11), (5, 12), (8, 13)):
        land = make_landscape(family, dim, seed)
        rng = np.random.default_rng(seed)
        for factor in (0.5, 1 - 1e-4):  # grossly wrong, and wrong by 0.01 %
            low_rho = copy.copy(land)
            low_rho.rho = land.rho * factor
            assert rho_violations(low_rho, rng), f"rho*{factor} not caught"
            low_L = copy.copy(land)
            low_L.L = land.L * factor
            found = {b[0] for b in L_violations(low_L, rng)}
            assert found == {"eig", "grad"}, f"L*{factor} caught only by {found}"
        high_f = copy.copy(land)
        high_f.f_star = land.f_star + 1e-3 * (1 + abs(land.f_star))
        assert f_star_violations(high_f, rng), "too-high f_star not caught"
        # and the honest constants still pass on the same rng stream
        assert rho_violations(land, rng) == [] and L_violations(land, rng) == []


def test_pair_helper_reports_the_violating_ratio():
    land = CosineSaddle([1.0], [1.0], [0.5], rotation=Rotation(2))  # rho = 2
    pair = tight_rho_pair(land, np.random.default_rng(0))
    (ratio, w, v), = lipschitz_violations(land.hess, [pair], 1.0, land.dim)
    assert ratio == pytest.approx(2.0, rel=1e-6)
    assert np.array_equal(w, pair[0]) and np.array_equal(v, pair[1])


# --------------------------------------------------------------------------------------------
# RandomPhaseCosine: the shared Δ-inexact oracle (docs/paper.md §7.1)
# --------------------------------------------------------------------------------------------
@FAST
@given(dim=st.integers(1, 9), seed=SEEDS,
       delta=st.floats(1e-4, 2.0), rho=st.floats(0.1, 10.0), L=st.floats(0.1, 10.0))
def test_shared_oracle_is_delta_inexact_and_theta_free(dim, seed, delta, rho, L):
    rng = np.random.default_rng(seed)
    s = np.sqrt(delta / rho)
    thetas = [0.0, *rng.uniform(0.0, 2 * np.pi * s, size=4)]
    lands = [RandomPhaseCosine(dim, delta, rho, L, theta=t) for t in thetas]
    w = rng.standard_normal((16, dim)) * 3
    w[:, 0] = rng.uniform(-4 * np.pi * s, 4 * np.pi * s, size=16)
    ref = lands[0].shared_oracle(w)
    worst = 0.0
    for land in lands:
        g_hat = land.shared_oracle(w)
        assert np.array_equal(g_hat, ref)  # does not depend on theta
        err = np.linalg.norm(g_hat - land.grad(w), axis=1)
        assert np.all(err <= delta * (1 + 4 * EPS)), err.max() / delta
        worst = max(worst, float(err.max()))
        # tight at phase π/2: the error is Δ exactly (up to rounding)
        w_t = np.zeros(dim)
        w_t[0] = land.theta + 0.5 * np.pi * s
        np.testing.assert_allclose(np.linalg.norm(land.shared_oracle(w_t) - land.grad(w_t)),
                                   delta, rtol=1e-12)
    assert worst <= delta * (1 + 4 * EPS)
    # the oracle does not modify its input
    w_copy = w.copy()
    lands[0].shared_oracle(w)
    assert np.array_equal(w, w_copy)


# --------------------------------------------------------------------------------------------
# rotations and batches
# --------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(dim=st.integers(1, 25), seed=SEEDS, kind=st.sampled_from(["dense", "householder"]),
       k=st.integers(1, 6))
def test_rotations_are_orthogonal_and_batched(dim, seed, kind, k):
    rng = np.random.default_rng(seed)
    rot = random_rotation(dim, rng, kind)
    assert isinstance(rot, DenseRotation if kind == "dense" else HouseholderRotation)
    y = rng.standard_normal((k, dim))
    tol = 64 * dim * EPS
    np.testing.assert_allclose(rot.apply_t(rot.apply(y)), y, rtol=0, atol=tol * 4)
    np.testing.assert_allclose(rot.apply(rot.apply_t(y)), y, rtol=0, atol=tol * 4)
    np.testing.assert_allclose(np.linalg.norm(rot.apply(y), axis=1), np.linalg.norm(y, axis=1),
                               rtol=tol)
    np.testing.assert_allclose(np.linalg.norm(rot.apply_t(y), axis=1),
                               np.linalg.norm(y, axis=1), rtol=tol)
    # batch results equal row-by-row results, shapes preserved
    assert rot.apply(y).shape == (k, dim) and rot.apply_t(y).shape == (k, dim)
    for i in range(k):
        np.testing.assert_allclose(rot.apply(y)[i], rot.apply(y[i]), rtol=0, atol=tol)
        np.testing.assert_allclose(rot.apply_t(y)[i], rot.apply_t(y[i]), rtol=0, atol=tol)
    # the matrix Q (columns q_k) is orthogonal and apply_t is its transpose
    Q = np.stack([rot.column(j) for j in range(dim)], axis=1)
    np.testing.assert_allclose(Q.T @ Q, np.eye(dim), rtol=0, atol=tol)
    np.testing.assert_allclose(rot.apply_t(y), y @ Q, rtol=0, atol=tol * 4)


def test_identity_rotation_and_kinds():
    rng = np.random.default_rng(0)
    rot = random_rotation(5, rng, "identity")
    y = rng.standard_normal((3, 5))
    assert np.array_equal(rot.apply(y), y) and np.array_equal(rot.apply_t(y), y)
    assert isinstance(random_rotation(5, rng, "auto"), DenseRotation)
    assert isinstance(random_rotation(401, rng, "auto"), HouseholderRotation)


@pytest.mark.parametrize("family", FAMILIES)
@FAST
@given(dim=DIMS, seed=SEEDS, k=st.integers(1, 5))
def test_grad_on_batches_equals_row_by_row(family, dim, seed, k):
    land = make_landscape(family, dim, seed)
    W = sample_points(land, np.random.default_rng(seed + 6), k)
    W_copy = W.copy()
    G = land.grad(W)
    assert G.shape == (k, dim)
    assert np.array_equal(W, W_copy)  # input not modified
    for i in range(k):
        np.testing.assert_allclose(G[i], land.grad(W[i]), rtol=1e-13,
                                   atol=64 * dim * EPS * (1 + land.L * np.linalg.norm(W[i])) ** 3)



@pytest.mark.parametrize("family", FAMILIES)
@FAST
@given(dim=DIMS, seed=SEEDS, k=st.integers(1, 5))
def test_values_on_batches_equal_row_by_row(family, dim, seed, k):
    land = make_landscape(family, dim, seed)
    W = sample_points(land, np.random.default_rng(seed + 7), k)
    V = land.values(W)
    assert V.shape == (k,) and V.dtype == np.float64
    for i in range(k):
        scale = 1 + abs(land.value(W[i])) + land.L * float(W[i] @ W[i]) ** 2
        assert abs(V[i] - land.value(W[i])) <= 64 * dim * EPS * scale
    with pytest.raises(ValueError, match="shape"):
        land.values(W[0])


@pytest.mark.parametrize("family", FAMILIES)
@FAST
@given(dim=DIMS, seed=SEEDS, k=st.integers(1, 4))
def test_value_changes_are_the_difference_of_values_and_stay_exact_for_tiny_steps(family, dim, seed, k):
    """value_changes(W0, W1) = values(W1) − values(W0) up to the plain difference's rounding for
    far-apart rows; for a step of 1e-9 it matches the Taylor expansion ⟨∇F, s⟩ + ½ sᵀHs within
    the third-order term and a few eps of its own scale (the plain difference cannot: its
    rounding is eps·|F|), and its stated scale covers the error."""
    land = make_landscape(family, dim, seed)
    rng = np.random.default_rng(seed + 8)
    W0 = sample_points(land, rng, k)
    W1 = sample_points(land, rng, k)
    change, scale = land.value_changes(W0, W1)
    plain = land.values(W1) - land.values(W0)
    assert change.shape == (k,) and scale.shape == (k,) and np.all(scale >= np.abs(change) * (1 - 1e-12))
    np.testing.assert_allclose(change, plain, rtol=0, atol=1e-12 * (1 + np.abs(land.values(W0)).max()))
    S = 1e-9 * rng.standard_normal((k, dim))
    change, scale = land.value_changes(W0, W0 + S)
    for i in range(k):
        s = (W0[i] + S[i]) - W0[i]                    # the step between the two floating-point points
        taylor = land.grad(W0[i]) @ s + 0.5 * s @ land.hvp(W0[i], s)
        third = land.rho * float(s @ s) ** 1.5
        assert abs(change[i] - taylor) <= third + 1e3 * EPS * scale[i] + 1e-30

# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------
_BAD = [
    ("negative gamma", lambda: CosineSaddle([1.0], [-1.0], [1.0]), "gamma"),
    ("zero s", lambda: CosineSaddle([1.0], [1.0], [0.0]), r"\bs\b"),
    ("negative a", lambda: CosineSaddle([-1.0], [1.0], [1.0]), r"\ba\b"),
    ("nan a", lambda: CosineSaddle([np.nan], [1.0], [1.0]), r"\ba\b"),
    ("gamma/s mismatch", lambda: CosineSaddle([1.0], [1.0, 2.0], [1.0]), "gamma and s"),
    ("empty gamma", lambda: CosineSaddle([1.0], [], []), "gamma"),
    ("rotation dim", lambda: CosineSaddle([1.0], [1.0], [1.0], rotation=Rotation(3)),
     "rotation"),
    ("n_neg 0", lambda: CosineSaddle.random(3, np.random.default_rng(0), n_neg=0), "n_neg"),
    ("n_neg > dim", lambda: CosineSaddle.random(3, np.random.default_rng(0), n_neg=4), "n_neg"),
    ("cosine value shape", lambda: CosineSaddle([1.0], [1.0], [1.0]).value(np.zeros(3)),
     r"w must have shape \(2,\)"),
    ("cosine value nan", lambda: CosineSaddle([1.0], [1.0], [1.0]).value([np.nan, 0.0]),
     "w must be finite"),
    ("phase dim", lambda: RandomPhaseCosine(0, 0.1), "dim"),
    ("phase delta", lambda: RandomPhaseCosine(2, -0.1), "delta"),
    ("phase rho", lambda: RandomPhaseCosine(2, 0.1, rho=0.0), "rho"),
    ("phase L", lambda: RandomPhaseCosine(2, 0.1, L=np.inf), r"\bL\b"),
    ("phase value shape", lambda: RandomPhaseCosine(2, 0.1).value(np.zeros((2, 2))),
     r"w must have shape \(2,\)"),
    ("radius < |w*|", lambda: PhaseRetrieval([3.0, 4.0], radius=4.9), "radius"),
    ("radius nan", lambda: PhaseRetrieval([3.0, 4.0], radius=np.nan), "radius"),
    ("w* zero", lambda: PhaseRetrieval([0.0, 0.0], radius=1.0), "w_star"),
    ("w* short", lambda: PhaseRetrieval([1.0], radius=1.0), "w_star"),
    ("w* matrix", lambda: PhaseRetrieval(np.eye(2), radius=2.0), "w_star"),
    ("pr value shape", lambda: PhaseRetrieval([1.0, 0.0], 1.0).value(np.zeros(3)),
     r"w must have shape \(2,\)"),
    ("pr hess shape", lambda: PhaseRetrieval([1.0, 0.0], 1.0).hess(np.zeros(1)),
     r"w must have shape \(2,\)"),
    ("dense non-square", lambda: DenseRotation(np.ones((2, 3))), "square"),
    ("dense non-orthogonal", lambda: DenseRotation(np.array([[1.0, 0.1], [0.0, 1.0]])),
     "orthogonal"),
    ("householder zero", lambda: HouseholderRotation(np.zeros((1, 3))), "Householder vectors"),
    ("householder nan", lambda: HouseholderRotation([[np.nan, 1.0]]), "Householder vectors"),
    ("rotation kind", lambda: random_rotation(3, np.random.default_rng(0), "givens"), "kind"),
]


@pytest.mark.parametrize(("label", "make", "match"), _BAD, ids=[b[0] for b in _BAD])
def test_invalid_arguments_raise_value_error(label, make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_radius_equal_to_norm_is_accepted():
    land = PhaseRetrieval([3.0, 4.0], radius=5.0)
    assert land.domain_radius == 5.0 and land.L == max(9 * 25 - 25, 75) and land.rho == 90.0
