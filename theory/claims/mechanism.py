"""The mechanism claims (OWN): the two steps of Theorem 1's proof, checked at practical Δ where
the theorem's own λ_min bound is vacuous (docs/paper.md §8.1, §8.3, §10.1). They are not the
theorem: they check that the algorithm does what the proof needs of it (every step decreases F
as Lemma §8.1 says; a perturbation round escapes a strict saddle as §8.3's mechanism says), with
bounds computed by :mod:`byzpgd.theory.mechanism` from the parameters the theory prescribes at
the instance's values (Theorem 1's formulas with the calibrated factors, or Theorem 2's), never
from those a run reports. Checked by :mod:`byzpgd.properties.suites.mechanism`.
"""

from __future__ import annotations

import sympy as sp

from ..symbols import L_F, Delta
from .base import Claim, register

G = sp.Symbol("G", positive=True)               # ‖ĝ‖ at the start of a step
p_round = sp.Symbol("p_round", positive=True)   # per-round failure bound (theory.mechanism)
Q_theory = sp.Symbol("Q", positive=True)

DESCENT_HYP = ("F is L_F-smooth (certified constants of the cosine saddle)",
               "the oracle is Delta-inexact at every query (certified at every call)",
               "eta = 1/L_F, as Theorems 1 and 2 prescribe")

ESCAPE_HYP = ("cosine saddle: curvature -gamma along v at the saddle c, width s > R; start at c",
              "the oracle is Delta-inexact at every query (any adversary, adaptive or not)",
              "eta, r, R, T_th, Q from the theory at the instance's values (Theorem 1's formulas "
              "with the calibrated factors for ByzantinePGD; Theorem 2's for exact PGD)")

register(Claim(
    id="mechanism.descent",
    statement="Every gradient step w+ = w - eta g of ByzantinePGD and of exact PGD decreases F by "
              "at least (1/L_F) ||g|| (||g||/2 - Delta) (Lemma, docs/paper.md §8.1)",
    source="docs/paper.md §8.1 (inexact descent, RECONSTRUCTED statement, OWN proof); OWN check",
    provenance="OWN", kind="deterministic",
    observed="F(w+) - F(w) + G^2/(2 L_F) over the steps of a run",
    constant=1.0, shape=Delta * G / L_F, hypotheses=DESCENT_HYP,
    notes="Holds for every L_F-smooth F when eta = 1/L_F; a step size off by a factor (either "
          "way) breaks it on steps along a direction of curvature near L_F, which the instances "
          "start on. Checked with relative rounding tolerance 1e-9."))

register(Claim(
    id="mechanism.escape",
    statement="Started at a strict saddle of a cosine saddle, each perturbation round of "
              "ByzantinePGD (Theorem 1's formulas, calibrated factors) fails to take the run R "
              "from the saddle with probability at most p_round given the rounds before it, "
              "p_round = P(|<xi, v>| < Delta/gamma' + R/((1 + eta gamma')^T_th - 1)), "
              "xi ~ U(B(r)), gamma' = gamma (1 - ((R + r)/s)^2/6) (the bound of every reading of "
              "the escape test: from w~ or w~ + xi, every step or the last); so the failed rounds "
              "F before the first escape satisfy P(F >= k) <= p_round^k (k <= Q) and the run is "
              "trapped (F = Q) with probability at most p_round^Q",
    source="docs/paper.md §8.3 (escape by coupling, made exact on the cosine saddle); OWN",
    provenance="OWN", kind="probabilistic",
    observed="failed rounds before the first escape (Q when the run is trapped or has no output)",
    constant=1.0, shape=p_round, hypotheses=ESCAPE_HYP, failure_probability=p_round,
    notes="The per-round bound is what the coupling argument bounds and what a feasible number "
          "of runs can check (p_round in [0.3, 0.9] by construction; the per-run bound p_round^Q "
          "has a median near 1e-5). The failed rounds are summed per adversary and tested "
          "against their exact law under the bound (geometric truncated at the theory's Q, "
          "convolved over the runs), G adversary tests + the pooled test, Bonferroni over "
          "G + 1. An escape counts only if it takes the run R - r from the saddle (theory's r, "
          "R); more rounds than the theory's Q count as Q. Readings (docs/paper.md §3 leaves "
          "two open): the candidate reading's bound (||u - w~|| >= R) has the threshold "
          "Delta/gamma' + (R - Delta/gamma') (1 + eta gamma')^-T_th with gamma' at R; the w~ + xi "
          "reading's, used here because it is the larger, is 6 % larger per round on ci's "
          "instances (up to 13 %), and the per-round test sees that: against the candidate "
          "bound alone the w~ + xi reading was rejected on ci (681 failed rounds against 384 "
          "expected). The test after step T_th only has the every-step bound, since "
          "gamma s sin(R/s) >= Delta wherever p_round < 1 (docs/theory-checks.md)."))

register(Claim(
    id="mechanism.exact_escape",
    statement="Started at a strict saddle of a cosine saddle, the perturbation round of "
              "exact-oracle PGD (Theorem 2's parameters, Q = 1) fails to take the run R from the "
              "saddle with probability at most p_round = P(|<xi, v>| < R/((1 + eta gamma')^T_th "
              "- 1)), xi ~ U(B(r)), gamma' = gamma (1 - ((R + r)/s)^2/6) (the bound of every "
              "reading of the escape test)",
    source="docs/paper.md §8.3 with Delta = 0, §7.3; OWN",
    provenance="OWN", kind="probabilistic",
    observed="failed rounds before the escape (0 or 1: Q = 1)",
    constant=1.0, shape=p_round, hypotheses=ESCAPE_HYP, failure_probability=p_round,
    notes="Instances aim at p_round in [0.3, 0.9] (gamma solved for it). The candidate "
          "reading's bound, R (1 + eta gamma')^-T_th with gamma' at R, is exact to about 0.1 %: "
          "along the escape coordinate the exact oracle's failure probability "
          "(theory.mechanism.exact_round_failure) sums to 0.1 % below the summed bounds "
          "(516.40 against 516.78 over seeds 0-6 on the earlier instances, p_round in "
          "[0.02, 0.1]; docs/theory-checks.md). Under the w~ + xi reading (the fault "
          "catalogue's reading loop.escape_from_perturbed_point) the true failure probability of "
          "those instances was 0.44 % above that bound: the reading counted as 'equivalent' "
          "only because no feasible number of runs can see 0.4 %, not because the bound "
          "covered it. The claim's bound is now the larger of the readings' bounds, so it "
          "covers both by construction."))

register(Claim(
    id="mechanism.candidate_cost",
    statement="Started at a strict local minimum where no perturbation round can escape, "
              "ByzantinePGD (Theorem 1's parameters; also with the calibrated factors) and exact "
              "PGD (Theorem 2's) return the start point after exactly 1 + Q T_th oracle calls",
    source="Algorithm 1, docs/paper.md §3 (Q rounds of T_th steps certify a candidate; the "
           "1 + Q T_th term of Theorem 1's iteration count, §4); OWN check",
    provenance="OWN", kind="deterministic", observed="oracle calls (counted outside the algorithm)",
    constant=1.0, shape=1 + Q_theory * sp.Symbol("T_th", positive=True),
    hypotheses=("start at a strict local minimum of a cosine saddle (certified), curvature >= mu",
                "r + Delta/mu < R: no round can reach distance R (theory's r, R at the instance)",
                "Q, T_th from the theory at the instance's values, never from the run"),
    notes="Holds with equality for Algorithm 1; any change of Q or T_th (a factor, an "
          "off-by-one), or a run that returns another point, breaks it. Zero tolerance."))

register(Claim(
    id="mechanism.perturbation_radius",
    statement="Started at a strict local minimum, every perturbation round of ByzantinePGD "
              "(Theorem 1's parameters; also with the calibrated factors) and of exact PGD "
              "(Theorem 2's) starts at w~ + xi with ||xi|| <= r, the theory's r at the instance",
    source="Algorithm 1, docs/paper.md §3 (xi ~ Uniform(B_0(r))); the coupling bound of §8.3 and "
           "the escape test's margin R - r assume it; OWN check",
    provenance="OWN", kind="deterministic",
    observed="max over the rounds of ||start - candidate|| / r (measured from the queries)",
    constant=1.0, shape=sp.Integer(1),
    hypotheses=("start at a strict local minimum of a cosine saddle (certified)",
                "r from the theory at the instance's values, never from the run"),
    notes="A conformance check of Algorithm 1's perturbation: the candidate is the last single "
          "query before a round, a round's start the first query after it, so nothing the "
          "algorithm reports about xi is used. Zero tolerance beyond rounding "
          "(||xi|| <= r (1 + 1e-12) + 4 eps ||w~||). A perturbation drawn from the cube "
          "[-r, r]^d, or a radius off by any factor > 1, breaks it; a smaller radius does not "
          "(parameter faults of r are the guarantee claims' concern)."))

