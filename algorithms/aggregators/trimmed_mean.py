"""Coordinate-wise β-trimmed mean (docs/paper.md §6; Yin, Chen, Ramchandran, Bartlett, ICML 2018).

For each coordinate k, drop the b = ⌊βm⌋ largest and the b smallest of {g_{i,k}} and average
the remaining m − 2b values. Requires α ≤ β < 1/2 (at most f = αm Byzantine rows, f <= b):
breakdown point b rows per coordinate. NaN ranks above +Inf (see ``basic``), so with at most b
extreme entries per column the kept values lie between honest values and the result is finite.

Five implementations of the same definition (``METHODS``):

- ``'kernel'``: the compiled one-pass kernel of ``trim_kernel`` (2b compare-exchanges per entry;
  needs the optional extra ``byzpgd[fast]``, i.e. numba);
- ``'sort'``: per block of columns (``CHUNK_ENTRIES`` entries, so the block stays in cache), the
  columns copied into contiguous rows (Xᵀ), each row sorted (numpy's SIMD sort), the mean of the
  order statistics b .. m − b − 1;
- ``'partition'``: the same copy, two in-place single-kth ``np.partition`` passes per row (the
  first puts the b smallest first, the second the m − 2b smallest of the rest first), the mean of
  the kept block;
- ``'column_sort'``: per block, ``np.sort`` along axis 0 and the mean of rows b .. m − b − 1;
- ``'whole_column_sort'``: ``np.sort`` along axis 0 of the whole array at once (a copy of X), the
  mean of rows b .. m − b − 1: plain numpy, fastest for small m on some machines (e.g. m = 16
  without numba, 1.16× faster than the row sort and 2× faster than the blocked column sort here).

Which is fastest depends on the CPU, the numpy build (its SIMD sort) and the shape, so no fixed
rule carries over between machines (issue 27: a rule fitted on one machine was 1.8× slower than
the fastest form on another). :func:`choose_method` therefore *probes*: the first call with m·d
>= ``PROBE_MIN_ENTRIES`` for a given (m, b) times every candidate form on a seeded synthetic
input of the call's own shape (m, d) up to ``PROBE_FULL_ENTRIES`` entries, else of an odd width
near ``PROBE_MIN_ENTRIES`` // m (:func:`probe_columns`: which form wins depends on the row stride
too), best of ``PROBE_REPS`` interleaved runs, and keeps the
fastest for the rest of the process (thread-safe: one probe per (m, b), other threads wait for
its answer; a forked child keeps the answers). Smaller inputs, where a probe (a few ms, plus 2–6 s
to compile the kernel for a new b) costs more than it can save, use the fixed rule
:func:`rule_method` (numpy only, the same in every process). ``BYZPGD_TRIM_METHOD`` pins the
choice (``FORCE_ENV``: a form, ``rule`` for the fixed rule at every size, or ``probe``).

They agree up to the order of the summation of the kept values (relative differences of a few
ulps; ``tests/test_trimmed_dispatch.py``), and exactly on which outputs are NaN or ±Inf: every
column whose result is not finite is recomputed in one canonical way (``_settle_nonfinite``), so
a column keeps a NaN iff it has more than b NaN, +Inf and −Inf both kept give NaN, one signed
infinity kept gives it, and finite kept values give a finite mean even where a plain sum of huge
values would overflow (which, beyond the breakdown number, depended on the summation order).
Reproducibility: in one process the same input always takes the same path (the probe's answer is
never revisited), so results are bit-for-bit repeatable; below ``PROBE_MIN_ENTRIES`` they are
also the same in every process. Above it, two processes whose probes picked different forms
agree up to those few ulps; ``BYZPGD_TRIM_METHOD=rule`` (or a form) makes them bit-identical.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import trim_kernel
from .basic import _as_workers

METHODS = ("kernel", "sort", "partition", "column_sort", "whole_column_sort")

FORCE_ENV = "BYZPGD_TRIM_METHOD"
"""Environment variable pinning the dispatch: one of ``METHODS``, ``rule`` (:func:`rule_method`
at every size, no probe) or ``probe`` (the default, also when unset or empty)."""

PROBE_MIN_ENTRIES = 2**18
"""Smallest m·d that is probed (and may use the kernel), and the size of the probe's slice: below
it a call costs a few milliseconds whichever form runs, far less than the probe itself (each form
run ten times on a slice of this size: about 0.1–0.2 s, once per (m, b) and process) and than
compiling the kernel (0.6–6 s per b, measured on this 2-core machine)."""

PROBE_FULL_ENTRIES = 2**21
"""Up to this m·d (16 MiB) the probe times the input's own shape (:func:`probe_columns`): one probe
then costs about ten calls of each form, 0.1–0.5 s, once per (m, b) and process."""

CHUNK_ENTRIES = 2**16
"""Entries per block of the numpy forms (512 KiB: the block's copy stays in the L2 cache while it
is sorted or partitioned and averaged)."""

PROBE_REPS = 9
"""Timed runs of each form in a probe (after one warm-up run), interleaved; the best counts."""

PROBE_SEED = 27
"""Seed of the probe's synthetic standard-normal slice (the caller's data is never timed)."""

PROBE_CACHE_MAX = 256
"""At most this many (m, b) classes are probed per process; further classes use the rule."""

PARTITION_MIN_ROWS = 160
"""The fixed rule: 'partition' for m >= this, 'sort' below (numpy 2.4 on an AMD EPYC with AVX2:
the row partitions beat the row sort from m = 200 on, by 1.2–1.5× at m >= 500, before numpy's
SIMD sort; kept as the fallback for small inputs)."""


@dataclass(frozen=True)
class ProbeResult:
    """One probe: the form kept for inputs with m rows trimmed by b, and the best time (seconds)
    of each candidate form on the (m, columns) slice, in the order they were tried."""

    m: int
    b: int
    columns: int
    method: str
    seconds: tuple[tuple[str, float], ...]


_FAILED_KERNELS: set[int] = set()
_PROBES: dict[tuple[int, int, bool], ProbeResult] = {}
_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple[int, int, bool], threading.Lock] = {}
_clock: Callable[[], float] = time.perf_counter


def _reset_locks_after_fork() -> None:
    """A child forked while another thread held a lock would wait for it forever: new locks
    (the answers already probed are kept)."""
    global _LOCK
    _LOCK = threading.Lock()
    _KEY_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_after_fork)


def rule_method(m: int, d: int, b: int) -> str:
    """The fixed rule (numpy forms only, the same in every process): used below
    ``PROBE_MIN_ENTRIES``, when ``BYZPGD_TRIM_METHOD=rule``, and past ``PROBE_CACHE_MAX``."""
    return "partition" if m >= PARTITION_MIN_ROWS else "sort"


def forced_method() -> str | None:
    """The value of ``BYZPGD_TRIM_METHOD`` (None for unset, empty or ``probe``); anything else
    than ``METHODS``, ``rule`` or ``probe`` raises ValueError."""
    value = os.environ.get(FORCE_ENV, "").strip().lower()
    if value in ("", "probe"):
        return None
    if value not in (*METHODS, "rule"):
        raise ValueError(f"{FORCE_ENV} must be one of {(*METHODS, 'rule', 'probe')} or unset, got {value!r}")
    return value


def choose_method(m: int, d: int, b: int) -> str:
    """The implementation ``trimmed_mean`` uses for an (m, d) input trimmed by b (module
    docstring): ``BYZPGD_TRIM_METHOD`` when it names a form; the fixed rule for b = 0, for
    m·d < ``PROBE_MIN_ENTRIES`` or when it says ``rule``; otherwise the probed fastest form for
    (m, b), probing on the first call. The kernel is a candidate only when numba is importable,
    1 <= b <= ``trim_kernel.MAX_TRIM`` and the kernel for b has not failed to compile."""
    forced = forced_method()
    if forced == "kernel" and b > trim_kernel.MAX_TRIM:
        raise ValueError(f"{FORCE_ENV}=kernel: the kernel handles b <= {trim_kernel.MAX_TRIM}, got b = {b}")
    if forced in METHODS:
        return forced
    if forced == "rule" or b < 1 or m * d < PROBE_MIN_ENTRIES:
        return rule_method(m, d, b)
    probe = probed(m, b, d)
    return rule_method(m, d, b) if probe is None else probe.method


def probed(m: int, b: int, d: int | None = None) -> ProbeResult | None:
    """The cached probe for (m, b), probing now if there is none (None once ``PROBE_CACHE_MAX``
    classes are cached). One probe per class and process: a thread that finds a probe of its
    class running waits for its answer, so every call of the class takes the same path."""
    key = (m, b, _kernel_candidate(b))
    hit = _PROBES.get(key)
    if hit is not None:
        return hit
    with _LOCK:
        if key not in _PROBES and len(_PROBES) >= PROBE_CACHE_MAX:
            return None
        lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with lock:
        hit = _PROBES.get(key)
        if hit is None:
            hit = probe(m, b, key[2], d)
            _PROBES[key] = hit
            _PROBES.setdefault((m, b, _kernel_candidate(b)), hit)   # the kernel failed to compile
    return hit


def probe_results() -> tuple[ProbeResult, ...]:
    """Every probe of this process, in the order they ran (for benchmarks and tests)."""
    return tuple({id(p): p for p in list(_PROBES.values())}.values())   # one probe may hold two keys


def clear_probes() -> None:
    """Forget every probe (tests and benchmarks; the next large call probes again)."""
    with _LOCK:
        _PROBES.clear()


def _kernel_candidate(b: int) -> bool:
    return 1 <= b <= trim_kernel.MAX_TRIM and b not in _FAILED_KERNELS and trim_kernel.available()


def probe_columns(m: int, d: int | None) -> int:
    """The width of the probe's synthetic input: the input's own d when m·d <= ``PROBE_FULL_ENTRIES``
    (the probe then times the real shape: the forms' speed depends on the row stride, e.g. a
    column sort of rows 2^k entries long runs into cache-set conflicts, 1.6–2× slower at m = 16),
    else an odd width near ``PROBE_MIN_ENTRIES`` // m (several blocks, no power-of-two stride)."""
    if d is not None and m * d <= PROBE_FULL_ENTRIES:
        return int(d)
    return max(1, PROBE_MIN_ENTRIES // m) | 1


def probe(m: int, b: int, with_kernel: bool, d: int | None = None) -> ProbeResult:
    """Time the candidate forms on a seeded standard-normal (m, w) input, w = :func:`probe_columns`
    (m, d): one warm-up run each (it compiles the kernel; a kernel that fails to
    compile warns once and is dropped), then the best of ``PROBE_REPS`` rounds, each round running
    every form once, starting from a different form each round (so no form always runs right
    after the same other one). Returns the fastest (ties: the first of ``METHODS``)."""
    w = probe_columns(m, d)
    S = np.random.default_rng(PROBE_SEED).standard_normal((m, w))
    forms: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {}
    if with_kernel:
        try:
            trim_kernel.trimmed_mean_kernel(S, b)
            forms["kernel"] = trim_kernel.trimmed_mean_kernel
        except trim_kernel.KernelUnavailable as exc:
            _kernel_failed(b, exc, stacklevel=6)   # trimmed_mean's caller
    for name, function in _NUMPY_FORMS.items():
        forms[name] = globals()[function]
    seconds = time_forms(forms, S, b, PROBE_REPS)
    fastest = min(seconds, key=lambda name: (seconds[name], METHODS.index(name)))
    return ProbeResult(m=m, b=b, columns=w, method=fastest, seconds=tuple(seconds.items()))


def time_forms(forms: dict[str, Callable[[np.ndarray, int], np.ndarray]], S: np.ndarray, b: int,
               reps: int) -> dict[str, float]:
    """Best time (``_clock``, wall by default) of each form on S over ``reps`` rounds, after one
    untimed run of each. Each round runs every form once in a seeded random order, so no form
    always follows the same other one (what ran before changes what is in the cache)."""
    names = list(forms)
    for name in names:
        forms[name](S, b)
    best = dict.fromkeys(names, np.inf)
    rng = np.random.default_rng(PROBE_SEED)
    for _ in range(reps):
        for k in rng.permutation(len(names)):
            t0 = _clock()
            forms[names[k]](S, b)
            best[names[k]] = min(best[names[k]], _clock() - t0)
    return best


def _kernel_failed(b: int, exc: Exception, stacklevel: int) -> None:
    """Remember that the kernel for b did not compile and warn (once per b)."""
    if b not in _FAILED_KERNELS:
        _FAILED_KERNELS.add(b)
        warnings.warn(f"{exc}; using numpy instead", RuntimeWarning,
                      stacklevel=stacklevel + 1)


def trimmed_mean(X, b: int, method: str | None = None) -> np.ndarray:
    """Trim ``b`` values per side and per coordinate, average the rest.

    ``method``: one of ``METHODS`` to force an implementation (benchmarks and tests), default
    :func:`choose_method`. A kernel that fails to compile warns once per b and numpy is used
    instead; ``method='kernel'`` (or ``BYZPGD_TRIM_METHOD=kernel``) without numba raises
    ``ValueError``.
    """
    X = _as_workers(X)
    m, d = X.shape
    if not (isinstance(b, int | np.integer) and 0 <= b and 2 * b < m):
        raise ValueError(f"b (values trimmed per side) must be an integer in [0, {(m - 1) // 2}] "
                         f"for m = {m}, got {b!r}")
    b = int(b)
    if method is not None and method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} or None, got {method!r}")
    if b == 0:
        return X.mean(axis=0)
    if method is None:
        method = choose_method(m, d, b)
    if method == "kernel":
        if not trim_kernel.available():
            raise ValueError(f"method 'kernel' (argument or {FORCE_ENV}) needs numba "
                             "(pip install 'byzpgd[fast]')")
        try:
            return _settle_nonfinite(X, b, trim_kernel.trimmed_mean_kernel(X, b))
        except trim_kernel.KernelUnavailable as exc:
            _kernel_failed(b, exc, stacklevel=2)
            method = choose_method(m, d, b)
            if method == "kernel":   # pinned by BYZPGD_TRIM_METHOD
                method = rule_method(m, d, b)
    return _settle_nonfinite(X, b, globals()[_NUMPY_FORMS[method]](X, b))


def _settle_nonfinite(X: np.ndarray, b: int, out: np.ndarray) -> np.ndarray:
    """Recompute every column whose result is NaN or ±Inf as Σ_kept (x/(m − 2b)) over the
    sorted kept values. A non-finite kept value (NaN; +Inf with −Inf) decides the outcome
    whatever the order; finite kept values can no longer overflow a partial sum (each term is
    at most max|x|/(m − 2b)), so a sum that overflowed in one path's order (e.g. 1e308 + 1e308 −
    1e308) gets the same finite mean on every path. Columns with finite results are untouched."""
    bad = ~np.isfinite(out)
    if bad.any():
        m = X.shape[0]
        S = np.sort(X[:, bad], axis=0)[b:m - b]
        with np.errstate(invalid="ignore", over="ignore"):
            out[bad] = (S / (m - 2 * b)).sum(axis=0)
    return out


def _rows(X: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of Xᵀ: one row per coordinate (numpy sorts and partitions the last
    axis of a contiguous array fastest). Always a copy (for d = 1, Xᵀ is already contiguous and
    ``ascontiguousarray`` would sort the caller's array in place)."""
    return np.array(X.T, order="C", copy=True)


def _kept_mean(Y: np.ndarray, lo: int, hi: int) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):   # +Inf and −Inf kept: NaN, as specified
        return Y[:, lo:hi].mean(axis=1)


def _by_blocks(X: np.ndarray, b: int, block_mean: Callable[[np.ndarray, int, int], np.ndarray]) -> np.ndarray:
    """``block_mean(B, b, m)`` on each block B of max(1, ``CHUNK_ENTRIES`` // m) columns of X:
    every column is processed alone, so the blocks change no bit of the result, only the memory
    traffic (and the peak memory: one block's copy instead of a copy of X)."""
    m, d = X.shape
    w = max(1, CHUNK_ENTRIES // m)
    if w >= d:
        return block_mean(X, b, m)
    out = np.empty(d)
    for j in range(0, d, w):
        out[j:j + w] = block_mean(X[:, j:j + w], b, m)
    return out


def _sorted_rows_mean(B: np.ndarray, b: int, m: int) -> np.ndarray:
    Y = _rows(B)
    Y.sort(axis=1)                  # NaN last (above +Inf), as np.sort
    return _kept_mean(Y, b, m - b)


def _partitioned_rows_mean(B: np.ndarray, b: int, m: int) -> np.ndarray:
    Y = _rows(B)
    Y.partition(b, axis=1)          # columns [0, b) of each row: its b smallest (NaN ranked last)
    Z = Y[:, b:]
    keep = m - 2 * b
    Z.partition(keep - 1, axis=1)   # columns [0, keep) of Z: its keep smallest
    return _kept_mean(Z, 0, keep)


def _sorted_columns_mean(B: np.ndarray, b: int, m: int) -> np.ndarray:
    S = np.sort(B, axis=0)          # a copy; NaN last
    with np.errstate(invalid="ignore", over="ignore"):
        return S[b:m - b].mean(axis=0)


def _trimmed_mean_sort(X: np.ndarray, b: int) -> np.ndarray:
    return _by_blocks(X, b, _sorted_rows_mean)


def _trimmed_mean_partition(X: np.ndarray, b: int) -> np.ndarray:
    return _by_blocks(X, b, _partitioned_rows_mean)


def _trimmed_mean_column_sort(X: np.ndarray, b: int) -> np.ndarray:
    return _by_blocks(X, b, _sorted_columns_mean)


def _trimmed_mean_whole_column_sort(X: np.ndarray, b: int) -> np.ndarray:
    return _sorted_columns_mean(X, b, X.shape[0])


_NUMPY_FORMS = {"sort": "_trimmed_mean_sort", "partition": "_trimmed_mean_partition",
                "column_sort": "_trimmed_mean_column_sort",
                "whole_column_sort": "_trimmed_mean_whole_column_sort"}
"""The numpy forms by name (looked up at call time, so tests can wrap them)."""


def make_trimmed_mean(m: int, f: int, beta: float | None = None):
    """The β-trimmed mean for m workers of which at most f are Byzantine. Default β = f/m
    (trim exactly f per side). Raises ValueError when β < α = f/m (⌊βm⌋ < f: fewer values
    trimmed than Byzantine rows) or β >= 1/2."""
    if beta is None:
        b = f
    else:
        if not (0 <= beta < 0.5):
            raise ValueError(f"beta must be in [0, 0.5), got {beta}")
        b = int(np.floor(beta * m + 1e-12))
        if b < f:
            raise ValueError(f"beta must be >= alpha = f/m = {f / m:.4g} (floor(beta*m) >= f), "
                             f"got beta = {beta}")
    if 2 * b >= m:
        raise ValueError(f"the trimmed mean needs 2b < m (b = {b} trimmed per side), got m = {m}")

    def aggregate(X):
        return trimmed_mean(X, b)
    aggregate.__name__ = f"trimmed_mean_b{b}"
    aggregate.trim = b
    return aggregate
