"""Stacks: the batched form of one kind of Δ-inexact oracle, declared by the oracle's own class.

A batch (:mod:`byzpgd.oracles.batched`) holds B trials, each with its own one-instance oracle.
The trials whose oracles are of one class form that class's *stack*: ``cls.Stack(items, trials,
landscape)``, a subclass of :class:`Stack` written in the class's own module beside its ``error``,
computing the same formula (the module-level function both call: ``shrink_errors``,
``trap_errors``, ``search_errors``, ...) for many rows at once, with the parameters of each trial
as arrays. An oracle class is batched only when it declares ``Stack`` itself
(:func:`stack_class`): a subclass, which may change ``error``, runs one trial at a time unless it
declares its own, never with its parent's formula by inheritance. Landscapes likewise:
``cls.Stack(items, dim)``, a :class:`LandscapeStack` subclass in the landscape's module.

Rows and trials: a query is ``W`` (N, dim) with ``idx`` (N,) the batch trial of each row, rows
grouped by trial; ``trials`` are the batch indices of the stack's items (their order), and
:meth:`Stack.at` maps a batch index to the item's position. Each trial's random draws come from its
own oracle's generator (``items[i].rng``) in the order its one-instance oracle makes them, so the
one-instance oracle must not be used elsewhere meanwhile.

Also here, the row helpers of every batched form: :func:`take_rows`, :func:`segments`,
:func:`per_trial_product` (one kernel for every per-trial matrix product,
:func:`~.products.indexed_row_products`: a row's bits do not depend on the batch),
:func:`transposes`.
"""

from __future__ import annotations

import numpy as np

from .products import indexed_row_products


def take_rows(X, idx):
    """X[idx] along the first axis (np.take: several times faster than fancy indexing for
    2-D and 3-D X)."""
    return np.take(X, idx, axis=0)


def segments(idx):
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


def transposes(mats):
    """The stack of transposes, contiguous (B, e, d)."""
    return np.ascontiguousarray(np.swapaxes(mats, 1, 2))


def stack_class(obj) -> type | None:
    """The batched form of ``obj``'s class: the ``Stack`` that class declares itself (a subclass
    does not inherit its parent's, since it may compute something else); None: no batched form."""
    return vars(type(obj)).get("Stack")


class LandscapeStack:
    """The batched form of B landscapes of one class (its ``Stack``, declared in its module),
    dimensions d_b <= ``dim``: trial b lives in the first d_b coordinates (``dims``), the others
    are inert (gradient 0, no contribution to F), so
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


class Stack:
    """The trials ``trials`` (batch indices) of one oracle class, ``items`` their one-instance
    oracles, in a batch whose landscape is ``landscape`` (a :class:`LandscapeStack`: ``dim``,
    ``grad(W, idx)``). Arrays of per-trial values are in the order of ``items``;
    :meth:`errors` answers rows of batch trials ``idx`` (module docstring)."""

    def __init__(self, items, trials, landscape):
        self.items, self.landscape = list(items), landscape
        self.trials = np.asarray(trials, dtype=np.int64)
        self.position = np.full(int(self.trials.max(initial=-1)) + 1, -1, dtype=np.int64)
        self.position[self.trials] = np.arange(self.trials.size)
        self.delta = np.array([x.delta for x in self.items])
        self.dims = np.array([x.landscape.dim for x in self.items], dtype=np.int64)
        self.dim = int(landscape.dim)

    def at(self, idx):
        """The positions in ``items`` of batch trials ``idx``."""
        return self.position[idx]

    def column(self, values, idx) -> np.ndarray:
        """Per-item ``values`` (an array in item order) for rows of batch trials ``idx``, as a
        column."""
        return values[self.at(idx)][:, None]

    def pad(self, vectors) -> np.ndarray:
        """(n, dim): each item's vector followed by zeros."""
        out = np.zeros((len(self.items), self.dim))
        for i, v in enumerate(vectors):
            out[i, :self.dims[i]] = v
        return out

    def matrices(self, mats) -> tuple[np.ndarray, np.ndarray]:
        """Per-item (d_i, k_i) matrices as a zero-padded stack (n, dim, max(k_i, 2)) and its
        transposes (zero columns add exact zeros; at least 2 columns: ``row_products``' einsum
        path)."""
        width = max([m.shape[1] for m in mats] + [2])
        out = np.zeros((len(self.items), self.dim, width))
        for i, m in enumerate(mats):
            out[i, :m.shape[0], :m.shape[1]] = m
        return out, transposes(out)

    def normals(self, idx, uniform: bool = False):
        """Each trial's standard normals for its rows (N, dim) (then, with ``uniform``, one
        uniform per row, (N, 1)), from its own generator in the order its one-instance oracle
        draws them (rows grouped by trial)."""
        Z = np.zeros((idx.size, self.dim))
        Uu = np.empty((idx.size, 1)) if uniform else None
        trials, starts, stops = segments(idx)
        for i, s0, s1 in zip(self.at(trials).tolist(), starts.tolist(), stops.tolist(), strict=True):
            rng, di = self.items[i].rng, int(self.dims[i])
            if di == self.dim:               # contiguous rows: drawn in place, same stream
                rng.standard_normal(out=Z[s0:s1])
            else:
                Z[s0:s1, :di] = rng.standard_normal((s1 - s0, di))
            if uniform:
                rng.random(out=Uu[s0:s1])
        return Z, Uu

    def errors(self, W, grad, idx) -> np.ndarray:
        """The errors e (N, dim) of query rows ``W`` with gradients ``grad``, rows of batch
        trials ``idx``."""
        raise NotImplementedError

    def notify(self, b: int, event: str, **data) -> None:
        """Batch trial b's loop events (an adaptive adversary's state); ignored by default."""
