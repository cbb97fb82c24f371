"""byzpgd.testing: the assertions pass on what holds and raise AssertionError listing the reasons
and the command that reproduces the run."""

import pytest
from tiny_audit import plain_mean, sound_median, tiny_audit  # noqa: F401 (fixture)

from byzpgd import _rules, api, testing
from byzpgd.properties import registry, runner


def test_assert_claim_holds_returns_the_report():
    report = testing.assert_claim_holds("parameters.exponents", profile="quick")
    assert report.ok and [c.id for c in report.claims] == ["parameters.exponents"]


def test_assert_claim_holds_lists_the_violation_and_the_command(monkeypatch):
    real = runner.check_claim
    registry.load_all()
    monkeypatch.setitem(registry.CHECKS, "byzantine_pgd.grad_norm", lambda profile, seed, progress: real(
        "byzantine_pgd.grad_norm", profile, seed, constant=0.5))       # 4Δ → 0.5Δ: violated
    with pytest.raises(AssertionError) as exc:
        testing.assert_claim_holds("byzantine_pgd.grad*", profile="quick", seed=0)
    msg = str(exc.value)
    assert "1 of 1 claim(s) selected by 'byzantine_pgd.grad*' do not hold (profile quick, seed 0)" in msg
    assert "byzantine_pgd.grad_norm: violated" in msg
    assert "replay: byzpgd replay byzantine_pgd.grad_norm" in msg
    assert "reproduce: byzpgd verify --profile quick --seed 0 --claims 'byzantine_pgd.grad*' --out DIR" in msg


def test_assert_claim_holds_refuses_an_unknown_claim():
    with pytest.raises(api.ClaimSelectionError):
        testing.assert_claim_holds("no.such.claim", profile="quick")


@pytest.mark.usefixtures("tiny_audit")
def test_a_sound_median_passes_and_the_mean_is_rejected_with_reasons():
    res = testing.assert_aggregator_passes(sound_median, f=2, m=11, profile="quick")
    assert res.verdict == "pass"
    with pytest.raises(AssertionError) as exc:
        testing.assert_aggregator_passes(plain_mean, f=2, m=11, profile="quick")
    msg = str(exc.value)
    assert "audit verdict 'fail', expected 'pass'" in msg and "reasons:" in msg
    assert "non_finite_output" in msg and "Delta = inf" in msg
    assert "reproduce: byzpgd audit tiny_audit:plain_mean --f 2 --m 11 --profile quick" in msg


def _fake(verdict):
    from byzpgd.audit.result import AuditSettings, Grade, Reason
    reasons = () if verdict == "pass" else (Reason("rate", verdict, "slower than the median's rate"),)
    result = api.AuditResult(AuditSettings("m:r", "quick", 0, 2, ("median",), description="function r",
                                           command="byzpgd audit m:r --out DIR"), Grade(verdict, reasons), ())
    return lambda *a, **k: result


def test_suboptimal_is_accepted_only_when_asked(monkeypatch):
    monkeypatch.setattr(testing, "audit_aggregator", _fake("suboptimal"))
    assert testing.assert_aggregator_passes("m:r", accept_suboptimal=True).verdict == "suboptimal"
    with pytest.raises(AssertionError, match="'suboptimal', expected 'pass'") as exc:
        testing.assert_aggregator_passes("m:r")
    assert "rate: slower than the median's rate" in str(exc.value)
    assert "reproduce: byzpgd audit m:r --out DIR" in str(exc.value)


def test_inconclusive_is_never_accepted(monkeypatch):
    monkeypatch.setattr(testing, "audit_aggregator", _fake("inconclusive"))
    for accept in (False, True):
        with pytest.raises(AssertionError, match="verdict 'inconclusive'"):
            testing.assert_aggregator_passes("m:r", accept_suboptimal=accept)


def test_assert_aggregator_fails(monkeypatch):
    monkeypatch.setattr(testing, "audit_aggregator", _fake("fail"))
    assert testing.assert_aggregator_fails("m:r").verdict == "fail"
    monkeypatch.setattr(testing, "audit_aggregator", _fake("pass"))
    with pytest.raises(AssertionError, match="expected 'fail'"):
        testing.assert_aggregator_fails("m:r")


def test_a_rule_that_cannot_be_sent_is_not_an_assertion_error(monkeypatch):
    import pickle

    class Local:                     # an instance of a class defined inside a function
        def aggregate(self, X):
            return X[0]

    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    monkeypatch.setattr("byzpgd.audit.run.run_audit", lambda *a, **k: pytest.fail("the audit ran"))
    with pytest.raises(api.RuleNotAuditable):
        testing.assert_aggregator_passes(Local(), f=1)
