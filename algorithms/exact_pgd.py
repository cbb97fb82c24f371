"""Exact-oracle PGD of Theorem 2 (docs/paper.md §5): the same loop as ByzantinePGD with Q = 1.

Default parameters: the fully proved variant of docs/paper.md §7.3 (OWN); ``variant='poster'``
selects the poster's reading.
"""

from __future__ import annotations

import numpy as np

from byzpgd.geometry import as_point

from ..theory.parameters import exact_pgd_parameters
from .perturbed_gd import DEFAULT_MAX_ORACLE_CALLS, PGDParams, perturbed_gd
from .result import OptimizeResult


def theorem_params(epsilon, L, rho, dim, delta, f_gap, variant: str = "proved") -> PGDParams:
    return PGDParams(**exact_pgd_parameters(epsilon, L, rho, dim, delta, f_gap, variant))


def exact_pgd(oracle, w0, rng: np.random.Generator, *, epsilon: float | None = None,
              delta: float | None = None, f_gap: float | None = None, variant: str = "proved",
              params: PGDParams | None = None, max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS,
              trace: bool = False, max_seconds: float | None = None) -> OptimizeResult:
    """Run PGD with an exact oracle (``oracle.delta`` must be 0); parameters explicit or from
    Theorem 2 given the target accuracy ``epsilon`` and failure probability ``delta``."""
    if oracle.delta != 0:
        raise ValueError(f"exact_pgd needs an exact oracle (delta = 0), got delta = {oracle.delta}")
    w0 = as_point(w0, oracle.landscape.dim, "w0")
    if params is None:
        if epsilon is None or delta is None:
            raise ValueError("pass either params or both epsilon and delta")
        land = oracle.landscape
        if f_gap is None:
            f_gap = land.value(w0) - land.f_star
        params = theorem_params(epsilon, land.L, land.rho, land.dim, delta, f_gap, variant)
    return perturbed_gd(oracle, w0, params, rng, max_oracle_calls=max_oracle_calls, trace=trace,
                        max_seconds=max_seconds)
