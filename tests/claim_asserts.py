"""Assertions shared by the claim suites (one module per group of claims)."""

from hypothesis import assume

from byzpgd.experiments.instances import run
from byzpgd.properties.checks import observe
from byzpgd.properties.profiles import MIN_NONVACUOUS
from byzpgd.properties.runner import check_claim
from byzpgd.theory.claims import get


def assert_holds_on_instance(claim_id: str, spec: dict) -> None:
    """A deterministic claim on one generated instance (instances outside the claim's
    hypotheses are discarded with ``assume``, and counted apart by the runner)."""
    obs = observe(get(claim_id), run(spec))
    assume(obs.in_hypotheses)
    assert obs.holds, (f"{claim_id}: observed {obs.observed:.6g} > bound {obs.bound:.6g}; "
                       f"spec {spec}")


def assert_claim_holds(claim_id: str, profile: str) -> dict:
    entry = check_claim(claim_id, profile, seed=0)
    assert entry["status"] == "holds", entry
    assert entry["nonvacuous_instances"] >= MIN_NONVACUOUS
    assert entry["worst_ratio"] <= 1 + 1e-9
    return entry
