"""Parameter formulas as SymPy expressions, with numeric evaluation.

Theorem 1 (ByzantinePGD, docs/paper.md §4): η = 1/L_F (POSTER), ε = 3Δ (POSTER),
r = 4Δ^{3/5}d^{3/10}ρ_F^{-1/2}, Q = 2 log(ρ_F(F_0−F*)/(48 L_F δ Δ^{6/5} d^{3/5})),
R = Δ^{2/5}d^{1/5}ρ_F^{-1/2}, T_th = L_F/(384(ρ_F^{1/2}+L_F)Δ^{2/5}d^{1/5}) (RECONSTRUCTED).

Theorem 2 (exact oracle): the fully proved variant of docs/paper.md §7.3 (OWN): η = 1/L, Q = 1,
T = L/(4√(ρε)), R = √(ε/ρ), r = ε/L, valid for ε <= L²/(16ρ); or the poster's reading
(docs/paper.md §5): η = 1/L, Q = 1, r = ε, R = √(ε/ρ), T_th = L/(12√(ρε)) (c = 1/12 RECONSTRUCTED).

Integer parameters are rounded up (ceil), and clamped to at least 1: rounding up Q and T_th only
lowers the failure probability and lengthens the escape window the proofs need.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from .symbols import L_F, Delta, d, delta, eps, gap, rho_F

# Theorem 1's formulas with their constant factors as symbols: the paper's factors
# (c_r, c_R, c_T, c_Q) = (4, 1, 1/384, 2) give Theorem 1; other factors (e.g. the calibrated ones of
# docs/calibration.md) give the same formulas with other constants (the OWN sensitivity claims).
c_r, c_R, c_T, c_Q = sp.symbols("c_r c_R c_T c_Q", positive=True)
FACTORS = (c_r, c_R, c_T, c_Q)

THEOREM1_FACTORED = {
    "eta": 1 / L_F,
    "epsilon": 3 * Delta,
    "r": c_r * Delta ** sp.Rational(3, 5) * d ** sp.Rational(3, 10) / sp.sqrt(rho_F),
    "Q": c_Q * sp.log(rho_F * gap / (48 * L_F * delta * Delta ** sp.Rational(6, 5) * d ** sp.Rational(3, 5))),
    "R": c_R * Delta ** sp.Rational(2, 5) * d ** sp.Rational(1, 5) / sp.sqrt(rho_F),
    "T_th": c_T * L_F / ((sp.sqrt(rho_F) + L_F) * Delta ** sp.Rational(2, 5) * d ** sp.Rational(1, 5)),
}
PAPER_FACTORS = {"c_r": 4.0, "c_R": 1.0, "c_T": 1 / 384, "c_Q": 2.0}
# found by `byzpgd calibrate` at Δ in [1e-4, 1e-1] (docs/calibration.md): OWN, not the paper's
CALIBRATED_FACTORS = {"c_r": 1.0, "c_R": 1.0, "c_T": 8.0, "c_Q": 8.0}
_PAPER_SUBS = {c_r: 4, c_R: 1, c_T: sp.Rational(1, 384), c_Q: 2}

BYZANTINE_PGD = {k: e.subs(_PAPER_SUBS) for k, e in THEOREM1_FACTORED.items()}

EXACT_PGD_PROVED = {
    "eta": 1 / L_F,
    "epsilon": eps,
    "r": eps / L_F,
    "Q": sp.Integer(1),
    "R": sp.sqrt(eps / rho_F),
    "T_th": L_F / (4 * sp.sqrt(rho_F * eps)),
}

EXACT_PGD_POSTER = {
    "eta": 1 / L_F,
    "epsilon": eps,
    "r": eps,
    "Q": sp.Integer(1),
    "R": sp.sqrt(eps / rho_F),
    "T_th": L_F / (12 * sp.sqrt(rho_F * eps)),
}

VARIANTS = {"byzantine_pgd": BYZANTINE_PGD, "exact_pgd": EXACT_PGD_PROVED,
            "exact_pgd_poster": EXACT_PGD_POSTER}

_ARGS = (Delta, L_F, rho_F, d, delta, gap, eps)
_NUMERIC = {name: {k: sp.lambdify(_ARGS, e, "math") for k, e in table.items()}
            for name, table in VARIANTS.items()}
_NUMERIC_FACTORED = {k: sp.lambdify(_ARGS + FACTORS, e, "math") for k, e in THEOREM1_FACTORED.items()}


def _check_positive(**values):
    for name, v in values.items():
        if v is None:
            continue
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")


def _factor_values(factors: dict) -> tuple[float, ...]:
    unknown = set(factors) - {s.name for s in FACTORS}
    if unknown:
        raise ValueError(f"factors must be among c_r, c_R, c_T, c_Q, got {sorted(unknown)}")
    full = {**PAPER_FACTORS, **factors}
    _check_positive(**full)
    return tuple(float(full[s.name]) for s in FACTORS)


def evaluate(variant: str, *, Delta=1.0, L=1.0, rho=1.0, dim=1, delta=0.1, f_gap=1.0,
             epsilon=1.0, factors: dict | None = None) -> dict:
    """Raw (real-valued) parameters of ``variant`` at the given values. ``factors`` (only for
    'byzantine_pgd') replaces some of Theorem 1's constant factors c_r, c_R, c_T, c_Q."""
    if variant not in _NUMERIC:
        raise ValueError(f"variant must be one of {sorted(_NUMERIC)}, got {variant!r}")
    args = (float(Delta), float(L), float(rho), float(dim), float(delta), float(f_gap), float(epsilon))
    if factors is not None:
        if variant != "byzantine_pgd":
            raise ValueError(f"factors apply to variant 'byzantine_pgd' only, got {variant!r}")
        args = args + _factor_values(factors)
        return {k: f(*args) for k, f in _NUMERIC_FACTORED.items()}
    return {k: f(*args) for k, f in _NUMERIC[variant].items()}


def integerize(raw: dict) -> dict:
    """Round Q and T_th up to integers >= 1 (see module docstring)."""
    out = dict(raw)
    out["Q"] = max(1, math.ceil(raw["Q"] - 1e-12))
    out["T_th"] = max(1, math.ceil(raw["T_th"] - 1e-12))
    return out


def byzantine_pgd_parameters(Delta, L, rho, dim, delta, f_gap, factors: dict | None = None) -> dict:
    """Theorem 1's parameters (η, ε, r, Q, R, T_th), Q and T_th rounded up to integers >= 1;
    ``factors`` replaces some of the constant factors (c_r, c_R, c_T, c_Q) = (4, 1, 1/384, 2)."""
    _check_positive(Delta=Delta, L=L, rho=rho, dim=dim, f_gap=f_gap)
    if not (0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    return integerize(evaluate("byzantine_pgd", Delta=Delta, L=L, rho=rho, dim=dim, delta=delta,
                               f_gap=f_gap, factors=factors))


def exact_pgd_parameters(epsilon, L, rho, dim, delta, f_gap, variant: str = "proved") -> dict:
    """Theorem 2's parameters; ``variant`` 'proved' (docs/paper.md §7.3, needs ε <= L²/(16ρ))
    or 'poster' (docs/paper.md §5)."""
    _check_positive(epsilon=epsilon, L=L, rho=rho, dim=dim, f_gap=f_gap)
    if not (0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    if variant == "proved":
        if epsilon > L**2 / (16 * rho):
            raise ValueError(f"epsilon must be <= L²/(16ρ) = {L**2 / (16 * rho):.6g} for the "
                             f"proved variant, got {epsilon}")
        name = "exact_pgd"
    elif variant == "poster":
        name = "exact_pgd_poster"
    else:
        raise ValueError(f"variant must be 'proved' or 'poster', got {variant!r}")
    return integerize(evaluate(name, L=L, rho=rho, dim=dim, delta=delta, f_gap=f_gap,
                               epsilon=epsilon))
