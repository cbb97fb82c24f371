"""The descent monitor (experiments/monitor.py): the theorems' algorithms pass it; a step size off
by a factor, either way, is stopped at once as 'descent_violated'; perturbation jumps and
batched rounds are never judged."""

from dataclasses import replace

import numpy as np
import pytest

from byzpgd.algorithms import byzantine_pgd, exact_pgd, perturbed_gd
from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.experiments.monitor import STATUS, DescentMonitor
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle
from byzpgd.oracles.landscapes import CosineSaddle


def _setup(seed, adversary="random_direction", Delta=1e-3):
    land = CosineSaddle.random(4, np.random.default_rng(seed))
    oracle = CertifiedOracle(make_adversary({"name": adversary, "seed": seed}, land, Delta))
    w0 = np.random.default_rng(seed + 1).normal(size=4)
    return land, oracle, w0


@pytest.mark.parametrize("adversary", ["random_direction", "trap", "shrink", "adaptive"])
def test_byzantine_pgd_passes_the_monitor(adversary):
    land, oracle, w0 = _setup(3, adversary)
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    res = byzantine_pgd(mon, w0, np.random.default_rng(0), delta=0.1,
                        factors={"c_r": 1, "c_R": 1, "c_T": 8, "c_Q": 8})
    assert res.status == "converged" and mon.violation is None


def test_exact_pgd_passes_the_monitor():
    land = CosineSaddle.random(3, np.random.default_rng(5))
    mon = DescentMonitor(CertifiedOracle(ExactOracle(land)), land.L, 0.0)
    res = exact_pgd(mon, np.full(3, 0.7), np.random.default_rng(0), epsilon=1e-4, delta=0.1)
    assert res.status == "converged" and mon.violation is None


@pytest.mark.parametrize("factor", [1.5, 1 / 1.5, 2.5])
def test_a_step_size_off_by_a_factor_is_stopped(factor):
    # curvature a_1 = L_F = 1 along the first positive direction, where a wrong step shows at once
    land = CosineSaddle([1.0, 0.5, 0.4], [0.8], [0.8])
    oracle = CertifiedOracle(make_adversary({"name": "random_direction", "seed": 1}, land, 1e-3))
    w0 = land.rotation.apply(np.array([0.0, 0.8, 0.01, 0.01]))
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, 0.1, land.value(w0) - land.f_star)
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    res = perturbed_gd(mon, w0, replace(p, eta=factor * p.eta), np.random.default_rng(0))
    assert res.status == STATUS and "Lemma" in mon.violation
    assert res.grad_oracle_calls <= 3                  # stopped at the first judged step


def test_perturbation_jumps_are_not_judged():
    # a perturbation that raises F (a jump up the saddle) is not a step
    land, oracle, w0 = _setup(11)
    mon = DescentMonitor(oracle, land.L, oracle.delta)
    mon(np.zeros(land.dim))
    mon.notify("perturbation", candidate=np.zeros(land.dim), xi=np.ones(land.dim))
    mon(np.full(land.dim, 0.3))          # F changed arbitrarily: no violation
    assert mon.violation is None
