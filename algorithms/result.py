"""One result object for every optimizer (in the spirit of ``scipy.optimize.OptimizeResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class OptimizeResult:
    """Outcome of ByzantinePGD, exact-oracle PGD or robust GD.

    Attributes
    ----------
    w : ndarray
        Final point w̃ (the last candidate that survived every perturbation round).
    grad_oracle_calls : int
        Number of oracle queries = parallel iterations (rounds of communication).
    gd_steps : int
        Gradient steps taken outside the perturbation rounds.
    escape_rounds : int
        Perturbation rounds started (each: one perturbation + up to T_th steps).
    escapes : int
        Rounds that moved at least R (the candidate was declared a saddle and left).
    status : str
        'converged' (returned a candidate); otherwise the run was stopped and ``w`` is the
        current iterate: 'max_oracle_calls' or 'max_seconds' (a budget ran out), 'nonfinite'
        (an oracle answer or an iterate was NaN or infinite).
    params : dict
        The parameters used (η, ε, r, Q, R, T_th, options).
    trace : dict or None
        With ``trace=True``: 'points' (every queried point, in order), 'phase' (per query:
        'gd', 'candidate' or 'round').
    message : str
        (read-only) Why the run ended, in words, as SciPy's ``OptimizeResult.message``: derived
        from ``status`` and the counts, so every optimizer's result carries one.
    """

    w: np.ndarray
    grad_oracle_calls: int
    gd_steps: int
    escape_rounds: int
    escapes: int
    status: str
    params: dict = field(default_factory=dict)
    trace: dict | None = None

    @property
    def success(self) -> bool:
        return self.status == "converged"

    @property
    def message(self) -> str:
        return status_message(self.status, self.grad_oracle_calls, self.escapes)


# status -> why the run ended; observers (experiments/) may end a run with statuses of their own
_MESSAGES = {
    "converged": "returned a candidate that survived every perturbation round "
                 "({calls} oracle calls, {escapes} escapes)",
    "max_oracle_calls": "stopped: the oracle-call budget ran out after {calls} calls; w is the "
                        "current iterate, not an output",
    "max_seconds": "stopped: the wall-clock budget ran out after {calls} oracle calls; w is the "
                   "current iterate, not an output",
    "nonfinite": "stopped: an oracle answer or an iterate was NaN or infinite (after {calls} "
                 "calls); w is the last finite iterate",
    "descent_violated": "stopped by the descent monitor: a gradient step broke Lemma §8.1's "
                        "inequality (docs/paper.md §8.1) after {calls} calls",
}


def status_message(status: str, calls: int, escapes: int) -> str:
    """The words for a run's ``status`` (an unknown status, e.g. an observer's own stop or an
    ``'error: ...'`` status of a batched trial, is named as it is)."""
    template = _MESSAGES.get(status)
    if template is None:
        return f"stopped with status {status!r} after {calls} oracle calls"
    return template.format(calls=calls, escapes=escapes)
