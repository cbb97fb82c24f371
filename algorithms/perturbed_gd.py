"""One run of the shared loop of ByzantinePGD, exact-oracle PGD and robust GD (docs/paper.md §3):
the batch-native engine of :mod:`.engine` with a batch of one trial, for an oracle that answers
one query at a time (``oracle(w)``; a (k, d) batch when it declares ``batchable``) and hears the
loop's events through ``notify(event, **data)``. The loop itself, its options and its budgets are
documented in :mod:`.engine`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from byzpgd.geometry import as_point

from . import engine
from .engine import DEFAULT_MAX_ORACLE_CALLS, PGDParams, StopRun
from .oracle import GradientOracle
from .result import OptimizeResult

__all__ = ["DEFAULT_MAX_ORACLE_CALLS", "PGDParams", "StopRun", "perturbed_gd"]


class _OneRun:
    """A one-run oracle as the engine's batched oracle of one trial: a single query is asked as
    ``oracle(w)``, a window of Q rounds as ``oracle(U)`` with U (Q, d); a :class:`StopRun` ends
    the trial with its status (raised by a query or by an event's ``notify``), any other
    exception propagates. Records the trace if asked."""

    def __init__(self, oracle, trace: bool):
        self.oracle = oracle
        self._notify = getattr(oracle, "notify", None)
        self.points: list | None = [] if trace else None
        self.phases: list[str] = []
        self._phase = "gd"

    def query(self, W, idx, single):
        try:
            if single[0]:
                if self.points is not None:
                    self.points.append(W[0].copy())
                    self.phases.append(self._phase)
                return np.asarray(self.oracle(W[0]), dtype=np.float64).reshape(1, -1), {}
            return np.asarray(self.oracle(W), dtype=np.float64), {}
        except StopRun as stop:
            return np.zeros_like(W), {0: stop.status}

    def notify(self, b, event, **data):
        if event == "perturbation":
            self._phase = "round"
        elif event == "escape":
            self._phase = "gd"
        if self._notify is not None:
            try:
                self._notify(event, **data)
            except StopRun as stop:
                return stop.status
        return None


def perturbed_gd(oracle: GradientOracle, w0, params: PGDParams, rng: np.random.Generator, *,
                 escape_reference: str = "candidate", escape_test: str = "every_step",
                 max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS, batch_rounds: bool | None = None,
                 trace: bool = False, max_seconds: float | None = None) -> OptimizeResult:
    """Run the loop (docs/paper.md §3; :mod:`.engine`) once. Deterministic given ``rng`` and oracle.

    ``batch_rounds`` runs the Q perturbation rounds of a candidate as one (Q, d) window (the
    same law of the output, far fewer Python steps). Default: on when the oracle declares
    ``batchable = True`` (its answers depend on the query and the announced events, not on the
    order of the calls) and ``trace`` is off.

    Budgets: at most ``max_oracle_calls`` oracle calls (status 'max_oracle_calls') and, if
    given, ``max_seconds`` of wall-clock time (status 'max_seconds'); a non-finite oracle answer
    or iterate ends the run at once (status 'nonfinite'). In each of these cases ``w`` is the
    last iterate and the run has no output in the sense of the theorems. ``trace``: the result's
    ``trace`` holds every query point and its phase ('gd' or 'round').
    """
    engine.check_options(escape_reference, escape_test)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    w = as_point(w0, oracle.landscape.dim, "w0")
    if batch_rounds is None:
        batch_rounds = bool(getattr(oracle, "batchable", False)) and not trace
    one = _OneRun(oracle, trace)
    res = engine.batched_perturbed_gd(one, w[None, :], [params], [rng], escape_reference=escape_reference,
                                      escape_test=escape_test, max_oracle_calls=int(max_oracle_calls),
                                      max_seconds=max_seconds, batch_rounds=bool(batch_rounds))[0]
    if trace:
        res = dataclasses.replace(res, trace={"points": np.array(one.points), "phase": one.phases})
    return res
