"""The optimizer audit (byzpgd.audit.optimizer, ``byzpgd audit-optimizer``; docs/audit-optimizer.md).

- the three reference optimizers get the verdicts the theory predicts: ByzantinePGD second-order
  (Theorem 1, docs/paper.md §4), robust GD and Jin et al.'s PGD first-order only (the saddle-point
  attack, docs/paper.md §2; claims saddle_attack.robust_gd_trapped / jin_pgd_trapped);
- able to fail: ByzantinePGD with its perturbation radius r/10 (subtly broken) is graded lower;
  a method that stops at 30Δ is not first-order (fail); one that never stops is inconclusive;
- hostile methods (raise, hang, NaN, wrong shape, writes into w0, non-finite query) get the
  specific finding and a fail, never a harness error;
- oracle calls are counted outside the user's code; the adapter passes rng and budget;
- the command line: report files and exit codes (1 first-order only, 2 usage error).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from byzpgd.algorithms import byzantine_pgd
from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.audit.loader import UsageError
from byzpgd.audit.optimizer import (
    REFERENCES,
    audit_optimizer,
    battery,
    from_gradient_callable,
)
from byzpgd.audit.optimizer_result import to_markdown

EXAMPLES = str(Path(__file__).resolve().parents[1] / "docs" / "examples")


def _bpgd_radius_over(k: float):
    """ByzantinePGD with Theorem 1's parameters except r/k (a subtly broken variant)."""
    def method(oracle, w0, rng, budget):
        land = oracle.landscape
        p = theorem_params(oracle.delta, land.L, land.rho, land.dim, 0.1, land.value(w0) - land.f_star)
        return byzantine_pgd(oracle, w0, rng, params=dataclasses.replace(p, r=p.r / k),
                             max_oracle_calls=budget).w
    return method


# --- the references --------------------------------------------------------------------------------
def test_byzantine_pgd_is_second_order():
    import byzpgd
    from byzpgd.testing import assert_optimizer_escapes

    audit = assert_optimizer_escapes(REFERENCES["byzantine_pgd"], profile="quick", seed=0)
    assert byzpgd.audit_optimizer is audit_optimizer
    assert audit.verdict == "second-order", audit.reasons
    attacks = [r for r in audit.rows if r.kind == "saddle_attack"]
    assert attacks and all(r.finished and r.escaped and r.control_trapped for r in attacks)
    assert audit.c is not None and audit.c <= 4.0        # Theorem 1's deterministic ‖∇F(w̃)‖ <= 4Δ
    assert {s.Delta for s in audit.per_delta} == {1e-2, 1e-3, 1e-13}
    assert not audit.findings


def test_robust_gd_is_first_order_only():
    audit = audit_optimizer(REFERENCES["robust_gd"], profile="quick", seed=0)
    assert audit.verdict == "first-order only", audit.reasons
    assert all(r.trapped for r in audit.rows if r.kind == "saddle_attack")
    assert audit.c <= 4.0


def test_jin_pgd_is_first_order_only():
    audit = audit_optimizer(REFERENCES["jin_pgd"], profile="quick", seed=0)
    assert audit.verdict == "first-order only", audit.reasons
    trapped = [r for r in audit.rows if r.kind == "saddle_attack" and r.finished and r.trapped]
    assert trapped and all(r.Delta >= 1e-3 for r in trapped)   # Jin finishes only at the larger Δ


# --- able to fail ----------------------------------------------------------------------------------
def test_byzantine_pgd_with_a_tenth_of_the_radius_is_graded_lower():
    from byzpgd.testing import assert_optimizer_escapes

    with pytest.raises(AssertionError, match="first-order only") as info:
        assert_optimizer_escapes(_bpgd_radius_over(10.0), profile="quick", seed=0)
    assert "reproduce: byzpgd audit-optimizer" in str(info.value)
    audit = audit_optimizer(_bpgd_radius_over(10.0), profile="quick", seed=0)
    assert audit.verdict == "first-order only", audit.reasons
    assert any(r.kind == "saddle_attack" and r.trapped for r in audit.rows)


def test_stopping_at_thirty_delta_is_not_first_order():
    def lazy(oracle, w0, rng, budget):
        w = w0.copy()
        for _ in range(budget - 1):
            g = oracle(w)
            if np.linalg.norm(g) <= 30 * oracle.delta:
                break
            w = w - g / oracle.landscape.L
        return w

    audit = audit_optimizer(lazy, profile="quick", seed=0)
    assert audit.verdict == "fail"
    assert "not first-order" in audit.reasons[0].message


def test_a_method_that_spends_its_budget_is_inconclusive():
    def spender(oracle, w0, rng, budget):
        oracle(np.tile(w0, (budget - 1, 1)))   # one batch of budget − 1 calls (every oracle is batchable)
        w = w0.copy()
        while True:                       # ends when the oracle refuses a call beyond the budget
            w = w - oracle(w) / oracle.landscape.L

    audit = audit_optimizer(spender, profile="quick", seed=0)
    assert audit.verdict == "inconclusive"
    assert {r.status for r in audit.rows} == {"budget"}
    assert not audit.findings


# --- hostile methods -------------------------------------------------------------------------------
def _raises(oracle, w0, rng, budget):
    raise RuntimeError("boom")


def _hangs(oracle, w0, rng, budget):
    while True:
        time.sleep(0.01)


def _nan(oracle, w0, rng, budget):
    return np.full_like(w0, np.nan)


def _wrong_shape(oracle, w0, rng, budget):
    return np.zeros(w0.shape[0] + 1)


def _mutates(oracle, w0, rng, budget):
    for _ in range(3):
        w0 -= oracle(w0) / oracle.landscape.L
    return w0.copy()


def _queries_nan(oracle, w0, rng, budget):
    oracle(np.full_like(w0, np.inf))
    return w0


def _crashes(oracle, w0, rng, budget):
    os._exit(7)          # the run's process dies without a Python exception


def _wrong_type(oracle, w0, rng, budget):
    return "not a point"


@pytest.mark.parametrize("method, kind, words", [
    (_raises, "exception", "RuntimeError: boom"),
    (_crashes, "crash", "died"),
    (_wrong_type, "wrong_type", "array"),
    (_nan, "non_finite_output", "NaN"),
    (_wrong_shape, "wrong_shape", "shape"),
    (_mutates, "mutated_w0", "w0"),
    (_queries_nan, "diverged", "non-finite"),
])
def test_hostile_methods_get_specific_findings(method, kind, words):
    audit = audit_optimizer(method, profile="quick", seed=0)
    assert audit.verdict == "fail"
    assert kind in audit.finding_kinds()
    finding = next(f for f in audit.findings if f.kind == kind)
    assert words in finding.message
    json.loads(audit.to_json())           # the report is still written
    assert kind in to_markdown(audit)


def test_a_module_that_raises_at_import_is_an_import_error_finding(tmp_path, monkeypatch):
    (tmp_path / "broken_optimizer_module.py").write_text("raise ImportError('missing dependency xyz')\n"
                                                          "def method(oracle, w0, rng, budget):\n"
                                                          "    return w0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    audit = audit_optimizer("broken_optimizer_module:method", profile="quick", seed=0)
    assert audit.verdict == "fail" and "import_error" in audit.finding_kinds()
    assert "missing dependency xyz" in next(f for f in audit.findings if f.kind == "import_error").message


def test_a_hanging_method_is_killed_and_the_rest_skipped():
    audit = audit_optimizer(_hangs, profile="quick", seed=0, time_limit=0.5)
    assert audit.verdict == "fail"
    assert "timeout" in audit.finding_kinds()
    statuses = [r.status for r in audit.rows]
    assert statuses[:2] == ["timeout", "timeout"] and set(statuses[2:]) == {"skipped"}


# --- counting and the adapter ----------------------------------------------------------------------
def test_calls_are_counted_outside_the_users_code():
    def seven_calls(oracle, w0, rng, budget):
        w = w0.copy()
        for _ in range(7):
            w = w - 0.5 * oracle(w) / oracle.landscape.L
        return w

    audit = audit_optimizer(seven_calls, profile="quick", seed=0)
    assert {r.calls for r in audit.rows if r.status in ("finished", "budget")} == {7}


def test_from_gradient_callable_passes_rng_and_budget():
    seen = {}

    def gd(grad, x0, rng, max_iter, lr=1.0):
        seen["rng"], seen["max_iter"], seen["lr"] = type(rng).__name__, max_iter, lr
        x = x0.copy()
        for _ in range(10):
            x = x - lr * grad(x)
        return x

    fn = from_gradient_callable(gd, lr=0.25)
    land_oracle = _TinyOracle()
    out = fn(land_oracle, np.ones(3), np.random.default_rng(0), 123)
    assert seen == {"rng": "Generator", "max_iter": 123, "lr": 0.25}
    assert np.allclose(out, 0.75**10)
    assert land_oracle.calls == 10


class _TinyOracle:
    """ĝ(w) = w (F = ½‖w‖²), counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, w):
        self.calls += 1
        return np.asarray(w, dtype=np.float64)


def test_battery_covers_every_adversary_attack_and_construction_over_two_decades():
    from byzpgd.oracles.adversaries import NAMES

    insts = battery("quick")
    deltas = sorted({i.Delta for i in insts})
    assert deltas[-1] / deltas[0] >= 100
    for Delta in deltas:
        here = [i for i in insts if i.Delta == Delta]
        assert {i.adversary for i in here if i.kind == "first_order"} == set(NAMES)
        assert {i.start for i in here if i.kind == "saddle_attack"} == {"saddle", "fake_minimum"}
        assert {i.start for i in here if i.kind == "lower_bound"} == {"phase", "pm"}


# --- the command line ------------------------------------------------------------------------------
def test_cli_audits_the_documented_example(tmp_path):
    from byzpgd.cli import main

    out = tmp_path / "report"
    code = main(["audit-optimizer", "my_optimizer:momentum_gd", "--path", EXAMPLES, "--out", str(out),
                 "--quiet"])
    assert code == 1                        # first-order only: the attack traps momentum GD
    data = json.loads((out / "optimizer-audit.json").read_text())
    assert data["verdict"] == "first-order only"
    assert (out / "optimizer-audit.md").read_text().startswith("# Optimizer audit")


def test_cli_usage_errors_exit_2(tmp_path):
    from byzpgd.cli import main

    assert main(["audit-optimizer", "no_such_module_xyz:fn", "--out", str(tmp_path / "a"), "--quiet"]) == 2
    assert main(["audit-optimizer", "not a target", "--out", str(tmp_path / "b"), "--quiet"]) == 2
    with pytest.raises(UsageError):
        audit_optimizer(REFERENCES["robust_gd"], profile="nope")
