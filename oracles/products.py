"""The one row-times-matrix kernel of the batched oracles: row i of X times its own matrix,
y_i = x_i M_i, i.e. y_ie = Σ_k x_ik M_ike, computed so that a row's result depends on that row
and its matrix only.

Why one kernel: a batch's rows belong to different trials, and how many rows a trial has in a
call changes with the batch's composition (one single query, a round batch of Q rows, the search
adversary's candidates). BLAS products round differently with the row count (a 1-row product is
a gemv, several rows a gemm with fused multiply-adds), and a batch that switched kernels by rows
per trial made a trial's arithmetic, hence its near-tied choices, depend on the other trials.
Here every row is summed in the order k = 0, 1, ..., d−1 with separate multiply and add (numpy's
``einsum`` with the output axis e innermost, e >= 2; an explicit loop over k when e = 1, where
einsum would switch to a lane-wise reduction over k). So a row's result is the same

- whatever the other rows are (one trial alone, B = 1, or any batch), and
- whatever zero padding follows its d coordinates (trials of several dimensions share a batch
  padded to the largest: x_ik = 0 adds exact zeros at the end of the sum).

:func:`indexed_row_products` (row i times ``mats[idx[i]]``, the batch's per-trial matrices) is
the same sum: with numba (the optional extra ``byzpgd[fast]``; off when ``BYZPGD_NO_NUMBA`` is
set, as for the trimmed mean's kernel) a compiled loop reads ``mats[idx[i]]`` in place, in the
same order with separate multiply and add (numba compiles without fast-math, so no fused
multiply-add), hence the same bits as numpy's gather and einsum, which it otherwise uses. The
gather of a (d, e) matrix per row costs as much as the product itself in numpy.

tests/test_batched_rows.py checks these properties, bit for bit, on both paths.
"""

from __future__ import annotations

import functools

import numpy as np

from byzpgd.numba_support import numba_available, signals_deferred


def row_products(X: np.ndarray, M: np.ndarray) -> np.ndarray:
    """(n, e) rows x_i M_i for X (n, d) and M (n, d, e) (one matrix per row) or (d, e) (one
    matrix for every row); each row summed over k in order (module docstring)."""
    X = np.asarray(X, dtype=np.float64)
    M = np.asarray(M, dtype=np.float64)
    if M.shape[-1] == 0 or X.shape[1] == 0:
        return np.zeros((X.shape[0], M.shape[-1]))
    if M.shape[-1] >= 2:
        return np.einsum("nd,de->ne" if M.ndim == 2 else "nd,nde->ne", X, M)
    col = M[..., 0]                                   # (n, d) or (d,)
    out = X[:, 0] * col[..., 0]
    for k in range(1, X.shape[1]):
        out = out + X[:, k] * col[..., k]
    return out[:, None]


def _indexed_numpy(X, mats, idx):
    return row_products(X, np.take(mats, idx, axis=0))


@functools.cache
def _indexed_compiled():
    """The compiled loop of :func:`indexed_row_products` (None without numba)."""
    if not numba_available():
        return None
    import numba

    @numba.njit(boundscheck=False, nogil=True, cache=False)
    def kernel(X, mats, idx, out):  # pragma: no cover - compiled
        n, d = X.shape
        e = mats.shape[2]
        for i in range(n):
            m = mats[idx[i]]
            for j in range(e):
                acc = X[i, 0] * m[0, j]
                for k in range(1, d):
                    acc = acc + X[i, k] * m[k, j]
                out[i, j] = acc
        return out

    with signals_deferred():          # compiled now (a Ctrl-C meanwhile is delivered after it)
        kernel(np.zeros((1, 1)), np.zeros((1, 1, 1)), np.zeros(1, dtype=np.int64), np.empty((1, 1)))
    return kernel


def indexed_row_products(X: np.ndarray, mats: np.ndarray, idx: np.ndarray, compiled: bool | None = None):
    """(n, e) rows x_i M_{idx[i]} for X (n, d), mats (B, d, e), idx (n,) trial indices: the sums
    of :func:`row_products` (module docstring), compiled where numba is available (``compiled``
    forces a path: True needs numba, False is numpy)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    kernel = _indexed_compiled() if compiled is not False else None
    if compiled and kernel is None:
        raise RuntimeError("the compiled row products need numba (byzpgd[fast])")
    if kernel is None or X.shape[0] == 0 or X.shape[1] == 0 or mats.shape[2] == 0:
        return _indexed_numpy(X, mats, idx)
    return kernel(X, np.ascontiguousarray(mats, dtype=np.float64), np.ascontiguousarray(idx, dtype=np.int64),
                  np.empty((X.shape[0], mats.shape[2])))
