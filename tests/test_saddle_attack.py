"""The saddle-point attack works (robust GD and Jin et al.'s PGD trapped), the defence works
(ByzantinePGD escapes), and each of these checks is able to fail."""

from dataclasses import replace

import numpy as np
import pytest

from byzpgd.algorithms import robust_gd
from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.algorithms.jin_pgd import jin_chi, jin_parameters, jin_pgd, jin_radius
from byzpgd.algorithms.perturbed_gd import perturbed_gd
from byzpgd.experiments.loop import ProcessExecutor
from byzpgd.experiments.saddle_attack import AttackRun
from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle
from byzpgd.oracles.landscapes import CosineSaddle
from byzpgd.properties.early import complete_instances
from byzpgd.properties.registry import CHECKS, REPLAYS, claim_ids
from byzpgd.properties.result import ClaimResult
from byzpgd.properties.suites import saddle_attack as sa
from byzpgd.theory.certify import certify
from byzpgd.theory.claims import get
from byzpgd.theory.claims.saddle_attack import (
    BYZANTINE_PGD_ESCAPES,
    JIN_PGD_TRAPPED,
    ROBUST_GD_TRAPPED,
)
from byzpgd.theory.hypotheses import R_GT_R_NOTE, r_le_R, theorem1_r_le_R
from byzpgd.theory.parameters import CALIBRATED_FACTORS

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "saddle_attack.robust_gd_trapped",
    "saddle_attack.jin_pgd_trapped",
    "saddle_attack.byzantine_pgd_escapes",
)

CLAIMS = list(sa.ALGORITHM_OF)


def test_claims_are_registered_with_checks_and_replays():
    ids = claim_ids()
    for cid in CLAIMS:
        assert cid in ids and cid in CHECKS and cid in REPLAYS


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_attack_and_defence_hold(claim_id):
    result = sa.check_attack(claim_id, "quick", seed=0)
    assert isinstance(result, ClaimResult)
    assert result.status == "holds", result
    assert result.nonvacuous_instances >= 20
    if claim_id == BYZANTINE_PGD_ESCAPES.id:
        assert result.details["left_saddle_fraction"] == 1.0
    else:   # trapped under attack, escaping without it
        assert result.details["left_saddle_fraction"] <= 0.01
        assert result.details["control_left_saddle_fraction"] >= 0.5
    assert sum(row.instances for row in result.adversaries.values()) == result.instances


def _calibrated_bpgd(spec, oracle, w0, rng):
    """ByzantinePGD with the calibrated factors, T_th <= 200 and Q <= 20 (at Δ = 1e-14 the
    formulas give T_th ~ 10^6: far more than an escape needs, and too slow for a test)."""
    land = oracle.landscape
    p = theorem_params(oracle.delta, land.L, land.rho, land.dim, 0.1, land.value(w0) - land.f_star,
                       CALIBRATED_FACTORS)
    p = replace(p, T_th=min(p.T_th, 200), Q=min(p.Q, 20))
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=10**6)


@pytest.mark.parametrize("claim_id", [ROBUST_GD_TRAPPED.id, JIN_PGD_TRAPPED.id])
def test_trapped_checks_catch_an_algorithm_that_escapes(claim_id):
    result = sa.check_attack(claim_id, "quick", seed=0, algorithm=_calibrated_bpgd, n=24)
    assert result.status == "violated"
    assert result.replay.startswith(f"byzpgd replay {claim_id} '")
    assert result.binomial.rejects


def test_escape_check_catches_robust_gd():
    def no_perturbation(spec, oracle, w0, rng):
        return robust_gd(oracle, w0, max_oracle_calls=10**6)

    result = sa.check_attack(BYZANTINE_PGD_ESCAPES.id, "quick", seed=0, algorithm=no_perturbation)
    assert result.status == "violated" and result.binomial.p_value < 1e-6
    # the hypotheses come from the theory at the instance's values, not from the run's r = 0
    assert result.outside_hypotheses == 0


def test_a_process_pool_gives_the_serial_result():
    serial = sa.check_attack(ROBUST_GD_TRAPPED.id, "quick", seed=3, n=4)
    pooled = sa.check_attack(ROBUST_GD_TRAPPED.id, "quick", seed=3, n=4,
                             executor=ProcessExecutor(2))
    assert replace(serial, seconds=0.0) == replace(pooled, seconds=0.0)


def test_a_crashing_instance_is_an_error_not_a_hole():
    def crash(spec, oracle, w0, rng):
        raise RuntimeError("boom")

    result = sa.check_attack(ROBUST_GD_TRAPPED.id, "quick", seed=0, algorithm=crash, n=2)
    assert result.status == "error" and result.errors == 1      # decided at the first crash
    assert "crashed" in result.details["early_decision"]["reason"]
    assert "RuntimeError: boom" in result.error_examples[0]["error"]
    with complete_instances():                                   # --complete runs every instance
        assert sa.check_attack(ROBUST_GD_TRAPPED.id, "quick", seed=0, algorithm=crash, n=2).errors == 2


def test_specs_depend_only_on_seed_claim_and_index():
    a = sa.sample_attack_specs(ROBUST_GD_TRAPPED.id, 3, 5)
    b = sa.sample_attack_specs(ROBUST_GD_TRAPPED.id, 5, 5)
    assert a == b[:3] and a != sa.sample_attack_specs(ROBUST_GD_TRAPPED.id, 3, 6)
    assert all(s["adversary"]["name"] == "trap" and s["algorithm"] == "robust_gd" for s in a)


def test_replay_reproduces_an_instance():
    spec = sa.sample_attack_specs(ROBUST_GD_TRAPPED.id, 1, 7)[0]
    a, b = REPLAYS[ROBUST_GD_TRAPPED.id](spec), REPLAYS[ROBUST_GD_TRAPPED.id](spec)
    assert a == b and isinstance(a["holds"], bool)


def _run(Delta, d=4, rho=1.0, left_domain=False):
    return AttackRun(lambda_min=0.1, lambda_min_error=0.0, grad_norm=0.0, gamma=0.5,
                     status="converged", oracle_calls=1, escapes=1,
                     values={"Delta": Delta, "L_F": 1.0, "rho_F": rho, "d": d, "delta": 0.1,
                             "gamma": 0.5},
                     left_domain=left_domain)


def test_r_le_R_is_theorem_1s_at_the_instance_values():
    """Theorem 1's r <= R  <=>  Δ <= 4^-5 d^-1/2 (docs/paper.md §3, §4), whatever ρ_F."""
    for d, rho in ((1, 1.0), (4, 0.3), (100, 7.0)):
        edge = 4.0**-5 / np.sqrt(d)
        assert theorem1_r_le_R({"Delta": edge * 0.99, "d": d, "rho_F": rho})
        assert not theorem1_r_le_R({"Delta": edge * 1.01, "d": d, "rho_F": rho})
    assert r_le_R({"r": 1.0, "R": 1.0}) and not r_le_R({"r": 1.0 + 1e-12, "R": 1.0})
    assert sa.escape_hypotheses(_run(1e-14)) == (True, "")
    assert sa.escape_hypotheses(_run(1e-2)) == (False, R_GT_R_NOTE)
    assert sa.escape_hypotheses(_run(1e-14, left_domain=True))[0] is False


def test_trapped_observation_is_vacuous_when_the_control_is_trapped_too():
    claim = ROBUST_GD_TRAPPED
    trapped = replace(_run(1e-3), lambda_min=-0.4, control_lambda_min=0.2)
    obs = sa.observe_trapped(claim, {}, trapped)
    assert obs.holds and not obs.vacuous and obs.bound == pytest.approx(0.25)
    assert sa.observe_trapped(claim, {}, replace(trapped, control_lambda_min=-0.4)).vacuous
    assert not sa.observe_trapped(claim, {}, replace(trapped, lambda_min=-0.2)).holds
    assert not sa.observe_trapped(claim, {}, replace(trapped, status="max_oracle_calls")).holds


def test_jin_parameters_match_docs_paper_section_9():
    p = jin_parameters(1e-3, 2.0, 0.5, 10, 0.1, 3.0, c=0.5)
    chi = 3 * max(np.log(10 * 2.0 * 3.0 / (0.5 * 1e-6 * 0.1)), 4)
    assert p.chi == pytest.approx(chi) == jin_chi(1e-3, 2.0, 10, 0.1, 3.0, c=0.5)
    assert p.eta == pytest.approx(0.25)
    assert p.r == pytest.approx(np.sqrt(0.5) / chi**2 * 1e-3 / 2.0)
    assert p.r == jin_radius(1e-3, 2.0, 10, 0.1, 3.0, c=0.5)
    assert p.g_thres == pytest.approx(np.sqrt(0.5) / chi**2 * 1e-3)
    assert p.f_thres == pytest.approx(0.5 / chi**3 * np.sqrt(1e-9 / 0.5))
    assert p.t_thres == int(np.ceil(chi / 0.25 * 2.0 / np.sqrt(0.5e-3)))
    assert jin_chi(1.0, 1.0, 1, 0.5, 1.0) == 12.0      # the max{·, 4} floor
    with pytest.raises(ValueError, match="epsilon must be <="):
        jin_parameters(100.0, 1.0, 1.0, 2, 0.1, 1.0)


def test_jin_pgd_escapes_a_strict_saddle_with_exact_gradients():
    land = CosineSaddle.random(3, np.random.default_rng(0))
    res = jin_pgd(CertifiedOracle(ExactOracle(land)), np.zeros(3), np.random.default_rng(1),
                  epsilon=1e-3)
    assert res.success and res.escapes >= 1
    cert = certify(land, res.w)
    assert cert.lambda_min > 0 and cert.grad_norm <= 1e-3


def _status_run(status: str, lambda_min: float = -0.9) -> AttackRun:
    return AttackRun(lambda_min=lambda_min, lambda_min_error=0.0, grad_norm=0.0, gamma=1.0, status=status,
                     oracle_calls=10, escapes=0,
                     values={"Delta": 1e-13, "L_F": 1.0, "rho_F": 1.0, "d": 4, "delta": 0.1, "gamma": 1.0},
                     left_domain=False, control_lambda_min=-1.0)


def test_escape_runs_are_judged_by_their_status():
    """A run the descent monitor stopped is not observed (the kill is monitor.descent's); one at
    Theorem 1's call cap fails the claim; one a safety stop or the wall-clock guard ended has no
    verdict. The same trapped output (λ_min = −0.9) in each case."""
    claim = get(BYZANTINE_PGD_ESCAPES.id)
    spec = sa.sample_attack_specs(BYZANTINE_PGD_ESCAPES.id, 1, 0)[0]
    stopped = sa.observe_escape(claim, spec, _status_run("descent_violated"))
    capped = sa.observe_escape(claim, spec, _status_run("iteration_cap"))
    guarded = sa.observe_escape(claim, spec, _status_run("budget"))
    assert not stopped.observed_run and "monitor.descent" in stopped.note
    assert capped.observed_run and not capped.holds and "call count" in capped.note
    assert guarded.budget_ended and "no verdict" in guarded.note
    assert sa.observe_escape(claim, spec, _status_run("converged", lambda_min=0.5)).holds


def test_an_algorithm_the_monitor_stops_is_not_observed_by_the_escape_claim(monkeypatch):
    """Rounds that step uphill (u + η ĝ, as a runaway loop would): the descent monitor stops
    every ByzantinePGD run at once, in the batched rounds as well, and the escape claim counts
    them as not observed, neither violated nor held."""
    import importlib

    engine = importlib.import_module("byzpgd.algorithms.engine")
    original = engine.round_step
    monkeypatch.setattr(engine, "round_step", lambda G, eta, *a: -original(G, eta, *a))
    result = sa.check_attack(BYZANTINE_PGD_ESCAPES.id, "quick", seed=0, n=6)
    assert result.errors == 0
    assert result.details["not_observed"] == 6 and result.status == "inconclusive"
