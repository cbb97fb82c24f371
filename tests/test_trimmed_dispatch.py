"""The five implementations of the trimmed mean (``trimmed_mean.METHODS``: the compiled kernel,
a row sort, two row partitions, a blocked and a whole-array column sort) against the sort
definition and against each other, including
NaN/±Inf entries (the semantics of ``basic``: NaN ranks above +Inf); the dispatch
(``choose_method``): the fixed rule for small inputs, the cached one-time probe per (m, b) for
large ones (checked with a virtual clock, never by timing: which form wins is the benchmark's
business), its thread and fork safety, the BYZPGD_TRIM_METHOD and BYZPGD_NO_NUMBA variables; and
the numpy fallback in a process where numba cannot be imported (numba is the optional extra
``byzpgd[fast]``)."""

import importlib
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
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


@pytest.fixture
def fresh_probes(monkeypatch):
    """An empty probe cache for the test (the process's own cache is restored after it)."""
    monkeypatch.setattr(tm, "_PROBES", {})
    monkeypatch.setattr(tm, "_KEY_LOCKS", {})
    monkeypatch.delenv(tm.FORCE_ENV, raising=False)


def spy_forms(monkeypatch):
    """Record which numpy form ``trimmed_mean`` runs."""
    ran = []
    for name in tm._NUMPY_FORMS.values():
        real = getattr(tm, name)
        monkeypatch.setattr(tm, name, lambda X, b, real=real, name=name: ran.append(name) or real(X, b))
    return ran


BIG = (64, tm.PROBE_MIN_ENTRIES // 64)   # the smallest probed size


def test_small_inputs_take_the_fixed_rule_without_probing(monkeypatch, fresh_probes):
    """Below PROBE_MIN_ENTRIES: ``rule_method`` (partition from PARTITION_MIN_ROWS rows on, sort
    below), never the kernel, never a probe; ``trimmed_mean`` runs the form it names."""
    monkeypatch.setattr(tm, "probe", lambda *a: pytest.fail("probed a small input"))
    for m, d, b in ((20, 50, 2), (300, 5, 1), (tm.PARTITION_MIN_ROWS, 10, 3), (64, BIG[1] - 1, 5)):
        assert tm.choose_method(m, d, b) == tm.rule_method(m, d, b)
    assert tm.rule_method(tm.PARTITION_MIN_ROWS - 1, 10, 3) == "sort"
    assert tm.rule_method(tm.PARTITION_MIN_ROWS, 10, 3) == "partition"
    ran = spy_forms(monkeypatch)
    X = np.random.default_rng(6).standard_normal((200, 30))
    trimmed_mean(X, 20)
    trimmed_mean(X[:100], 20)
    assert ran == ["_trimmed_mean_partition", "_trimmed_mean_sort"]
    assert tm.probe_results() == ()


def fake_timing(monkeypatch, steady, warmup=None, outlier=None):
    """A virtual clock: each form advances it by ``steady[form]`` per call, by ``warmup[form]`` on
    its first call (the kernel's compilation) and by ``outlier[form]`` on its third (a run
    disturbed by another process). The forms still compute."""
    now, calls = [0.0], {}

    def timed(name, real):
        def form(S, b):
            calls[name] = calls.get(name, 0) + 1
            extra = (warmup or {}).get(name, 0.0) if calls[name] == 1 else 0.0
            extra += (outlier or {}).get(name, 0.0) if calls[name] == 3 else 0.0
            now[0] += steady[name] + extra
            return real(S, b)
        return form
    monkeypatch.setattr(tm, "_clock", lambda: now[0])
    monkeypatch.setattr(tm, "_trimmed_mean_sort", timed("sort", tm._trimmed_mean_sort))
    monkeypatch.setattr(tm, "_trimmed_mean_partition", timed("partition", tm._trimmed_mean_partition))
    monkeypatch.setattr(tm, "_trimmed_mean_column_sort", timed("column_sort", tm._trimmed_mean_column_sort))
    monkeypatch.setattr(tm, "_trimmed_mean_whole_column_sort",
                        timed("whole_column_sort", tm._trimmed_mean_whole_column_sort))
    monkeypatch.setattr(trim_kernel, "trimmed_mean_kernel", timed("kernel", trim_kernel.trimmed_mean_kernel))
    return calls


def check_probe_keeps_the_fastest(monkeypatch, probe):
    """With virtual timings, ``probe`` keeps the form with the least steady time: not fooled by
    the kernel's compilation (the first run), nor by one disturbed run of the fastest form, and
    it times every candidate (the kernel only where it is a candidate)."""
    with_kernel = trim_kernel.available()
    W = "whole_column_sort"
    cases = [({"kernel": 3.0, "sort": 2.0, "partition": 2.5, "column_sort": 2.1, W: 2.2}, {"sort": 50.0}, {}),
             ({"kernel": 1.0, "sort": 2.0, "partition": 2.5, "column_sort": 3.0, W: 2.9}, {"kernel": 100.0},
              {"kernel": 18.0}),
             ({"kernel": 3.0, "sort": 2.2, "partition": 2.0, "column_sort": 2.4, W: 2.3}, {},
              {"partition": 5.0}),
             ({"kernel": 3.0, "sort": 2.2, "partition": 2.5, "column_sort": 2.0, W: 2.1}, {}, {}),
             ({"kernel": 3.0, "sort": 2.2, "partition": 2.5, "column_sort": 2.4, W: 1.9}, {W: 9.0}, {})]
    for steady, warmup, outlier in cases:
        with monkeypatch.context() as mp:
            calls = fake_timing(mp, steady, warmup, outlier)
            got = probe(50, 2, with_kernel)
        candidates = {k: v for k, v in steady.items() if with_kernel or k != "kernel"}
        assert got.method == min(candidates, key=candidates.get)
        assert {k for k, _ in got.seconds} == set(candidates) == set(calls)
        assert dict(got.seconds)[got.method] == pytest.approx(candidates[got.method])
        assert (got.m, got.b, got.columns) == (50, 2, (tm.PROBE_MIN_ENTRIES // 50) | 1)


def test_the_probe_keeps_the_fastest_form(monkeypatch):
    check_probe_keeps_the_fastest(monkeypatch, tm.probe)


def test_wrong_probes_are_caught(monkeypatch):
    """Deliberately wrong probes: one that averages the timed runs instead of keeping the best
    (one disturbed run counts), one that never tries the kernel. The check above rejects each."""
    def averaged(m, b, with_kernel):
        def mean_times(forms, S, b, reps):
            out = {}
            for name, f in forms.items():
                f(S, b)
                t0 = tm._clock()
                for _ in range(reps):
                    f(S, b)
                out[name] = (tm._clock() - t0) / reps
            return out
        with monkeypatch.context() as mp:
            mp.setattr(tm, "time_forms", mean_times)
            return tm.probe(m, b, with_kernel)

    def no_kernel(m, b, with_kernel, d=None):
        return tm.probe(m, b, False)

    wrongs = [averaged] + ([no_kernel] if trim_kernel.available() else [])
    for wrong in wrongs:
        with pytest.raises(AssertionError):
            check_probe_keeps_the_fastest(monkeypatch, wrong)


def test_large_inputs_run_the_probed_form_bit_for_bit(monkeypatch, fresh_probes):
    """A probed dispatch runs the form the probe kept (the same bits as forcing it), probes once
    per (m, b), on synthetic data: the caller's array (here with NaN, ±Inf and 1e308 rows) is not
    read by the probe and not modified; results equal the sort definition."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal(BIG)
    X[0], X[1, ::2], X[2, ::3], X[3, ::5] = np.nan, np.inf, -np.inf, 1e308
    X0 = X.copy()
    probes = []
    real = tm.probe
    monkeypatch.setattr(tm, "probe", lambda *a: probes.append(a) or real(*a))
    for b in (1, 5):
        got = trimmed_mean(X, b)
        chosen = tm.choose_method(*X.shape, b)
        assert np.array_equal(got, trimmed_mean(X, b, method=chosen), equal_nan=True)
        assert np.array_equal(got, trimmed_mean(X, b), equal_nan=True)
        assert_same(got, sort_definition(X, b), X, b)
    assert [a[:2] for a in probes] == [(64, 1), (64, 5)]
    assert np.array_equal(X, X0, equal_nan=True)


@pytest.mark.parametrize("m, d, b", [(3, 2**17, 1), (1, tm.PROBE_MIN_ENTRIES, 0), (2**18 + 1, 1, 2),
                                     (11, 2**15, 5)])
def test_odd_shapes_at_the_probed_size(m, d, b, fresh_probes):
    """m = 3 (one kept value), m = 1 with b = 0, one huge column, b = (m − 1)/2: the probe runs
    on an (m, ≥ 1) slice and the result is the sort definition."""
    X = np.random.default_rng(m).standard_normal((m, d))
    X[0, :7] = np.nan
    assert_same(trimmed_mean(X, b), sort_definition(X, b), X, b)


def test_one_probe_per_class_across_threads(monkeypatch, fresh_probes):
    """Eight threads start the same new (m, b) at once: one probe runs, the others wait for its
    answer, and every thread gets the same bits."""
    check_one_probe_across_threads(monkeypatch)


def check_one_probe_across_threads(monkeypatch):
    entered, cv = [], threading.Condition()

    def slow_probe(m, b, with_kernel, d=None):
        with cv:
            entered.append(threading.get_ident())
            cv.notify_all()
            cv.wait_for(lambda: len(entered) > 1, timeout=0.5)   # a second prober, if any, gets in
        return tm.ProbeResult(m=m, b=b, columns=1, method="partition", seconds=(("partition", 1.0),))
    monkeypatch.setattr(tm, "probe", slow_probe)
    X = np.random.default_rng(8).standard_normal(BIG)
    start = threading.Barrier(8)
    outs = [None] * 8

    def run(k):
        start.wait()
        outs[k] = trimmed_mean(X, 3)
    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(entered) == 1
    assert all(np.array_equal(o, outs[0]) for o in outs)
    assert np.array_equal(outs[0], trimmed_mean(X, 3, method="partition"))


def test_an_unlocked_cache_is_caught(monkeypatch, fresh_probes):
    """Deliberately wrong: check the cache, probe, store, without the per-class lock."""
    def unlocked(m, b, d=None):
        key = (m, b, tm._kernel_candidate(b))
        if key not in tm._PROBES:
            tm._PROBES[key] = tm.probe(m, b, key[2], d)
        return tm._PROBES[key]
    monkeypatch.setattr(tm, "probed", unlocked)
    with pytest.raises(AssertionError):
        check_one_probe_across_threads(monkeypatch)


def test_a_forked_child_does_not_wait_for_a_lock_held_in_the_parent(fresh_probes):
    """Forked while another thread holds the probe locks, the child still dispatches (new locks
    after fork) and keeps the answers probed before the fork."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    X = np.random.default_rng(9).standard_normal(BIG)
    trimmed_mean(X, 2)
    before = tm.probe_results()
    key_lock = tm._KEY_LOCKS[(64, 2, tm._kernel_candidate(2))]
    with tm._LOCK, key_lock:
        child = multiprocessing.get_context("fork").Process(target=_dispatch_in_child, args=(before,))
        child.start()
        child.join(timeout=120)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on a probe lock")
    assert child.exitcode == 0


def _dispatch_in_child(before):
    X = np.random.default_rng(10).standard_normal(BIG)
    assert tm.probe_results() == before
    trimmed_mean(X, 2)        # the answer probed in the parent, behind its key lock
    trimmed_mean(X, 1)        # a new class: the global lock
    os._exit(0)


def test_the_environment_pins_the_form(monkeypatch, fresh_probes):
    """BYZPGD_TRIM_METHOD: a form is run at every size (bit-identical to forcing it), 'rule' is
    the fixed rule at every size (no probe), 'probe' or empty is the default; anything else, and
    'kernel' for b > MAX_TRIM, is a ValueError naming the variable."""
    X = np.random.default_rng(11).standard_normal(BIG)
    real_probe = tm.probe
    for value in METHODS:
        monkeypatch.setenv(tm.FORCE_ENV, value)
        assert tm.choose_method(*BIG, 2) == value == tm.choose_method(5, 3, 2)
        assert np.array_equal(trimmed_mean(X, 2), trimmed_mean(X, 2, method=value))
    monkeypatch.setattr(tm, "probe", lambda *a: pytest.fail("probed under rule"))
    monkeypatch.setenv(tm.FORCE_ENV, " Rule ")
    assert tm.choose_method(*BIG, 2) == tm.rule_method(*BIG, 2)
    monkeypatch.setattr(tm, "probe", real_probe)
    for value in ("probe", ""):
        monkeypatch.setenv(tm.FORCE_ENV, value)
        assert tm.choose_method(*BIG, 2) in METHODS and len(tm.probe_results()) == 1
    monkeypatch.setenv(tm.FORCE_ENV, "quickselect")
    with pytest.raises(ValueError, match=tm.FORCE_ENV):
        trimmed_mean(X, 2)
    monkeypatch.setenv(tm.FORCE_ENV, "kernel")
    with pytest.raises(ValueError, match=tm.FORCE_ENV):
        tm.choose_method(200, 10, trim_kernel.MAX_TRIM + 1)


def test_the_cache_is_bounded(monkeypatch, fresh_probes):
    """Past PROBE_CACHE_MAX classes, new classes take the fixed rule (and keep taking it)."""
    monkeypatch.setattr(tm, "PROBE_CACHE_MAX", 2)
    fake = lambda m, b, k, d=None: tm.ProbeResult(m=m, b=b, columns=1, method="sort", seconds=())  # noqa: E731
    monkeypatch.setattr(tm, "probe", fake)
    d = tm.PROBE_MIN_ENTRIES
    assert [tm.choose_method(m, d, 1) for m in (200, 201, 202, 200, 202)] == \
        ["sort", "sort", "partition", "sort", "partition"]


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
    assert tm.choose_method(50, 100_000, 5) in tm.METHODS[1:]   # a numpy form (which: the probe's timing)
    X = np.random.default_rng(0).standard_normal((64, tm.PROBE_MIN_ENTRIES // 64))
    X[:3, :10] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the fallback is silent
        got = make_trimmed_mean(64, 5)(X)
    numpy_forms = ["sort", "partition", "column_sort", "whole_column_sort"]
    assert [k for p in tm.probe_results() for k, _ in p.seconds] == numpy_forms * 2
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

NO_NUMBA_ENV = textwrap.dedent("""
    import importlib
    import numpy as np
    from byzpgd.algorithms.aggregators import trim_kernel, trimmed_mean
    tm = importlib.import_module("byzpgd.algorithms.aggregators.trimmed_mean")
    assert not trim_kernel.available()
    X = np.random.default_rng(0).standard_normal((64, tm.PROBE_MIN_ENTRIES // 64))
    trimmed_mean(X, 2)
    numpy_forms = ["sort", "partition", "column_sort", "whole_column_sort"]
    assert [k for p in tm.probe_results() for k, _ in p.seconds] == numpy_forms
    print("BYZPGD_NO_NUMBA ok")
""")


def _no_numba_env():
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def test_fallback_without_numba_in_a_fresh_process():
    out = subprocess.run([sys.executable, "-c", NO_NUMBA], capture_output=True, text=True,
                         cwd=REPO, env=_no_numba_env(), timeout=300)
    assert out.returncode == 0, out.stderr
    assert "numpy fallback ok" in out.stdout


@pytest.mark.parametrize("value, available", [("1", False), ("0", True), ("", True)])
def test_the_no_numba_variable_hides_the_kernel(value, available):
    """BYZPGD_NO_NUMBA=1 makes ``trim_kernel.available()`` False (as without numba: the probe
    times numpy's forms only); 0 or empty changes nothing."""
    if available and not trim_kernel.available():
        pytest.skip("numba is not importable here")
    env = {**_no_numba_env(), trim_kernel.NO_NUMBA_ENV: value}
    code = NO_NUMBA_ENV if not available else (
        "from byzpgd.algorithms.aggregators import trim_kernel; assert trim_kernel.available(); "
        "print('BYZPGD_NO_NUMBA ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "BYZPGD_NO_NUMBA ok" in out.stdout


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


def test_the_probe_times_the_calls_own_shape_up_to_its_limit(monkeypatch, fresh_probes):
    """Which form wins depends on the row stride (a column sort of power-of-two rows meets
    cache-set conflicts), so the probe times the call's own (m, d) up to PROBE_FULL_ENTRIES, and
    an odd width, never a power of two, beyond."""
    assert tm.probe_columns(16, 125_000) == 125_000
    assert tm.probe_columns(50, 100_000) == (tm.PROBE_MIN_ENTRIES // 50) | 1
    assert tm.probe_columns(16, None) % 2 == 1 and tm.probe_columns(16, None) != tm.PROBE_MIN_ENTRIES // 16
    seen = []

    def recording(m, b, with_kernel, d=None):
        seen.append((m, b, d))
        return tm.ProbeResult(m=m, b=b, columns=tm.probe_columns(m, d), method="sort", seconds=())
    monkeypatch.setattr(tm, "probe", recording)
    assert tm.choose_method(16, 125_000, 4) == "sort" and seen == [(16, 4, 125_000)]
