"""Theorem 1 (ByzantinePGD with a Δ-inexact oracle): the three claims, on generated instances,
and for each a deliberately broken variant that the same check must catch."""

import pytest
import variants
from claim_asserts import assert_claim_holds, assert_holds_on_instance
from hypothesis import given

from byzpgd.experiments.instances import run
from byzpgd.properties.checks import observe
from byzpgd.properties.result import ALPHA_BINOMIAL
from byzpgd.properties.runner import check_claim
from byzpgd.properties.strategies import claim_strategy, largest_delta_r_le_R
from byzpgd.theory.claims import get
from byzpgd.theory.hypotheses import theorem1_r_le_R

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "byzantine_pgd.grad_norm",
    "byzantine_pgd.lambda_min",
    "byzantine_pgd.iterations",
)

GRAD = "byzantine_pgd.grad_norm"
LAMBDA = "byzantine_pgd.lambda_min"
ITERS = "byzantine_pgd.iterations"


@given(claim_strategy(GRAD))
def test_grad_norm_holds_on_every_instance(spec):
    assert_holds_on_instance(GRAD, spec)


@given(claim_strategy(ITERS))
def test_iteration_bound_holds_on_every_instance(spec):
    assert_holds_on_instance(ITERS, spec)


@pytest.mark.parametrize("claim_id", [GRAD, LAMBDA, ITERS])
def test_claim_holds_with_enough_nonvacuous_instances(claim_id, profile):
    assert_claim_holds(claim_id, profile)


def test_lambda_min_instances_are_all_nonvacuous_and_trap_at_the_saddle():
    """The λ_min sampler produces bounds below L_F and saddles below the bound, so staying at
    the saddle would violate the claim."""
    claim = get(LAMBDA)
    from byzpgd.properties.strategies import sample_specs
    for spec in sample_specs(LAMBDA, 20, seed=1):
        rec = run(spec, variants.bpgd_no_perturbation)
        bound = claim.bound(rec.values)
        assert bound < rec.values["L_F"]


@pytest.mark.parametrize("dim", [2, 3, 6])
def test_the_samplers_delta_range_ends_where_theorem_1s_r_le_R_does(dim):
    edge = largest_delta_r_le_R(dim)
    for rho in (0.1, 2.0):
        assert theorem1_r_le_R({"Delta": edge * (1 - 1e-6), "d": dim, "rho_F": rho})
        assert not theorem1_r_le_R({"Delta": edge * (1 + 1e-6), "d": dim, "rho_F": rho})


def test_bounds_and_hypotheses_come_from_the_theorem_not_from_the_run():
    """A run with other parameters (robust GD: no perturbation, no Q) is judged at the values
    Theorem 1 prescribes for the instance, the same as the theorem's own run."""
    from byzpgd.properties.strategies import sample_specs
    spec = sample_specs(ITERS, 1, seed=0)[0]
    honest, other = run(spec), run(spec, variants.bpgd_no_perturbation)
    assert other.values == honest.values
    assert get(ITERS).bound(other.values) == get(ITERS).bound(honest.values)


# --- able to fail ----------------------------------------------------------------------------
def test_epsilon_5delta_breaks_the_4delta_bound():
    result = check_claim(GRAD, "quick", seed=0, algorithm=variants.bpgd_epsilon_5delta)
    assert result.status == "violated"
    assert result.worst_ratio > 1
    assert result.replay.startswith("byzpgd replay byzantine_pgd.grad_norm '{")


def test_no_perturbation_from_a_saddle_breaks_the_lambda_min_bound():
    result = check_claim(LAMBDA, "quick", seed=0, algorithm=variants.bpgd_no_perturbation)
    assert result.status == "violated"
    assert result.binomial.p_value < ALPHA_BINOMIAL


def test_repeated_queries_break_the_iteration_bound():
    """The bound is loose by about 10^3-10^4 here (empirical constant ~3e-4 against 2), so even
    η/1000 stays inside it; 10^4 oracle calls per step do not."""
    result = check_claim(ITERS, "quick", seed=0, algorithm=variants.bpgd_repeated_queries)
    assert result.status == "violated"


@pytest.mark.parametrize("claim_id", [GRAD, ITERS])
def test_a_constant_below_the_empirical_one_is_caught(claim_id):
    """The check bites at the measured constant: a tenth of it is violated on the same
    instances (and the paper's constant is not)."""
    result = check_claim(claim_id, "quick", seed=0)
    assert result.status == "holds"
    broken = check_claim(claim_id, "quick", seed=0, constant=result.empirical_constant / 10)
    assert broken.status == "violated"


def test_literal_iteration_bound_fails_when_Q_is_clamped():
    """Pinned finding (Hypothesis, ci profile): next to a minimum, Q's formula is negative, Q is
    clamped to 1, and the final certification round does not fit in 2(F_0-F*)L Q/(3Δ²). The
    check reports the instance as outside the claim's hypotheses instead of hiding it."""
    spec = {"family": "byzantine_pgd", "landscape": "cosine_saddle", "dim": 3, "L": 0.5,
            "rho": 0.25, "n_neg": 1, "landscape_seed": 0, "start": "minimum",
            "start_scale": 0.001, "start_seed": 0, "Delta": 0.00017154378963428788,
            "oracle_seed": 0, "run_seed": 0}
    obs = observe(get(ITERS), run(spec))
    assert obs.observed > obs.bound
    assert not obs.in_hypotheses and "clamped" in obs.note


def test_a_threshold_off_by_1_5_breaks_the_4delta_bound():
    # subtle: ε = 4.5Δ instead of 3Δ; the shrink adversary drives ‖∇F(w̃)‖ to ε + Δ = 5.5Δ
    result = check_claim(GRAD, "quick", seed=0, algorithm=variants.bpgd_epsilon_1_5)
    assert result.status == "violated"
    assert result.worst_violation.ratio < 1.5
