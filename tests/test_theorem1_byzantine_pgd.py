"""Theorem 1 (ByzantinePGD with a Δ-inexact oracle): the three claims, on generated instances,
and for each a deliberately broken variant that the same check must catch."""

import pytest
import variants
from hypothesis import assume, given

from byzpgd.properties.checks import observe
from byzpgd.properties.instances import run
from byzpgd.properties.runner import check_claim
from byzpgd.properties.strategies import claim_strategy
from byzpgd.theory.claims import get

GRAD = "byzantine_pgd.grad_norm"
LAMBDA = "byzantine_pgd.lambda_min"
ITERS = "byzantine_pgd.iterations"


@given(claim_strategy(GRAD))
def test_grad_norm_holds_on_every_instance(spec):
    obs = observe(get(GRAD), run(spec))
    assume(obs.in_hypotheses)
    assert obs.holds, f"||grad F(w~)|| = {obs.observed:.6g} > 4 Delta = {obs.bound:.6g}"


@given(claim_strategy(ITERS))
def test_iteration_bound_holds_on_every_instance(spec):
    obs = observe(get(ITERS), run(spec))
    assume(obs.in_hypotheses)
    assert obs.holds, f"{obs.observed:.0f} oracle calls > bound {obs.bound:.6g}"


@pytest.mark.parametrize("claim_id", [GRAD, LAMBDA, ITERS])
def test_claim_holds_with_enough_nonvacuous_instances(claim_id, profile):
    entry = check_claim(claim_id, profile, seed=0)
    assert entry["status"] == "holds", entry
    assert entry["nonvacuous_instances"] >= 20
    assert entry["worst_ratio"] <= 1 + 1e-9


def test_lambda_min_instances_are_all_nonvacuous_and_trap_at_the_saddle():
    """The λ_min sampler produces bounds below L_F and saddles below the bound, so staying at
    the saddle would violate the claim."""
    claim = get(LAMBDA)
    from byzpgd.properties.strategies import sample_specs
    for spec in sample_specs(LAMBDA, 20, seed=1):
        rec = run(spec, variants.bpgd_no_perturbation)
        bound = claim.bound(rec.values)
        assert bound < rec.values["L_F"]


# --- able to fail ----------------------------------------------------------------------------
def test_epsilon_5delta_breaks_the_4delta_bound():
    entry = check_claim(GRAD, "quick", seed=0, algorithm=variants.bpgd_epsilon_5delta)
    assert entry["status"] == "violated"
    assert entry["worst_ratio"] > 1
    assert entry["replay"].startswith("byzpgd replay byzantine_pgd.grad_norm '{")


def test_no_perturbation_from_a_saddle_breaks_the_lambda_min_bound():
    entry = check_claim(LAMBDA, "quick", seed=0, algorithm=variants.bpgd_no_perturbation)
    assert entry["status"] == "violated"
    assert entry["binomial"]["p_value"] < 1e-6


def test_slow_steps_break_the_iteration_bound():
    entry = check_claim(ITERS, "quick", seed=0, algorithm=variants.bpgd_slow_steps)
    assert entry["status"] == "violated"


def test_a_100x_smaller_constant_is_caught():
    """The check is not vacuous: 2/100 in place of 2 is violated on the same instances."""
    entry = check_claim(ITERS, "quick", seed=0, constant=0.02)
    assert entry["status"] == "violated"
