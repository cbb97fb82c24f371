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
