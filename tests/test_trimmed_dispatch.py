"""The three implementations of the trimmed mean (``trimmed_mean.METHODS``: the compiled kernel,
a row sort, two row partitions) against the sort definition and against each other, including
NaN/±Inf entries (the semantics of ``basic``: NaN ranks above +Inf), the shape rule that picks
one (``choose_method``), and the numpy fallback in a process where numba cannot be imported
(numba is the optional extra ``byzpgd[fast]``)."""

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byzpgd.algorithms.aggregators import trim_kernel, trimmed_mean

tm = importlib.import_module("byzpgd.algorithms.aggregators.trimmed_mean")
REPO = Path(__file__).resolve().parents[1]
METHODS = tuple(m for m in tm.METHODS if m != "kernel" or trim_kernel.available())
B_VALUES = (1, 2, 5)       # the kernel compiles once per b and process (about a second each)
BAD = [np.nan, np.inf, -np.inf, 1e308, -1e308]


def sort_definition(X, b):
    """Mean of the order statistics b .. m − b − 1 per column, NaN ranked above +Inf, as
    Σ x/(m − 2b) (no overflow of finite kept values: trimmed_mean._settle_nonfinite)."""
    m = X.shape[0]
    S = np.sort(X, axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        return (S[b:m - b] / (m - 2 * b)).sum(axis=0)


def assert_same(got, want, X=None, b=None):
    """The same NaN and ±Inf outputs exactly, and the finite ones equal up to the order of
    summation: |got − want| <= 1e-13·(mean |kept value|) (the rounding bound of a sum; beyond
    the breakdown number, kept values ±1e308 cancel and only this bound is meaningful)."""
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isposinf(got), np.isposinf(want))
    assert np.array_equal(np.isneginf(got), np.isneginf(want))
    scale = np.abs(want)
    if X is not None:
        m = X.shape[0]
        with np.errstate(invalid="ignore", over="ignore"):
            scale = scale + (np.abs(np.sort(X, axis=0)[b:m - b]) / (m - 2 * b)).sum(axis=0)
    fin = np.isfinite(want)
    assert np.all(np.abs(got[fin] - want[fin]) <= 1e-13 * scale[fin] + 1e-14)


def every_method(X, b):
    return {m: trimmed_mean(X, b, method=m) for m in METHODS}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(B_VALUES), st.integers(0, 40), st.integers(1, 70), st.integers(0, 2**31))
def test_every_method_equals_the_sort_definition(b, extra_rows, d, seed):
    rng = np.random.default_rng(seed)
    m = 2 * b + 1 + extra_rows
    X = rng.standard_normal((m, d))
    X[rng.random((m, d)) < 0.2] = 0.5            # ties
    X0 = X.copy()
    want = sort_definition(X, b)
    for got in every_method(X, b).values():
        assert_same(got, want)
    assert np.array_equal(X, X0)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(B_VALUES), st.integers(0, 20), st.integers(0, 2**31), st.sampled_from(BAD),
       st.sampled_from(BAD))
def test_nonfinite_rows_give_the_same_outputs_on_every_path(b, extra_rows, seed, bad, other):
    """Columns with 0..m entries of one or two kinds of bad values: every path gives the sort
    definition's value, the same NaN and ±Inf pattern, and a finite value within the breakdown
    number b (test_aggregators.py and test_trim_kernel.py state the same semantics)."""
    rng = np.random.default_rng(seed)
    m, d = 2 * b + 1 + extra_rows, 40
    X = rng.standard_normal((m, d))
    counts = rng.integers(0, m + 1, size=d)      # column k gets counts[k] bad entries
    for k, c in enumerate(counts):
        rows = rng.choice(m, size=c, replace=False)
        X[rows, k] = np.where(rng.random(c) < 0.5, bad, other)
    want = sort_definition(X, b)
    for got in every_method(X, b).values():
        assert_same(got, want, X, b)
        assert np.all(np.isfinite(got[counts <= b]))


def test_huge_kept_values_do_not_overflow_on_any_path():
    """Beyond the breakdown number, kept values 1e308, 1e308, −1e308 (any order) have the finite
    mean 1e308/3 on every path (a plain sum overflows or not depending on its order)."""
    X = np.zeros((5, 6))
    for k, col in enumerate(([1e308, 1e308, -1e308], [1e308, -1e308, 1e308], [-1e308, 1e308, 1e308],
                             [1e308, 1e308, 1e308], [np.inf, -1e308, -1e308], [np.inf, -np.inf, 0])):
        X[1:4, k] = col
    X[0], X[4] = -np.inf, np.nan                 # trimmed (b = 1)
    for method in METHODS:
        got = trimmed_mean(X, 1, method=method)
        np.testing.assert_allclose(got[:3], 1e308 / 3, rtol=1e-15)
        assert got[3] == 1e308 and got[4] == np.inf and np.isnan(got[5])


def test_rows_of_nan_and_infinities_as_specified():
    """test_aggregators.test_mixed_nan_and_inf_rows_count_as_extremes, on every path; and the
    two outcomes beyond the breakdown number (more than b NaN: NaN; +Inf and −Inf kept: NaN)."""
    X = np.zeros((9, 2))
    X[0], X[1], X[2], X[3] = np.nan, np.inf, -np.inf, [np.nan, -np.inf]
    Y = np.zeros((7, 3))
    Y[:3, 0] = np.nan
    Y[:3, 1], Y[3:6, 1] = np.inf, -np.inf
    Y[:2, 2] = np.nan
    for method in METHODS:
        assert np.array_equal(trimmed_mean(X, 4, method=method), [0.0, 0.0])
        got = trimmed_mean(Y, 2, method=method)
        assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == 0.0


@pytest.mark.parametrize("method", METHODS)
def test_input_never_modified_one_column_and_noncontiguous(method):
    for X in (np.random.default_rng(1).standard_normal((9, 1)),      # Xᵀ is contiguous: still copied
              np.random.default_rng(2).standard_normal((9, 12))[:, ::3],
              np.asfortranarray(np.random.default_rng(3).standard_normal((9, 5)))):
        X0 = X.copy()
        assert_same(trimmed_mean(X, 2, method=method), sort_definition(X, 2))
        assert np.array_equal(X, X0)


def test_wrong_variants_are_caught():
    """Deliberately wrong partitions (the first pass forgotten; keeping one row too many) and a sort
    that keeps the order statistics b + 1 .. m − b differ from the definition: the comparisons
    above can fail."""
    X = np.random.default_rng(5).standard_normal((21, 30))
    b, m = 3, 21
    want = sort_definition(X, b)
    Y = np.array(X.T, order="C")
    Z = Y[:, b:]                                  # the first partition forgotten
    Z.partition(m - 2 * b - 1, axis=1)
    assert not np.allclose(Z[:, :m - 2 * b].mean(1), want)
    Y = np.array(X.T, order="C")
    Y.partition(b, axis=1)
    Z = Y[:, b:]
    Z.partition(m - 2 * b, axis=1)
    assert not np.allclose(Z[:, :m - 2 * b + 1].mean(1), want)
    assert not np.allclose(np.sort(X, axis=0)[b + 1:m - b + 1].mean(0), want)


def test_the_rule_is_a_function_of_the_shape_and_is_what_runs(monkeypatch):
    """``choose_method`` depends only on (m, d, b) and on numba being importable; the kernel is
    never chosen below KERNEL_MIN_ENTRIES, above MAX_TRIM, or for the large b where numpy wins;
    ``trimmed_mean`` runs the method it names."""
    big = tm.KERNEL_MIN_ENTRIES
    for m, d, b in ((50, 100_000, 5), (200, 10_000, 20), (1000, 1000, 100), (20, 50, 2), (300, 5, 1)):
        assert choose(m, d, b) == choose(m, d, b) in tm.METHODS
    assert choose(20, 50, 2) == "sort" and choose(300, 5, 2) == "partition"   # small: no kernel
    assert choose(200, 10_000, 20) == "partition"
    assert choose(100, 20_000, 10) == "sort"
    assert choose(400, big, trim_kernel.MAX_TRIM + 1) == "partition"
    monkeypatch.setattr(trim_kernel, "available", lambda: False)
    assert choose(50, 100_000, 2) == "sort" and choose(500, 10_000, 2) == "partition"
    monkeypatch.undo()
    ran = []
    for name in ("_trimmed_mean_sort", "_trimmed_mean_partition"):
        real = getattr(tm, name)
        monkeypatch.setattr(tm, name, lambda X, b, real=real, name=name: ran.append(name) or real(X, b))
    X = np.random.default_rng(6).standard_normal((200, 30))
    trimmed_mean(X, 20)
    trimmed_mean(X[:100], 20)
    assert ran == ["_trimmed_mean_partition", "_trimmed_mean_sort"]


def choose(m, d, b):
    return tm.choose_method(m, d, b)


def test_bad_method_and_kernel_unavailable_are_rejected(monkeypatch):
    X = np.zeros((9, 3))
    with pytest.raises(ValueError, match="method must be one of"):
        trimmed_mean(X, 2, method="quickselect")
    monkeypatch.setattr(trim_kernel, "available", lambda: False)
    with pytest.raises(ValueError, match="needs numba"):
        trimmed_mean(X, 2, method="kernel")
    with pytest.raises(trim_kernel.KernelUnavailable, match="needs numba"):
        trim_kernel.trimmed_mean_kernel(X, 2)


NO_NUMBA = textwrap.dedent("""
    import sys, warnings
    sys.modules["numba"] = None          # `import numba` now raises ImportError
    import numpy as np
    from byzpgd.algorithms.aggregators import trim_kernel, trimmed_mean, make_trimmed_mean
    import importlib
    tm = importlib.import_module("byzpgd.algorithms.aggregators.trimmed_mean")
    assert not trim_kernel.available()
    assert tm.choose_method(50, 100_000, 5) == "sort"
    assert tm.choose_method(200, 10_000, 2) == "partition"
    X = np.random.default_rng(0).standard_normal((64, tm.KERNEL_MIN_ENTRIES // 64))
    X[:3, :10] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the fallback is silent
        got = make_trimmed_mean(64, 5)(X)
    S = np.sort(X, axis=0)[5:59].mean(axis=0)
    np.testing.assert_allclose(got, S, rtol=1e-13, atol=1e-14)
    try:
        trimmed_mean(X, 5, method="kernel")
    except ValueError as exc:
        assert "needs numba" in str(exc)
    else:
        raise AssertionError("method='kernel' without numba must raise")
    print("numpy fallback ok")
""")


def _no_numba_env():
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def test_fallback_without_numba_in_a_fresh_process():
    out = subprocess.run([sys.executable, "-c", NO_NUMBA], capture_output=True, text=True,
                         cwd=REPO, env=_no_numba_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "numpy fallback ok" in out.stdout


def test_trimmed_mean_tests_pass_without_numba():
    """This module (but this test) and the trimmed-mean and aggregator tests of
    test_aggregators.py run again under pytest in a process where numba cannot be imported, so
    CI exercises the numpy paths with and without the optional extra."""
    code = ("import sys; sys.modules['numba'] = None; import pytest; "
            "sys.exit(pytest.main(sys.argv[1:]))")
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly",
            "-k", "not without_numba",
            str(REPO / "tests" / "test_trimmed_dispatch.py"), str(REPO / "tests" / "test_aggregators.py")]
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=REPO, env=_no_numba_env(), timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and " failed" not in out.stdout
