"""Statements of the aggregators' (f, κ)-robustness claims: a second check of each paper GradAGG
that does not measure Δ from the pipeline under test (issue 26). Definitions and bounds:
:mod:`byzpgd.theory.robustness`; checked by :mod:`byzpgd.properties.suites.robustness` with the
adversarial search of :func:`byzpgd.audit.kappa.kappa_hat`.

- ``aggregator.median.kappa``, ``aggregator.trimmed_mean.kappa`` (deterministic, OWN): on every
  input, κ̂ <= the rule's proven bound (observed: κ̂ / bound, bound 1);
- ``aggregator.iterative_filtering.bounded_influence`` (deterministic, OWN): the filter's error is
  bounded whatever the Byzantine rows (κ̂ < ∞). The §6 rate says the filter is Δ-inexact *under
  every attack*, which no rule whose error grows without bound with the Byzantine rows can be;
  no proven constant of the project's filter is claimed (observed: 0 when κ̂ is finite, 1 when the
  error grows without bound; bound 1/2).
"""

from __future__ import annotations

import sympy as sp

from .base import Claim, register

KAPPA_CLAIMS = {"median": "aggregator.median.kappa", "trimmed_mean": "aggregator.trimmed_mean.kappa"}
BOUNDED_CLAIMS = {"iterative_filtering": "aggregator.iterative_filtering.bounded_influence"}
_BOUND_TEXT = {"median": "(n - f - k)/k, k = floor((n+1)/2) - f (Cantelli per coordinate)",
               "trimmed_mean": "max over a in [max(0, n-3f), n-2f] of a (n - f - a)/(n - 2f)^2"}
HYPOTHESES = ("n > 2f >= 2 (any finite inputs: the Byzantine rows anywhere, at any positions)",)

for _agg, _cid in KAPPA_CLAIMS.items():
    register(Claim(
        id=_cid,
        statement=f"The {_agg.replace('_', ' ')} is (f, kappa)-robust with kappa <= {_BOUND_TEXT[_agg]}: "
                  "||F(X) - mean_S||^2 <= kappa/|S| sum_S ||x_i - mean_S||^2 for every S of n - f rows",
        source="Allouah et al. 2023 (the definition); the bound: OWN proof (audit/kappa.py docstring)",
        provenance="OWN", kind="deterministic",
        observed="kappa_hat / kappa_bound (largest ratio found by adversarial search over the inputs)",
        constant=1.0, shape=sp.Integer(1), hypotheses=HYPOTHESES,
        notes="Independent of the pipeline: no Delta is measured. The bounds are attained by the "
              "search at some (n, f) (median at n = 11, f = 3; trimmed mean at n = 10, f = 4), so a "
              "rule that is off by one kept value, a divisor or a biased value exceeds them.",
        parts=(("the (f, kappa) definition", "CONFIRMED"), ("the bound and its proof", "OWN"))))

for _agg, _cid in BOUNDED_CLAIMS.items():
    register(Claim(
        id=_cid,
        statement="The iterative filtering GradAGG's error is bounded whatever the Byzantine rows "
                  "(kappa_hat < infinity: the error does not grow when they move away)",
        source="docs/paper.md §6 ('under every attack': a Delta-inexact rule has bounded influence); "
               "the check is OWN",
        provenance="OWN", kind="deterministic",
        observed="1 if the error grows without bound as the Byzantine rows move away, else 0",
        constant=0.5, shape=sp.Integer(1), hypotheses=HYPOTHESES + ("alpha = f/n < 1/4",),
        notes="No proven kappa of the project's filter is claimed; kappa_hat is reported.",
        parts=(("the rate's 'under every attack'", "CONFIRMED-INDIRECT"), ("the check", "OWN"))))
