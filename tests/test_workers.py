"""Statistical models (closed-form population gradients), worker simulation, attacks, pipeline."""

import numpy as np
import pytest

from byzpgd.algorithms.aggregators import coordinate_median, mean
from byzpgd.oracles.attacks import (
    ATTACKS,
    AttackContext,
    RealiseTarget,
    SaddleTrapTarget,
    alie_z,
    make_attack,
)
from byzpgd.oracles.pipeline import ByzantineOracle
from byzpgd.oracles.statistical import GaussianLocation, LinearRegression, PhaseRetrievalModel
from byzpgd.oracles.workers import WorkerPool


@pytest.mark.parametrize("model", [GaussianLocation(np.array([1.0, -2.0, 0.5])),
                                   LinearRegression(np.array([1.0, -2.0, 0.5]), noise=0.3),
                                   PhaseRetrievalModel(np.array([0.6, -0.8, 0.0]), 1.5)])
def test_worker_gradients_average_to_the_population_gradient(model):
    rng = np.random.default_rng(0)
    pool = WorkerPool(model, 40, 2000, rng, f=0)
    w = np.array([0.3, 0.1, -0.2])
    g = pool.honest_gradients(w)
    assert g.shape == (40, 3)
    se = g.std(axis=0).max() / np.sqrt(40)
    assert np.linalg.norm(g.mean(0) - model.grad(w)) < 6 * se + 1e-12


def test_pool_validation():
    model = GaussianLocation(np.zeros(2))
    with pytest.raises(ValueError, match="alpha must be in"):
        WorkerPool(model, 10, 5, np.random.default_rng(0), alpha=0.6)
    with pytest.raises(TypeError, match="Generator"):
        WorkerPool(model, 10, 5, 0, alpha=0.1)
    assert WorkerPool(model, 10, 5, np.random.default_rng(0), alpha=0.25).f == 2


def test_alie_z_matches_baruch_et_al():
    # m = 50, f = 12: s = 26 - 12 = 14, z = Phi^-1(36/50) ≈ 0.583
    assert alie_z(50, 12) == pytest.approx(0.5828, abs=1e-3)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_every_attack_returns_f_rows(name):
    rng = np.random.default_rng(1)
    H = rng.standard_normal((18, 4))
    ctx = AttackContext(f=3, m=21, aggregate=coordinate_median, true_grad=np.zeros(4), rng=rng)
    assert make_attack(name)(H, np.zeros(4), ctx).shape == (3, 4)


def test_line_search_attacks_beat_their_fixed_versions_on_the_median():
    model = GaussianLocation(np.zeros(10))
    res = {}
    for a in ("alie", "alie_ls", "ipm", "ipm_ls"):
        pool = WorkerPool(model, 50, 100, np.random.default_rng(2), alpha=0.2)
        oracle = ByzantineOracle(pool, a, coordinate_median, np.random.default_rng(3))
        res[a] = oracle.probe(3, np.random.default_rng(4))
    assert res["alie_ls"] >= res["alie"] - 1e-12 and res["ipm_ls"] >= res["ipm"] - 1e-12


def test_realise_target_lands_on_a_reachable_target_and_measures_delta():
    model = PhaseRetrievalModel(np.array([0.1, 0.0, 0.0]), 0.15)
    pool = WorkerPool(model, 20, 200, np.random.default_rng(5), f=4)
    trap = SaddleTrapTarget(model, budget=1e-4)
    oracle = ByzantineOracle(pool, RealiseTarget(trap), mean, np.random.default_rng(6))
    w = trap.saddle + 1e-3 * trap.direction
    g = oracle(w)
    assert np.linalg.norm(g - trap(w)) < 1e-10       # the mean can be steered exactly
    assert oracle.visited_max == pytest.approx(np.linalg.norm(g - model.grad(w)))
    oracle.probe(4, np.random.default_rng(7))
    assert oracle.empirical_delta() >= oracle.visited_max


def test_saddle_trap_is_within_budget_and_fakes_positive_curvature():
    model = PhaseRetrievalModel(np.array([0.0, 1.0, 0.0]), 1.5)
    trap = SaddleTrapTarget(model, budget=1e-2)
    e, s = trap.direction, trap.saddle
    for t in (-1.0, -1e-3, 1e-3, 1.0):
        w = s + t * e
        assert np.linalg.norm(trap(w) - model.grad(w)) <= 1e-2 + 1e-15
    t = 1e-3
    assert (trap(s + t * e) @ e) > 0 > (model.grad(s + t * e) @ e)


def test_the_pipeline_takes_an_aggregate_callable_not_a_name():
    pool = WorkerPool(GaussianLocation(np.zeros(3)), 10, 5, np.random.default_rng(0), f=2)
    with pytest.raises(TypeError, match="aggregator must be a callable"):
        ByzantineOracle(pool, "sign_flip", "median", np.random.default_rng(1))
