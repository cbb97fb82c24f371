"""The aggregators' (f, κ)-robustness claims (theory/claims/robustness.py, checked by
properties/suites/robustness.py): the project's rules hold them; every aggregator fault of the
catalogue that changes the rule's robustness is caught by them, the subtle ones included (one
kept value too many, a divisor off by 2b, the wrong middle element, a fixed bias); the two faults
the catalogue argues equivalent are not."""

import pytest

from byzpgd.experiments import faults as fm
from byzpgd.properties.early import complete_instances
from byzpgd.properties.suites import robustness as rb
from byzpgd.theory.robustness import median_kappa_bound, trimmed_mean_kappa_bound

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "aggregator.median.kappa",
    "aggregator.trimmed_mean.kappa",
    "aggregator.iterative_filtering.bounded_influence",
)

MEDIAN, TRIMMED, FILTER = "aggregator.median.kappa", "aggregator.trimmed_mean.kappa", \
    "aggregator.iterative_filtering.bounded_influence"
FAULTS = {f.id: f for f in fm.CATALOGUE}


@pytest.mark.parametrize("claim_id", [MEDIAN, TRIMMED, FILTER])
def test_the_projects_rules_hold_their_claims(claim_id):
    result = rb.check_robustness(claim_id, "quick", seed=0)
    assert result.status == "holds" and result.instances == 20 and result.errors == 0
    assert result.worst_ratio <= 1 + rb.RTOL


def test_the_bounds_are_attained_so_that_they_can_bind():
    # the search reaches the proven bound at one configuration per rule: a rule worse by any
    # factor there exceeds it
    med = rb.observe(MEDIAN, s := rb.robustness_specs(MEDIAN, "quick", 0)[1], rb.search(s))
    tm = rb.observe(TRIMMED, s2 := rb.robustness_specs(TRIMMED, "quick", 0)[2], rb.search(s2))
    assert (s["n"], s["f"], s2["n"], s2["f"]) == (11, 3, 10, 4)
    assert med.observed == pytest.approx(1.0, abs=1e-6) and tm.observed == pytest.approx(1.0, abs=1e-6)
    assert median_kappa_bound(11, 3) == pytest.approx(5 / 3) and trimmed_mean_kappa_bound(10, 4) == 2.0


@pytest.mark.parametrize(("fault", "claim_id"), [
    ("aggregator.trim_keeps_one_more", TRIMMED),          # an off-by-one in the kept slice
    ("aggregator.trim_one_less", TRIMMED),                # b - 1 trimmed per side
    ("aggregator.trim_divides_by_m", TRIMMED),            # divisor m instead of m - 2b
    ("aggregator.median_reads_unpartitioned_row", MEDIAN),  # the wrong middle element
    ("aggregator.median_biased", MEDIAN),                 # + 0.05: a constant the rate cannot see at large n
    ("aggregator.filter_output_unfiltered", FILTER),      # the weights before the first round
])
def test_each_robustness_fault_is_caught(fault, claim_id):
    with fm.inject(FAULTS[fault]):
        result = rb.check_robustness(claim_id, "quick", seed=0, n=5)
    assert result.status == "violated", (fault, result.status)
    assert result.worst_violation is not None and "n = " in result.worst_violation.note


@pytest.mark.parametrize(("fault", "claim_id"), [("aggregator.median_drops_nan", MEDIAN),
                                                  ("aggregator.filter_threshold_x2", FILTER)])
def test_the_faults_argued_equivalent_survive(fault, claim_id):
    with fm.inject(FAULTS[fault]):
        assert rb.check_robustness(claim_id, "quick", seed=0, n=5).status in ("holds", "inconclusive")


def test_a_violation_decides_at_once_unless_complete():
    with fm.inject(FAULTS["aggregator.trim_keeps_one_more"]):
        early = rb.check_robustness(TRIMMED, "quick", seed=0, n=5)
        with complete_instances():
            full = rb.check_robustness(TRIMMED, "quick", seed=0, n=5)
    assert early.details["early_decision"]["instances_run"] == 1 and full.violations == 5


def test_replay_reruns_one_search():
    spec = rb.robustness_specs(MEDIAN, "quick", 0)[0]
    out = rb.replay_robustness(MEDIAN, spec)
    assert out["holds"] and out["kappa_hat"] <= median_kappa_bound(spec["n"], spec["f"]) * (1 + rb.RTOL)
