"""end_to_end.* claims: hold with the paper's aggregators; broken variants are caught."""

from dataclasses import replace

from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.algorithms.perturbed_gd import perturbed_gd
from byzpgd.experiments.budget import FAILURE_PROBABILITY
from byzpgd.experiments.end_to_end import run_instance
from byzpgd.properties.suites.end_to_end import e2e_check, specs


def _eps_8delta(spec, oracle, w0, rng):
    land = oracle.landscape
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                       land.value(w0) - land.f_star)
    return perturbed_gd(oracle, w0, replace(p, epsilon=8 * oracle.delta), rng)


def test_end_to_end_claims_hold():
    for cid in ("end_to_end.grad_norm", "end_to_end.iterations"):
        res = e2e_check(cid, "quick", 0)
        assert res.status == "holds", res
        assert set(res.adversaries) == {"median", "trimmed_mean", "iterative_filtering"}
        assert sum(row.instances for row in res.adversaries.values()) == res.instances


def test_threshold_8delta_breaks_the_gradient_bound():
    res = e2e_check("end_to_end.grad_norm", "quick", 0, algorithm=_eps_8delta, n=24)
    assert res.status == "violated"
    assert res.replay.startswith("byzpgd replay end_to_end.grad_norm '{")


def test_a_tenth_of_the_empirical_iteration_constant_is_caught():
    res = e2e_check("end_to_end.iterations", "quick", 0)
    broken = e2e_check("end_to_end.iterations", "quick", 0, constant=res.empirical_constant / 10, n=24)
    assert broken.status == "violated"


def test_run_is_inside_the_certified_ball_and_delta_covers_the_visits():
    rec = run_instance(specs("quick", 0)[0])
    assert not rec.left_domain and rec.visited_max <= rec.Delta
    assert rec.outside_hypotheses == ""
