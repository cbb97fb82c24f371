"""Statements of the saddle-point attack and the defence (docs/paper.md §2, §4, §9): OWN
formulations of the abstract's headline. Checked by :mod:`byzpgd.properties.suites.saddle_attack`
(instances run by :mod:`byzpgd.experiments.saddle_attack`).

- ``saddle_attack.robust_gd_trapped`` and ``saddle_attack.jin_pgd_trapped``: started inside the
  fake basin of the trap adversary (docs/paper.md §2) near a strict saddle c with
  λ_min(∇²F(c)) = −γ, robust GD (η = 1/L_F, ε = 3Δ) and PGD of Jin et al. (2017) (ε = 4Δ, c = 1,
  docs/paper.md §9) end at a point with λ_min(∇²F(w̃)) + γ <= γ/2 in at least 99% of runs
  (failure probability :data:`TRAPPED_FAILURE` = 0.01).
- ``saddle_attack.byzantine_pgd_escapes``: ByzantinePGD with Theorem 1's parameters meets
  Theorem 1's λ_min bound −λ_min(∇²F(w̃)) <= 1900 (√ρ_F + L_F) Δ^{2/5} d^{1/5} log(10/Δ)
  (docs/paper.md §4) with probability >= 1 − δ under the trap and target-field attacks.
"""

from __future__ import annotations

import sympy as sp

from ..symbols import delta
from .base import Claim, register
from .theorems import LAMBDA_CONSTANT_BPGD, LAMBDA_SHAPE_BPGD, THM1_HYP

gamma = sp.Symbol("gamma", positive=True)   # curvature −λ_min(∇²F(c)) of the attacked saddle
TRAPPED_FAILURE = 0.01                        # "trapped in at least 99% of runs"

ATTACK_HYP = ("F is L_F-smooth and rho_F-Hessian-Lipschitz; c a strict saddle with "
              "lambda_min(hess F(c)) = -gamma < 0",
              "the oracle is the trap adversary (docs/paper.md §2), Delta-inexact (certified at every call)",
              "start inside the fake basin: escape component of norm <= Delta/(2 gamma)")

ROBUST_GD_TRAPPED = register(Claim(
    id="saddle_attack.robust_gd_trapped",
    statement="Under the trap adversary, robust GD started near a strict saddle ends at a point "
              "with lambda_min <= -gamma/2 in at least 99% of runs",
    source="docs/paper.md §2 (abstract: 'Byzantine machines may create fake local minima near a "
           "saddle point'); OWN concrete attack",
    provenance="OWN", kind="probabilistic", observed="lambda_min_plus_gamma", constant=0.5,
    shape=gamma, hypotheses=ATTACK_HYP, failure_probability=sp.Float(TRAPPED_FAILURE),
    notes="observed = lambda_min(w~) + gamma; trapped iff observed <= gamma/2. Vacuous when "
          "robust GD with the exact oracle from the same start is trapped too."))

JIN_PGD_TRAPPED = register(Claim(
    id="saddle_attack.jin_pgd_trapped",
    statement="Under the trap adversary, PGD of Jin et al. (2017) with epsilon = 4 Delta, c = 1, "
              "started near a strict saddle ends at a point with lambda_min <= -gamma/2 in at "
              "least 99% of runs",
    source="docs/paper.md §2 and §9 (Jin et al. 2017, Algorithm 2); OWN concrete attack",
    provenance="OWN", kind="probabilistic", observed="lambda_min_plus_gamma", constant=0.5,
    shape=gamma, hypotheses=ATTACK_HYP + ("Jin's function-decrease test uses exact F values",),
    failure_probability=sp.Float(TRAPPED_FAILURE),
    notes="Jin's radius r = sqrt(c) eps/(chi^2 l) <= Delta/(36 l) is below the fake basin Delta/gamma. "
          "Vacuous when Jin's PGD with the exact oracle from the same start is trapped too."))

BYZANTINE_PGD_ESCAPES = register(Claim(
    id="saddle_attack.byzantine_pgd_escapes",
    statement="Under the trap and target-field attacks, ByzantinePGD with Theorem 1's parameters, "
              "started near a strict saddle, satisfies lambda_min(hess F(w~)) >= "
              "-1900 (sqrt(rho_F) + L_F) Delta^(2/5) d^(1/5) log(10/Delta) with probability >= 1 - delta",
    source="Theorem 1 (docs/paper.md §4) against the attack of docs/paper.md §2",
    provenance="RECONSTRUCTED", kind="probabilistic", observed="neg_lambda_min",
    constant=float(LAMBDA_CONSTANT_BPGD), shape=LAMBDA_SHAPE_BPGD,
    hypotheses=THM1_HYP + ("Delta <= 1",) + ATTACK_HYP[1:],
    failure_probability=delta,
    notes="Non-vacuous only for tiny Delta (the bound is < L_F); the report also gives the "
          "fraction of runs that left the saddle (lambda_min(w~) > -gamma/2)."))
