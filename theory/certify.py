"""Exact first- and second-order certificates of a point (docs/ARCHITECTURE.md, "theory/" and "Data flow").

- ‖∇F(w)‖ from the landscape's exact gradient (float64).
- λ_min(∇²F(w)):
  * d <= ``DENSE_MAX_DIM``: ``numpy.linalg.eigvalsh`` on the dense Hessian; backward stable, the
    error is at most about d·eps·‖∇²F‖ (stated as ``lambda_min_error``);
  * larger d: ``scipy.sparse.linalg.eigsh`` (Lanczos, which='SA') on a ``LinearOperator`` of
    Hessian-vector products, never forming the d x d matrix. The Ritz value θ is a Rayleigh
    quotient, hence θ >= λ_min; the residual ‖Hv − θv‖ bounds the distance from θ to the nearest
    eigenvalue (Weyl/Bauer–Fike for symmetric matrices) and is stated as ``lambda_min_error``.
    This certifies λ_min itself only when Lanczos converged to the bottom of the spectrum: with a
    known gap g = λ_2 − λ_1 larger than the residual (as on the cosine-saddle landscapes, whose
    spectrum is known exactly) the Kato–Temple bound θ − λ_1 <= residual²/g applies.
    ``benchmarks/lambda_min_certificate.py`` compares both against the exact spectrum at d = 10^5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

DENSE_MAX_DIM = 2000
EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Certificate:
    grad_norm: float
    lambda_min: float
    lambda_min_error: float
    method: str


def lambda_min_dense(hess: np.ndarray) -> tuple[float, float]:
    evals = np.linalg.eigvalsh(hess)
    scale = max(abs(evals[0]), abs(evals[-1]), 1e-300)
    return float(evals[0]), float(hess.shape[0] * EPS * scale)


def lambda_min_lanczos(landscape, w, tol: float = 1e-10, seed: int = 0) -> tuple[float, float]:
    """Smallest eigenvalue of ∇²F(w) by Lanczos on Hessian-vector products, with its residual."""
    dim = landscape.dim
    if dim < 3:
        raise ValueError(f"method 'lanczos' needs dim >= 3 (ARPACK), got dim {dim}; use 'eigvalsh'")
    op = LinearOperator((dim, dim), matvec=lambda v: landscape.hvp(w, np.ravel(v)), dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(dim)
    vals, vecs = eigsh(op, k=1, which="SA", tol=tol, v0=v0)
    v = vecs[:, 0] / np.linalg.norm(vecs[:, 0])
    residual = float(np.linalg.norm(landscape.hvp(w, v) - vals[0] * v))
    return float(vals[0]), residual


NONFINITE = Certificate(float("inf"), float("-inf"), 0.0, "nonfinite")
"""The certificate of a point where F's derivatives are not finite (a diverged run's last iterate):
the worst values, which violate every bound, never an error of the harness."""


def certify(landscape, w, method: str = "auto") -> Certificate:
    """Certificate of ``w``: exact gradient norm and λ_min with its stated accuracy
    (:data:`NONFINITE` when w, ∇F(w) or ∇²F(w) is not finite)."""
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        return NONFINITE
    with np.errstate(all="ignore"):
        gnorm = float(np.linalg.norm(landscape.grad(w)))
    if not np.isfinite(gnorm):
        return NONFINITE
    if method == "auto":
        method = "eigvalsh" if landscape.dim <= DENSE_MAX_DIM else "lanczos"
    if method == "eigvalsh":
        with np.errstate(all="ignore"):
            hess = landscape.hess(w)
        if not np.all(np.isfinite(hess)):
            return NONFINITE
        lam, err = lambda_min_dense(hess)
    elif method == "lanczos":
        lam, err = lambda_min_lanczos(landscape, w)
    else:
        raise ValueError(f"method must be 'auto', 'eigvalsh' or 'lanczos', got {method!r}")
    return Certificate(gnorm, lam, err, method)
