"""Geometric median (algorithms/aggregators/geometric.py): Weiszfeld with the Vardi–Zhang step.

Every result is judged by :func:`_check_minimiser`, which needs no trust in the implementation:
the first-order optimality condition of f(z) = Σ‖x_i − z‖ (0 ∈ ∂f(z): ‖Σ_i u_i‖ <= η with u_i the
unit vectors from z to the rows it does not coincide with and η the number of rows it coincides
with) and the objective against ``scipy.optimize.minimize`` from the mean. ``_old_geometric_median``
is the implementation this module replaced (smoothed Weiszfeld with a step-size stop, started at
the coordinate-wise median): the tests show the check rejects it on the inputs of issue 21.
"""

import numpy as np
import pytest
from scipy.optimize import minimize

from byzpgd.algorithms.aggregators import coordinate_median, geometric_median


def _objective(X, z):
    return float(np.linalg.norm(X - z, axis=1).sum())


def _subgradient_gap(X, z):
    """max(0, ‖Σ_{x_i ≠ z} (x_i − z)/‖x_i − z‖‖ − #{x_i = z}): 0 iff z minimises f (convexity)."""
    D = X - z
    r = np.linalg.norm(D, axis=1)
    at = r <= 1e-12 * (np.median(r) + 1e-300)
    R = (D[~at] / r[~at, None]).sum(axis=0)
    return max(0.0, float(np.linalg.norm(R)) - int(at.sum()))


def _scipy_minimum(X):
    """min f by BFGS from the mean with the analytic gradient, then a Nelder–Mead polish (a
    derivative-free look around the BFGS point, for minimisers at a row where f is not smooth)."""
    def grad(z):
        D = z - X
        r = np.maximum(np.linalg.norm(D, axis=1), 1e-300)
        return (D / r[:, None]).sum(axis=0)
    res = minimize(lambda z: _objective(X, z), X.mean(axis=0), jac=grad, method="BFGS",
                   options={"gtol": 1e-12, "maxiter": 10_000})
    h = 1e-4 * (float(np.abs(X - res.x).max()) + 1e-300)
    simplex = np.vstack([res.x, res.x + h * np.eye(X.shape[1])])
    pol = minimize(lambda z: _objective(X, z), res.x, method="Nelder-Mead",
                   options={"xatol": 1e-12 * h, "fatol": 0.0, "maxiter": 4000, "initial_simplex": simplex})
    return min(res.fun, pol.fun)


def _check_minimiser(X, z, rtol=1e-9):
    """Raise AssertionError unless z minimises Σ‖x_i − z‖ (first-order condition and objective)."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    assert z.shape == (X.shape[1],) and np.all(np.isfinite(z))
    assert _subgradient_gap(X, z) <= 1e-7 * n, f"0 ∉ ∂f(z): gap {_subgradient_gap(X, z):.3g}"
    f_ref = _scipy_minimum(X)
    assert _objective(X, z) <= f_ref * (1 + rtol) + 1e-300, (_objective(X, z), f_ref)


def _old_geometric_median(X, tol=1e-10, max_iter=500):
    """The replaced implementation (smoothed weights 1/max(‖x_i − z‖, ν), step-size stop)."""
    X = np.asarray(X, dtype=np.float64)
    centre = coordinate_median(X)
    Y = X - centre
    z = np.zeros(X.shape[1])
    dist = np.linalg.norm(Y, axis=1)
    scale = float(np.median(dist))
    nu = 1e-12 * scale + 1e-300
    for _ in range(max_iter):
        w = 1.0 / np.maximum(dist, nu)
        z_new = (w @ Y) / w.sum()
        step = np.linalg.norm(z_new - z)
        z = z_new
        dist = np.linalg.norm(Y - z, axis=1)
        if step <= tol * (scale + 1e-300):
            break
    return centre + z


TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])


def test_degenerate_start_on_a_row_reaches_the_fermat_point():
    z, info = geometric_median(TRIANGLE, return_info=True)
    _check_minimiser(TRIANGLE, z)
    assert info["converged"] and not info["at_data_point"]
    # the Fermat point of this triangle lies on the diagonal, where the three unit vectors cancel
    assert z[0] == pytest.approx(z[1], abs=1e-9)
    assert _objective(TRIANGLE, z) < _objective(TRIANGLE, TRIANGLE[0]) - 0.05


def test_the_check_catches_the_old_implementation():
    z_old = _old_geometric_median(TRIANGLE)
    assert np.allclose(z_old, TRIANGLE[0], atol=1e-9)     # the bug: it stayed at the start row
    with pytest.raises(AssertionError):
        _check_minimiser(TRIANGLE, z_old)


@pytest.mark.parametrize("seed", range(6))
def test_old_implementation_fails_where_the_median_is_a_row(seed):
    """Random odd-m inputs whose coordinate-wise median is a row but not the geometric median:
    the new rule passes the check, the old one does not."""
    rng = np.random.default_rng([21, seed])
    for _ in range(100):                                    # first draw where the start row is not optimal
        others = rng.exponential(size=(6, 3))               # skewed: the medians differ
        X = np.vstack([coordinate_median(others), others])  # row 0 = the 7 rows' coordinate median
        if _subgradient_gap(X, X[0]) > 0.1:
            break
    assert np.array_equal(coordinate_median(X), X[0])
    assert _subgradient_gap(X, X[0]) > 0.1, "construction: the start row must not be optimal"
    _check_minimiser(X, geometric_median(X))
    with pytest.raises(AssertionError):
        _check_minimiser(X, _old_geometric_median(X))


@pytest.mark.parametrize("m", [3, 4, 5, 8, 11])
def test_collinear_rows_give_the_median_point_on_the_line(m):
    rng = np.random.default_rng([21, m])
    d = 4
    c, u = rng.standard_normal(d), rng.standard_normal(d)
    u /= np.linalg.norm(u)
    t = rng.standard_normal(m) * 3.0
    X = c + t[:, None] * u
    z = geometric_median(X)
    _check_minimiser(X, z)
    s = np.sort(t)
    s_z = float((z - c) @ u)
    assert np.linalg.norm(z - (c + s_z * u)) <= 1e-9          # on the line
    if m % 2:
        assert s_z == pytest.approx(s[m // 2], abs=1e-9)       # the 1-D median point
    else:                                                     # any point of the middle segment
        assert s[m // 2 - 1] - 1e-9 <= s_z <= s[m // 2] + 1e-9


def test_duplicate_rows_that_are_the_minimiser_are_returned_exactly():
    rng = np.random.default_rng(7)
    p = rng.standard_normal(3)
    X = np.vstack([np.repeat(p[None], 4, axis=0), rng.standard_normal((5, 3)) * 5.0])
    z, info = geometric_median(X, return_info=True)
    assert info["at_data_point"] and np.allclose(z, p, rtol=0, atol=1e-12)
    _check_minimiser(X, z)


@pytest.mark.parametrize("seed", range(4))
def test_duplicate_rows_that_are_not_the_minimiser(seed):
    rng = np.random.default_rng([22, seed])
    base = rng.standard_normal((5, 2))
    X = np.vstack([base, base[:2], base[:1]])          # row 0 three times, row 1 twice
    _check_minimiser(X, geometric_median(X))


def test_all_rows_equal():
    X = np.tile([1.5, -2.0, 3.0], (5, 1))
    assert np.array_equal(geometric_median(X), X[0])


@pytest.mark.parametrize("seed", range(8))
def test_objective_matches_scipy_on_random_inputs(seed):
    rng = np.random.default_rng([23, seed])
    m, d = int(rng.integers(3, 40)), int(rng.integers(1, 8))
    X = rng.standard_normal((m, d)) * rng.uniform(0.1, 10.0) + rng.standard_normal(d) * 100.0
    z, info = geometric_median(X, return_info=True)
    assert info["converged"]
    _check_minimiser(X, z, rtol=1e-10)


def test_outliers_do_not_move_it_far_and_far_rows_are_dropped():
    rng = np.random.default_rng(3)
    honest = rng.standard_normal((9, 3))
    X = np.vstack([honest, np.full((2, 3), 1e6), [[np.nan, 0.0, 0.0]]])
    z = geometric_median(X)
    _check_minimiser(X[:-1], z)                    # the NaN row is far: weight 0
    assert np.linalg.norm(z - honest.mean(axis=0)) < 2.0


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        geometric_median(TRIANGLE, tol=0.0)
    with pytest.raises(ValueError):
        geometric_median(TRIANGLE, max_iter=0)
