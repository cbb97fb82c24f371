"""Plain robust gradient descent: GD on the aggregated gradient until ‖ĝ‖ <= ε, with no
perturbation (Q = 0). The victim of the saddle-point attack (docs/paper.md §2)."""

from __future__ import annotations

import numpy as np

from .perturbed_gd import DEFAULT_MAX_ORACLE_CALLS, PGDParams, perturbed_gd
from .result import OptimizeResult


def robust_gd(oracle, w0, *, eta: float | None = None, epsilon: float | None = None,
              max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS, trace: bool = False,
              max_seconds: float | None = None) -> OptimizeResult:
    """Defaults: η = 1/L_F, ε = 3Δ (Theorem 1's values, without the escape phase)."""
    land = oracle.landscape
    eta = 1.0 / land.L if eta is None else eta
    if epsilon is None:
        if not oracle.delta > 0:
            raise ValueError("epsilon is required when the oracle is exact (delta = 0)")
        epsilon = 3.0 * oracle.delta
    params = PGDParams(eta=eta, epsilon=epsilon, r=0.0, Q=0, R=1.0, T_th=1)
    # Q = 0: no perturbation round is ever started, so the generator is never used.
    return perturbed_gd(oracle, w0, params, np.random.default_rng(0),
                        max_oracle_calls=max_oracle_calls, trace=trace, max_seconds=max_seconds)
