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

    def _objective(self, W, G, E):
        """J for errors E (k, M, d) at points W (k, d) with gradients G (k, d)."""
        X = W[:, None, :] - self.eta * (G[:, None, :] + E)
        shape = X.shape
        for _ in range(self.h):
            flat = X.reshape(-1, shape[-1])
            X = (flat - self.eta * self.landscape.grad(flat)).reshape(shape)
        return np.linalg.norm((X - self.centre) @ self.V, axis=-1)

    def _best(self, W, G, E):
        J = self._objective(W, G, E)
        idx = np.argmin(J, axis=1)
        rows = np.arange(W.shape[0])
        return E[rows, idx], J[rows, idx]

    def error(self, w, grad):
        W, G = np.atleast_2d(w), np.atleast_2d(grad)
        k, d = W.shape
        D = self.delta
        structured = np.stack([unit(-(G @ self.V) @ self.V.T), unit(-G), unit(W - self.centre)], axis=1)
        rand = unit(self.rng.standard_normal((k, self.K, d)))
        best, best_j = self._best(W, G, D * np.concatenate([structured, rand], axis=1))
        for _ in range(self.n_refine):
            trial = unit(best[:, None, :] / D + 0.3 * unit(self.rng.standard_normal((k, self.K, d))))
            cand, j = self._best(W, G, D * trial)
            better = j < best_j
            best = np.where(better[:, None], cand, best)
            best_j = np.where(better, j, best_j)
        e = clip_to_budget(best, D)
        return e if np.ndim(w) == 2 else e[0]
