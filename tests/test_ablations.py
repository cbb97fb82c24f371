"""Ablations: Q = 1, Jin's radius and a far too large R each break ByzantinePGD under the trap
adversary, while the full (calibrated) algorithm escapes; and the check is able to fail."""

import pytest

from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.properties.suites import ablations as ab


@pytest.mark.parametrize("claim_id", list(ab.ABLATIONS))
def test_each_ablation_matters(claim_id):
    entry = ab.check_ablation(claim_id, "quick", seed=0)
    assert entry["status"] == "holds", entry
    assert entry["full_trapped"]["count"] == 0
    assert entry["ablated_trapped"]["p_value_vs_1pct"] < 1e-6


def test_broken_full_algorithm_is_reported_as_violated():
    """With the paper's T_th constant (1/384: one step per round at these Δ) the full algorithm
    itself is trapped, so the ablation shows nothing: the check must say so."""
    entry = ab.check_ablation("ablation.jin_radius", "quick", seed=0, n=30,
                              constants={**ab.CALIBRATED, "c_T": 1 / 384})
    assert entry["status"] == "violated"
    assert entry["replay"].startswith("byzpgd replay ablation.jin_radius '")


def test_scaled_parameters_with_the_paper_constants_are_theorem_1s():
    args = (1e-6, 1.3, 0.7, 5, 0.1, 2.0)
    p = ab.scaled_parameters(*args, **ab.PAPER_CONSTANTS)
    q = theorem_params(*args)
    for k in ("eta", "epsilon", "r", "R"):
        assert getattr(p, k) == pytest.approx(getattr(q, k), rel=1e-12)
    assert (p.Q, p.T_th) == (q.Q, q.T_th)
