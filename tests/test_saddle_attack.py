"""The saddle-point attack works (robust GD and Jin et al.'s PGD trapped), the defence works
(ByzantinePGD escapes), and each of these checks is able to fail."""

import numpy as np
import pytest

from byzpgd.algorithms import robust_gd
from byzpgd.algorithms.jin_pgd import jin_parameters, jin_pgd
from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle
from byzpgd.oracles.landscapes import CosineSaddle
from byzpgd.properties.registry import REPLAYS, claim_ids
from byzpgd.properties.suites import saddle_attack as sa
from byzpgd.properties.suites.ablations import CALIBRATED, scaled_parameters
from byzpgd.theory.certify import certify

CLAIMS = list(sa.ALGORITHM_OF)


def test_claims_are_registered_with_checks_and_replays():
    ids = claim_ids()
    for cid in CLAIMS:
        assert cid in ids and cid in REPLAYS


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_attack_and_defence_hold(claim_id):
    entry = sa.check_attack(claim_id, "quick", seed=0)
    assert entry["status"] == "holds", entry
    assert entry["nonvacuous_instances"] >= 20
    if claim_id == sa.ESCAPES.id:
        assert entry["left_saddle_fraction"] == 1.0
    else:   # trapped under attack, escaping without it
        assert entry["left_saddle_fraction"] <= 0.01
        assert entry["control_left_saddle_fraction"] >= 0.5


def _calibrated_bpgd(spec, oracle, w0, rng):
    """ByzantinePGD with the calibrated factors, T_th <= 200 and Q <= 20 (at Δ = 1e-14 the
    formulas give T_th ~ 10^6: far more than an escape needs, and too slow for a test)."""
    from dataclasses import replace

    from byzpgd.algorithms.perturbed_gd import perturbed_gd
    land = oracle.landscape
    p = scaled_parameters(oracle.delta, land.L, land.rho, land.dim, 0.1,
                          land.value(w0) - land.f_star, **CALIBRATED)
    p = replace(p, T_th=min(p.T_th, 200), Q=min(p.Q, 20))
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=10**6)


@pytest.mark.parametrize("claim_id", [sa.ROBUST.id, sa.JIN.id])
def test_trapped_checks_catch_an_algorithm_that_escapes(claim_id):
    entry = sa.check_attack(claim_id, "quick", seed=0, algorithm=_calibrated_bpgd, n=24)
    assert entry["status"] == "violated"
    assert entry["replay"].startswith(f"byzpgd replay {claim_id} '")


def test_escape_check_catches_robust_gd():
    def no_perturbation(spec, oracle, w0, rng):
        return robust_gd(oracle, w0, max_oracle_calls=10**6)

    entry = sa.check_attack(sa.ESCAPES.id, "quick", seed=0, algorithm=no_perturbation)
    assert entry["status"] == "violated" and entry["binomial"]["p_value"] < 1e-6


def test_replay_reproduces_an_instance():
    spec = sa.sample_attack_specs(sa.ROBUST.id, 1, 7)[0]
    a, b = REPLAYS[sa.ROBUST.id](spec), REPLAYS[sa.ROBUST.id](spec)
    assert a == b and isinstance(a["holds"], bool)


def test_jin_parameters_match_paper_spec_section_9():
    p = jin_parameters(1e-3, 2.0, 0.5, 10, 0.1, 3.0, c=0.5)
    chi = 3 * max(np.log(10 * 2.0 * 3.0 / (0.5 * 1e-6 * 0.1)), 4)
    assert p.chi == pytest.approx(chi)
    assert p.eta == pytest.approx(0.25)
    assert p.r == pytest.approx(np.sqrt(0.5) / chi**2 * 1e-3 / 2.0)
    assert p.g_thres == pytest.approx(np.sqrt(0.5) / chi**2 * 1e-3)
    assert p.f_thres == pytest.approx(0.5 / chi**3 * np.sqrt(1e-9 / 0.5))
    assert p.t_thres == int(np.ceil(chi / 0.25 * 2.0 / np.sqrt(0.5e-3)))
    with pytest.raises(ValueError, match="epsilon must be <="):
        jin_parameters(100.0, 1.0, 1.0, 2, 0.1, 1.0)


def test_jin_pgd_escapes_a_strict_saddle_with_exact_gradients():
    land = CosineSaddle.random(3, np.random.default_rng(0))
    res = jin_pgd(CertifiedOracle(ExactOracle(land)), np.zeros(3), np.random.default_rng(1),
                  epsilon=1e-3)
    assert res.success and res.escapes >= 1
    cert = certify(land, res.w)
    assert cert.lambda_min > 0 and cert.grad_norm <= 1e-3
