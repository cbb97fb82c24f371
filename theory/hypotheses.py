"""Hypotheses shared by several claims, stated once.

- :func:`r_le_R`: Theorem 1's added hypothesis r <= R (RECONSTRUCTED, docs/paper.md §3): with
  r > R the perturbation alone passes the escape test ‖u − w̃‖ >= R, so the algorithm can leave
  every candidate (a true minimum included) and the λ_min and iteration guarantees say nothing.
- :func:`theorem1_r_le_R`: the same at an instance's values with Theorem 1's own r and R
  (docs/paper.md §4), i.e. 4 Δ^{1/5} d^{1/10} <= 1 for the paper's factors: judged from the
  theory, never from the parameters a run reports.
"""

from __future__ import annotations

from collections.abc import Mapping

from .parameters import evaluate

R_GT_R_NOTE = "r > R: the perturbation alone passes the escape test (docs/paper.md §3)"


def r_le_R(values: Mapping[str, float]) -> bool:
    """r <= R for ``values`` holding the perturbation radius 'r' and the escape distance 'R'."""
    return bool(values["r"] <= values["R"])


def theorem1_r_le_R(values: Mapping[str, float], factors: dict | None = None) -> bool:
    """r <= R with Theorem 1's r = c_r Δ^{3/5} d^{3/10} ρ_F^{-1/2} and R = c_R Δ^{2/5} d^{1/5}
    ρ_F^{-1/2} (docs/paper.md §4) at ``values`` ('Delta', 'd', 'rho_F'); ``factors`` replaces
    the paper's constant factors (theory.parameters)."""
    p = evaluate("byzantine_pgd", Delta=values["Delta"], rho=values["rho_F"], dim=values["d"],
                 factors=factors)
    return r_le_R(p)


# --- the machine-checkable hypotheses of the theorem claims (Claim.requires) ------------------------
# Each takes an instance's values (symbol name -> value) and returns '' when the hypothesis holds,
# else the reason the instance is outside it (reported with the instance, never counted as holding).

def requires_theorem1_r_le_R(values: Mapping[str, float]) -> str:
    """Theorem 1's r <= R at the instance's values (:func:`theorem1_r_le_R`)."""
    return "" if theorem1_r_le_R(values) else R_GT_R_NOTE


def requires_q_formula_above_one(values: Mapping[str, float]) -> str:
    """Theorem 1's Q formula > 1 before rounding (the hypothesis of ``byzantine_pgd.iterations``:
    below it Q is clamped to 1 and the bound does not cover the final candidate's 1 + Q·T_th calls)."""
    raw_q = evaluate("byzantine_pgd", Delta=values["Delta"], L=values["L_F"], rho=values["rho_F"],
                     dim=values["d"], delta=values["delta"], f_gap=values["F_gap"])["Q"]
    return "" if raw_q > 1 else f"Q's formula gives {raw_q:.3g} <= 1 (clamped to Q = 1)"
