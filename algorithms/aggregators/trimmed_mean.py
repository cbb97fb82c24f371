"""Coordinate-wise β-trimmed mean (docs/paper.md §6; Yin, Chen, Ramchandran, Bartlett, ICML 2018).

For each coordinate k, drop the b = ⌊βm⌋ largest and the b smallest of {g_{i,k}} and average
the remaining m − 2b values. Requires α ≤ β < 1/2 (at most f = αm Byzantine rows, f <= b):
breakdown point b rows per coordinate. NaN ranks above +Inf (see ``basic``), so with at most b
extreme entries per column the kept values lie between honest values and the result is finite.

Three implementations of the same definition (``METHODS``), chosen by the shape (m, d) and b
(:func:`choose_method`, a fixed rule: the same input always takes the same path, so runs stay
reproducible bit for bit in one environment):

- ``'kernel'``: the compiled one-pass kernel of ``trim_kernel`` (2b compare-exchanges per entry;
  needs the optional extra ``byzpgd[fast]``, i.e. numba);
- ``'sort'``: the columns copied into contiguous rows (Xᵀ), each row sorted (numpy's SIMD sort),
  the mean of the order statistics b .. m − b − 1;
- ``'partition'``: the same copy, two in-place single-kth ``np.partition`` passes per row (the
  first puts the b smallest first, the second the m − 2b smallest of the rest first), the mean of
  the kept block.

They agree up to the order of the summation of the kept values (relative differences of a few
ulps; ``tests/test_trimmed_dispatch.py``), and exactly on which outputs are NaN or ±Inf: every
column whose result is not finite is recomputed in one canonical way (``_settle_nonfinite``), so
a column keeps a NaN iff it has more than b NaN, +Inf and −Inf both kept give NaN, one signed
infinity kept gives it, and finite kept values give a finite mean even where a plain sum of huge
values would overflow (which, beyond the breakdown number, depended on the summation order).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import trim_kernel
from .basic import _as_workers

METHODS = ("kernel", "sort", "partition")

KERNEL_MIN_ENTRIES = 2**18
"""Smallest m·d for which ``trimmed_mean`` uses the compiled kernel: below it a call costs
about a millisecond either way, and the kernel's one-time compilation (1–2 s per b) would
dominate short runs and the test suite."""

KERNEL_SMALL_TRIM = 3
"""The kernel is chosen for every b <= this (and m·d >= KERNEL_MIN_ENTRIES)."""
KERNEL_TRIM = 5
KERNEL_TRIM_MAX_ROWS = 300
"""... and for b <= KERNEL_TRIM when m <= KERNEL_TRIM_MAX_ROWS."""
PARTITION_MIN_ROWS = 160
"""Without the kernel: 'partition' for m >= this, 'sort' below."""

# How the rule was set (benchmarks/aggregators.py, this 2-core AMD EPYC with AVX2, numpy 2.4,
# CPU time per entry at m·d = 2·10^6): the kernel costs about 1.1·b ns per entry whatever m; a
# row sort 5–6 ns for m <= 100 rising to 7.5 ns at m = 200 and 8.5 ns at m = 1000; the two
# partitions about 7–8 ns for m in 30..200 and 6 ns for m in 500..1000 (more for m < 30, where
# the per-row call overhead dominates). Measured crossings: the kernel beats both for b <= 4 at
# every m tried (16..1000: ties at m = 1000) and for b = 5 up to m = 200, loses from b = 6 at
# m = 50 and m = 500 and from b = 8 at m = 200; the partition beats the sort from m = 200 on
# (by 1.2–1.5x at m >= 500) and loses below m = 100 (by 1.4–1.5x).

_FAILED_KERNELS: set[int] = set()


def choose_method(m: int, d: int, b: int) -> str:
    """The implementation ``trimmed_mean`` uses for an (m, d) input trimmed by b (module
    docstring; the thresholds above). 'kernel' only when numba is importable and the kernel for
    this b has not failed to compile in this process."""
    if (1 <= b <= trim_kernel.MAX_TRIM and m * d >= KERNEL_MIN_ENTRIES
            and (b <= KERNEL_SMALL_TRIM or (b <= KERNEL_TRIM and m <= KERNEL_TRIM_MAX_ROWS))
            and int(b) not in _FAILED_KERNELS and trim_kernel.available()):
        return "kernel"
    return "partition" if m >= PARTITION_MIN_ROWS else "sort"


def trimmed_mean(X, b: int, method: str | None = None) -> np.ndarray:
    """Trim ``b`` values per side and per coordinate, average the rest.

    ``method``: one of ``METHODS`` to force an implementation (benchmarks and tests), default
    :func:`choose_method`. A kernel that fails to compile warns once per b and the numpy rule
    is used instead; ``method='kernel'`` without numba raises ``ValueError``.
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
            raise ValueError("method 'kernel' needs numba (pip install 'byzpgd[fast]')")
        try:
            return _settle_nonfinite(X, b, trim_kernel.trimmed_mean_kernel(X, b))
        except trim_kernel.KernelUnavailable as exc:
            _FAILED_KERNELS.add(b)   # warn once per b, then use numpy
            method = choose_method(m, d, b)
            warnings.warn(f"{exc}; using np.{method} instead", RuntimeWarning, stacklevel=2)
    out = _trimmed_mean_sort(X, b) if method == "sort" else _trimmed_mean_partition(X, b)
    return _settle_nonfinite(X, b, out)


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


def _trimmed_mean_sort(X: np.ndarray, b: int) -> np.ndarray:
    m = X.shape[0]
    Y = _rows(X)
    Y.sort(axis=1)                  # NaN last (above +Inf), as np.sort
    return _kept_mean(Y, b, m - b)


def _trimmed_mean_partition(X: np.ndarray, b: int) -> np.ndarray:
    m = X.shape[0]
    Y = _rows(X)
    Y.partition(b, axis=1)          # columns [0, b) of each row: its b smallest (NaN ranked last)
    Z = Y[:, b:]
    keep = m - 2 * b
    Z.partition(keep - 1, axis=1)   # columns [0, keep) of Z: its keep smallest
    return _kept_mean(Z, 0, keep)


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
