"""Checks of Theorem 1 (ByzantinePGD with a Δ-inexact oracle, docs/paper.md §4) and Theorem 2
(exact-oracle PGD, docs/paper.md §7.3).

Where each part of a theorem claim lives (``byzpgd claims --where ID`` lists the files):
statement in :mod:`byzpgd.theory.claims.theorems`; instance distributions in
:mod:`byzpgd.properties.strategies` (``SAMPLERS``); the run of one instance in
:mod:`byzpgd.experiments.instances`; observation, vacuity and hypotheses in
:func:`byzpgd.properties.checks.observe`; the check itself is
:func:`byzpgd.properties.runner.check_claim` (one instance loop, a :class:`ClaimResult`).
"""

from .. import hierarchy
from ..registry import register_check, register_replay
from ..runner import check_claim, replay

THEOREM_CLAIMS = ("byzantine_pgd.grad_norm", "byzantine_pgd.lambda_min", "byzantine_pgd.iterations",
                  "exact_pgd.grad_norm", "exact_pgd.lambda_min", "exact_pgd.iterations",
                  "exact_pgd.poster_lambda_min")


def _register(claim_id: str) -> None:
    """The check of ``claim_id``; the gradient-norm and iteration claims of Theorem 1 carry the
    tightness hierarchy O <= W <= B of the gradient phase (:mod:`byzpgd.properties.hierarchy`)."""
    def check(profile, seed, progress):
        result = check_claim(claim_id, profile, seed, progress=progress)
        if claim_id in hierarchy.CLAIM_QUANTITIES:
            result = hierarchy.attach(result, hierarchy.for_claim(claim_id, profile, seed))
        return result
    register_check(claim_id, shares_pool=True)(check)
    register_replay(claim_id)(lambda spec: replay(claim_id, spec))


for _cid in THEOREM_CLAIMS:
    _register(_cid)
