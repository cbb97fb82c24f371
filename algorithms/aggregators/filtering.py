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
again under the filter's invariant), and after at most m rounds.

Top eigenpair, never a d × d matrix: ``method='gram'`` (default for m <= 1000) takes the exact
eigenpair of the m × m weighted Gram matrix of the rows centred at the coordinate-wise median
(one O(m²d) BLAS call, then O(m³) per round); ``method='lanczos'`` runs ``scipy.sparse.linalg.eigsh``
on the implicit operator u ↦ Y(Yᵀu) of the weighted centred m × d matrix Y (O(md) per product),
started from a vector drawn from ``numpy.random.default_rng(seed)``: reproducible.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from .basic import _as_workers, centred

MAD_SCALE = 1.4826  # 1/Φ^{-1}(3/4): MAD -> standard deviation for Gaussian data


def estimate_sigma2(Xc: np.ndarray, far: np.ndarray) -> float:
    """Median over coordinates of (1.4826·MAD_k)², from rows centred at the coordinate median."""
    rows = Xc[~far]
    if rows.shape[0] == 0:
        return 0.0
    mad = np.median(np.abs(rows), axis=0)
    return float(np.median((MAD_SCALE * mad) ** 2))


def _top_gram(K: np.ndarray, s: np.ndarray):
    M = s[:, None] * K * s[None, :]
    lam, U = np.linalg.eigh(M)
    return float(lam[-1]), U[:, -1]


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
    G = Xc @ Xc.T if method == "gram" else None
    rng = np.random.default_rng(seed)
    lam = np.nan
    rounds = 0
    for rounds in range(1, m + 1):  # noqa: B007  (rounds of the filter, each vectorised)
        w = c / c.sum()
        s = np.sqrt(w)
        if method == "gram":
            Gw = G @ w
            K = G - Gw[None, :] - Gw[:, None] + w @ Gw
            lam, u = _top_gram(K, s)
            proj = K @ (s * u) / np.sqrt(max(lam, 1e-300))
        else:
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
        if n_active - c_new.sum() > 2 * f:
            break
        c = c_new
    w = c / c.sum()
    out = centre + Xc.T @ w
    if return_info:
        return out, {"rounds": rounds, "weights": c, "lambda": lam, "threshold": threshold,
                     "sigma2": sigma2}
    return out


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
