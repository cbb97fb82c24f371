"""Aggregators: definitions, input never modified, parameter validation, NaN/Inf semantics (which
rules survive what), Krum/NNM/filter implementation details."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byzpgd.algorithms.aggregators import (
    AGGREGATORS,
    bulyan,
    centered_clipping,
    coordinate_median,
    geometric_median,
    iterative_filtering,
    krum,
    make,
    make_iterative_filtering,
    make_trimmed_mean,
    max_byzantine,
    multi_krum,
    nnm,
    trimmed_mean,
)
from byzpgd.algorithms.aggregators.basic import centred, sq_distances

ROBUST = [a for a in AGGREGATORS if a != "mean"]
BAD = [np.nan, np.inf, -np.inf, 1e308, -1e308]


def _make(name, m, f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return make(name, m, f)


@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**31))
def test_median_and_trimmed_mean_match_sort_definitions(m, d, seed):
    X = np.random.default_rng(seed).standard_normal((m, d))
    X0 = X.copy()
    assert np.allclose(coordinate_median(X), np.median(X, axis=0), rtol=0, atol=1e-15)
    for b in range(0, (m - 1) // 2 + 1):
        S = np.sort(X, axis=0)
        assert np.allclose(trimmed_mean(X, b), S[b:m - b].mean(axis=0), atol=1e-14)
    assert np.array_equal(X, X0)


@pytest.mark.parametrize("name", list(AGGREGATORS))
def test_input_never_modified_and_output_shape(name):
    X = np.random.default_rng(0).standard_normal((21, 7))
    X[0] = np.nan
    X0 = X.copy()
    out = _make(name, 21, max_byzantine(name, 21))(X)
    assert out.shape == (7,) and out.dtype == np.float64
    assert np.array_equal(X, X0, equal_nan=True)


@pytest.mark.parametrize("name", ROBUST)
@pytest.mark.parametrize("bad", BAD)
def test_robust_rules_survive_their_breakdown_number_of_nonfinite_rows(name, bad):
    """With f = the rule's breakdown number of rows of NaN/±Inf/±1e308 the output is finite and
    within the honest rows' bounding box enlarged by their diameter."""
    rng = np.random.default_rng(1)
    m, d = 23, 5
    X = 1e3 + rng.standard_normal((m, d))
    f = max_byzantine(name, m)
    X[:f] = bad
    out = _make(name, m, f)(X)
    H = X[f:]
    assert np.all(np.isfinite(out)), (name, bad, out)
    diam = np.linalg.norm(H.max(0) - H.min(0))
    assert np.linalg.norm(out - np.median(H, axis=0)) <= 2 * diam


@pytest.mark.parametrize("bad", BAD)
def test_the_mean_breaks(bad):
    X = np.ones((10, 3))
    X[0] = bad
    with np.errstate(all="ignore"):
        out = make("mean", 10, 1)(X)
    assert not np.all(np.isfinite(out)) or np.abs(out).max() > 1e300


def test_mixed_nan_and_inf_rows_count_as_extremes():
    X = np.zeros((9, 2))
    X[0], X[1], X[2], X[3] = np.nan, np.inf, -np.inf, [np.nan, -np.inf]
    assert np.array_equal(coordinate_median(X), [0.0, 0.0])
    assert np.array_equal(trimmed_mean(X, 4), [0.0, 0.0])


def test_parameter_validation_messages():
    with pytest.raises(ValueError, match="beta must be >= alpha"):
        make_trimmed_mean(10, 3, beta=0.2)
    with pytest.raises(ValueError, match="beta must be in"):
        make_trimmed_mean(10, 0, beta=0.5)
    with pytest.raises(ValueError, match="m > 2f \\+ 2"):
        make("krum", 8, 3)
    with pytest.raises(ValueError, match="m >= 4f \\+ 3"):
        make("bulyan", 10, 2)
    with pytest.raises(ValueError, match="m > 2f \\+ 2"):
        krum(np.zeros((4, 2)), 1)
    with pytest.warns(RuntimeWarning, match="1/4"):
        make_iterative_filtering(8, 2)
    with pytest.raises(ValueError, match="shape"):
        coordinate_median(np.zeros(3))
    with pytest.raises(ValueError, match="b \\(values trimmed"):
        trimmed_mean(np.zeros((4, 2)), 2)


def test_gram_distances_are_exact_under_a_large_offset():
    rng = np.random.default_rng(2)
    X = 1e8 + rng.standard_normal((12, 4))
    _, Xc, far = centred(X)
    D = sq_distances(Xc, far)
    ref = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert np.allclose(D, ref, rtol=1e-6, atol=1e-6)


def test_krum_multikrum_bulyan_nnm_reference_implementations():
    rng = np.random.default_rng(3)
    m, f, d = 15, 3, 4
    X = rng.standard_normal((m, d))
    ref = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    scores = np.sort(ref + np.diag(np.full(m, np.inf)), axis=1)[:, :m - f - 2].sum(1)
    assert np.array_equal(krum(X, f), X[np.argmin(scores)])
    assert np.allclose(multi_krum(X, f), X[np.argsort(scores)[:m - f]].mean(0))
    nn = np.argsort(ref, axis=1)[:, :m - f]
    assert np.allclose(nnm(X, f), X[nn].mean(1))
    out = bulyan(X, f)
    assert out.shape == (d,) and np.all(np.isfinite(out))


def test_geometric_median_is_the_minimiser():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 3))
    z, info = geometric_median(X, return_info=True)
    def cost(y):
        return np.linalg.norm(X - y, axis=1).sum()
    for _ in range(20):
        assert cost(z) <= cost(z + 1e-4 * rng.standard_normal(3)) + 1e-9


def test_centered_clipping_start_is_settable_and_bounded_by_tau():
    X = np.zeros((10, 2))
    X[0] = [1e6, 0]
    out = centered_clipping(X, tau=1.0, n_iter=1, start=np.zeros(2))
    assert np.linalg.norm(out) <= 1.0 / 10 + 1e-12


def test_filter_gram_and_lanczos_agree_and_are_reproducible():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 60)) * 0.1
    X[:5] += 3.0
    a = iterative_filtering(X, 5, method="gram")
    b = iterative_filtering(X, 5, method="lanczos", seed=1)
    c = iterative_filtering(X, 5, method="lanczos", seed=1)
    assert np.array_equal(b, c)
    assert np.allclose(a, b, atol=1e-6)
    assert np.linalg.norm(a) < 0.2  # the 5 shifted rows were filtered out


def test_filter_removes_far_outliers_that_move_the_mean():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 20))
    X[:5] = 50.0
    out, info = iterative_filtering(X, 5, return_info=True)
    assert np.linalg.norm(out) < 1.5 and np.all(info["weights"][:5] == 0)
