"""Geometric median (Weiszfeld) and centered clipping: vector rules for audits and comparisons.

- Geometric median argmin_z Σ_i ‖g_i − z‖ (Weiszfeld 1937; Minsker 2015 for its use as a robust
  mean; Chen, Su, Xu 2017 for Byzantine gradient descent). Breakdown point ⌈m/2⌉ − 1 rows.
- Centered clipping (Karimireddy, He, Jaggi, ICML 2021): v ← v + (1/m) Σ_i clip_τ(g_i − v),
  clip_τ(x) = x·min(1, τ/‖x‖), repeated L times from a starting point v_0 (the previous
  aggregate in the original, momentum-based setting; here settable, default the coordinate-wise
  median). Each Byzantine row moves v by at most τ/m per iteration.

Far rows (``basic``) carry weight 0 in Weiszfeld (1/‖x − z‖ = 0) and contribute nothing to a
clipping step. Both run on rows centred at the coordinate-wise median (exact under offsets).
"""

from __future__ import annotations

import numpy as np

from .basic import _as_workers, centred


def geometric_median(X, tol: float = 1e-10, max_iter: int = 500, return_info: bool = False):
    """Weiszfeld iterations z ← Σ w_i g_i / Σ w_i, w_i = 1/max(‖g_i − z‖, ν), started at the
    coordinate-wise median, until ‖z_{t+1} − z_t‖ <= tol·(s + 1e-300) with s the median distance
    of the rows to the start (a relative tolerance), or ``max_iter`` iterations. ν = 1e-12·s
    guards a z that lands on a data point (Vardi–Zhang-type smoothing, affects z by O(ν))."""
    X = _as_workers(X)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be finite and > 0, got {tol}")
    centre, Xc, far = centred(X)
    ok = ~far
    if not ok.any():
        out = np.full(X.shape[1], np.nan)
        return (out, {"iterations": 0}) if return_info else out
    Y = Xc[ok]
    z = np.zeros(X.shape[1])
    dist = np.sqrt(np.einsum("ij,ij->i", Y, Y))
    scale = float(np.median(dist))
    nu = 1e-12 * scale + 1e-300
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        w = 1.0 / np.maximum(dist, nu)
        z_new = (w @ Y) / w.sum()
        step = np.linalg.norm(z_new - z)
        z = z_new
        diff = Y - z
        dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        if step <= tol * (scale + 1e-300):
            break
    out = centre + z
    return (out, {"iterations": it}) if return_info else out


def centered_clipping(X, tau: float | None = None, n_iter: int = 3, start=None) -> np.ndarray:
    """L = ``n_iter`` centered-clipping steps from ``start`` (default: the coordinate-wise
    median). ``tau`` default: the median distance of the rows to the start (scale-free)."""
    X = _as_workers(X)
    if not (isinstance(n_iter, int) and n_iter >= 1):
        raise ValueError(f"n_iter must be an integer >= 1, got {n_iter!r}")
    centre, Xc, far = centred(X)
    m, d = X.shape
    if start is None:
        v = np.zeros(d)
    else:
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (d,) or not np.all(np.isfinite(start)):
            raise ValueError(f"start must be a finite vector of shape ({d},)")
        v = start - centre
    ok = ~far
    Y = Xc[ok]
    if tau is None:
        diff = Y - v
        tau = float(np.median(np.sqrt(np.einsum("ij,ij->i", diff, diff)))) if len(Y) else 0.0
    elif not (np.isfinite(tau) and tau >= 0):
        raise ValueError(f"tau must be finite and >= 0, got {tau}")
    for _ in range(n_iter):
        diff = Y - v
        nrm = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        scale = np.minimum(1.0, tau / np.maximum(nrm, 1e-300))
        v = v + (scale @ diff) / m
    return centre + v
