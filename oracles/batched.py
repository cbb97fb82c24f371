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
- :class:`BatchedAdversary`: the errors of B one-instance oracles (kinds may be mixed in one
  batch): the trials of each oracle class are answered by that class's own batched form, its
  ``Stack`` (:mod:`.stacking`), written beside its ``error`` in its module and calling the same
  error function (``shrink_errors``, ``trap_errors``, ``search_errors``, ...), each trial's random
  draws from its own generator in the order its one-instance oracle makes them
  (:func:`batch_adversaries`; ``None`` when an oracle has no stack). The white-box adaptive
  adversary's stack keeps its state one row per trial, from the loop's events (``notify``). The
  search adversary's error is an argmin over candidates: where two candidates nearly tie, a
  rounding-level difference can pick the other one, so its batched trials follow the
  one-instance path only up to such ties (tests/test_batched.py).
- :class:`BatchedCertifiedOracle`: the certifying layer of
  :class:`~byzpgd.oracles.inexact.CertifiedOracle` (error <= Δ + 4·eps·(‖ĝ‖ + ‖∇F‖) per row,
  finite answers), ending a trial with an error status instead of raising, and recording each
  trial's ``max_query_norm``.
"""

from __future__ import annotations

import numpy as np

from ..algorithms.engine import ERROR_PREFIX, row_norms
from .adversaries.base import Adversary
from .inexact import EPS, InexactOracle
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
from .products import row_products
from .stacking import per_trial_product, segments, stack_class, take_rows, transposes


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
        self.MT = transposes(self.M)
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


def oracle_kind(oracle):
    """What answers ``oracle``'s trials in a batch: 'exact' (∇F itself: the exact oracle, or an
    adversary without budget, which draws nothing), its class's stack
    (:func:`~.stacking.stack_class`), or None (no batched form: it runs one trial at a time)."""
    if (isinstance(oracle, Adversary) and oracle.delta == 0) or type(oracle) is InexactOracle:
        return "exact"
    return stack_class(oracle)


class BatchedAdversary:
    """ĝ = ∇F + e row by row for B one-instance oracles (kinds may be mixed): the trials of each
    oracle class are that class's stack (:mod:`.stacking`, the batched form written beside its
    ``error``), and each row is answered by its trial's stack; the exact trials get ∇F."""

    def __init__(self, items, landscape: BatchedLandscape):
        self.items, self.landscape = list(items), landscape
        kinds = [oracle_kind(x) for x in self.items]
        if None in kinds:
            raise ValueError("an oracle of the batch has no batched form")
        order = list(dict.fromkeys(kinds))
        self.codes = np.array([order.index(k) for k in kinds], dtype=np.int64)
        self.delta = np.array([x.delta for x in self.items])
        self.stacks = {}
        for code, kind in enumerate(order):
            if kind != "exact":
                trials = np.flatnonzero(self.codes == code)
                self.stacks[code] = kind([self.items[t] for t in trials], trials, landscape)

    def notify(self, b: int, event: str, **data) -> None:
        """Trial b's loop events, for its stack (the adaptive adversary's state; others ignore them)."""
        stack = self.stacks.get(int(self.codes[b]))
        if stack is not None:
            stack.notify(b, event, **data)

    def __call__(self, W, idx):
        """(ĝ, ∇F) for rows W of trials idx."""
        grad = self.landscape.grad(W, idx)
        if not self.stacks:
            return grad.copy(), grad
        row_code = self.codes[idx]
        present = np.unique(row_code).tolist()
        if len(present) == 1 and present[0] in self.stacks:      # one kind: no row gathers
            return grad + self.stacks[present[0]].errors(W, grad, idx), grad
        G = grad.copy()
        for code in present:
            if code in self.stacks:
                rows = np.flatnonzero(row_code == code)
                G[rows] = grad[rows] + self.stacks[code].errors(W[rows], grad[rows], idx[rows])
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
        trials, starts, _ = segments(idx)       # rows are grouped by trial
        if trials.size:
            seg_max = np.maximum.reduceat(row_norms(W), starts)
            self.max_query_norm[trials] = np.maximum(self.max_query_norm[trials], seg_max)
        return g, ended
