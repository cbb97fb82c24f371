"""Assertions shared by the claim suites (one module per group of claims)."""

from hypothesis import assume

from byzpgd.experiments.instances import run
from byzpgd.properties.checks import observe
from byzpgd.properties.result import MIN_NONVACUOUS, ROUNDING_RTOL, ClaimResult
from byzpgd.properties.runner import check_claim
from byzpgd.theory.claims import get


def assert_holds_on_instance(claim_id: str, spec: dict) -> None:
    """A deterministic claim on one generated instance (instances outside the claim's
    hypotheses are discarded with ``assume``, and counted apart by the runner)."""
    obs = observe(get(claim_id), run(spec))
    assume(obs.in_hypotheses)
    assert obs.holds, (f"{claim_id}: observed {obs.observed:.6g} > bound {obs.bound:.6g}; "
                       f"spec {spec}")


def assert_claim_holds(claim_id: str, profile: str) -> ClaimResult:
    result = check_claim(claim_id, profile, seed=0)
    assert result.status == "holds", result
    assert result.nonvacuous_instances >= MIN_NONVACUOUS
    assert result.worst_ratio <= 1 + ROUNDING_RTOL
    return result
