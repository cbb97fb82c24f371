"""Mean (breakdown point 0), coordinate-wise median (Yin et al. 2018, docs/paper.md §6; breakdown
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
  squared distance to the centre overflows float64 (e.g. a row of 1e308); the centre is the
  coordinate-wise median (Krum for d > 2048: see ``pairwise_sq_distances``). A far
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
    """Coordinate-wise median ĝ_k = med{g_{i,k} : i ∈ [m]} (docs/paper.md §6; Yin, Chen,
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
    return _distances_from_gram(Xc @ Xc.T, far)


def _distances_from_gram(G: np.ndarray, far: np.ndarray) -> np.ndarray:
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


SKETCH_COORDS = 2048
"""Coordinates of the sketch that picks the centre row of ``pairwise_sq_distances``."""
GRAM_CHUNK = 16384
"""Columns per chunk of the fused centring + Gram accumulation."""
OFFSET_KAPPA = 16.0
"""Largest ratio max ‖x_i‖² / median ‖x_i − x_r‖² for which ``pairwise_sq_distances`` skips
centring (at most log2(16) = 4 bits lost against a Gram matrix centred at the data)."""


def pairwise_sq_distances(X) -> tuple[np.ndarray, np.ndarray]:
    """(D, far): the (m, m) squared distances of ``sq_distances`` and the far-row mask, in one
    pass over X and without forming a centred copy of it.

    For d <= ``SKETCH_COORDS`` the rows are centred at the coordinate-wise median (``centred``).
    Above, a sketch of ``SKETCH_COORDS`` evenly spaced coordinates picks a centre row x_r
    (``sketch_centre_row``) and tells whether the rows share a large common offset:

    * no large offset (max ‖x_i‖² <= ``OFFSET_KAPPA`` · median ‖x_i − x_r‖², checked on the
      sketch and again on the full Gram matrix): D from the uncentred Gram matrix X Xᵀ, whose
      rounding error (≈ γ_d(‖x_i‖² + ‖x_j‖²)) is then within a factor ``OFFSET_KAPPA`` of the
      centred one;
    * otherwise: the rows are centred at x_r (one of the data points, so the offset cancels
      exactly as with the median), the centring fused with the Gram accumulation
      ``GRAM_CHUNK`` columns at a time (G += Y Yᵀ, Y = X[:, chunk] − x_r[chunk]).

    A far row is one whose squared norm in the Gram matrix used is not finite (a non-finite entry
    spoils only its own row and column of G). If no row qualifies as centre, or more than
    ⌊(m − 1)/2⌋ rows come out far, the median-centred computation is used instead.
    """
    X = _as_workers(X)
    m, d = X.shape
    if d > SKETCH_COORDS:
        r, small_offset = _sketch(X)
        if r is not None and small_offset:
            with np.errstate(over="ignore", invalid="ignore"):
                G = X @ X.T
            far = ~np.isfinite(np.diag(G))
            D = _distances_from_gram(G, far)
            if _few_far(far) and _offset_is_small(np.diag(G), D[:, r], r):
                return D, far
        if r is not None:
            G = _gram_centred_at(X, X[r])
            far = ~np.isfinite(np.diag(G))
            if _few_far(far):
                return _distances_from_gram(G, far), far
    _, Xc, far = centred(X)
    return sq_distances(Xc, far), far


def _few_far(far: np.ndarray) -> bool:
    return np.count_nonzero(far) <= (far.size - 1) // 2


def _sketch(X: np.ndarray) -> tuple[int | None, bool]:
    """(r, small_offset) from the coordinate sketch: the centre row (``sketch_centre_row``)
    and whether the offset test of ``pairwise_sq_distances`` passes on the sketch."""
    m, d = X.shape
    S = X[:, np.unique(np.linspace(0, d - 1, min(d, SKETCH_COORDS)).astype(np.intp))]
    _, Sc, far = centred(S)
    Ds = sq_distances(Sc, far)
    r = sketch_centre_row(X, Ds)
    if r is None:
        return None, False
    with np.errstate(over="ignore", invalid="ignore"):
        sq_norms = np.einsum("ij,ij->i", S, S)
    return r, _offset_is_small(sq_norms, Ds[:, r], r)


def sketch_centre_row(X: np.ndarray, Ds: np.ndarray) -> int | None:
    """Index of an all-finite row of X near the bulk, or None if there is none: the row with
    the smallest sum of squared sketch distances ``Ds`` to its ⌈m/2⌉ nearest rows, skipping rows
    with a non-finite entry anywhere. With fewer than half of the rows Byzantine its sketch
    neighbourhood contains an honest row."""
    m = Ds.shape[0]
    k = min(m - 1, (m + 1) // 2)
    with np.errstate(invalid="ignore"):
        score = np.partition(Ds, k, axis=1)[:, :k + 1].sum(axis=1)
    for r in np.argsort(score, kind="stable"):
        if np.isfinite(score[r]) and np.isfinite(X[r]).all():
            return int(r)
    return None


def _offset_is_small(sq_norms: np.ndarray, sq_dist_to_r: np.ndarray, r: int) -> bool:
    ok = np.isfinite(sq_norms) & np.isfinite(sq_dist_to_r)
    ok[r] = False
    if not ok.any():
        return False
    return bool(sq_norms[ok].max() <= OFFSET_KAPPA * np.median(sq_dist_to_r[ok]))


def _gram_centred_at(X: np.ndarray, c: np.ndarray) -> np.ndarray:
    m, d = X.shape
    G = np.zeros((m, m))
    buf = np.empty((m, min(d, GRAM_CHUNK)))
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(0, d, GRAM_CHUNK):
            Y = buf[:, :min(GRAM_CHUNK, d - j)]
            np.subtract(X[:, j:j + Y.shape[1]], c[j:j + Y.shape[1]], out=Y)
            G += Y @ Y.T
    return G
