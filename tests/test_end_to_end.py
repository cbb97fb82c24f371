"""end_to_end.* claims: hold with the paper's aggregators; broken variants are caught."""

from dataclasses import replace

from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.algorithms.perturbed_gd import perturbed_gd
from byzpgd.properties.suites.end_to_end import FAILURE_PROBABILITY, e2e_check, run_instance, specs


def _eps_6delta(spec, oracle, w0, rng):
    land = oracle.landscape
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                       land.value(w0) - land.f_star)
    return perturbed_gd(oracle, w0, replace(p, epsilon=8 * oracle.delta), rng)


def test_end_to_end_claims_hold():
    for cid in ("end_to_end.grad_norm", "end_to_end.iterations"):
        e = e2e_check(cid, "quick", 0)
        assert e["status"] == "holds", e
        assert set(e["by_aggregator"]) == {"median", "trimmed_mean", "iterative_filtering"}


def test_threshold_8delta_breaks_the_gradient_bound():
    e = e2e_check("end_to_end.grad_norm", "quick", 0, algorithm=_eps_6delta, n=24)
    assert e["status"] == "violated"


def test_a_tenth_of_the_empirical_iteration_constant_is_caught():
    e = e2e_check("end_to_end.iterations", "quick", 0)
    broken = e2e_check("end_to_end.iterations", "quick", 0, constant=e["empirical_constant"] / 10, n=24)
    assert broken["status"] == "violated"


def test_run_is_inside_the_certified_ball_and_delta_covers_the_visits():
    rec = run_instance(specs("quick", 0)[0])
    assert not rec["left_domain"] and rec["visited_max"] <= rec["Delta"]
