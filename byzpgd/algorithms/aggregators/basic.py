"""Mean (breakdown point 0), coordinate-wise median (Yin et al. 2018, paper-spec §6; breakdown
point 1/2 per coordinate) and the helpers shared by every aggregator: input validation, the
treatment of non-finite Byzantine rows, and squared distances from a centred Gram matrix.

Semantics of non-finite and huge Byzantine input (used by every rule of this package)
---------------------------------------------------------------------------------------
Byzantine rows may contain NaN, ±Inf or values like 1e308; they are data, never an error.

* Coordinate-wise rules (median, trimmed mean, the coordinate step of Bulyan) order each column
  with NaN ranked *above* +Inf (numpy's sort order): a NaN counts as an extreme value on the top
  side. With at most the rule's breakdown number of extreme entries per column the selected
  order statistics are finite and lie between honest values.
* Vector rules (geometric median, Krum, Bulyan's selection, centered clipping, nearest-neighbour
  mixing, iterative filtering) call a row *far* when it has a non-finite entry or when its
  squared distance to the coordinate-wise median overflows float64 (e.g. a row of 1e308). A far
  row is a point at infinite distance: Krum/NNM give it distance +Inf to every other row, in
  Weiszfeld and centered clipping its weight (1/‖x − z‖, resp. its clipped contribution) is 0,
  and the filter gives it weight 0 at the start (the limit of its first down-weighting step).
* The mean has no such semantics: one NaN row makes it NaN (breakdown point 0, by design).
"""

from __future__ import annotations

import numpy as np


def _as_workers(X) -> np.ndarray:
    """Validate worker vectors: a 2-D float64 array (m, d), m >= 1. Never copies a float64
    array, so callers must not write into the result."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"worker vectors must have shape (m, d) with m >= 1, d >= 1, got {X.shape}")
    return X


def mean(X) -> np.ndarray:
    """ĝ = (1/m) Σ_i g_i. Breakdown point 0: one Byzantine row moves it arbitrarily far (and a
    NaN row makes it NaN). Included as the non-robust baseline."""
    return _as_workers(X).mean(axis=0)


def coordinate_median(X) -> np.ndarray:
    """Coordinate-wise median ĝ_k = med{g_{i,k} : i ∈ [m]} (paper-spec §6; Yin, Chen,
    Ramchandran, Bartlett, ICML 2018). Breakdown point: ⌈m/2⌉ − 1 rows (fewer than half).

    One ``np.partition`` pass (single kth = ⌊m/2⌋, numpy's SIMD selection) on a copy; for even
    m the lower middle value is the maximum of the lower part, and the two are averaged as
    ½a + ½b (no overflow). NaN ranks above +Inf (module docstring), so with fewer than m/2
    non-finite entries in a column the result is finite.
    """
    X = _as_workers(X)
    m = X.shape[0]
    k = m // 2
    P = np.partition(X, k, axis=0)
    hi = P[k]
    if m % 2:
        return hi.copy()
    lo = P[:k].max(axis=0)
    return 0.5 * lo + 0.5 * hi


def far_rows(X: np.ndarray, centre: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the *far* rows (module docstring): a non-finite entry, or a squared
    distance to ``centre`` (default: the coordinate-wise median) that overflows float64."""
    X = _as_workers(X)
    if centre is None:
        centre = coordinate_median(X)
    with np.errstate(over="ignore", invalid="ignore"):
        diff = X - centre
        sq = np.einsum("ij,ij->i", diff, diff)
    return ~np.isfinite(sq)


def centred(X: np.ndarray):
    """(centre, Xc, far): the coordinate-wise median, X − centre with far rows set to 0 (a new
    array), and the far-row mask. Centring at a robust centre keeps Gram-matrix distances exact
    to rounding even under a large common offset, and bounded under attack."""
    X = _as_workers(X)
    centre = coordinate_median(X)
    if not np.all(np.isfinite(centre)):
        # beyond the median's breakdown point: centre at the finite part (0 where none)
        centre = np.where(np.isfinite(centre), centre, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        Xc = X - centre
        sq = np.einsum("ij,ij->i", Xc, Xc)
    far = ~np.isfinite(sq)
    if far.any():
        Xc[far] = 0.0
    return centre, Xc, far


def sq_distances(Xc: np.ndarray, far: np.ndarray) -> np.ndarray:
    """Pairwise squared distances (m, m) from the Gram matrix of centred rows:
    D_ij = ‖x_i‖² + ‖x_j‖² − 2⟨x_i, x_j⟩, clipped at 0 (rounding), +Inf to and from far rows
    (0 on the diagonal). O(m²d) in one BLAS call, never an (m, m, d) array."""
    G = Xc @ Xc.T
    sq = np.diag(G).copy()
    with np.errstate(over="ignore", invalid="ignore"):
        D = sq[:, None] + sq[None, :] - 2.0 * G
    D = np.where(np.isnan(D), np.inf, D)
    np.maximum(D, 0.0, out=D)
    if far.any():
        D[far, :] = np.inf
        D[:, far] = np.inf
    np.fill_diagonal(D, 0.0)
    return D
