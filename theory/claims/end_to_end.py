"""Statements of the end-to-end claims (docs/paper.md §6 corollary with Theorem 1, §4):
ByzantinePGD on the pipeline workers → worker-level saddle attack → GradAGG satisfies Theorem 1's
gradient and iteration bounds with Δ = the pipeline's measured empirical Δ. Run by
:mod:`byzpgd.experiments.end_to_end`, checked by :mod:`byzpgd.properties.suites.end_to_end`."""

from __future__ import annotations

from ..symbols import L_F, Delta, Q, delta, gap
from .base import Claim, register

HYPOTHESES = (
    "phase retrieval population risk, constants certified on the ball ||w|| <= 1.5 ||w*|| "
    "(runs leaving it are outside the hypotheses)",
    "the pipeline is Delta-inexact on every visited point with Delta = its measured empirical Delta",
    "r <= R (Theorem 1's added hypothesis, see byzantine_pgd.* claims)")

register(Claim(
    id="end_to_end.grad_norm",
    statement="Stopping-rule check: ByzantinePGD with median / trimmed mean / iterative filtering "
              "under the worker-level saddle attack outputs ||grad F(w~)|| <= 4 Delta, Delta = the "
              "largest error of the pipeline measured on the run's own path (raised to any larger "
              "error seen there, the run repeated)",
    source="Theorem 1 with the GradAGG of docs/paper.md §6 (corollary, RECONSTRUCTED); the reading with "
           "Delta raised to the visited sup is ours", provenance="OWN",
    kind="deterministic", observed="grad_norm", constant=4.0, shape=Delta, hypotheses=HYPOTHESES,
    notes="Holds by construction: Delta is raised to any larger error the run's path shows and the run "
          "repeated, so ||grad F(w~)|| <= ||g(w~)|| + e(w~) <= 3 Delta + Delta follows from the stopping "
          "rule ||g|| <= 3 Delta alone; a run still above Delta after its attempts is outside the "
          "hypotheses, not a failure. It checks the stopping rule (a conformance check); "
          "end_to_end.grad_norm_independent is the guarantee-level form (Delta measured before the run).",
    parts=(("the bound 4 Delta (Theorem 1)", "POSTER"), ("the end-to-end corollary", "RECONSTRUCTED"),
           ("Delta = the sup of the error on the run's own path, raised and the run repeated", "OWN"))))
register(Claim(
    id="end_to_end.iterations",
    statement="... and terminates within 2 (F_0 - F*) L_F Q / (3 Delta^2) parallel iterations",
    source="Theorem 1 with the GradAGG of docs/paper.md §6 (corollary, RECONSTRUCTED)", provenance="OWN",
    kind="deterministic",
    observed="oracle_calls", constant=2.0, shape=gap * L_F * Q / (3 * Delta**2), hypotheses=HYPOTHESES,
    parts=(("the bound 2 (F_0 - F*) L_F Q/(3 Delta^2) (Theorem 1)", "POSTER"),
           ("Q's formula", "RECONSTRUCTED"),
           ("the end-to-end corollary", "RECONSTRUCTED"),
           ("Delta = the sup of the error on the run's own path (as end_to_end.grad_norm)", "OWN"))))

register(Claim(
    id="end_to_end.grad_norm_independent",
    statement="With probability >= 1 - delta, ByzantinePGD with median / trimmed mean / iterative "
              "filtering under the worker-level saddle attack, given Delta = the sup of the pipeline's "
              "error over the saddle and 16 points it did not choose, outputs ||grad F(w~)|| <= 4 Delta",
    source="Theorem 1 with the GradAGG of docs/paper.md §6; the probabilistic reading with an "
           "independently measured Delta is ours", provenance="OWN", kind="probabilistic",
    observed="grad_norm", constant=4.0, shape=Delta,
    hypotheses=HYPOTHESES[:1] + HYPOTHESES[2:] + (
        "Delta measured before the run on points it did not choose (never raised afterwards)",),
    failure_probability=delta,
    notes="Since ||grad F(w~)|| <= ||g(w~)|| + e(w~) <= 3 Delta + e(w~), a failure means the "
          "aggregator's error where ByzantinePGD stopped exceeded its sup over independent probes: the "
          "claim tests the aggregator's uniform (Delta-inexact) error, which end_to_end.grad_norm, with "
          "Delta raised to the visited sup, cannot. Tested per aggregator (exact binomial, Bonferroni)."))
