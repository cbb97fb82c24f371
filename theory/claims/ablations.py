"""Statements of the ablations of ByzantinePGD under the saddle-point attack (OWN): each of the
paper's three differences from Jin et al. (docs/paper.md §9) is removed in turn, and the ablated
algorithm must be trapped more often than the full one. Checked by
:mod:`byzpgd.properties.suites.ablations` (instances run by :mod:`byzpgd.experiments.ablations`).

The full algorithm is ByzantinePGD with Theorem 1's exponents and the calibrated constant factors
(theory.parameters.CALIBRATED_FACTORS, found by ``byzpgd calibrate``; docs/calibration.md):
Theorem 1's own factors give T_th = 1 and r > R at the Δ >= 1e-2 drawn here.

Each claim: the ablated variant is trapped (λ_min(∇²F(w̃)) <= −γ/2) with probability above
:data:`FULL_ALLOWED` = 1% (the rate the full algorithm is held to), while the full algorithm on
the same instances and seeds is not rejected at 1%.
"""

from __future__ import annotations

import sympy as sp

from .base import Claim, register
from .saddle_attack import gamma

FULL_ALLOWED = 0.01   # the trapped rate the full algorithm is held to

ABLATION_HYP = ("cosine saddles, L_F = 1, gamma in [0.5, 1], Delta in [1e-2, 1e-1]",
                "full algorithm: Theorem 1's exponents with the calibrated constants",)

# claim id -> what the ablation changes (the variants themselves: experiments.ablations)
ABLATED = {
    "ablation.single_round": "Q = 1 (one perturbation round)",
    "ablation.jin_radius": "r = Jin et al.'s radius 4 Delta/(chi^2 L_F)",
    "ablation.large_R": "R = 100 x the calibrated R",
}


def _ablation_claim(claim_id: str, what: str) -> Claim:
    return Claim(
        id=claim_id,
        statement=f"ByzantinePGD with {what} is trapped at the attacked saddle (lambda_min <= "
                  "-gamma/2) with probability above 1%, while the full algorithm (calibrated "
                  "constants) is not rejected at 1%, under the trap adversary",
        source="docs/paper.md §9 (the three differences from Jin et al.); OWN ablation",
        provenance="OWN", kind="probabilistic", observed="lambda_min_plus_gamma", constant=0.5,
        shape=gamma, failure_probability=sp.Float(FULL_ALLOWED), hypotheses=ABLATION_HYP,
        notes="observed = lambda_min(w~) + gamma of the ablated run; the per-instance 'violation' "
              "is an ablated run that escaped.")


SINGLE_ROUND = register(_ablation_claim("ablation.single_round", ABLATED["ablation.single_round"]))
JIN_RADIUS = register(_ablation_claim("ablation.jin_radius", ABLATED["ablation.jin_radius"]))
LARGE_R = register(_ablation_claim("ablation.large_R", ABLATED["ablation.large_R"]))
