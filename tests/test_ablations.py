"""Ablations: Q = 1, Jin's radius and a far too large R each break ByzantinePGD under the trap
adversary, while the full (calibrated) algorithm escapes; and the check is able to fail."""

from dataclasses import replace

import pytest

from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.algorithms.jin_pgd import jin_radius
from byzpgd.experiments import ablations as ex
from byzpgd.experiments.ablations import AblationPair, CalibrationRun
from byzpgd.properties.registry import CHECKS, REPLAYS, claim_ids
from byzpgd.properties.result import ClaimResult
from byzpgd.properties.suites import ablations as ab
from byzpgd.theory.claims.ablations import JIN_RADIUS, SINGLE_ROUND
from byzpgd.theory.parameters import CALIBRATED_FACTORS, PAPER_FACTORS, byzantine_pgd_parameters

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "ablation.single_round",
    "ablation.jin_radius",
    "ablation.large_R",
)


def test_claims_are_registered_with_checks_and_replays():
    for cid in ab.VARIANT_OF:
        assert cid in claim_ids() and cid in CHECKS and cid in REPLAYS


@pytest.mark.parametrize("claim_id", list(ab.VARIANT_OF))
def test_each_ablation_matters(claim_id):
    result = ab.check_ablation(claim_id, "quick", seed=0)
    assert isinstance(result, ClaimResult)
    assert result.status == "holds", result
    assert result.details["full_trapped"]["count"] == 0
    assert result.details["ablated_trapped"]["p_value_vs_1pct"] < 1e-6
    assert result.details["factors"] == CALIBRATED_FACTORS
    assert result.adversaries["trap"].instances == result.instances


def test_broken_full_algorithm_is_reported_as_violated():
    """With the paper's T_th constant (1/384: one step per round at these Δ) the full algorithm
    itself is trapped, so the ablation shows nothing: the check must say so."""
    result = ab.check_ablation(JIN_RADIUS.id, "quick", seed=0, n=30,
                               factors={**CALIBRATED_FACTORS, "c_T": PAPER_FACTORS["c_T"]})
    assert result.status == "violated"
    assert result.replay.startswith(f"byzpgd replay {JIN_RADIUS.id} '")
    assert result.worst_violation.note == "full algorithm trapped"


# --- the verdict on synthetic runs (no optimisation) ----------------------------------------------
def _run(trapped: bool) -> CalibrationRun:
    lam = -0.4 if trapped else 0.3
    return CalibrationRun(trapped=trapped, lambda_min=lam, gamma=0.6, grad_norm=0.0, C=0.0,
                          calls=1, status="converged", params={}, max_error=0.0)


def _done(n_abl_trapped: int, n_full_trapped: int, n: int = 40):
    return [({"adversary": {"name": "trap"}, "i": i},
             AblationPair(_run(i < n_abl_trapped), _run(i < n_full_trapped))) for i in range(n)]


@pytest.mark.parametrize("k_abl, k_full, n, status, violations", [
    (10, 0, 40, "holds", 0),          # ablated trapped 25% (p << 1e-6), full never
    (1, 0, 40, "violated", 39),       # ablated not significantly above 1%: its 39 escapes
    (10, 8, 40, "violated", 8),       # full trapped significantly above 1%: its 8 trapped runs
    (10, 0, 19, "inconclusive", 0),   # too few instances
])
def test_ablation_verdict(k_abl, k_full, n, status, violations):
    result = ab.ablation_verdict(SINGLE_ROUND, _done(k_abl, k_full, n), [], CALIBRATED_FACTORS)
    assert (result.status, result.violations) == (status, violations)
    assert result.details["ablated_trapped"]["count"] == k_abl
    assert result.adversaries["trap"].extra == {"ablated_trapped": k_abl, "full_trapped": k_full}
    assert (result.replay is not None) == (status == "violated")


def test_ablated_variants_change_one_parameter_each():
    land = ex.calibration_landscape({"landscape_seed": 1, "dim": 3, "gamma": 0.7, "s": 2.0})
    p = theorem_params(0.05, land.L, land.rho, land.dim, 0.1, 1.5, CALIBRATED_FACTORS)
    assert ex.single_round(p, 0.05, land, 1.5) == replace(p, Q=1)
    assert ex.large_R(p, 0.05, land, 1.5) == replace(p, R=ex.LARGE_R_FACTOR * p.R)
    r_jin = jin_radius(0.2, land.L, land.dim, 0.1, 1.5)
    assert ex.jin_scale_radius(p, 0.05, land, 1.5) == replace(p, r=r_jin)
    assert r_jin < p.r / 10


def test_the_calibrated_factors_are_theorem_1s_formulas_with_other_constants():
    args = (1e-2, 1.0, 0.3, 4, 0.1, 2.0)
    paper = byzantine_pgd_parameters(*args)
    assert byzantine_pgd_parameters(*args, factors=PAPER_FACTORS) == paper
    cal = byzantine_pgd_parameters(*args, factors=CALIBRATED_FACTORS)
    assert cal["r"] == pytest.approx(paper["r"] * CALIBRATED_FACTORS["c_r"] / PAPER_FACTORS["c_r"])
    assert cal["R"] == pytest.approx(paper["R"] * CALIBRATED_FACTORS["c_R"] / PAPER_FACTORS["c_R"])
    assert (cal["eta"], cal["epsilon"]) == (paper["eta"], paper["epsilon"])


def test_replay_reproduces_an_instance():
    spec = ab.sample_ablation_specs(SINGLE_ROUND.id, 1, 4)[0]
    a, b = REPLAYS[SINGLE_ROUND.id](spec), REPLAYS[SINGLE_ROUND.id](spec)
    assert a == b and a["holds"] == a["ablated"]["trapped"]


def test_an_ablation_whose_runs_the_monitor_stopped_is_inconclusive_not_violated(monkeypatch):
    """Every run stopped by the descent monitor: no instance observed, so neither half of the
    claim was shown (inconclusive, with the count), never 'violated' on zero instances."""
    from dataclasses import replace as dc_replace

    from byzpgd.properties.suites import ablations as ab

    real = ab.run_ablation

    def stopped(spec, factors, variant):
        pair = real(spec, factors, variant)
        return dc_replace(pair, full=dc_replace(pair.full, status="descent_violated"))

    monkeypatch.setattr(ab, "run_ablation", stopped)
    result = ab.check_ablation("ablation.single_round", "quick", seed=0, n=5)
    assert result.status == "inconclusive" and result.instances == 0
    assert result.details["not_observed"] == 5
