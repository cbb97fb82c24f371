"""Batched landscapes and Δ-inexact oracles: B independent instances of one family and one
dimension answered at once, for :func:`byzpgd.algorithms.engine.batched_perturbed_gd`.

Rows and trials: a query is ``W`` (N, d) with ``idx`` (N,) the trial (instance) of each row,
rows grouped by trial. Every class here computes, row by row, its one-instance counterpart's
formula by calling the same function (``cosine_terms``, ``phase_grad``, ``shrink_errors``,
``search_errors``, ...: written once, in the landscape's or adversary's module), so a row's answer
equals the one-instance answer up to the rounding of the small matrix products and sums over a
row; what is stacked here is only the parameters. Every per-trial matrix product goes through
one kernel (:func:`~.products.indexed_row_products`: each row summed in one order), so a trial's
rows are the same bits alone (a batch of one) or in any batch (tests/test_batched_rows.py).

- :class:`BatchedCosineSaddle`, :class:`BatchedPhaseRetrieval`: stacked parameters (rotations as
  (B, d, d) matrices) of :class:`~byzpgd.oracles.landscapes.CosineSaddle` and
  :class:`~byzpgd.oracles.landscapes.PhaseRetrieval`; :func:`batch_landscapes` builds one.
- :class:`BatchedAdversary`: the errors of the stateless adversaries of
  :mod:`byzpgd.oracles.adversaries` (random_direction, uniform_ball, shrink, trap, target_field,
  pull_back, search; the foundation's ``RandomDirectionOracle``; the exact oracle; kinds may be
  mixed in one batch), computed by each adversary's own error function (``shrink_errors``,
  ``trap_errors``, ...: the one-instance oracle calls the same) from the parameters it declares
  (``Adversary.batch_params``), each trial's random draws from its own generator in the order its
  one-instance oracle makes them (:func:`batch_adversaries`; ``None`` when an oracle cannot be
  batched). The white-box adaptive adversary keeps its state (phase, candidate, the candidate's
  negative eigenspace) one row per trial, from the loop's events (``notify``). The search
  adversary's error is an argmin over candidates: where two
  candidates nearly tie, a rounding-level difference can pick the other one, so its batched
  trials follow the one-instance path (BLAS products in the one-instance landscape) only up to
  such ties (tests/test_batched.py); it runs once per query over the rows of every setting
  (candidates, lookahead, refinement masked per row).
- :class:`BatchedCertifiedOracle`: the certifying layer of
  :class:`~byzpgd.oracles.inexact.CertifiedOracle` (error <= Δ + 4·eps·(‖ĝ‖ + ‖∇F‖) per row,
  finite answers), ending a trial with an error status instead of raising, and recording each
  trial's ``max_query_norm``.
"""

from __future__ import annotations

import numpy as np

from ..algorithms.engine import ERROR_PREFIX, row_norms
from .adversaries.adaptive import candidate_eigenspace, round_errors
from .adversaries.base import BUDGET_FACTOR, Adversary
from .adversaries.noise import random_direction_errors, uniform_ball_errors
from .adversaries.pullback import pull_back_errors
from .adversaries.search import search_errors
from .adversaries.shrink import shrink_errors
from .adversaries.trap import target_field_errors, trap_errors
from .inexact import EPS, InexactOracle, RandomDirectionOracle, random_norm_delta_errors
from .landscapes import CosineSaddle, PhaseRetrieval
from .landscapes.base import _rotation_scale
from .landscapes.cosine_saddle import (
    cosine_term_changes,
    cosine_terms,
    cosine_terms_grad,
    quadratic_term_changes,
)
from .landscapes.phase_retrieval import phase_grad, phase_term_changes, phase_value
from .landscapes.rotation import DenseRotation, Rotation
from .products import indexed_row_products, row_products


def take_rows(X, idx):
    """X[idx] along the first axis (np.take: several times faster than fancy indexing for
    2-D and 3-D X)."""
    return np.take(X, idx, axis=0)


def _rownorm(X):
    return row_norms(X)[:, None]


def _unit(X):
    n = _rownorm(X)
    return np.where(n > 0, X / np.maximum(n, 1e-300), 0.0)


def _unit3(X):
    """x/‖x‖ along the last axis of a 3-D array (0 where x = 0), as ``adversaries.base.unit``."""
    n = np.linalg.norm(X, axis=-1, keepdims=True)
    return np.where(n > 0, X / np.maximum(n, 1e-300), 0.0)


def _clip(E, Delta_rows):
    """``clip_to_budget`` of adversaries.base with one Δ per row."""
    cap = Delta_rows[:, None] * BUDGET_FACTOR
    return E * np.minimum(1.0, cap / np.maximum(_rownorm(E), 1e-300))


class BatchedLandscape:
    """B landscapes of one family, dimensions d_b <= ``dim``: trial b lives in the first d_b
    coordinates (``dims``), the others are inert (gradient 0, no contribution to F), so
    instances of several dimensions share one batch. ``grad(W, idx)`` (N, dim),
    ``value(W, idx)`` (N,); ``L``, ``rho``, ``f_star`` arrays (B,); ``items`` the one-instance
    landscapes."""

    def __init__(self, items, dim: int | None = None):
        self.items = list(items)
        self.B = len(self.items)
        self.dims = np.array([x.dim for x in self.items], dtype=np.int64)
        self.dim = int(self.dims.max()) if dim is None else int(dim)
        if self.dims.max() > self.dim:
            raise ValueError(f"dim {self.dim} is below an instance's dimension {self.dims.max()}")
        self.L = np.array([x.L for x in self.items])
        self.rho = np.array([x.rho for x in self.items])
        self.f_star = np.array([x.f_star for x in self.items])

    def pad(self, vectors) -> np.ndarray:
        """(B, dim): each trial's vector followed by zeros."""
        out = np.zeros((self.B, self.dim))
        for b, v in enumerate(vectors):
            out[b, :self.dims[b]] = v
        return out


def _segments(idx):
    """(trial, start, stop) of each run of equal trial indices (rows are grouped by trial)."""
    cut = np.flatnonzero(idx[1:] != idx[:-1]) + 1
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [idx.size]])
    return idx[starts], starts, stops


def per_trial_product(X, idx, mats):
    """Row i times mats[idx[i]]: X (N, d), mats (B, d, e) (a transpose is stored as its own
    contiguous stack). One sum for every row (:func:`~.products.indexed_row_products`), so a
    row's result depends on neither how many rows its trial has in this call nor the other trials."""
    return indexed_row_products(X, mats, idx)


def _transposes(mats):
    """The stack of transposes, contiguous (B, e, d)."""
    return np.ascontiguousarray(np.swapaxes(mats, 1, 2))


def _dense(rotation: Rotation, dim: int) -> np.ndarray:
    """The matrix M with ``rotation.apply_t(w) = w @ M`` (identity: I, exactly)."""
    if isinstance(rotation, DenseRotation):
        return rotation.matrix
    if type(rotation) is Rotation:
        return np.eye(dim)
    return rotation.apply(np.eye(dim)).T     # Householder: dense here (small d only)


class BatchedCosineSaddle(BatchedLandscape):
    """Stacked :class:`CosineSaddle` (any dimensions and numbers of negative directions: per
    coordinate of the rotated basis, a mask says whether it is a cosine or a quadratic one; an
    inert coordinate is quadratic with a = 0 and an identity block in the rotation)."""

    def __init__(self, items, dim: int | None = None):
        super().__init__(items, dim)
        B, D = self.B, self.dim
        self.neg = np.zeros((B, D), dtype=bool)
        self.a = np.zeros((B, D))
        self.gamma = np.ones((B, D))
        self.s = np.ones((B, D))
        self.M = np.tile(np.eye(D), (B, 1, 1))
        for b, x in enumerate(self.items):
            n, d = x.n_neg, x.dim
            self.neg[b, :n] = True
            self.gamma[b, :n], self.s[b, :n] = x.gamma, x.s
            self.a[b, n:d] = x.a
            self.M[b, :d, :d] = _dense(x.rotation, d)
        self.MT = _transposes(self.M)
        self.n_neg_max = k = int(self.neg.sum(axis=1).max(initial=0))
        # the cosine columns as contiguous (B, k) arrays, for fast row gathers
        self.s_k, self.gamma_k, self.neg_k = (np.ascontiguousarray(x[:, :k])
                                              for x in (self.s, self.gamma, self.neg))

    def _y(self, W, idx):
        """Qᵀw of each row (w @ M)."""
        return per_trial_product(W, idx, self.M)

    def value(self, W, idx):
        y = self._y(W, idx)
        k = self.n_neg_max        # a trial's cosine coordinates are its first n_neg ones
        yk, s = y[:, :k], take_rows(self.s_k, idx)
        cosine = np.where(take_rows(self.neg_k, idx), cosine_terms(yk, take_rows(self.gamma_k, idx), s), 0.0)
        # a = 0 on the cosine coordinates
        return 0.5 * np.sum(take_rows(self.a, idx) * y**2, axis=1) + np.sum(cosine, axis=1)

    def value_changes(self, W0, W1, idx):
        """F(W1[i]) − F(W0[i]) for the rows' trials, each term differenced analytically by the
        one-instance landscape's functions, and the scale of those terms (as
        :meth:`CosineSaddle.value_changes`)."""
        D, S = W1 - W0, W1 + W0
        M = take_rows(self.M, idx)                   # gathered once for both products
        yd, ys = row_products(D, M), row_products(S, M)
        k = self.n_neg_max
        quad = quadratic_term_changes(yd, ys, take_rows(self.a, idx))     # a = 0 on the cosine ones
        trig = np.where(take_rows(self.neg_k, idx),
                        cosine_term_changes(yd[:, :k], ys[:, :k], take_rows(self.gamma_k, idx),
                                            take_rows(self.s_k, idx)), 0.0)
        change = quad.sum(axis=1) + trig.sum(axis=1)
        return change, (np.abs(quad).sum(axis=1) + np.abs(trig).sum(axis=1)
                        + _rotation_scale(self.L[idx], D, S))

    def grad(self, W, idx):
        y = self._y(W, idx)
        k = self.n_neg_max
        gy = take_rows(self.a, idx) * y
        yk, s = y[:, :k], take_rows(self.s_k, idx)
        neg = take_rows(self.neg_k, idx)
        gy[:, :k] = np.where(neg, cosine_terms_grad(yk, take_rows(self.gamma_k, idx), s), gy[:, :k])
        return per_trial_product(gy, idx, self.MT)


class BatchedPhaseRetrieval(BatchedLandscape):
    """Stacked :class:`PhaseRetrieval` (w* padded with zeros)."""

    def __init__(self, items, dim: int | None = None):
        super().__init__(items, dim)
        self.w_star = self.pad([x.w_star for x in self.items])
        self.n2s = np.array([x.norm2_star for x in self.items])
        self.domain_radius = np.array([x.domain_radius for x in self.items])

    def value(self, W, idx):
        ws = take_rows(self.w_star, idx)
        return phase_value(np.einsum("nd,nd->n", W, W), np.einsum("nd,nd->n", W, ws), self.n2s[idx])

    def value_changes(self, W0, W1, idx):
        """As :meth:`PhaseRetrieval.value_changes`, row by row."""
        ws = take_rows(self.w_star, idx)
        D, S = W1 - W0, W1 + W0
        dn = np.einsum("nd,nd->n", D, S)
        sn = np.einsum("nd,nd->n", W1, W1) + np.einsum("nd,nd->n", W0, W0)
        terms = phase_term_changes(dn, sn, np.einsum("nd,nd->n", D, ws), np.einsum("nd,nd->n", S, ws),
                                   self.n2s[idx])
        return sum(terms), sum(np.abs(t) for t in terms) + _rotation_scale(self.L[idx], D, S)

    def grad(self, W, idx):
        ws = take_rows(self.w_star, idx)
        return phase_grad(W, np.sum(W * W, axis=-1, keepdims=True), np.einsum("nd,nd->n", W, ws)[:, None],
                          self.n2s[idx][:, None], ws)


def batch_landscapes(items, dim: int | None = None) -> BatchedLandscape:
    """The batched form of a list of landscapes of one family (ValueError otherwise)."""
    kinds = {type(x) for x in items}
    if kinds == {CosineSaddle}:
        return BatchedCosineSaddle(items, dim)
    if kinds == {PhaseRetrieval}:
        return BatchedPhaseRetrieval(items, dim)
    raise ValueError(f"no batched form for landscapes {sorted(k.__name__ for k in kinds)}")


BATCHABLE = ("exact", "random_direction_oracle", "random_direction", "uniform_ball", "shrink", "trap",
             "target_field", "pull_back", "search", "adaptive")


def oracle_kind(oracle) -> str | None:
    if isinstance(oracle, Adversary):
        if oracle.delta == 0:
            return "exact"                   # Adversary.__call__ answers ∇F(w), draws nothing
        return oracle.name if oracle.name in BATCHABLE else None
    if isinstance(oracle, RandomDirectionOracle):
        return "random_direction_oracle"
    if type(oracle) is InexactOracle:
        return "exact"
    return None


class BatchedAdversary:
    """ĝ = ∇F + e row by row for B one-instance oracles (module docstring; kinds may be mixed);
    each trial's draws come from its own oracle's generator (``items[b].rng``), so the
    one-instance oracle object must not be used elsewhere meanwhile."""

    def __init__(self, items, landscape: BatchedLandscape):
        self.items, self.landscape = list(items), landscape
        kinds = [oracle_kind(x) for x in self.items]
        if None in kinds:
            raise ValueError("an oracle of the batch has no batched form")
        self.names = sorted(set(kinds))          # kinds as integer codes into names
        self.codes = np.array([self.names.index(k) for k in kinds], dtype=np.int64)
        self.exact_code = self.names.index("exact") if "exact" in self.names else -1
        self.inexact = self.names != ["exact"]
        B, d = len(self.items), landscape.dim
        self.delta = np.array([x.delta for x in self.items])
        self.rngs = [x.rng if k != "exact" else None for x, k in zip(self.items, kinds, strict=True)]
        self.dims = landscape.dims
        # each adversary declares what its batched form reads (Adversary.batch_params); a trial
        # of another kind gets a neutral value its rows never use
        params = [x.batch_params() if isinstance(x, Adversary) else {} for x in self.items]

        def stacked(key, default, dtype=np.float64):
            return np.array([p.get(key, default) for p in params], dtype=dtype)

        self.fraction, self.kappa = stacked("fraction", 1.0), stacked("kappa", 1.0)
        self.kappa_f, self.eta = stacked("kappa_f", 1.0), stacked("eta", 0.0)
        self.K, self.h = stacked("K", 0, np.int64), stacked("h", 0, np.int64)
        self.n_refine = stacked("n_refine", 0, np.int64)
        self.centre = landscape.pad([p.get("centre", 0.0) for p in params])
        self.target = landscape.pad([p.get("target", 0.0) for p in params])
        # the white-box adaptive adversary's state, one row per trial (its events: notify)
        self.curvature = stacked("curvature_mode", False, bool)
        self.in_round = np.zeros(B, dtype=bool)
        self.candidate = np.zeros((B, d))
        self.cand_V = np.zeros((B, d, d))             # zero columns add exact zeros
        self.cand_VT = np.zeros((B, d, d))            # its transposes (per_trial_product)
        self.has_cand_V = np.zeros(B, dtype=bool)
        # at least 2 columns: row_products' einsum path (zero columns add exact zeros)
        width = max([p["V"].shape[1] for p in params if "V" in p] + [2])
        self.V = np.zeros((B, d, width))
        for b, p in enumerate(params):
            if "V" in p:
                self.V[b, :p["V"].shape[0], :p["V"].shape[1]] = p["V"]
        self.VT = _transposes(self.V)

    def _normals(self, idx, uniform):
        """Each trial's standard normals for its rows (then, with ``uniform``, one uniform per
        row), in the order its one-instance oracle draws them (rows grouped by trial)."""
        D = self.landscape.dim
        Z = np.zeros((idx.size, D))
        Uu = np.empty((idx.size, 1)) if uniform else None
        trials, starts, stops = _segments(idx)
        for b, s0, s1 in zip(trials.tolist(), starts.tolist(), stops.tolist(), strict=True):
            rng, db = self.rngs[b], int(self.dims[b])
            if db == D:                      # contiguous rows: drawn in place, same stream
                rng.standard_normal(out=Z[s0:s1])
            else:
                Z[s0:s1, :db] = rng.standard_normal((s1 - s0, db))
            if uniform:
                rng.random(out=Uu[s0:s1])
        return Z, Uu

    def _error(self, k, W, grad, idx):
        """The rows' errors by the adversary's own formula (oracles/adversaries/*), with its
        parameters as one column per row."""
        D = self.delta[idx]
        Dc = D[:, None]
        if k in ("random_direction", "random_direction_oracle", "uniform_ball"):
            Z, Uu = self._normals(idx, k == "uniform_ball")
            if k == "random_direction_oracle":
                return random_norm_delta_errors(Z, Dc)
            if k == "random_direction":
                return random_direction_errors(Z, Dc)
            return uniform_ball_errors(Z, Uu, Dc, self.dims[idx][:, None])
        if k == "shrink":
            return shrink_errors(grad, Dc, self.fraction[idx][:, None])
        if k == "trap":
            g_v = per_trial_product(grad, idx, self.V)
            return trap_errors(per_trial_product(g_v, idx, self.VT), Dc,
                               self.kappa[idx][:, None])
        if k == "target_field":
            return target_field_errors(W, grad, Dc, self.kappa_f[idx][:, None], take_rows(self.target, idx))
        if k == "pull_back":
            return pull_back_errors(W, Dc, self.fraction[idx][:, None], take_rows(self.centre, idx))
        if k == "adaptive":
            return self._adaptive(W, grad, idx, Dc)
        if k == "search":      # one call for every setting (K, lookahead, refine): masked per row
            return self._search(W, grad, idx, D)
        raise AssertionError(k)  # pragma: no cover - oracle_kind admits only the kinds above

    def _adaptive(self, W, grad, idx, Dc):
        """The white-box adaptive adversary's formulas (:mod:`~.adversaries.adaptive`) per row:
        the trap around the known saddle outside rounds, :func:`round_errors` inside one."""
        E = trap_errors(per_trial_product(per_trial_product(grad, idx, self.V), idx, self.VT),
                        Dc, self.kappa[idx][:, None])
        rnd = self.in_round[idx]
        if rnd.any():
            r, ir = np.flatnonzero(rnd), idx[rnd]
            P = per_trial_product(grad[r], ir, self.cand_V)
            GV = per_trial_product(P, ir, self.cand_VT)
            E[r] = round_errors(W[r] - take_rows(self.candidate, ir), GV,
                                self.curvature[ir] & self.has_cand_V[ir], Dc[r])
        return E

    def notify(self, b: int, event: str, **data) -> None:
        """Trial b's loop events, for the adaptive adversary's state (the others ignore them)."""
        if self.names[self.codes[b]] != "adaptive":
            return
        db = int(self.dims[b])
        if event == "candidate":
            V = candidate_eigenspace(self.items[b].landscape, np.asarray(data["w"])[:db])
            self.cand_V[b] = 0.0
            self.has_cand_V[b] = V is not None
            if V is not None:
                self.cand_V[b, :db, :V.shape[1]] = V
            self.cand_VT[b] = self.cand_V[b].T
            self.in_round[b] = False
        elif event == "perturbation":
            self.candidate[b] = data["candidate"]
            self.in_round[b] = True
        elif event == "escape":
            self.in_round[b] = False

    def _search(self, W, G, idx, D):
        """The search adversary's own routine (:func:`~.adversaries.search.search_errors`) on the
        rows of several trials: each trial's parameters, its draws from its own generator in its
        order, its landscape's gradient and eigenspace."""
        d = W.shape[1]

        def normals(rows, K_max):
            """Each trial's draws (its rows, its K, its dimension) in its own order: the rows of a
            trial are contiguous in ``rows``, as they are in the batch."""
            Z = np.zeros((rows.size, K_max, d))
            trials, starts, stops = _segments(idx[rows])
            for b, s0, s1 in zip(trials.tolist(), starts.tolist(), stops.tolist(), strict=True):
                Kb, db = int(self.K[b]), int(self.dims[b])
                if Kb == K_max and db == d:          # drawn in place: the same stream
                    self.rngs[b].standard_normal(out=Z[s0:s1])
                else:
                    Z[s0:s1, :Kb, :db] = self.rngs[b].standard_normal((s1 - s0, Kb, db))
            return Z

        return search_errors(
            W, G, D, take_rows(self.centre, idx), self.eta[idx], self.K[idx], self.h[idx],
            self.n_refine[idx], normals,
            project=lambda Y, rows: per_trial_product(Y, idx[rows], self.V),
            expand=lambda P, rows: per_trial_product(P, idx[rows], self.VT),
            grad=lambda X, rows: self.landscape.grad(X, idx[rows]))

    def __call__(self, W, idx):
        """(ĝ, ∇F) for rows W of trials idx."""
        grad = self.landscape.grad(W, idx)
        if not self.inexact:
            return grad.copy(), grad
        row_code = self.codes[idx]
        present = np.unique(row_code).tolist()
        if len(present) == 1 and present[0] != self.exact_code:      # one kind: no row gathers
            return grad + self._error(self.names[present[0]], W, grad, idx), grad
        G = grad.copy()
        for code in present:
            if code == self.exact_code:
                continue
            rows = np.flatnonzero(row_code == code)
            G[rows] = grad[rows] + self._error(self.names[code], W[rows], grad[rows], idx[rows])
        return G, grad


def batch_adversaries(items, landscape: BatchedLandscape) -> BatchedAdversary | None:
    """The batched form of B one-instance oracles, or None when one of them has none."""
    if any(oracle_kind(x) is None for x in items):
        return None
    return BatchedAdversary(items, landscape)


class BatchedCertifiedOracle:
    """:class:`~byzpgd.oracles.inexact.CertifiedOracle` for a batch: a trial whose answer is
    not finite or is farther than Δ + 4·eps·(‖ĝ‖ + ‖∇F‖) from ∇F is ended with an error status
    (the message the one-instance layer would raise). ``max_query_norm`` and ``max_error`` (B,)
    as there."""

    def __init__(self, adversary: BatchedAdversary, slack: float = 0.0):
        self.adversary, self.landscape = adversary, adversary.landscape
        self.delta = adversary.delta
        self.slack = float(slack)
        self.max_query_norm = np.zeros(len(self.delta))
        self.max_error = np.zeros(len(self.delta))      # the largest ‖ĝ − ∇F‖ of each trial

    def notify(self, b: int, event: str, **data) -> None:
        self.adversary.notify(b, event, **data)

    def query(self, W, idx, single):
        g, true = self.adversary(W, idx)
        ended: dict[int, str] = {}
        finite = np.isfinite(g).all(axis=1)
        err = row_norms(g - true)
        D = self.delta[idx]
        allowed = D * (1.0 + self.slack) + 4 * EPS * (row_norms(g) + row_norms(true))
        over = finite & (err > allowed)
        bad = ~finite | over
        for j in np.flatnonzero(bad) if bad.any() else ():
            b = int(idx[j])
            if b not in ended:
                ended[b] = ERROR_PREFIX + (
                    "OracleBudgetExceeded: oracle returned a non-finite gradient" if not finite[j] else
                    f"OracleBudgetExceeded: oracle error exceeds Δ = {D[j]:.6g} by {err[j] - allowed[j]:.3g}")
        ok = finite & ~over
        if ok.any():
            np.maximum.at(self.max_error, idx[ok], err[ok])
        trials, starts, _ = _segments(idx)       # rows are grouped by trial
        if trials.size:
            seg_max = np.maximum.reduceat(row_norms(W), starts)
            self.max_query_norm[trials] = np.maximum(self.max_query_norm[trials], seg_max)
        return g, ended
