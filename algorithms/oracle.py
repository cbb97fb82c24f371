"""The contract between the optimizers and a gradient oracle (docs/paper.md §1, Def. 1).

The optimizers in this package depend only on this Protocol, never on :mod:`byzpgd.oracles`:
any object with these members can be optimised (an exact gradient, a Δ-inexact adversary, the
workers → attack → aggregator pipeline, a user's own oracle).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


class HasDim(Protocol):
    dim: int


@runtime_checkable
class GradientOracle(Protocol):
    """ĝ: R^d → R^d, a (possibly inexact, possibly stateful) gradient oracle.

    - ``oracle(w)`` with ``w`` of shape (d,) returns ĝ(w) of shape (d,), float64. One call is
      one parallel iteration (one broadcast and one gradient collection).
    - ``oracle.landscape.dim`` is d.
    - Optional ``batchable: bool``: True when an answer depends only on the query (and fresh
      randomness) and on the events announced through ``notify``, not on the order of the calls;
      then ``oracle(W)`` with W of shape (k, d) must return the (k, d) answers row by row (used to
      run the Q perturbation rounds of a candidate as one batch, which one 'perturbation' event
      announces with ``xi`` of shape (Q, d)).
    - Optional ``notify(event, **data)``: told of 'candidate' (w), 'perturbation' (candidate, xi:
      (d,) for one round, (Q, d) for a batch of rounds) and 'escape' (w) events, for adaptive
      adversaries that see the algorithm's state.
    - An oracle may raise :class:`byzpgd.algorithms.perturbed_gd.StopRun` to end the run early
      (the result then has that status and the current iterate).
    """

    landscape: HasDim

    def __call__(self, w: np.ndarray) -> np.ndarray: ...
