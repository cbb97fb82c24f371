"""Distance-based rules for audits: Krum, multi-Krum, Bulyan, nearest-neighbour mixing.

- Krum (Blanchard, El Mhamdi, Guerraoui, Stainer, NeurIPS 2017): score(i) = Σ of the squared
  distances from g_i to its n − f − 2 nearest other rows; output the row of smallest score.
  Multi-Krum averages the q rows of smallest score (q = m − f by default). Requires m > 2f + 2.
- Bulyan (El Mhamdi, Guerraoui, Rouault, ICML 2018): select θ = m − 2f rows by repeated Krum
  (each round removes the selected row and re-scores the rest), then per coordinate average the
  β = θ − 2f selected values closest to their median. Requires m >= 4f + 3.
- Nearest-neighbour mixing, NNM (Allouah, Farhadkhani, Guerraoui, Gupta, Pinot, Stephan,
  AISTATS 2023): a *pre-aggregator* replacing each row by the mean of its m − f nearest rows
  (itself included), after which any rule (e.g. the trimmed mean) aggregates.

Distances come from the Gram matrix of rows centred at the coordinate-wise median
(``basic.sq_distances``): a common offset loses no precision, no (m, m, d) array is formed.
Krum itself uses ``basic.pairwise_sq_distances`` (one pass over X, no centred copy; for
d > 2048 centred at a data row picked on a coordinate sketch, or not centred at all when the
rows share no large offset), with the same far-row semantics.
Far rows (``basic``) are at distance +Inf from every other row: never among anyone's nearest
neighbours, score +Inf, never selected while enough finite rows exist; under NNM a far row stays
far (its output row is NaN) and so does any row whose neighbourhood had to include a far row.
"""

from __future__ import annotations

import numpy as np

from .basic import _as_workers, centred, pairwise_sq_distances, sq_distances
from .trimmed_mean import trimmed_mean


def _check_krum(m, f):
    if not (isinstance(f, int | np.integer) and f >= 0):
        raise ValueError(f"f must be an integer >= 0, got {f!r}")
    if m <= 2 * f + 2:
        raise ValueError(f"Krum needs m > 2f + 2 (m = {m}, f = {f}): "
                         f"m must be >= {2 * f + 3}")


def krum_scores(D: np.ndarray, f: int) -> np.ndarray:
    """Krum scores from squared distances D (m, m): sum of the m − f − 2 smallest off-diagonal
    entries of each row (one ``np.partition`` on the (m, m) matrix)."""
    m = D.shape[0]
    k = m - f - 2
    E = D.copy()
    np.fill_diagonal(E, np.inf)
    P = np.partition(E, k - 1, axis=1)[:, :k]
    with np.errstate(invalid="ignore"):
        return P.sum(axis=1)


def _scores(X, f):
    centre, Xc, far = centred(X)
    D = sq_distances(Xc, far)
    return centre, Xc, far, D, krum_scores(D, f)


def krum(X, f: int) -> np.ndarray:
    """The Krum row (a copy of one input row)."""
    X = _as_workers(X)
    _check_krum(X.shape[0], f)
    D, _ = pairwise_sq_distances(X)
    return X[int(np.argmin(krum_scores(D, f)))].copy()


def multi_krum(X, f: int, q: int | None = None) -> np.ndarray:
    """Mean of the q rows of smallest Krum score (default q = m − f)."""
    X = _as_workers(X)
    m = X.shape[0]
    _check_krum(m, f)
    q = m - f if q is None else q
    if not (isinstance(q, int | np.integer) and 1 <= q <= m):
        raise ValueError(f"q must be an integer in [1, {m}], got {q!r}")
    centre, Xc, far, D, s = _scores(X, f)
    idx = np.argsort(s, kind="stable")[:q]
    return centre + Xc[idx].mean(axis=0)


def bulyan(X, f: int) -> np.ndarray:
    """Bulyan (module docstring). The θ Krum rounds each re-score an (m', m') sub-matrix of
    the one distance matrix (vectorised); the coordinate step uses ``np.argpartition``."""
    X = _as_workers(X)
    m = X.shape[0]
    if not (isinstance(f, int | np.integer) and f >= 0):
        raise ValueError(f"f must be an integer >= 0, got {f!r}")
    if m < 4 * f + 3:
        raise ValueError(f"Bulyan needs m >= 4f + 3 (m = {m}, f = {f})")
    centre, Xc, far = centred(X)
    D = sq_distances(Xc, far)
    theta = m - 2 * f
    remaining = np.arange(m)
    chosen = []
    for _ in range(theta):  # selection rounds (θ <= m), each an O(m²) vectorised Krum
        sub = D[np.ix_(remaining, remaining)]
        if sub.shape[0] > 2 * f + 2:
            s = krum_scores(sub, f)
            j = int(np.argmin(s))
        else:  # too few rows left to score: take the one closest to the others
            j = int(np.argmin(np.where(np.isinf(sub), np.inf, sub).sum(axis=1)))
        chosen.append(remaining[j])
        remaining = np.delete(remaining, j)
    S = Xc[np.array(chosen)]
    Sf = np.where(far[np.array(chosen)][:, None], np.nan, S)
    beta = theta - 2 * f
    med = np.median(Sf, axis=0)
    dev = np.abs(Sf - med)
    dev = np.where(np.isnan(dev), np.inf, dev)
    idx = np.argpartition(dev, beta - 1, axis=0)[:beta]
    return centre + np.take_along_axis(S, idx, axis=0).mean(axis=0)


def nnm(X, f: int) -> np.ndarray:
    """Nearest-neighbour mixing: row i ↦ mean of its m − f nearest rows (itself included).
    A (m, m) mixing matrix times the centred rows: no (m, m, d) intermediate."""
    X = _as_workers(X)
    m = X.shape[0]
    if not (isinstance(f, int | np.integer) and 0 <= f < m):
        raise ValueError(f"f must be an integer in [0, m), got {f!r}")
    centre, Xc, far = centred(X)
    D = sq_distances(Xc, far)
    k = m - f
    nb = np.argpartition(D, k - 1, axis=1)[:, :k]
    W = np.zeros((m, m))
    np.put_along_axis(W, nb, 1.0 / k, axis=1)
    out = centre + W @ Xc
    bad = far | (W[:, far] > 0).any(axis=1) if far.any() else far
    out[bad] = np.nan
    return out


def nnm_trimmed_mean(X, f: int) -> np.ndarray:
    """NNM then the trimmed mean with f trimmed per side (Allouah et al. 2023's NNM ∘ CWTM)."""
    return trimmed_mean(nnm(X, f), int(f))
