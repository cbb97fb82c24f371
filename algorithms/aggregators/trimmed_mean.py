"""Coordinate-wise β-trimmed mean (docs/paper.md §6; Yin, Chen, Ramchandran, Bartlett, ICML 2018).

For each coordinate k, drop the b = ⌊βm⌋ largest and the b smallest of {g_{i,k}} and average
the remaining m − 2b values. Requires α ≤ β < 1/2 (at most f = αm Byzantine rows, f <= b):
breakdown point b rows per coordinate. NaN ranks above +Inf (see ``basic``), so with at most b
extreme entries per column the kept values lie between honest values and the result is finite.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import trim_kernel
from .basic import _as_workers

KERNEL_MIN_ENTRIES = 2**18
"""Smallest m·d for which ``trimmed_mean`` uses the compiled kernel: below it a call costs
about a millisecond either way, and the kernel's one-time compilation (1–2 s per b) would
dominate short runs and the test suite."""


_FAILED_KERNELS: set[int] = set()


def trimmed_mean(X, b: int) -> np.ndarray:
    """Trim ``b`` values per side and per coordinate, average the rest.

    For 1 <= b <= ``trim_kernel.MAX_TRIM`` and at least ``KERNEL_MIN_ENTRIES`` entries, the
    compiled one-pass kernel of ``trim_kernel`` (2b compare-exchanges per entry, SIMD over
    coordinates; compiled on the first call with that b). Otherwise two in-place single-kth
    ``np.partition`` passes on one copy (the first puts the b smallest in rows [0, b), the second
    the m − 2b smallest of the remaining rows first), then the mean of the kept rows.
    """
    X = _as_workers(X)
    m = X.shape[0]
    if not (isinstance(b, int | np.integer) and 0 <= b and 2 * b < m):
        raise ValueError(f"b (values trimmed per side) must be an integer in [0, {(m - 1) // 2}] "
                         f"for m = {m}, got {b!r}")
    if b == 0:
        return X.mean(axis=0)
    if (b <= trim_kernel.MAX_TRIM and X.size >= KERNEL_MIN_ENTRIES and trim_kernel.available()
            and int(b) not in _FAILED_KERNELS):
        try:
            return trim_kernel.trimmed_mean_kernel(X, int(b))
        except trim_kernel.KernelUnavailable as exc:
            _FAILED_KERNELS.add(int(b))   # warn once per b, then use numpy
            warnings.warn(f"{exc}; using np.partition instead", RuntimeWarning, stacklevel=2)
    return _trimmed_mean_partition(X, b)


def _trimmed_mean_partition(X: np.ndarray, b: int) -> np.ndarray:
    m = X.shape[0]
    Y = X.copy()
    Y.partition(b, axis=0)          # rows [0, b) are the b smallest of each column
    Z = Y[b:]
    keep = m - 2 * b
    Z.partition(keep - 1, axis=0)   # rows [0, keep) of Z are its keep smallest
    return Z[:keep].mean(axis=0)


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
