"""Geometric median (Weiszfeld) and centered clipping: vector rules for audits and comparisons.

- Geometric median argmin_z Σ_i ‖g_i − z‖ (Weiszfeld 1937, with the Vardi–Zhang 2000 modification
  at data points; Minsker 2015 for its use as a robust mean; Chen, Su, Xu 2017 for Byzantine
  gradient descent). Breakdown point ⌈m/2⌉ − 1 rows.
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
    """The geometric median argmin_z f(z), f(z) = Σ_i ‖g_i − z‖, by Weiszfeld's iteration with the
    Vardi–Zhang modification (Vardi & Zhang, PNAS 97(4), 2000), started at the coordinate-wise median.

    At an iterate z that is no data point, the Weiszfeld step z ← T(z) = Σ w_i g_i / Σ w_i,
    w_i = 1/‖g_i − z‖. At a data point y_k of multiplicity η_k (the start often is one: with an odd
    number of rows the coordinate-wise median can be a row), let R_k = Σ_{g_i ≠ y_k} (g_i − y_k) /
    ‖g_i − y_k‖ and r_k = ‖R_k‖. Then 0 ∈ ∂f(y_k) iff r_k <= η_k (y_k is a minimiser); otherwise
    the Vardi–Zhang step z ← (1 − η_k/r_k)·T̃(y_k) + (η_k/r_k)·y_k (T̃: the Weiszfeld map over the
    other rows) strictly decreases f and leaves y_k. The iterates decrease f monotonically and
    converge to a minimiser (Vardi & Zhang 2000, Theorem 1).

    Stopping rules (``info['stop']``): 'subgradient', the norm of the minimum-norm subgradient,
    ‖∇f(z)‖ = ‖Σ (z − g_i)/‖z − g_i‖‖ at a non-data point and max(0, r_k − η_k) at a data point,
    is at most ``tol``·n (n finite rows; the subgradient is a sum of n unit vectors), so that
    f(z) − min f <= tol·n·‖z − z*‖; 'data_point', the data point nearest to the iterate (tested at
    every iteration) satisfies that test and is returned exactly (where Weiszfeld alone converges
    only sublinearly and ‖∇f‖ does not vanish); 'step', a step of at most ``tol`` times the rows'
    median distance s to the start, taken farther than 1e-9·s from every data point (near a
    minimiser that sits almost on a data point, r_k ≈ η_k, Weiszfeld is sublinear and the
    subgradient test is out of reach), or nearer when the Vardi–Zhang step from that data point
    does not lower f; 'rounding', a step at the rounding level of z;
    'max_iter'. ``info['converged']`` is False only for 'max_iter'. An iterate within 1e-9·s of a
    non-optimal data point is moved by the Vardi–Zhang step from that point when this lowers f
    (plain Weiszfeld escapes a point at distance δ only at the geometric rate r_k/η_k, so a δ
    near rounding would pass the step test: the bug this replaced).

    Far rows (``basic``) carry weight 0 (a point at infinite distance pulls with a unit vector in
    the limit, but its direction is undefined; they are dropped as in every vector rule here). The
    rows are centred at the coordinate-wise median (exact under offsets).
    """
    X = _as_workers(X)
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be finite and > 0, got {tol}")
    if not (isinstance(max_iter, int | np.integer) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    centre, Xc, far = centred(X)
    ok = ~far
    if not ok.any():
        out = np.full(X.shape[1], np.nan)
        info = {"iterations": 0, "converged": False, "subgradient_norm": np.nan, "at_data_point": False,
                "stop": "no_finite_rows"}
        return (out, info) if return_info else out
    z, info = _weiszfeld_vz(Xc[ok], float(tol), int(max_iter))
    out = centre + z
    return (out, info) if return_info else out


SNAP_RADIUS = 1e-9
"""An iterate closer than SNAP_RADIUS × (median distance of the rows to the start) to a data
point that is not a minimiser takes the Vardi–Zhang step from that point (if it lowers f)."""


def _norms(D: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", D, D))


class _DataPoint:
    """Vardi–Zhang quantities of data point k: η_k, r_k = ‖R_k‖ and T̃(y_k) (module docstring)."""

    __slots__ = ("eta", "r", "T")

    def __init__(self, Y: np.ndarray, k: int):
        dk = _norms(Y - Y[k])
        at = dk == 0.0
        self.eta = int(at.sum())
        w = np.where(at, 0.0, 1.0 / np.where(at, 1.0, dk))
        W = float(w.sum())
        S = w @ Y
        self.r = float(np.linalg.norm(S - W * Y[k]))
        self.T = S / W if W > 0 else Y[k].copy()

    def vz_step(self, y: np.ndarray) -> np.ndarray:
        lam = min(1.0, self.eta / self.r)
        return (1.0 - lam) * self.T + lam * y


def _weiszfeld_vz(Y: np.ndarray, tol: float, max_iter: int):
    """Weiszfeld–Vardi–Zhang on finite centred rows Y (n, d) from z = 0; (z, info)."""
    n, d = Y.shape
    z = np.zeros(d)
    dist = _norms(Y)
    scale = float(np.median(dist))
    if scale == 0.0:
        scale = float(dist.max())
    g_tol = tol * n
    cache: dict[int, _DataPoint] = {}
    info = {"iterations": 0, "converged": False, "subgradient_norm": np.nan, "at_data_point": False,
            "stop": ""}
    for it in range(1, max_iter + 1):
        info["iterations"] = it
        k = int(np.argmin(dist))
        p = cache.get(k)
        if p is None:
            p = cache[k] = _DataPoint(Y, k)
        if p.r <= p.eta + g_tol:                      # 0 ∈ ∂f(y_k) up to the tolerance: y_k is optimal
            z = Y[k].copy()
            info.update(converged=True, subgradient_norm=max(0.0, p.r - p.eta), at_data_point=True,
                        stop="data_point")
            return z, info
        near = False                                  # next to y_k and its Vardi–Zhang step does not help
        if dist[k] == 0.0:                            # z is the (non-optimal) data point y_k
            z_new = p.vz_step(Y[k])
        else:
            w = 1.0 / dist
            z_new = (w @ Y) / w.sum()
            if dist[k] <= SNAP_RADIUS * scale:        # trapped next to y_k: try the step from y_k
                vz = p.vz_step(Y[k])
                if _norms(Y - vz).sum() < _norms(Y - z_new).sum():
                    z_new = vz
                else:
                    near = True
        step = float(np.linalg.norm(z_new - z))
        z = z_new
        diff = Y - z
        dist = _norms(diff)
        if np.all(dist > 0.0):
            grad = float(np.linalg.norm((diff / dist[:, None]).sum(axis=0)))
            info["subgradient_norm"] = grad
            if grad <= g_tol:
                info.update(converged=True, stop="subgradient")
                return z, info
            if step <= tol * scale and (near or float(dist.min()) > SNAP_RADIUS * scale):
                info.update(converged=True, stop="step")
                return z, info
        if step <= 4.0 * np.finfo(np.float64).eps * (float(np.linalg.norm(z)) + scale):
            info["stop"] = "rounding"                 # no further progress possible
            return z, info
    info["stop"] = "max_iter"
    return z, info


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
