"""ByzantinePGD, Algorithm 1 of docs/paper.md §3 (Yin et al. 2019)."""

from __future__ import annotations

import numpy as np

from byzpgd.geometry import as_point

from ..theory.parameters import byzantine_pgd_parameters
from .perturbed_gd import DEFAULT_MAX_ORACLE_CALLS, PGDParams, perturbed_gd
from .result import OptimizeResult


def theorem_params(Delta, L, rho, dim, delta, f_gap, factors: dict | None = None) -> PGDParams:
    """The parameters Theorem 1 prescribes (docs/paper.md §4), as :class:`PGDParams`;
    ``factors`` replaces some of the constant factors (c_r, c_R, c_T, c_Q) of its formulas
    (e.g. ``theory.parameters.CALIBRATED_FACTORS``)."""
    return PGDParams(**byzantine_pgd_parameters(Delta, L, rho, dim, delta, f_gap, factors))


def byzantine_pgd(oracle, w0, rng: np.random.Generator, *, params: PGDParams | None = None,
                  delta: float | None = None, f_gap: float | None = None,
                  escape_reference: str = "candidate", escape_test: str = "every_step",
                  max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS, factors: dict | None = None,
                  trace: bool = False, max_seconds: float | None = None) -> OptimizeResult:
    """Run ByzantinePGD with a Δ-inexact oracle.

    Either pass ``params`` explicitly, or pass ``delta`` (failure probability δ ∈ (0, 1)) and
    let the parameters come from Theorem 1 with Δ = ``oracle.delta``, L_F, ρ_F, d from
    ``oracle.landscape`` and F_0 − F* = ``f_gap`` (default: F(w0) − landscape.f_star), and
    optionally other constant ``factors`` (c_r, c_R, c_T, c_Q) in Theorem 1's formulas.

    Options ``escape_reference`` ('candidate' = w̃, default | 'perturbed' = w̃ + ξ) and
    ``escape_test`` ('every_step', default | 'final') select the reading of the two uncertain
    details of the algorithm (docs/paper.md §3).
    """
    w0 = as_point(w0, oracle.landscape.dim, "w0")
    if params is None:
        land = oracle.landscape
        if not (oracle.delta > 0):
            raise ValueError(f"Delta (oracle.delta) must be > 0 for ByzantinePGD, got {oracle.delta}")
        if delta is None:
            raise ValueError("pass either params or delta (the failure probability in (0, 1))")
        if not (0 < delta < 1):
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        if f_gap is None:
            f_gap = land.value(w0) - land.f_star
        params = theorem_params(oracle.delta, land.L, land.rho, land.dim, delta, f_gap, factors)
    elif factors is not None:
        raise ValueError("pass factors only without explicit params")
    return perturbed_gd(oracle, w0, params, rng, escape_reference=escape_reference,
                        escape_test=escape_test, max_oracle_calls=max_oracle_calls, trace=trace,
                        max_seconds=max_seconds)
