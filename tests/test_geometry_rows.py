"""The row reductions of a defined order (byzpgd/geometry.py: ``row_dots``, ``row_sums``,
``row_norms``): the compiled and numpy paths give the same bits, and zeros appended to a row (a
batch's padding) change no bit, whatever the row's width. Able to fail: numpy's ``einsum`` norm,
which the batched path used before, changes a padded row's norm on this CPU, and a loop that
sums in another order differs from the defined one."""

import numpy as np
import pytest

from byzpgd import geometry
from byzpgd.geometry import row_dots, row_norms, row_sums

PATHS = [False] + ([True] if geometry._compiled_rows() is not None else [])


def _rows(seed, n, d):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-8, 8, (n, 1))


def _padded(X, width):
    P = np.zeros((X.shape[0], width))
    P[:, :X.shape[1]] = X
    return P


def _padding_changes_bits(norm, widths=range(1, 13), pads=(3, 8, 17)) -> bool:
    """Whether ``norm`` gives some row of width d another value once zeros pad it to d + pad."""
    for d in widths:
        X = _rows(d, 400, d)
        if any(not np.array_equal(norm(X), norm(_padded(X, d + p))) for p in pads):
            return True
    return False


@pytest.mark.parametrize("compiled", PATHS)
def test_padding_changes_no_bit_of_a_row_norm_or_sum(compiled):
    assert not _padding_changes_bits(lambda X: row_norms(X, compiled))
    assert not _padding_changes_bits(lambda X: row_sums(X, compiled))
    assert not _padding_changes_bits(lambda X: row_dots(X, X * X + 1.0, compiled))   # zeros x (0 + 1)


def test_numpys_einsum_norm_changes_with_the_padding_here():
    """The check above is able to fail: the former norm (einsum) of the batched path."""
    if not _padding_changes_bits(lambda X: np.sqrt(np.einsum("ij,ij->i", X, X))):
        pytest.skip("this CPU's einsum sums these widths in one order: nothing to show here")
    assert _padding_changes_bits(lambda X: np.sqrt(np.einsum("...i,...i->...", X, X)))


def test_the_compiled_and_numpy_reductions_are_the_same_bits():
    if len(PATHS) < 2:
        pytest.skip("numba is not installed (byzpgd[fast]) or BYZPGD_NO_NUMBA is set")
    for shape in ((500, 1), (500, 2), (300, 6), (40, 7, 5), (200, 9), (50, 33), (7,)):
        X = _rows(sum(shape), int(np.prod(shape[:-1])), shape[-1]).reshape(shape)
        Y = _rows(sum(shape) + 1, int(np.prod(shape[:-1])), shape[-1]).reshape(shape)
        flat = X.reshape(-1)                       # a view: untrusted values in some rows
        flat[::37] = np.resize([np.inf, -np.inf, np.nan, 1e308, 0.0, -0.0], flat[::37].size)
        with np.errstate(all="ignore"):
            for fn, args in ((row_dots, (X, Y)), (row_sums, (X,)), (row_norms, (X,))):
                fast, slow = fn(*args, compiled=True), fn(*args, compiled=False)
                assert fast.shape == slow.shape == shape[:-1]
                assert np.array_equal(fast, slow, equal_nan=True)


def test_another_summation_order_is_caught():
    """The comparison above sees the order: a loop from the last coordinate down differs."""
    X = _rows(11, 2000, 6)
    reverse = X[:, -1] * X[:, -1]
    for k in range(X.shape[1] - 2, -1, -1):
        reverse = reverse + X[:, k] * X[:, k]
    np.testing.assert_allclose(reverse, row_dots(X, X), rtol=1e-14)
    assert not np.array_equal(reverse, row_dots(X, X))


def test_the_defined_order_is_k_from_0_with_separate_multiply_and_add():
    X = _rows(5, 1000, 5)
    Y = _rows(6, 1000, 5)
    want = X[:, 0] * Y[:, 0]
    for k in range(1, 5):
        want = want + X[:, k] * Y[:, k]
    for compiled in PATHS:
        assert np.array_equal(row_dots(X, Y, compiled), want)
        assert np.array_equal(row_sums(X, compiled), (((X[:, 0] + X[:, 1]) + X[:, 2]) + X[:, 3]) + X[:, 4])


def test_empty_rows_and_bad_shapes():
    assert row_dots(np.zeros((3, 0)), np.zeros((3, 0))).shape == (3,)
    assert row_sums(np.zeros((2, 4, 0))).shape == (2, 4)
    assert np.array_equal(row_norms(np.zeros((0, 5))), np.zeros(0))
    with pytest.raises(ValueError, match="one shape"):
        row_dots(np.zeros((3, 2)), np.zeros((2, 3)))
    if geometry._compiled_rows() is None:
        with pytest.raises(RuntimeError, match="numba"):
            row_dots(np.ones((1, 2)), np.ones((1, 2)), compiled=True)


def test_the_safe_norm_still_rescales_huge_and_tiny_rows():
    big = np.array([[1e200, 1e200], [3e-200, 4e-200], [np.inf, 1.0], [np.nan, 1.0]])
    out = geometry.norms(big)
    np.testing.assert_allclose(out[:2], [np.sqrt(2) * 1e200, 5e-200], rtol=1e-15)
    assert out[2] == np.inf and np.isnan(out[3])


@pytest.mark.parametrize("compiled", PATHS)
def test_untrusted_rows_give_inf_and_nan_silently(compiled, recwarn):
    x = np.array([[1e200, 1e200], [np.inf, -np.inf], [np.nan, 1.0], [1e308, -1e308]])
    out = row_norms(x, compiled)
    assert out[0] == np.inf and out[1] == np.inf and np.isnan(out[2]) and out[3] == np.inf
    assert np.isnan(row_sums(x, compiled)[1]) and row_sums(x, compiled)[3] == 0.0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
