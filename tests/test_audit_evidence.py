"""A pass is positive evidence, and the quick profile is never more lenient than ci (issue 21).

The reference rules and rules broken in one way each (biased in m, flat in n, flat in m,
positional, one NaN row breaks it) are audited on the quick and the ci profiles with the audit's
own functions, in this process (:func:`byzpgd.audit.run.audit_in_process`: the sandbox only
carries the calls), without the end-to-end runs (which do not depend on the profile's grids).
Checked: the references pass on both; no broken rule passes on either; and in the order
pass > suboptimal > inconclusive > fail (:data:`byzpgd.audit.result.VERDICTS`) no rule's quick
verdict is more lenient than its ci verdict."""

import fixtures_audit as fa
import fixtures_positional as fp
import pytest

from byzpgd.algorithms.aggregators import make
from byzpgd.audit.result import VERDICTS, leniency
from byzpgd.audit.run import audit_in_process

REFERENCES = ("median", "trimmed_mean", "iterative_filtering")
BROKEN = {
    "shifted_median": (fa.shifted_median, "bias"),            # biased: an error that does not shrink with m
    "middle_half_by_norm": (fa.middle_half_by_norm, "slope"),  # flat in n under attack
    "one_worker": (fa.one_worker, "slope"),                    # flat in m without attack
    "last_half": (fp.last_half_mean, "breakdown"),             # trusts row positions
    "nan_median": (fa.nan_median, "nonfinite_input"),          # one NaN row breaks it
}
PROFILES = ("quick", "ci")


def _factory(name):
    if name in REFERENCES:
        return lambda m, f: make(name, m, f)
    rule = BROKEN[name][0]
    return lambda m, f: rule


@pytest.fixture(scope="module")
def audits():
    """{(rule, profile): AuditResult} at seed 0 (the references' measurements shared per profile)."""
    out = {}
    for profile in PROFILES:
        cache: dict = {}
        for name in (*REFERENCES, *BROKEN):
            out[name, profile] = audit_in_process(_factory(name), profile=profile, seed=0, end_to_end=False,
                                                  reference_cache=cache)
    return out


@pytest.mark.parametrize("profile", PROFILES)
def test_the_references_pass_with_every_rate_shown(audits, profile):
    for name in REFERENCES:
        res = audits[name, profile]
        assert res.verdict == "pass", (name, [str(r) for r in res.reasons])
        assert {k for k, v in res.slopes.items() if v.graded and v.evidence == "shown"} == {
            "m_honest", "n_honest", "n", "alpha"}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_rule_never_passes_and_says_why(audits, name, profile):
    res = audits[name, profile]
    assert res.verdict != "pass"
    assert BROKEN[name][1] in {r.kind for r in res.reasons}, [str(r) for r in res.reasons]


@pytest.mark.parametrize("name", [*REFERENCES, *sorted(BROKEN)])
def test_quick_is_never_more_lenient_than_ci(audits, name):
    quick, ci = audits[name, "quick"].verdict, audits[name, "ci"].verdict
    assert leniency(quick) >= leniency(ci), f"{name}: quick {quick} is more lenient than ci {ci}"


def test_the_order_check_can_fail():
    assert VERDICTS == ("pass", "suboptimal", "inconclusive", "fail")
    assert leniency("inconclusive") < leniency("fail") and leniency("pass") < leniency("suboptimal")
    assert not leniency("pass") >= leniency("inconclusive")       # quick pass, ci inconclusive: caught
