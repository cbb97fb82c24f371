"""Jin et al.'s PGD (Algorithm 2, docs/paper.md §9) on the shared loop (algorithms/engine.py,
"Jin et al.'s test"): the runs are those of the algorithm as written in the paper, transcribed
below line by line as the test's reference (not used by the package), and the loop's own slips
(a round one step short, the distance test in place of the decrease test) are told apart."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from byzpgd.algorithms import PGDParams
from byzpgd.algorithms.engine import batched_perturbed_gd
from byzpgd.algorithms.jin_pgd import JinParams, jin_parameters, jin_pgd
from byzpgd.experiments import saddle_attack as sa
from byzpgd.experiments.instances import build_landscape, make_oracle
from byzpgd.geometry import uniform_ball
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle
from byzpgd.oracles.landscapes import CosineSaddle
from byzpgd.properties.suites.saddle_attack import sample_attack_specs

engine = importlib.import_module("byzpgd.algorithms.engine")


def algorithm_2(oracle, x, rng, p, value, max_calls):
    """Algorithm 2 of Jin et al. (2017) as docs/paper.md §9 writes it: (x, calls, t, rounds,
    escapes, status); the call budget is looked at before every query, and a run it stops inside
    a round returns the candidate x̃ (the shared loop's convention: no output in the theorems'
    sense either way)."""
    calls = escapes = rounds = t = 0
    t_noise, x_tilde, f_tilde = -p.t_thres - 1, None, None
    while True:
        if calls >= max_calls:
            in_round = x_tilde is not None and t - t_noise <= p.t_thres
            return (x_tilde if in_round else x), calls, t, rounds, escapes, "max_oracle_calls"
        g = oracle(x)
        calls += 1
        if np.linalg.norm(g) <= p.g_thres and t - t_noise > p.t_thres:
            x_tilde, f_tilde, t_noise = x.copy(), value(x), t
            oracle.notify("candidate", w=x_tilde)
            xi = uniform_ball(rng, x.size, p.r)
            rounds += 1
            oracle.notify("perturbation", candidate=x_tilde, xi=xi)
            x = x_tilde + xi
            if calls >= max_calls:
                return x_tilde, calls, t, rounds, escapes, "max_oracle_calls"
            g = oracle(x)
            calls += 1
        if x_tilde is not None and t - t_noise == p.t_thres:
            if value(x) - f_tilde > -p.f_thres:
                return x_tilde, calls, t, rounds, escapes, "converged"
            escapes += 1
        x = x - p.eta * g
        t += 1


def _runs(n, seed=0):
    """Saddle-attack instances of the Jin claim: attacked and exact, with their parameters."""
    out = []
    for spec in sample_attack_specs("saddle_attack.jin_pgd_trapped", n, seed):
        land = build_landscape(spec)
        w0, _ = sa.attack_start(spec, land)
        for exact in (False, True):
            def oracle(spec=spec, land=land, exact=exact):
                if exact:
                    return CertifiedOracle(ExactOracle(land))
                return make_oracle({**spec, "family": "byzantine_pgd"}, land)
            p = jin_parameters(4 * spec["Delta"], land.L, land.rho, land.dim, 0.1,
                               land.value(w0) - land.f_star)
            out.append((spec, land, w0, oracle, p))
    return out


def _escaping_runs(n):
    """Cosine saddles with parameters under which Algorithm 2 escapes some saddles (a radius and
    a round long enough for the decrease test to pass), exact and under the trap."""
    out = []
    for seed in range(n):
        land = CosineSaddle.random(3, np.random.default_rng(seed))
        p = JinParams(eta=1 / land.L, r=0.05, g_thres=1e-3, f_thres=1e-5, t_thres=20 + seed, chi=1.0)
        for name in ("exact", "trap"):
            def oracle(land=land, name=name, seed=seed):
                if name == "exact":
                    return CertifiedOracle(ExactOracle(land))
                return CertifiedOracle(make_adversary({"name": name, "seed": seed}, land, 1e-4))
            out.append(({"run_seed": seed, "Delta": 1e-4}, land, np.full(land.dim, 1e-3), oracle, p))
    return out


def _same(spec, land, w0, oracle, p, cap=sa.MAX_CALLS) -> bool:
    ref = algorithm_2(oracle(), w0.copy(), np.random.default_rng(spec["run_seed"]), p, land.value, cap)
    res = jin_pgd(oracle(), w0, np.random.default_rng(spec["run_seed"]), epsilon=4 * spec["Delta"],
                  delta=0.1, params=p, max_oracle_calls=cap)
    got = (res.w, res.grad_oracle_calls, res.gd_steps, res.escape_rounds, res.escapes, res.status)
    return bool(np.array_equal(ref[0], got[0])) and ref[1:] == got[1:]


def test_jin_pgd_on_the_loop_is_algorithm_2():
    runs = _runs(12) + _escaping_runs(6)
    assert all(_same(*r) for r in runs)
    res = [jin_pgd(o(), w0, np.random.default_rng(s["run_seed"]), epsilon=4 * s["Delta"], params=p)
           for s, _, w0, o, p in runs]
    assert {r.status for r in res} == {"converged"} and sum(r.escapes for r in res) >= 3   # both branches


@pytest.mark.parametrize("cap", [7, 50, 333])
def test_jin_pgd_honours_the_call_cap_inside_a_round(cap):
    for spec, land, w0, oracle, p in _runs(4, seed=1):
        assert _same(spec, land, w0, oracle, p, cap)


def test_a_round_one_step_short_is_caught(monkeypatch):
    """T_th = t_thres in place of t_thres + 1: the test comes one query early."""
    runs = _runs(6) + _escaping_runs(6)
    original = engine.round_plan
    monkeypatch.setattr(engine, "round_plan", lambda Q, T: (lambda q, t: (q, t - 1))(*original(Q, T)))
    assert not all(_same(*r) for r in runs)


def test_the_distance_test_in_place_of_the_decrease_is_caught(monkeypatch):
    runs = _escaping_runs(6)
    monkeypatch.setattr(engine, "value_decrease", lambda values, U, ref, idx: np.linalg.norm(U - ref, axis=1))
    assert not all(_same(*r) for r in runs)


def test_the_decrease_test_is_made_at_a_round_s_last_query_only():
    land = build_landscape(sample_attack_specs("saddle_attack.jin_pgd_trapped", 1, 0)[0])
    p = PGDParams(eta=0.1, epsilon=1e-3, r=1e-3, Q=1, R=1e-3, T_th=3)
    with pytest.raises(ValueError, match="escape_test='final'"):
        batched_perturbed_gd(None, np.zeros((1, land.dim)), [p], [np.random.default_rng(0)],
                             escape_values=lambda W, idx: np.zeros(len(W)))
