"""Theorem 2 (exact oracle, the proved variant of paper-spec §7.3): the three claims on
generated instances, and for each a broken variant that the same check must catch."""

import pytest
import variants
from hypothesis import assume, given

from byzpgd.properties.checks import observe
from byzpgd.properties.instances import run
from byzpgd.properties.runner import check_claim
from byzpgd.properties.strategies import claim_strategy
from byzpgd.theory.claims import get

GRAD = "exact_pgd.grad_norm"
LAMBDA = "exact_pgd.lambda_min"
ITERS = "exact_pgd.iterations"


@given(claim_strategy(GRAD))
def test_grad_norm_holds_on_every_instance(spec):
    obs = observe(get(GRAD), run(spec))
    assume(obs.in_hypotheses)
    assert obs.holds, f"||grad F(w~)|| = {obs.observed:.6g} > epsilon = {obs.bound:.6g}"


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


# --- able to fail ----------------------------------------------------------------------------
def test_threshold_2eps_breaks_the_gradient_bound():
    entry = check_claim(GRAD, "quick", seed=0, algorithm=variants.exact_threshold_2eps)
    assert entry["status"] == "violated"


def test_no_perturbation_breaks_the_lambda_min_bound():
    entry = check_claim(LAMBDA, "quick", seed=0, algorithm=variants.exact_no_perturbation)
    assert entry["status"] == "violated"
    assert entry["binomial"]["p_value"] < 1e-6


def test_slow_steps_break_the_iteration_bound():
    entry = check_claim(ITERS, "quick", seed=0, algorithm=variants.exact_slow_steps)
    assert entry["status"] == "violated"
