"""The compiled trimmed-mean kernel (``trim_kernel``) against the sort definition, including
non-finite entries, and the dispatch of ``trimmed_mean`` to it. Every b used here compiles once
per process (about a second each), so the b values are few. numba is the optional extra
``byzpgd[fast]`` (``make venv`` installs it): without it this module is skipped, and
tests/test_trimmed_dispatch.py checks the numpy paths, also in a process where numba cannot be
imported."""

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba", reason="the compiled kernel needs numba, the optional extra byzpgd[fast]")

from byzpgd.algorithms.aggregators import trim_kernel, trimmed_mean  # noqa: E402
from byzpgd.algorithms.aggregators.trim_kernel import trimmed_mean_kernel  # noqa: E402

tm_module = importlib.import_module("byzpgd.algorithms.aggregators.trimmed_mean")
B_VALUES = (1, 2, 5)


def sort_definition(X, b):
    """Mean of the order statistics b .. m − b − 1 per column, NaN ranked above +Inf."""
    S = np.sort(X, axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        return S[b:X.shape[0] - b].mean(axis=0)


def assert_same(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(B_VALUES), st.integers(0, 40), st.integers(1, 70), st.integers(0, 2**31))
def test_kernel_equals_the_sort_definition(b, extra_rows, d, seed):
    rng = np.random.default_rng(seed)
    m = 2 * b + 1 + extra_rows
    X = rng.standard_normal((m, d))
    X[rng.random((m, d)) < 0.2] = 0.5            # ties
    assert_same(trimmed_mean_kernel(X, b), sort_definition(X, b))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(B_VALUES), st.integers(0, 20), st.integers(0, 2**31),
       st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308]))
def test_nonfinite_and_huge_entries_follow_the_sort_definition(b, extra_rows, seed, bad):
    rng = np.random.default_rng(seed)
    m, d = 2 * b + 1 + extra_rows, 40
    X = rng.standard_normal((m, d))
    counts = rng.integers(0, m + 1, size=d)      # column k gets counts[k] bad entries
    for k, c in enumerate(counts):
        X[rng.choice(m, size=c, replace=False), k] = bad
    got = trimmed_mean_kernel(X, b)
    assert_same(got, sort_definition(X, b))
    assert np.all(np.isfinite(got[counts <= b]))  # within the breakdown number: finite


def test_more_than_b_nan_give_nan_and_mixed_infinities_cancel_as_in_the_mean():
    X = np.zeros((7, 3))
    X[:3, 0] = np.nan                             # 3 NaN > b = 2: a NaN is kept
    X[:3, 1], X[3:6, 1] = np.inf, -np.inf         # +Inf and −Inf both kept: NaN
    X[:2, 2] = np.nan                             # 2 NaN: trimmed
    got = trimmed_mean_kernel(X, 2)
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == 0.0
    assert_same(got, sort_definition(X, 2))


@pytest.mark.parametrize("b", [20, trim_kernel.MAX_TRIM])
def test_largest_trims(b):
    X = np.random.default_rng(b).standard_normal((2 * b + 9, 100))
    assert_same(trimmed_mean_kernel(X, b), sort_definition(X, b))


def test_input_untouched_and_noncontiguous_input():
    X = np.random.default_rng(1).standard_normal((40, 11))
    X0 = X.copy()
    assert_same(trimmed_mean_kernel(X.T.copy().T, 2), sort_definition(X, 2))
    assert_same(trimmed_mean_kernel(X[:, ::2], 2), sort_definition(X[:, ::2], 2))
    assert np.array_equal(X, X0)


def test_kernel_rejects_what_it_does_not_handle():
    with pytest.raises(ValueError, match="1 <= b <= 32"):
        trimmed_mean_kernel(np.zeros((100, 2)), trim_kernel.MAX_TRIM + 1)
    with pytest.raises(ValueError, match="m > 2b"):
        trimmed_mean_kernel(np.zeros((4, 2)), 2)


def test_a_kernel_without_the_fill_phases_is_caught():
    """Deliberately wrong variant: summing from row b (the −Inf sentinels of ``hi`` leak into
    the kept sum). The comparison with the sort definition used above catches it."""
    import numba

    b = 2
    src = trim_kernel.kernel_source(b).replace(f"range({2 * b}, m)", f"range({b}, m)")
    ns = {"np": np}
    exec(src, ns)
    wrong = numba.njit(ns["kernel"])
    X = np.random.default_rng(2).standard_normal((9, 5))
    out = np.empty(5)
    wrong(X, out)
    assert not np.allclose(out, sort_definition(X, b))


@pytest.fixture
def fresh_probes(monkeypatch):
    monkeypatch.setattr(tm_module, "_PROBES", {})
    monkeypatch.setattr(tm_module, "_KEY_LOCKS", {})
    monkeypatch.setattr(tm_module, "_FAILED_KERNELS", set())
    monkeypatch.delenv(tm_module.FORCE_ENV, raising=False)


def test_trimmed_mean_dispatches_by_size_and_falls_back_without_numba(monkeypatch, fresh_probes):
    """Large inputs run the kernel when the probe keeps it (a stand-in probe here: timing is the
    benchmark's business), small ones never; without numba the kernel is not a candidate."""
    X = np.random.default_rng(3).standard_normal((64, tm_module.PROBE_MIN_ENTRIES // 64))
    calls, asked = [], []
    real = trim_kernel.trimmed_mean_kernel
    monkeypatch.setattr(trim_kernel, "trimmed_mean_kernel", lambda X, b: calls.append(b) or real(X, b))

    def stand_in(m, b, with_kernel, d=None):
        asked.append(with_kernel)
        return tm_module.ProbeResult(m=m, b=b, columns=1, method="kernel" if with_kernel else "sort",
                                     seconds=())
    monkeypatch.setattr(tm_module, "probe", stand_in)
    fast = trimmed_mean(X, 5)
    small = trimmed_mean(X[:, :100], 5)
    assert calls == [5] and asked == [True]
    monkeypatch.setattr(trim_kernel, "available", lambda: False)
    slow = trimmed_mean(X, 5)
    assert calls == [5] and asked == [True, False]
    assert_same(fast, slow)
    assert_same(small, sort_definition(X[:, :100], 5))


def test_a_kernel_that_does_not_compile_warns_and_falls_back(monkeypatch, fresh_probes):
    """The probe's first kernel run fails to compile: one warning, the kernel is dropped from
    this probe and later ones, the result comes from numpy; a forced kernel falls back too."""
    from numba.core.errors import NumbaError

    def broken(b):
        def kernel(X, out):
            raise NumbaError("simulated LLVM failure")
        return kernel
    monkeypatch.setattr(trim_kernel, "_compiled", broken)
    X = np.random.default_rng(4).standard_normal((64, tm_module.PROBE_MIN_ENTRIES // 64))
    with pytest.warns(RuntimeWarning, match=r"did not compile.*using numpy instead"):
        got = trimmed_mean(X, 3)
    assert_same(got, sort_definition(X, 3))
    assert [k for p in tm_module.probe_results() for k, _ in p.seconds] == list(tm_module._NUMPY_FORMS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # warned once: later calls are silent
        assert_same(trimmed_mean(X, 3), got)
        assert_same(trimmed_mean(X, 3, method="kernel"), got)
        assert tm_module.choose_method(64, X.shape[1], 3) != "kernel"
