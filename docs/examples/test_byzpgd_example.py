"""Example: byzpgd in a user's own pytest suite (docs/ci.md). Run with ``pytest
docs/examples/test_byzpgd_example.py`` (about a minute on the quick profile)."""

import numpy as np
import pytest
from hypothesis import given, settings
from my_rules import ClippedMedian, TrimmedMean, plain_mean, sound_median

import byzpgd
from byzpgd.strategies import inexact_oracles, worker_gradients
from byzpgd.testing import assert_aggregator_passes, assert_claim_holds

PROFILE = "quick"    # 'ci' for the release pipeline
M, F = 11, 2         # 11 workers, up to 2 Byzantine


# --- property tests of my rule, with byzpgd's Byzantine inputs ---------------------------------------
@settings(max_examples=200, deadline=None)
@given(worker_gradients(m=M, f=F, d=5))
def test_sound_median_stays_within_the_honest_values(case):
    out = sound_median(case.X)
    assert np.all(np.isfinite(out))
    assert np.all(out <= case.honest.max(axis=0)) and np.all(out >= case.honest.min(axis=0))


@settings(max_examples=20, deadline=None)
@given(inexact_oracles(deltas=(1e-3, 1e-2)))
def test_inexact_oracles_keep_their_budget(oracle):
    w = np.zeros(oracle.landscape.dim)
    assert np.linalg.norm(oracle(w) - oracle.landscape.grad(w)) <= oracle.delta * (1 + 1e-9) + 1e-12


# --- the audit: my median passes, the mean is rejected with reasons -------------------------------------
def test_sound_median_passes_the_audit():
    assert_aggregator_passes(sound_median, f=F, m=M, profile=PROFILE)


def test_the_mean_is_rejected_with_reasons():
    with pytest.raises(AssertionError) as exc:
        assert_aggregator_passes(plain_mean, f=F, m=M, profile=PROFILE)
    assert "reasons:" in str(exc.value) and "reproduce: byzpgd audit" in str(exc.value)


def test_audit_an_object():
    result = byzpgd.audit_aggregator(ClippedMedian(clip=1e6), f=F, m=M, profile=PROFILE)   # sent by pickling
    assert result.ok, [str(r) for r in result.reasons]


def test_audit_a_class_built_for_each_f(tmp_path):
    result = byzpgd.audit_aggregator(TrimmedMean, f=F, m=M, profile=PROFILE)
    assert result.verdict in ("pass", "suboptimal"), [str(r) for r in result.reasons]
    result.write(tmp_path)                       # audit.json, audit.md, audit.html
    assert (tmp_path / "audit.html").exists()


# --- the paper's claims, from Python -------------------------------------------------------------------
def test_a_claim_holds():
    assert_claim_holds("parameters.exponents", profile=PROFILE)


def test_verify_returns_a_report(tmp_path):
    report = byzpgd.verify(["parameters.exp*", "exact_pgd.iterations"], profile=PROFILE)
    assert report.ok, [(c.id, c.status) for c in report.failed]
    assert {c.id for c in report.claims} == {"parameters.exponents", "exact_pgd.iterations"}
    report.write(tmp_path)
    assert (tmp_path / "report.html").exists()
