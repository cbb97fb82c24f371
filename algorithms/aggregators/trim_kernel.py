"""Compiled one-pass kernel for the coordinate-wise β-trimmed mean with a small trim b.

The columns are processed in blocks of ``block_size(b)`` coordinates, rows streamed once. Per column the
kernel keeps the b smallest values seen so far (sorted, ``lo``) and the b largest of the rest
(sorted, ``hi``). Each new value x passes one compare-exchange chain through ``lo``
(lo_t, x ← min(lo_t, x), max(lo_t, x)), the value pushed out goes through ``hi`` the same way,
and the value pushed out of ``hi`` is neither among the b smallest nor the b largest: it is
added to the kept sum. Every step is a min/max on a whole block of columns at once (SIMD). The
first b values only fill ``lo`` (what they push out is its +Inf sentinel) and the next b only
fill ``hi`` (they push out −Inf sentinels), so the kept sum holds exactly the m − 2b middle
values; the result is that sum / (m − 2b). Cost: 2b compare-exchanges per entry, so the kernel
is used for b <= ``MAX_TRIM`` only (and ``trimmed_mean.choose_method`` picks it where a probe
timed it faster than numpy's sort and partition); numpy's partition is O(m) per column whatever b is.
numba is optional (the extra ``byzpgd[fast]``): without it, or with the environment variable
``BYZPGD_NO_NUMBA`` set to anything but empty or 0 (``NO_NUMBA_ENV``: benchmarks and tests of the
numpy-only dispatch), :func:`available` is False and the trimmed mean uses numpy. Both come from
the neutral :mod:`byzpgd.numba_support`, the one helper from outside its package that the
aggregators import (stdlib only: the aggregators stay liftable with it).

NaN ranks above +Inf (``basic``): a NaN enters as +Inf and is counted; a column with more than b
NaN keeps one, and its result is NaN, as in the sort definition. With at most b NaN the NaN
are among the b largest, and replacing them by +Inf changes no kept value.

The chain is unrolled for each b (source generated below, compiled by numba on first use of
that b and kept for the process), because a loop over the chain would keep the moving value in
memory instead of a register. Results equal the sort definition up to the summation order
(rows in order here, pairwise in ``numpy.mean``).
"""

from __future__ import annotations

import functools

import numpy as np

from byzpgd.numba_support import NO_NUMBA_ENV, numba_available, signals_deferred  # noqa: F401 (NO_NUMBA_ENV read here)

L1_BYTES = 24 * 1024
"""Budget for the (2b + 2, block) working array: it stays in the L1 data cache."""
MAX_TRIM = 32
"""Largest b for which the kernel is used."""


available = numba_available
"""True when numba imports and ``BYZPGD_NO_NUMBA`` (``NO_NUMBA_ENV``) is not set, read once per
process (:mod:`byzpgd.numba_support`, shared with the engine's compiled kernels); otherwise the
trimmed mean uses numpy."""


def trimmed_mean_kernel(X: np.ndarray, b: int) -> np.ndarray:
    """The b-trimmed mean of each column of a C-contiguous float64 (m, d) array, m > 2b,
    1 <= b <= ``MAX_TRIM`` (module docstring)."""
    m = X.shape[0]
    if not (1 <= b <= MAX_TRIM and m > 2 * b):
        raise ValueError(f"the kernel needs 1 <= b <= {MAX_TRIM} and m > 2b, got b = {b}, m = {m}")
    if not available():
        raise KernelUnavailable("the trimmed-mean kernel needs numba (pip install 'byzpgd[fast]')")
    out = np.empty(X.shape[1])
    from numba.core.errors import NumbaError

    try:
        _compiled(int(b))(np.ascontiguousarray(X, dtype=np.float64), out)
    except NumbaError as exc:   # compilation failed (numba/LLVM problem): never a wrong result
        raise KernelUnavailable(f"the trimmed-mean kernel for b = {b} did not compile: {exc}") from exc
    return out


class KernelUnavailable(RuntimeError):
    """The kernel could not be compiled; ``trimmed_mean`` then warns and uses numpy."""


@functools.cache
def _compiled(b: int):
    """The kernel for trim b, compiled now for the one signature :func:`trimmed_mean_kernel`
    calls it with (C-contiguous float64 (m, d) and (d,)), inside ``signals_deferred``: a Ctrl-C
    during compilation is delivered after it instead of being dropped in LLVM's callback."""
    import numba

    namespace = {"np": np}
    exec(compile(kernel_source(b), f"<byzpgd trimmed-mean kernel b={b}>", "exec"), namespace)
    kernel = numba.njit(boundscheck=False, nogil=True)(namespace["kernel"])
    with signals_deferred():
        kernel(np.zeros((2 * b + 1, 1)), np.empty(1))
    return kernel


def block_size(b: int) -> int:
    """Coordinates per block: 64 while the working array fits ``L1_BYTES``, else 32 (measured
    with benchmarks/aggregators.py: 16 and >= 128 were slower at b = 5 and b = 20)."""
    return 64 if (2 * b + 2) * 64 * 8 <= L1_BYTES else 32


def kernel_source(b: int) -> str:
    """Python source of the kernel for trim b. Working array rows: [0, b) ``lo`` ascending,
    [b, 2b) ``hi`` descending, 2b the kept sum, 2b + 1 the NaN count."""
    load = ["v = row[j]", f"W[{2 * b + 1}, j] += 1.0 if v != v else 0.0", "v = np.inf if v != v else v"]
    through_lo = [s for t in range(b) for s in (f"a = W[{t}, j]", f"W[{t}, j] = min(a, v)", "v = max(a, v)")]
    through_hi = [s for t in range(b, 2 * b)
                  for s in (f"a = W[{t}, j]", f"W[{t}, j] = max(a, v)", "v = min(a, v)")]
    keep = [f"W[{2 * b}, j] += v"]
    block = block_size(b)

    def rows(first, last, steps):
        body = "".join(f"                {s}\n" for s in steps)
        return (f"        for i in range({first}, {last}):\n"
                f"            row = X[i, j0:j0 + w]\n"
                f"            for j in range(w):\n{body}")

    return (
        "def kernel(X, out):\n"
        "    m, d = X.shape\n"
        f"    W = np.empty(({2 * b + 2}, {block}))\n"
        f"    for j0 in range(0, d, {block}):\n"
        f"        w = min({block}, d - j0)\n"
        f"        W[:{b}] = np.inf\n"
        f"        W[{b}:{2 * b}] = -np.inf\n"
        f"        W[{2 * b}:] = 0.0\n"
        + rows(0, b, load + through_lo)
        + rows(b, 2 * b, load + through_lo + through_hi)
        + rows(2 * b, "m", load + through_lo + through_hi + keep)
        + "        for j in range(w):\n"
        f"            out[j0 + j] = np.nan if W[{2 * b + 1}, j] > {b} else W[{2 * b}, j] / (m - {2 * b})\n"
    )
