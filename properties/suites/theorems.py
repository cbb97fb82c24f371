"""Checks of Theorem 1 (ByzantinePGD) and Theorem 2 (exact-oracle PGD): instance-based, with a
random-direction Δ-inexact oracle (runner.check_claim)."""

from ..registry import register_check, register_replay
from ..runner import check_claim, replay

THEOREM_CLAIMS = ("byzantine_pgd.grad_norm", "byzantine_pgd.lambda_min", "byzantine_pgd.iterations",
                  "exact_pgd.grad_norm", "exact_pgd.lambda_min", "exact_pgd.iterations")


def _register(claim_id):
    register_check(claim_id)(lambda profile, seed, progress: check_claim(
        claim_id, profile, seed, progress=progress))
    register_replay(claim_id)(lambda spec: replay(claim_id, spec))


for _cid in THEOREM_CLAIMS:
    _register(_cid)
