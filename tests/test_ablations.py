"""Ablations: Q = 1, Jin's radius and a far too large R each break ByzantinePGD under the trap
adversary, while the full (calibrated) algorithm escapes; and the check is able to fail."""

from dataclasses import replace

import numpy as np
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

    real = ab.run_ablation_batch

    def stopped(specs, factors, variant):
        return [dc_replace(pair, full=dc_replace(pair.full, status="descent_violated"))
                for pair in real(specs, factors, variant)]

    monkeypatch.setattr(ab, "run_ablation_batch", stopped)
    result = ab.check_ablation("ablation.single_round", "quick", seed=0, n=5)
    assert result.status == "inconclusive" and result.instances == 0
    assert result.details["not_observed"] == 5


# --- batched trials ------------------------------------------------------------------------------
@pytest.mark.parametrize("claim_id", sorted(ab.VARIANT_OF))
def test_calibration_runs_alone_are_their_trials_in_a_batch(claim_id):
    """The ablation runs are batched trials: each spec's run alone (a batch of one, what replay
    runs) equals its trial in one batch of all the specs, every field to the bit."""
    specs = ab.sample_ablation_specs(claim_id, 10, 3)
    variant = ab.VARIANT_OF[claim_id]
    together = ex.run_calibration_batch(specs, CALIBRATED_FACTORS, variant)
    assert [ex.run_calibration(s, CALIBRATED_FACTORS, variant) for s in specs] == together


def test_calibration_batch_follows_the_one_run_loop():
    """Against ByzantinePGD run once through perturbed_gd with the one-run oracle and monitor: the
    same status and calls, λ_min and the oracle's largest error equal up to rounding; a variant
    the batch ignored (Q = 1 not applied) is told apart by its calls."""
    from byzpgd.algorithms import perturbed_gd
    from byzpgd.experiments.monitor import DescentMonitor
    from byzpgd.oracles.adversaries import make_adversary
    from byzpgd.oracles.inexact import CertifiedOracle
    from byzpgd.theory.certify import certify

    specs = ab.sample_ablation_specs(SINGLE_ROUND.id, 6, 1)
    batch = ex.run_calibration_batch(specs, CALIBRATED_FACTORS, ex.single_round)
    for spec, b in zip(specs, batch, strict=True):
        built = ex._build(spec, CALIBRATED_FACTORS, ex.single_round)
        oracle = CertifiedOracle(make_adversary(spec["adversary"], built.land, spec["Delta"]))
        res = perturbed_gd(DescentMonitor(oracle, built.land.L, oracle.delta), built.w0, built.params,
                           np.random.default_rng(spec["run_seed"]), max_oracle_calls=ex.MAX_CALLS)
        assert (res.status, res.grad_oracle_calls) == (b.status, b.calls)
        assert certify(built.land, res.w).lambda_min == pytest.approx(b.lambda_min, rel=1e-7, abs=1e-12)
        assert oracle.max_error == pytest.approx(b.max_error, rel=1e-9, abs=1e-15)
    full = ex.run_calibration_batch(specs, CALIBRATED_FACTORS)
    assert [f.calls for f in full] != [b.calls for b in batch]
