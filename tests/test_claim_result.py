"""ClaimResult (byzpgd.properties.result): the one status rule, the JSON round trip (non-finite
floats included), and run_check turning a crashed or ill-typed check into an 'error' result."""

import json
import math

import pytest

from byzpgd.properties import registry
from byzpgd.properties.result import (
    MIN_NONVACUOUS,
    BinomialTest,
    ClaimResult,
    Fit,
    GroupRow,
    Violation,
    decide_status,
)
from byzpgd.reports.model import Report
from byzpgd.theory.claims import get

CLAIM = "byzantine_pgd.grad_norm"


@pytest.mark.parametrize("errors, violated, nonvacuous, status", [
    (0, False, MIN_NONVACUOUS, "holds"),
    (0, False, MIN_NONVACUOUS - 1, "inconclusive"),
    (0, True, MIN_NONVACUOUS, "violated"),
    (0, True, 0, "violated"),                  # a violation needs no quorum
    (1, False, MIN_NONVACUOUS, "error"),
    (1, True, MIN_NONVACUOUS, "error"),        # errors come first: a crash is never hidden
])
def test_the_status_rule(errors, violated, nonvacuous, status):
    assert decide_status(errors=errors, violated=violated, nonvacuous=nonvacuous) == status
    result = ClaimResult.build(get(CLAIM), violated=violated, errors=errors,
                               nonvacuous_instances=nonvacuous, instances=nonvacuous)
    assert result.status == status and result.ok == (status == "holds")


def test_an_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="status must be one of"):
        ClaimResult(CLAIM, "s", "src", "OWN", "deterministic", "f", status="fine")


def _full_result(worst_ratio=2.5) -> ClaimResult:
    return ClaimResult.build(
        get(CLAIM), violated=True, instances=40, nonvacuous_instances=30, outside_hypotheses=2,
        violations=3, worst_ratio=worst_ratio, empirical_constant=10.0, claim_constant=4.0,
        binomial=BinomialTest.of(3, 30, 0.1),
        adversaries={"shrink": GroupRow(20, 15, 3, 2.5), "trap": GroupRow(20, 15, 0, None,
                                                                         {"note": "x"})},
        fits={"n": Fit(-0.5, -0.5, 0.1, 1.3, (-0.6, -0.4), {"x": [1, 2], "y": [3, 4]})},
        worst_violation=Violation(10.0, 4.0, 2.5, "note", "byzpgd replay x '{}'", {"k": 1}),
        replay="byzpgd replay x '{}'", details={"what": [1, 2]}).with_seconds(1.23456)


def test_json_round_trip():
    result = _full_result()
    doc = result.to_json()
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    back = ClaimResult.from_json(doc)
    assert back == result
    assert back.to_json() == doc
    assert back.seconds == 1.235


def test_empty_optional_fields_are_left_out_and_restored():
    result = ClaimResult.build(get(CLAIM), violated=False, instances=25, nonvacuous_instances=25)
    doc = result.to_json()
    assert not {"binomial", "worst_violation", "replay", "fits", "details",
                "error_examples"} & set(doc)
    assert ClaimResult.from_json(doc) == result


@pytest.mark.parametrize("value, text", [(math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan")])
def test_non_finite_floats_are_strict_json(value, text):
    doc = _full_result(worst_ratio=value).to_json()
    json.dumps(doc, allow_nan=False)   # strict JSON: no Infinity/NaN tokens
    assert doc["worst_ratio"] == text
    assert ClaimResult.from_json(doc).to_json() == doc


def test_report_round_trip_keeps_claims_and_extra_members():
    report = Report("quick", 3, "byzpgd verify", [_full_result()], {"python": "3"}, 2.0,
                    {"pytest": {"claims_from_tests": [CLAIM]}})
    doc = report.to_json()
    assert doc["summary"] == {"holds": 0, "violated": 1, "error": 0, "inconclusive": 0}
    assert doc["adversaries"] == ["shrink", "trap"]
    back = Report.from_json(json.loads(json.dumps(doc)))
    assert back.claims == report.claims and back.extra == report.extra
    assert back.to_json() == doc


@pytest.fixture
def checks(monkeypatch):
    registry.load_all()
    return lambda fn: monkeypatch.setitem(registry.CHECKS, CLAIM, fn)


def test_a_crashed_check_is_an_error_result(checks):
    def crash(profile, seed, progress):
        raise RuntimeError("boom")

    checks(crash)
    result = registry.run_check(CLAIM, "quick", 0)
    assert result.status == "error" and result.errors == 1 and result.id == CLAIM
    assert "RuntimeError: boom" in result.error_examples[0]["error"]
    assert "traceback" in result.error_examples[0]


@pytest.mark.parametrize("returned", [None, [1, 2], "holds", {"status": "holds", "instances": 30}])
def test_a_check_returning_anything_but_a_claim_result_is_an_error(checks, returned):
    checks(lambda profile, seed, progress: returned)
    result = registry.run_check(CLAIM, "quick", 0)
    assert result.status == "error"
    assert "not a ClaimResult" in result.error_examples[0]["error"]


def test_run_check_times_the_check(checks):
    checks(lambda profile, seed, progress: ClaimResult.build(
        get(CLAIM), violated=False, instances=20, nonvacuous_instances=20))
    result = registry.run_check(CLAIM, "quick", 0)
    assert result.status == "holds" and result.seconds >= 0
