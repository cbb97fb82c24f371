"""The search-based adversary: at every call it picks the error e in the Δ-ball by a small
optimization against a stated objective.

Objective (minimised): the escape progress along the negative-curvature eigenspace V of the trap
centre c (a strict saddle, docs/paper.md §2) after the step and ``lookahead`` further exact
gradient steps,

    J(e) = ‖Vᵀ(x_h − c)‖,  x_0 = w − η(∇F(w) + e),  x_{k+1} = x_k − η∇F(x_k),  η = 1/L_F

(η = 1/L_F is Theorem 1's step, known to the adversary). The search: ``candidates`` random
points of the sphere ‖e‖ = Δ plus three structured ones (the trap direction −V Vᵀ∇F, the shrink
direction −∇F and the pull-back direction w − c), then ``refine`` rounds of local random search
(each candidate perturbed on the sphere by 0.3Δ; the best is kept). Stateless given the query
point and fresh randomness, hence batchable: a (k, d) batch of queries is searched at once.
"""

from __future__ import annotations

import numpy as np

from .base import Adversary, clip_to_budget, negative_eigenspace, trap_centre, unit


class SearchBased(Adversary):
    name = "search"

    def __init__(self, landscape, delta, rng, candidates: int = 8, lookahead: int = 1, refine: int = 1):
        for label, v, lo, hi in (("candidates", candidates, 1, 64), ("lookahead", lookahead, 0, 8),
                                 ("refine", refine, 0, 8)):
            if int(v) != v or not lo <= v <= hi:
                raise ValueError(f"{label} must be an integer in [{lo}, {hi}], got {v}")
        super().__init__(landscape, delta, rng, candidates=int(candidates), lookahead=int(lookahead),
                         refine=int(refine))
        self.K, self.h, self.n_refine = int(candidates), int(lookahead), int(refine)
        self.centre = trap_centre(landscape)
        self.V = negative_eigenspace(landscape, self.centre)[0]
        self.eta = 1.0 / landscape.L

    @classmethod
    def sample_params(cls, src):
        return {"candidates": src.integer(4, 12), "lookahead": src.integer(0, 2),
                "refine": src.integer(0, 2)}

    def batch_params(self) -> dict:
        return {"K": self.K, "h": self.h, "n_refine": self.n_refine, "centre": self.centre,
                "V": self.V, "eta": self.eta}

    def objective(self, W, G, E):
        """J (module docstring) of errors E (k, M, d) at points W (k, d) with gradients G."""
        X = W[:, None, :] - self.eta * (G[:, None, :] + E)
        for _ in range(self.h):
            X = (X.reshape(-1, X.shape[-1]) - self.eta * self.landscape.grad(X.reshape(-1, X.shape[-1]))
                 ).reshape(X.shape)
        return np.linalg.norm((X - self.centre) @ self.V, axis=-1)

    def error(self, w, grad):
        W, G = np.atleast_2d(w), np.atleast_2d(grad)
        k, d = W.shape
        ones = np.ones(k)

        def normals(active, K_max):
            return self.rng.standard_normal((k, K_max, d))

        e = search_errors(
            W, G, self.delta * ones, np.broadcast_to(self.centre, W.shape), self.eta * ones,
            np.full(k, self.K), np.full(k, self.h), np.full(k, self.n_refine), normals,
            project=lambda Y, rows: Y @ self.V, expand=lambda P, rows: P @ self.V.T,
            grad=lambda X, rows: self.landscape.grad(X))
        return e if np.ndim(w) == 2 else e[0]


def search_errors(W, G, D, centre, eta, K, h, n_refine, normals, *, project, expand, grad):
    """The search (module docstring) for query rows W with gradients G, every parameter one per
    row (Δ, the trap centre c, η, the candidate count K, the lookahead h, the refinement rounds):
    the one-instance adversary calls it with its own constants, the batched form with each
    trial's. ``normals(active, K_max)``: standard normals (n, K_max, d) for the rows of active
    trials, in each trial's own draw order (anything where not active or beyond a row's K);
    ``project(Y, rows)`` = Vᵀ-coordinates of rows Y (m, d) of batch rows ``rows``; ``expand(P,
    rows)`` = V P; ``grad(X, rows)`` = ∇F at X. Rows with fewer candidates, lookahead steps or
    rounds than the largest have the extra ones masked (J = +inf, points not moved, rows not
    updated)."""
    n, d = W.shape
    K_max = int(K.max())
    structured = np.stack([unit(-expand(project(G, np.arange(n)), np.arange(n))), unit(-G),
                           unit(W - centre)], axis=1)

    def best_of(E, count):
        """The candidate of least J among the first ``count`` (per row) of E (n, M, d)."""
        M = E.shape[1]
        X = W[:, None, :] - eta[:, None, None] * (G[:, None, :] + E)
        for it in range(int(h.max(initial=0))):
            rows = np.flatnonzero(h > it)
            flat = X[rows].reshape(-1, d)
            step = flat - eta[rows].repeat(M)[:, None] * grad(flat, rows.repeat(M))
            X[rows] = step.reshape(rows.size, M, d)
        J = np.linalg.norm(project((X - centre[:, None, :]).reshape(-1, d), np.arange(n).repeat(M)),
                           axis=-1).reshape(n, M)
        J = np.where(np.arange(M)[None, :] < count[:, None], J, np.inf)
        j = np.argmin(J, axis=1)
        return E[np.arange(n), j], J[np.arange(n), j]

    rand = unit(normals(np.ones(n, dtype=bool), K_max))
    best, best_j = best_of(D[:, None, None] * np.concatenate([structured, rand], axis=1), 3 + K)
    for it in range(int(n_refine.max(initial=0))):
        active = n_refine > it
        trial = unit(best[:, None, :] / D[:, None, None] + 0.3 * unit(normals(active, K_max)))
        cand, j = best_of(D[:, None, None] * trial, K)
        better = active & (j < best_j)
        best = np.where(better[:, None], cand, best)
        best_j = np.where(better, j, best_j)
    return clip_to_budget(best, D[:, None])
