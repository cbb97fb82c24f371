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

tests/test_batched_rows.py checks both properties, bit for bit.
"""

from __future__ import annotations

import numpy as np


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
