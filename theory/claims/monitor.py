"""The descent monitor's claim (OWN): the invariant of Lemma §8.1 (docs/paper.md §8.1) on every
step of the theorems' own runs. Every run of the Theorem 1 and Theorem 2 checks goes through the
descent monitor (:mod:`byzpgd.experiments.monitor`), which ends a run at the first step that breaks
the inequality (status 'descent_violated'). Such a run has no output, so the theorem claims cannot
observe it ("not observed", :func:`byzpgd.properties.checks.verdict`): the kill belongs to this
claim, which is checked by :mod:`byzpgd.properties.suites.monitor` on the theorem claims' own
instances (the same specs and seeds, so the same runs).
"""

from __future__ import annotations

import sympy as sp

from .base import Claim, register

register(Claim(
    id="monitor.descent",
    statement="On the instances of the Theorem 1 and Theorem 2 checks, every gradient step "
              "w+ = w - eta g of the algorithm under test decreases F by at least "
              "(1/L_F) ||g|| (||g||/2 - Delta) (Lemma, docs/paper.md §8.1), checked online by the "
              "descent monitor",
    source="docs/paper.md §8.1 (inexact descent; RECONSTRUCTED statement, OWN proof); the online "
           "check on the theorems' runs is OWN",
    provenance="OWN", kind="deterministic",
    observed="(F(w+) - F(w) + ||g|| (||g||/2 - Delta)/L_F) / tol at the run's worst step",
    constant=1.0, shape=sp.Integer(1),
    hypotheses=("F is L_F-smooth (the landscape's certified constant)",
                "the oracle is Delta-inexact at every query (certified at every call)",
                "eta = 1/L_F, as Theorems 1 and 2 prescribe"),
    notes="An invariant the proofs of both theorems rely on, judged between consecutive single "
          "queries not separated by a perturbation and, for the perturbation rounds run as one "
          "batch, row by row. A run the monitor stops fails this claim and only this one: the "
          "theorem claims count it as not observed. F's change is differenced term by term "
          "(Landscape.value_changes), so tol = 1e-11 (the scale of its terms + that of the "
          "required decrease + (||g|| + Delta) ||w+||, the rounding of the new iterate); for a "
          "landscape without that form, tol = 1e-9 (|F(w)| + |F(w+)| + required) + "
          "1e-12 max(1, |F(w)|). The observed excess is in units of tol and the bound is 1.",
    parts=(("eta = 1/L_F", "POSTER"), ("Lemma 8.1's statement", "RECONSTRUCTED"),
           ("the online check on every step of the theorems' runs", "OWN"))))
