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

from ..products import row_products
from ..stacking import Stack, per_trial_product, segments, take_rows
from .base import Adversary, clip_to_budget, norms, saddle_eigenspace, unit


class SearchStack(Stack):
    """:func:`search_errors` once per query over the rows of many trials (every setting: the
    candidates, lookahead and refinement masked per row), each trial with its own parameters, its
    draws from its own generator in its order, its landscape's gradient and eigenspace. Where two
    candidates nearly tie, a rounding-level difference from the one-instance path (BLAS products
    in the one-instance landscape) can pick the other one (tests/test_batched.py)."""

    def __init__(self, items, trials, landscape):
        super().__init__(items, trials, landscape)
        self.K = np.array([x.K for x in self.items], dtype=np.int64)
        self.h = np.array([x.h for x in self.items], dtype=np.int64)
        self.n_refine = np.array([x.n_refine for x in self.items], dtype=np.int64)
        self.eta = np.array([x.eta for x in self.items])
        self.centre = self.pad([x.centre for x in self.items])
        self.V, self.VT = self.matrices([x.V for x in self.items])

    def errors(self, W, grad, idx):
        at = self.at(idx)
        d = W.shape[1]

        def normals(rows, K_max):
            """Each trial's draws (its rows, its K, its dimension) in its own order: the rows of a
            trial are contiguous in ``rows``, as they are in the batch."""
            Z = np.zeros((rows.size, K_max, d))
            trials, starts, stops = segments(at[rows])
            for i, s0, s1 in zip(trials.tolist(), starts.tolist(), stops.tolist(), strict=True):
                Ki, di = int(self.K[i]), int(self.dims[i])
                if Ki == K_max and di == d:          # drawn in place: the same stream
                    self.items[i].rng.standard_normal(out=Z[s0:s1])
                else:
                    Z[s0:s1, :Ki, :di] = self.items[i].rng.standard_normal((s1 - s0, Ki, di))
            return Z

        return search_errors(
            W, grad, self.delta[at], take_rows(self.centre, at), self.eta[at], self.K[at], self.h[at],
            self.n_refine[at], normals,
            project=lambda Y, rows: per_trial_product(Y, at[rows], self.V),
            expand=lambda P, rows: per_trial_product(P, at[rows], self.VT),
            grad=lambda X, rows: self.landscape.grad(X, idx[rows]))


class SearchBased(Adversary):
    name = "search"
    Stack = SearchStack

    def __init__(self, landscape, delta, rng, candidates: int = 8, lookahead: int = 1, refine: int = 1):
        for label, v, lo, hi in (("candidates", candidates, 1, 64), ("lookahead", lookahead, 0, 8),
                                 ("refine", refine, 0, 8)):
            if int(v) != v or not lo <= v <= hi:
                raise ValueError(f"{label} must be an integer in [{lo}, {hi}], got {v}")
        super().__init__(landscape, delta, rng, candidates=int(candidates), lookahead=int(lookahead),
                         refine=int(refine))
        self.K, self.h, self.n_refine = int(candidates), int(lookahead), int(refine)
        self.centre, self.V, _ = saddle_eigenspace(landscape)
        self.VT = np.ascontiguousarray(self.V.T)
        self.eta = 1.0 / landscape.L

    @classmethod
    def sample_params(cls, src):
        return {"candidates": src.integer(4, 12), "lookahead": src.integer(0, 2),
                "refine": src.integer(0, 2)}

    def objective(self, W, G, E):
        """J (module docstring) of errors E (k, M, d) at points W (k, d) with gradients G."""
        W, G = np.atleast_2d(W), np.atleast_2d(G)
        E = np.asarray(E, dtype=np.float64)
        k, M, d = E.shape
        J = lookahead_objective(W, G, E.reshape(-1, d), np.arange(k).repeat(M),
                                np.broadcast_to(self.centre, W.shape), np.full(k, self.eta),
                                np.full(k, self.h),
                                project=lambda Y, rows: row_products(Y, self.V),
                                grad=lambda X, rows: self.landscape.grad(X))
        return J.reshape(k, M)

    def error(self, w, grad):
        W, G = np.atleast_2d(w), np.atleast_2d(grad)
        k, d = W.shape
        ones = np.ones(k)

        def normals(rows, K_max):
            return self.rng.standard_normal((rows.size, K_max, d))

        e = search_errors(
            W, G, self.delta * ones, np.broadcast_to(self.centre, W.shape), self.eta * ones,
            np.full(k, self.K), np.full(k, self.h), np.full(k, self.n_refine), normals,
            project=lambda Y, rows: row_products(Y, self.V), expand=lambda P, rows: row_products(P, self.VT),
            grad=lambda X, rows: self.landscape.grad(X))
        return e if np.ndim(w) == 2 else e[0]


def search_errors(W, G, D, centre, eta, K, h, n_refine, normals, *, project, expand, grad):
    """The search (module docstring) for query rows W (n, d) with gradients G, every parameter
    one per row (Δ, the trap centre c, η, the candidate count K, the lookahead h, the refinement
    rounds): the one-instance adversary calls it with its own constants, the batched form with
    each trial's, all rows of all settings at once. ``normals(rows, K_max)``: standard normals
    (rows.size, K_max, d) for the batch rows ``rows`` (all rows of each of their trials), in each
    trial's own draw order (anything beyond a row's K); ``project(Y, rows)`` = Vᵀ-coordinates of
    rows Y (m, d) belonging to batch rows ``rows``; ``expand(P, rows)`` = V P; ``grad(X, rows)`` =
    ∇F at X. A row's candidates beyond its K are masked (J = +inf), its lookahead steps beyond its
    h and its rounds beyond its refinement count are not computed, so each row's result depends
    on that row alone (with row-wise ``project``, ``expand`` and ``grad``)."""
    n, d = W.shape
    every = np.arange(n)
    structured = np.stack([unit(-expand(project(G, every), every)), unit(-G), unit(W - centre)], axis=1)

    def best_of(rows, E, count):
        """The candidate of least J among the first ``count`` (per row) of E (m, M, d), the
        candidates of batch rows ``rows``, and its J (the others are not evaluated: J = +inf)."""
        m, M = E.shape[:2]
        valid = np.flatnonzero((np.arange(M)[None, :] < count[:, None]).ravel())
        J = np.full(m * M, np.inf)
        J[valid] = lookahead_objective(W, G, E.reshape(-1, d)[valid], rows[valid // M], centre, eta, h,
                                       project=project, grad=grad)
        J = J.reshape(m, M)
        j = np.argmin(J, axis=1)
        return E[np.arange(m), j], J[np.arange(m), j]

    Dc = D[:, None, None]
    rand = unit(normals(every, int(K.max())))
    best, best_j = best_of(every, Dc * np.concatenate([structured, rand], axis=1), 3 + K)
    for it in range(int(n_refine.max(initial=0))):
        rows = np.flatnonzero(n_refine > it)
        Kr = K[rows]
        trial = unit(best[rows, None, :] / Dc[rows] + 0.3 * unit(normals(rows, int(Kr.max()))))
        cand, j = best_of(rows, Dc[rows] * trial, Kr)
        better = j < best_j[rows]
        best[rows[better]], best_j[rows[better]] = cand[better], j[better]
    return clip_to_budget(best, D[:, None])


def lookahead_objective(W, G, E, owner, centre, eta, h, *, project, grad):
    """J(e) = ‖Vᵀ(x_h − c)‖ (module docstring) of candidate errors E (c, d), candidate i one of
    batch row ``owner[i]``: at that row's point W and gradient G, with its c, η and lookahead h
    (``project``/``grad`` as in :func:`search_errors`, each candidate row tagged by its owner).
    (c,) values."""
    eta_o = np.take(eta, owner)[:, None]
    X = np.take(W, owner, axis=0) - eta_o * (np.take(G, owner, axis=0) + E)
    ho = np.take(h, owner)
    for it in range(int(ho.max(initial=0))):
        if it == 0 and ho.min() > 0:       # every candidate steps: no row selection
            X = X - eta_o * grad(X, owner)
            continue
        sub = np.flatnonzero(ho > it)
        on = owner[sub]
        X[sub] = X[sub] - eta_o[sub] * grad(X[sub], on)
    return norms(project(X - np.take(centre, owner, axis=0), owner))
