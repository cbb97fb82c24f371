"""``basic.pairwise_sq_distances``: the one-pass distance matrix behind Krum for d > 2048.

Each path (uncentred Gram when the rows share no large offset, Gram centred at a data row
otherwise, median-centred fallback) is checked against distances formed from explicit
differences, and the offset guard is shown to matter: without it a common offset of 1e8 ruins
the distances."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from byzpgd.algorithms.aggregators import basic, krum
from byzpgd.algorithms.aggregators.basic import pairwise_sq_distances

D_BIG = basic.SKETCH_COORDS + 952   # above the sketch size: the one-pass paths


def exact_sq_distances(X):
    return cdist(X, X, "sqeuclidean")


def krum_reference(X, f):
    D = exact_sq_distances(X)
    np.fill_diagonal(D, np.inf)
    return X[np.argmin(np.sort(D, axis=1)[:, :X.shape[0] - f - 2].sum(1))]


@pytest.fixture
def spy_centring(monkeypatch):
    calls = []
    real = basic._gram_centred_at

    def spy(X, c):
        calls.append(c)
        return real(X, c)
    monkeypatch.setattr(basic, "_gram_centred_at", spy)
    return calls


@pytest.mark.parametrize("seed", range(3))
def test_no_offset_uses_the_uncentred_gram_and_matches_explicit_differences(seed, spy_centring):
    X = np.random.default_rng(seed).standard_normal((20, D_BIG))
    D, far = pairwise_sq_distances(X)
    assert spy_centring == []
    assert not far.any()
    np.testing.assert_allclose(D, exact_sq_distances(X), rtol=1e-12, atol=1e-9)
    assert np.array_equal(krum(X, 8), krum_reference(X, 8))


def test_common_offset_is_centred_at_a_data_row_and_stays_exact(spy_centring):
    rng = np.random.default_rng(4)
    X = 1e8 + rng.standard_normal((15, D_BIG))
    D, far = pairwise_sq_distances(X)
    assert len(spy_centring) == 1
    assert any(np.array_equal(spy_centring[0], row) for row in X)
    np.testing.assert_allclose(D, exact_sq_distances(X), rtol=1e-6)
    assert np.array_equal(krum(X, 5), krum_reference(X, 5))


def test_an_offset_the_sketch_misses_is_caught_on_the_full_gram(spy_centring):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((15, D_BIG))
    hidden = np.setdiff1d(np.arange(D_BIG), np.linspace(0, D_BIG - 1, basic.SKETCH_COORDS).astype(int))
    X[:, hidden] += 1e8
    assert basic._sketch(X)[1]                   # the sketch sees no offset ...
    D, _ = pairwise_sq_distances(X)
    assert len(spy_centring) == 1                # ... the full Gram does
    np.testing.assert_allclose(D, exact_sq_distances(X), rtol=1e-6)


def test_without_the_offset_guard_a_common_offset_ruins_the_distances(monkeypatch):
    """The deliberately wrong variant (never centre): caught by the exactness check above."""
    rng = np.random.default_rng(4)
    X = 1e8 + rng.standard_normal((15, D_BIG))
    monkeypatch.setattr(basic, "OFFSET_KAPPA", np.inf)
    D, _ = pairwise_sq_distances(X)
    rel = np.abs(D - exact_sq_distances(X)).max() / exact_sq_distances(X).max()
    assert rel > 1e-3


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e308])
def test_nonfinite_and_huge_rows_are_far_and_krum_picks_an_honest_row(bad):
    rng = np.random.default_rng(5)
    m, f = 13, 4
    X = rng.standard_normal((m, D_BIG))
    X[:f] = bad
    D, far = pairwise_sq_distances(X)
    assert np.array_equal(far, np.arange(m) < f)
    assert np.all(np.isinf(D[:f, f:])) and np.all(np.isinf(D[f:, :f]))
    np.testing.assert_allclose(D[f:, f:], exact_sq_distances(X[f:]), rtol=1e-12, atol=1e-9)
    assert np.array_equal(krum(X, f), krum_reference(X[f:], f))


def test_a_row_nonfinite_outside_the_sketch_is_never_the_centre():
    rng = np.random.default_rng(6)
    X = 5.0 + 1e-3 * rng.standard_normal((9, D_BIG))
    X[0] = 5.0                                   # the sketch's favourite: the exact centre
    sketch = set(np.linspace(0, D_BIG - 1, basic.SKETCH_COORDS).astype(int))
    hidden = next(j for j in range(D_BIG) if j not in sketch)
    X[0, hidden] = np.nan
    r, _ = basic._sketch(X)
    assert r != 0 and np.isfinite(X[r]).all()
    D, far = pairwise_sq_distances(X)
    assert np.array_equal(far, np.arange(9) == 0)


def test_an_extreme_centre_row_falls_back_to_the_median_centring(monkeypatch):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((9, D_BIG))
    X[0] = 1e300                                  # finite, but every distance to it overflows
    monkeypatch.setattr(basic, "_sketch", lambda X: (0, False))
    D, far = pairwise_sq_distances(X)
    _, Xc, far_median = basic.centred(X)
    assert np.array_equal(far, far_median) and far.sum() == 1
    np.testing.assert_array_equal(D, basic.sq_distances(Xc, far_median))
