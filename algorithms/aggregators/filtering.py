"""Iterative filtering: the bounded-covariance weighted filter of docs/paper.md §6 (Diakonikolas,
Kamath, Kane, Li, Moitra, Stewart 2016/2017; Steinhardt, Charikar, Valiant 2018), the third
GradAGG of Yin et al. 2019. Requires α < 1/4 (docs/paper.md §1); breakdown point ⌈m/4⌉ − 1 rows.

```
c_i ← 1 (0 for far rows, see ``basic``)
loop:
  μ ← Σ c_i g_i / Σ c_i ;  Σ ← Σ c_i (g_i − μ)(g_i − μ)ᵀ / Σ c_i
  (λ, v) ← top eigenpair of Σ
  if λ <= λ_th: return μ
  τ_i ← ⟨v, g_i − μ⟩² ;  c_i ← c_i (1 − τ_i / max_j τ_j)
```

Stopping rule (OWN adaptation, stated because the paper's was not recovered): λ_th =
C·σ²·(1 + √(d/m))² with C = 4 by default. σ² bounds the operator norm of one honest worker's
covariance (≈ ζ²/n for n samples of per-sample covariance ζ²); the factor (1 + √(d/m))² is the
Marchenko–Pastur edge of the top eigenvalue of m honest samples in dimension d, without which
the filter would never stop when d > m. With it an undetected shift is at most
σ·√(C α)(1 + √(d/m)) <= O(σ(√α + √(d/m))), the rate of docs/paper.md §6. σ² is given or
estimated as the median over coordinates of the squared normalised MAD of the rows
(1.4826·med_i |g_{i,k} − med_j g_{j,k}|)² — exact for isotropic noise, an underestimate by at most
the anisotropy ratio otherwise (pass ``sigma2`` then). Safeguard: the loop also stops once the
weight removed exceeds 2f (an honest set cannot lose more than the Byzantine weight plus as much
again under the filter's invariant), and after at most m rounds. Untrusted rows never make it
raise: a round that would remove all the weight left (two rows at a and −a) or whose spectrum
cannot be computed (rows near 1e154 overflow the Gram matrix: LinAlgError) ends the filter with
the weights it has.

Top eigenpair, never a d × d matrix: ``method='gram'`` (default for m <= 1000) takes the exact
eigenpair of the m × m weighted Gram matrix of the rows centred at the coordinate-wise median
(one O(m²d) BLAS call, then O(m³) per round; a round whose Frobenius norm already puts λ below the
threshold stops without it: λ <= ‖M‖_F, with margins that make the decision the eigendecomposition's
own, see ``_frobenius_stops``); ``method='lanczos'`` runs ``scipy.sparse.linalg.eigsh``
on the implicit operator u ↦ Y(Yᵀu) of the weighted centred m × d matrix Y (O(md) per product),
started from a vector drawn from ``numpy.random.default_rng(seed)``: reproducible.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from .basic import _as_workers, centred

MAD_SCALE = 1.4826  # 1/Φ^{-1}(3/4): MAD -> standard deviation for Gaussian data


def _median_nonneg(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=0)`` of a float64 array of non-negative (or NaN) entries, to the bit:
    the same order statistics (a sort instead of numpy's partition; equal values are equal, and
    a non-negative array holds no −0.0), the two middle ones averaged as (a + b)/2 like
    ``np.mean``, NaN where the column holds a NaN (numpy's NaN check). Without numpy's
    per-call overhead (the filter calls it twice per aggregation)."""
    n = a.shape[0]
    srt = np.sort(a, axis=0)
    k = n // 2
    mid = srt[k] if n % 2 else (srt[k - 1] + srt[k]) / 2.0
    last = srt[n - 1]
    return np.where(np.isnan(last), last, mid)


def estimate_sigma2(Xc: np.ndarray, far: np.ndarray) -> float:
    """Median over coordinates of (1.4826·MAD_k)², from rows centred at the coordinate median:
    MAD_k = med_i |Xc_{i,k}| over the rows that are not far (``_median_nonneg`` is np.median)."""
    rows = Xc[~far] if far.any() else Xc
    if rows.shape[0] == 0:
        return 0.0
    mad = _median_nonneg(np.abs(rows))
    return float(_median_nonneg((MAD_SCALE * mad) ** 2))


STOP_MARGIN = 1e-6
"""Relative margin of the Frobenius stop (``_frobenius_stops``), far above the rounding of both the
computed ‖M‖_F (<= m²ε relative) and LAPACK's eigenvalues (<= p(m)ε‖M‖₂, p a modest polynomial)
for every m whose m × m Gram matrix fits in memory (m²ε < 1e-6 up to m ≈ 6·10⁴)."""
STOP_FLOOR = 1e-150
"""Absolute margin of the same stop: covers the squares that underflow in ‖M‖_F (an error of at
most m·2^-537 ≈ m·4·10⁻¹⁶² in the norm)."""


def iterative_filtering(X, f: int, sigma2: float | None = None, C: float = 4.0, method: str = "auto",
                        seed: int = 0, return_info: bool = False):
    """Filtered mean of the rows of X (module docstring). ``f``: the number of Byzantine rows
    tolerated (for the 2f safeguard). Returns a (d,) vector, or (vector, info) with the rounds,
    final weights, λ and threshold when ``return_info``."""
    X = _as_workers(X)
    m, d = X.shape
    if not (isinstance(f, int | np.integer) and 0 <= f < m):
        raise ValueError(f"f must be an integer in [0, m), got {f!r}")
    if not (np.isfinite(C) and C > 0):
        raise ValueError(f"C must be finite and > 0, got {C}")
    if method == "auto":
        method = "gram" if m <= 1000 else "lanczos"
    if method not in ("gram", "lanczos"):
        raise ValueError(f"method must be 'auto', 'gram' or 'lanczos', got {method!r}")
    centre, Xc, far = centred(X)
    if sigma2 is None:
        sigma2 = estimate_sigma2(Xc, far)
    elif not (np.isfinite(sigma2) and sigma2 >= 0):
        raise ValueError(f"sigma2 must be finite and >= 0, got {sigma2}")
    c = (~far).astype(np.float64)
    n_active = c.sum()
    if n_active == 0:
        out = np.full(d, np.nan)
        return (out, {"rounds": 0}) if return_info else out
    threshold = C * sigma2 * (1.0 + np.sqrt(d / n_active)) ** 2
    if method == "gram":
        c, rounds, lam = _gram_rounds(Xc, c, n_active, threshold, f, return_info)
    else:
        c, rounds, lam = _lanczos_rounds(Xc, c, n_active, threshold, f, seed)
    w = c / c.sum()
    out = centre + Xc.T @ w
    if return_info:
        return out, {"rounds": rounds, "weights": c, "lambda": lam, "threshold": threshold,
                     "sigma2": sigma2}
    return out


def _frobenius_stops(M: np.ndarray, threshold) -> bool:
    """True when the top eigenvalue λ of the symmetric M is certainly <= the threshold without
    computing it: λ <= ‖M‖₂ <= ‖M‖_F, so ‖M‖_F(1 + STOP_MARGIN) + STOP_FLOOR <= threshold implies
    that the λ ``np.linalg.eigh`` computes is <= threshold as well (the margins cover the rounding
    of both). A NaN or infinite norm never stops here: such an M goes to ``np.linalg.eigh`` as
    before (NaN eigenvalues, or LinAlgError). The stop decision, hence the weights and the output,
    are those of the eigendecomposition, to the bit."""
    v = M.ravel()
    nrm = math.sqrt(v @ v)
    return nrm < math.inf and nrm * (1.0 + STOP_MARGIN) + STOP_FLOOR <= threshold


def _gram_rounds(Xc: np.ndarray, c: np.ndarray, n_active, threshold, f: int, need_lambda: bool):
    """The filter's rounds on the m × m Gram matrix G = Xc Xcᵀ (module docstring): (c, rounds, λ).

    Round with weights w = c/Σc and s = √w: K = G − 1(Gw)ᵀ − (Gw)1ᵀ + wᵀGw (the Gram matrix of the
    rows centred at their weighted mean), (λ, u) the top eigenpair of diag(s) K diag(s), whose
    eigenvalues are those of Σ; the projections ⟨v, g_i − μ⟩ = (K s u)_i / √λ. The projections
    are formed only when the round goes on filtering. Unless ``need_lambda`` (``return_info``: λ
    is reported), a round that ``_frobenius_stops`` ends without the eigendecomposition."""
    m = c.shape[0]
    G = Xc @ Xc.T
    two_f = 2 * f
    lam = np.nan
    rounds = 0
    for rounds in range(1, m + 1):  # noqa: B007  (rounds of the filter, each vectorised)
        w = c / c.sum()
        s = np.sqrt(w)
        Gw = G @ w
        K = G - Gw[None, :] - Gw[:, None] + w @ Gw
        M = s[:, None] * K * s[None, :]
        if not need_lambda and _frobenius_stops(M, threshold):
            lam = np.nan
            break
        try:
            vals, U = np.linalg.eigh(M)
        except np.linalg.LinAlgError:    # no spectrum (an overflowed Gram matrix): filtering stops
            lam = np.nan
            break
        lam, u = float(vals[-1]), U[:, -1]
        if lam <= threshold:
            break
        proj = K @ (s * u) / np.sqrt(max(lam, 1e-300))
        tau = np.where(c > 0, proj ** 2, 0.0)
        tmax = tau.max()
        if not tmax > 0:
            break
        c_new = c * (1.0 - tau / tmax)
        if n_active - c_new.sum() > two_f or not c_new.sum() > 0:
            break
        c = c_new
    return c, rounds, lam


def _lanczos_rounds(Xc: np.ndarray, c: np.ndarray, n_active, threshold, f: int, seed: int):
    """The filter's rounds with ``scipy.sparse.linalg.eigsh`` on u ↦ Y(Yᵀu), Y = diag(s)(Xc − 1μᵀ)
    (module docstring), started from ``numpy.random.default_rng(seed)``: (c, rounds, λ)."""
    m = c.shape[0]
    rng = np.random.default_rng(seed)
    lam = np.nan
    rounds = 0
    for rounds in range(1, m + 1):  # noqa: B007  (rounds of the filter, each vectorised)
        w = c / c.sum()
        s = np.sqrt(w)
        mu_c = Xc.T @ w
        def mv(u, s=s, mu_c=mu_c):
            u = np.ravel(u) * s
            y = Xc.T @ u - mu_c * u.sum()
            return s * (Xc @ y - mu_c @ y)
        op = LinearOperator((m, m), matvec=mv, dtype=np.float64)
        if m > 2:
            vals, vecs = eigsh(op, k=1, which="LA", v0=rng.standard_normal(m), tol=1e-8)
            lam, u = float(vals[0]), vecs[:, 0]
        else:
            M = np.column_stack([mv(e) for e in np.eye(m)])
            vals, vecs = np.linalg.eigh(0.5 * (M + M.T))
            lam, u = float(vals[-1]), vecs[:, -1]
        v = Xc.T @ (s * u) - mu_c * (s * u).sum()
        v /= max(np.linalg.norm(v), 1e-300)
        proj = Xc @ v - mu_c @ v
        if lam <= threshold:
            break
        tau = np.where(c > 0, proj ** 2, 0.0)
        tmax = tau.max()
        if not tmax > 0:
            break
        c_new = c * (1.0 - tau / tmax)
        if n_active - c_new.sum() > 2 * f or not c_new.sum() > 0:
            break
        c = c_new
    return c, rounds, lam


def make_iterative_filtering(m: int, f: int, sigma2: float | None = None, C: float = 4.0,
                             method: str = "auto", seed: int = 0):
    """The filter for m workers, at most f Byzantine. Warns (RuntimeWarning) when α = f/m >= 1/4:
    the filter's guarantee needs α < 1/4 (docs/paper.md §1)."""
    if f / m >= 0.25:
        warnings.warn(f"iterative filtering: alpha = f/m = {f / m:.3g} >= 1/4 voids its guarantee "
                      "(docs/paper.md §1 needs alpha < 1/4)", RuntimeWarning, stacklevel=2)

    def aggregate(X):
        return iterative_filtering(X, f, sigma2=sigma2, C=C, method=method, seed=seed)
    aggregate.__name__ = "iterative_filtering"
    return aggregate
