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

- :func:`batch_landscapes`: a landscape class's own batched form (its ``Stack``, in its module:
  ``CosineSaddleStack``, ``PhaseRetrievalStack``, with the parameters stacked, rotations as
  (B, d, d) matrices).
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
from .stacking import LandscapeStack, segments, stack_class


def batch_landscapes(items, dim: int | None = None) -> LandscapeStack:
    """The batched form of a list of landscapes of one class: that class's ``Stack``, declared in
    its own module (ValueError when the classes differ or the class declares none)."""
    kinds = {type(x) for x in items}
    stack = stack_class(items[0]) if len(kinds) == 1 else None
    if stack is None:
        raise ValueError(f"no batched form for landscapes {sorted(k.__name__ for k in kinds)}")
    return stack(items, dim)


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

    def __init__(self, items, landscape: LandscapeStack):
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
        """(ĝ, ∇F) for rows W of trials idx. Where each kind's rows are contiguous (the batch's
        trials in :func:`kind_order`) they are answered as slices, else gathered."""
        grad = self.landscape.grad(W, idx)
        if not self.stacks:
            return grad.copy(), grad
        row_code = self.codes[idx]
        present = np.flatnonzero(np.bincount(row_code)).tolist()
        if len(present) == 1 and present[0] in self.stacks:      # one kind: no row gathers
            return grad + self.stacks[present[0]].errors(W, grad, idx), grad
        G = grad.copy()
        if row_code.size and np.all(row_code[1:] >= row_code[:-1]):   # each kind's rows contiguous
            bounds = np.searchsorted(row_code, present + [present[-1] + 1]).tolist()
            for code, lo, hi in zip(present, bounds[:-1], bounds[1:], strict=True):
                if code in self.stacks:
                    G[lo:hi] += self.stacks[code].errors(W[lo:hi], grad[lo:hi], idx[lo:hi])
            return G, grad
        for code in present:
            if code in self.stacks:
                rows = np.flatnonzero(row_code == code)
                G[rows] = grad[rows] + self.stacks[code].errors(W[rows], grad[rows], idx[rows])
        return G, grad


def kind_order(items) -> list[int]:
    """Positions of the one-instance oracles ``items`` stably sorted by what answers them in a
    batch (:func:`oracle_kind`): a batch built in this order holds each kind's trials, hence its
    rows (the engine queries rows in trial order), contiguous, and :class:`BatchedAdversary`
    answers them as one slice per kind instead of gathering and scattering them. A trial's
    outcome does not depend on its place in the batch."""
    def key(kind) -> str:            # 'exact', a Stack class, or None (no batched form)
        if kind is None or isinstance(kind, str):
            return str(kind)
        return f"{kind.__module__}.{kind.__qualname__}"
    keys = [key(oracle_kind(x)) for x in items]
    return sorted(range(len(items)), key=keys.__getitem__)


def batch_adversaries(items, landscape: LandscapeStack) -> BatchedAdversary | None:
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
        finite = np.isfinite(g).all(axis=1) if not np.isfinite(g).all() else np.ones(idx.size, dtype=bool)
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
        trials, starts, _ = segments(idx)       # rows are grouped by trial
        if trials.size:
            # the rows not ok (non-finite, over budget) count 0: max_error starts at 0, err >= 0
            ok_err = np.where(finite & ~over, err, 0.0)
            self.max_error[trials] = np.maximum(self.max_error[trials], np.maximum.reduceat(ok_err, starts))
            seg_max = np.maximum.reduceat(row_norms(W), starts)
            self.max_query_norm[trials] = np.maximum(self.max_query_norm[trials], seg_max)
        return g, ended
