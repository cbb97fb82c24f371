"""``byzpgd audit``: loader, sandbox findings, battery, verdict, report, and the command end to end
(the project's median passes, the plain mean fails with reasons, a raising / hanging / mutating
aggregator ends with a finding and a written report). Quick profile throughout; the audits of
this module share the references' measurements (``reference_cache``). The graded verdict's
rules and the unseen rule kinds: tests/test_audit_grade.py."""

import json
import math
from pathlib import Path

import fixtures_audit as fa
import numpy as np
import pytest

from byzpgd import cli
from byzpgd.algorithms.aggregators import coordinate_median, make, mean
from byzpgd.audit import battery as bat
from byzpgd.audit import loader
from byzpgd.audit.rates_fit import GRADED
from byzpgd.audit.result import AuditResult, AuditSettings, EndToEnd, Finding, Measurement, SweepSlopes
from byzpgd.audit.sandbox import AggregatorFailure, FindingLog, Sandbox
from byzpgd.audit.verdict import BREAKDOWN, FACTOR, SLACK, grade
from byzpgd.oracles.attacks import AttackContext
from byzpgd.reports.audit_report import render_html, render_markdown

TESTS = str(Path(__file__).resolve().parent)
X = np.random.default_rng(0).standard_normal((30, 10))


CACHE: dict = {}


def audit(tmp_path, target, *extra, monkeypatch=None):
    """``byzpgd audit TARGET --profile quick ...`` through the command line, with the references'
    measurements shared between the tests of this module."""
    from byzpgd.audit import run as audit_run
    out = tmp_path / "out"
    real = audit_run.run_audit

    def cached(*a, **kw):
        kw.setdefault("reference_cache", CACHE)
        return real(*a, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit_run, "run_audit", cached)
        rc = cli.main(["audit", target, "--profile", "quick", "--path", TESTS, "--out", str(out), "--quiet",
                       *extra])
    report = json.loads((out / "audit.json").read_text()) if (out / "audit.json").exists() else None
    return rc, report, out


# ---------------------------------------------------------------------------------------------
# loader
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["nocolon", "a:b:c", "1mod:f", "mod:", ":f", "mod:f-g"])
def test_malformed_targets_are_usage_errors(text):
    with pytest.raises(loader.UsageError, match="MODULE"):
        loader.parse_target(text)


def test_import_errors_name_the_problem():
    with pytest.raises(loader.UsageError, match="cannot import module 'no_such_module_xyz'"):
        loader.import_target("no_such_module_xyz:f")
    with pytest.raises(loader.UsageError, match="no attribute 'nothere'"):
        loader.import_target("fixtures_audit:nothere", [TESTS])
    with pytest.raises(loader.UsageError, match="not callable"):
        loader.import_target("fixtures_audit:NOT_CALLABLE", [TESTS])
    obj = loader.import_target("fixtures_audit:NeedsArgs", [TESTS])
    with pytest.raises(loader.UsageError, match="beta"):
        loader.build(obj, 30, 3)


def test_adapters_function_with_f_class_and_object():
    S = np.sort(X, axis=0)
    want = S[3:27].mean(axis=0)
    for obj in (fa.trimmed, fa.TrimmedMean):
        np.testing.assert_allclose(loader.build(obj, 30, 3)(X), want)
    np.testing.assert_allclose(loader.build(fa.AGGREGATE_OBJECT, 30, 3)(X), S[1:29].mean(axis=0))

    class FakeTensor:   # torch-like output: detach().cpu().numpy()
        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return np.ones(3)
    np.testing.assert_array_equal(loader.to_numpy(FakeTensor()), np.ones(3))
    with pytest.raises(ValueError, match="input_kind"):
        loader.build(fa.median, 30, 3, input_kind="jax")


# ---------------------------------------------------------------------------------------------
# sandbox
# ---------------------------------------------------------------------------------------------
def sandbox(name, **kw):
    return Sandbox(f"fixtures_audit:{name}", paths=[TESTS], setting=(30, 3), **kw)


@pytest.mark.parametrize("name, kind", [("raises", "exception"), ("mutates", "input_mutation"),
                                        ("unlocks", "input_mutation"), ("wrong_shape", "wrong_shape")])
def test_sandbox_turns_misbehaviour_into_findings(name, kind):
    with sandbox(name) as sb:
        assert sb.start() is not None
        for _ in range(2):
            with pytest.raises(AggregatorFailure) as exc:
                sb.call(X, 3)
            assert exc.value.kind == kind
    (fnd,) = sb.log.findings()
    assert fnd.kind == kind and fnd.count == 2 and fnd.severity == "error" and fnd.message


def test_sandbox_output_checks_and_caller_array_untouched():
    before = X.copy()
    with sandbox("returns_nan") as sb:
        assert np.isnan(sb.call(X, 3)).all()              # returned: the battery measures inf
        with pytest.raises(AggregatorFailure, match="non_finite"):
            sb.call(X, 3, strict=True)                     # refused in the end-to-end runs
    assert sb.log.kinds() == {"non_finite_output"}
    with sandbox("float32_median") as sb:
        out = sb.call(X, 3)
    assert out.dtype == np.float64 and [f.severity for f in sb.log.findings()] == ["warning"]
    with sandbox("prints_and_warns") as sb:
        np.testing.assert_array_equal(sb.call(X, 3), np.median(X, axis=0))
    assert sb.log.findings() == []
    np.testing.assert_array_equal(X, before)


def test_hanging_aggregator_is_killed_and_then_skipped():
    log = FindingLog()
    with sandbox("hangs", call_timeout=1.0, max_timeouts=2, log=log) as sb:
        kinds = []
        for _ in range(4):
            with pytest.raises(AggregatorFailure) as exc:
                sb.call(X, 3)
            kinds.append(exc.value.kind)
    assert kinds == ["timeout", "timeout", "disabled", "disabled"]
    assert sb.stats["timeouts"] == 2 and sb.stats["max_call_seconds"] < 10
    assert {"timeout", "disabled"} == log.kinds()


def test_unknown_module_in_sandbox_is_a_usage_error():
    with pytest.raises(loader.UsageError, match="cannot import"):
        with Sandbox("no_such_module_xyz:f") as sb:
            sb.start()


# ---------------------------------------------------------------------------------------------
# battery and verdict (in-process references, no sandbox)
# ---------------------------------------------------------------------------------------------
def test_byzantine_count_validation():
    assert bat.byzantine_count(30, alpha=0.1) == 3 and bat.byzantine_count(30, f=5) == 5
    with pytest.raises(ValueError, match="f must be"):
        bat.byzantine_count(30, f=15)
    with pytest.raises(ValueError, match="alpha must be"):
        bat.byzantine_count(30, alpha=0.6)
    with pytest.raises(ValueError, match=">= 1/m"):
        bat.byzantine_count(30, alpha=0.01)


def test_worst_case_search_breaks_the_mean_not_the_median():
    rng = np.random.default_rng(1)
    honest = 0.1 * rng.standard_normal((27, 5))
    errs = {}
    for name, agg in (("mean", mean), ("median", coordinate_median)):
        att = bat.WorstCaseSearch(restarts=2, maxfev=60)
        ctx = AttackContext(f=3, m=30, aggregate=agg, true_grad=np.zeros(5), rng=np.random.default_rng(2))
        byz = att(honest, np.zeros(5), ctx)
        errs[name] = float(np.linalg.norm(agg(np.concatenate([byz, honest]))))
        assert byz.shape == (3, 5) and errs[name] == pytest.approx(att.last_error)
    assert errs["mean"] > 100 * errs["median"] and errs["median"] < 0.5


def small_cfg():
    cfg = bat.profile_config("quick")
    cfg.update(n_grid=(25, 100), alpha_fractions=(0.5, 1.0), m_grid=(10, 30), probes=1, restarts=1, maxfev=20,
               reps_attack=1, reps_honest=3)
    return cfg


def test_battery_is_deterministic_and_compares_on_identical_inputs():
    cfg = small_cfg()
    runs = [bat.run_battery(lambda m, f: make("median", m, f), cfg, 3, seed=5) for _ in range(2)]
    assert runs[0] == runs[1]
    rows = runs[0]["results"]
    assert {r["attack"] for r in rows} == {*bat.BATTERY_ATTACKS, bat.HONEST, "worst"}
    assert {r["m"] for r in rows} == {10, 30} and {r["alpha"] for r in rows if r["honest"]} == {0.0}
    for r in rows:   # the audited rule *is* the reference median: identical inputs, identical Δ
        assert r["delta_empirical"] == r["delta_reference"]["median"]
        lb = r["alpha"] / math.sqrt(r["n"]) + math.sqrt(10 / (r["n"] * r["m"]))
        assert r["lower_bound"] == pytest.approx(lb)
    for b in runs[0]["bias"]:
        assert b["tests"]["user"] == b["tests"]["median"] and b["reps"] == 3


HOLDS = EndToEnd(True, "holds", 1, 1, 1, 0, 0, 0, 0, {"grad_norm": 0.5})


def shown_slopes(evidence="shown") -> dict:
    """Every graded sweep with the given evidence (the slope checks are tested in test_audit_grade)."""
    return {s: SweepSlopes(s, "n", (1, 2), {}, {}, True, -0.5, -0.25, evidence) for s in GRADED}


def _m(row: dict) -> Measurement:
    return Measurement.from_row({"f_rule": row["f"], "honest": False, "sweeps": ["alpha"], "rates": {},
                                 "delta_reps": [row["delta_empirical"]], **row})


def test_verdict_threshold_and_reasons():
    row = {"attack": "worst", "setting": 0, "m": 30, "n": 100, "d": 10, "f": 3,
           "delta_empirical": 1.0, "delta_reference": {"median": 0.2, "trimmed_mean": 0.3},
           "best_reference": "median", "lower_bound": 0.05, "worst_attack": "alie_ls",
           "reference_worst_attack": {"median": "shift"}}
    per = dict(row, attack="alie_ls")
    g = grade([_m(per), _m(row)], HOLDS, [], slopes=shown_slopes())    # 5x the best reference: robust, off
    assert g.thresholds[0] == pytest.approx((FACTOR * 0.2 + SLACK * 0.05, BREAKDOWN * 0.2 + SLACK * 0.05))
    assert g.verdict == "suboptimal" and g.reasons[0].kind == "delta_exceeds_reference"
    assert g.reasons[0].details["attack"] == "alie_ls" and "n = 100" in g.reasons[0].message
    row["delta_empirical"] = per["delta_empirical"] = 2.5                 # 12.5x: breakdown
    g = grade([_m(per), _m(row)], HOLDS, [], slopes=shown_slopes())
    assert g.verdict == "fail" and [r.kind for r in g.reasons] == ["breakdown"]
    row["delta_empirical"] = per["delta_empirical"] = 0.6
    assert grade([_m(per), _m(row)], HOLDS, [], slopes=shown_slopes()).verdict == "pass"
    # the same data without the rates shown is not a pass: positive evidence only
    assert grade([_m(per), _m(row)], HOLDS, [], slopes=shown_slopes("undetermined")).verdict == "inconclusive"
    assert grade([_m(per), _m(row)], HOLDS, []).verdict == "inconclusive"
    broken = EndToEnd(False, "violated", 1, 1, 1, 0, 1, 0, 0, {"grad_norm": 2.0},
                      reasons=("Theorem 1 violated",))
    g = grade([_m(per), _m(row)], broken,
              [Finding("timeout", "slow"), Finding("wrong_dtype", "f32", "warning")], slopes=shown_slopes())
    assert g.verdict == "fail" and [r.kind for r in g.reasons] == ["finding:timeout", "end_to_end"]


def test_registry_name_maps_only_the_projects_own_rules():
    from byzpgd.audit.run import registry_name
    assert registry_name("byzpgd.algorithms.aggregators:coordinate_median") == "median"
    assert registry_name("byzpgd.algorithms.aggregators:geometric_median") == "geometric_median"
    assert registry_name("mypkg.rules:coordinate_median") is None        # a user's rule of that name
    assert registry_name("byzpgd.algorithms.aggregators:no_such_rule") is None


def test_report_escapes_user_text():
    rep = AuditResult(AuditSettings("m:f", "quick", 0, 3, ("median",)), grade([], None, []), (),
                      findings=(Finding("exception", "<script>alert(1)</script>"),))
    html = render_html(rep)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "script" in render_markdown(rep)


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def test_audit_of_the_projects_median_passes(tmp_path):
    rc, rep, out = audit(tmp_path, "byzpgd.algorithms.aggregators:coordinate_median")
    assert rc == 0 and rep["verdict"] == "pass" and rep["reasons"] == [] and rep["findings"] == []
    typed = AuditResult.from_json(rep)
    assert typed.verdict == "pass" and typed.settings.target.endswith("coordinate_median")
    for r in typed.measurements:
        assert set(r.delta_reference) == {"median", "trimmed_mean", "iterative_filtering"}
    e2e = typed.end_to_end
    assert e2e.holds and e2e.inside_hypotheses >= 10 and e2e.setting["d"] >= 10
    assert {"m_honest", "n_honest", "n", "m", "alpha"} <= set(typed.slopes)
    ms = [s["m"] for s in typed.battery_settings]
    assert max(ms) >= 10 * min(ms)   # a decade
    for sweep in GRADED:
        assert typed.slopes[sweep].evidence == "shown"
    for sweep in ("m_honest", "n"):
        fit = typed.slopes[sweep].user
        assert fit.ci[0] < -0.5 < fit.ci[1] + 0.1
    k = typed.kappa        # the project's median: its proven bound is checked (audit.run.registry_name)
    assert k is not None and 0.9 * k.lower_bound <= k.kappa_hat <= k.upper_bound and not k.exceeds_upper
    assert "kappa" in (out / "audit.md").read_text().lower()
    html = (out / "audit.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "src=\"http" not in html
    assert "PASS" in (out / "audit.md").read_text()


def test_audit_of_the_plain_mean_fails_with_reasons(tmp_path):
    rc, rep, out = audit(tmp_path, "fixtures_audit:plain_mean", "--f", "3")
    assert rc == 1 and rep["verdict"] == "fail"
    deltas = [r for r in rep["reasons"] if r["kind"] == "breakdown"]
    assert len(deltas) == sum(not s["honest"] for s in rep["battery_settings"])   # every attacked setting
    for r in deltas:
        assert r["attack"] and r["best_reference"] and "Delta = " in r["message"]
        assert r["attacks_exceeding"].get("worst_case") not in (None, "nan")
    assert "non_finite_output" in {f["kind"] for f in rep["findings"]}
    assert "FAIL" in (out / "audit.md").read_text()


@pytest.mark.parametrize("name, kind", [("raises", "exception"), ("hangs", "timeout"),
                                        ("mutates", "input_mutation")])
def test_misbehaving_aggregators_end_with_a_finding_and_a_report(tmp_path, name, kind):
    rc, rep, out = audit(tmp_path, f"fixtures_audit:{name}", "--call-timeout", "1")
    assert rc == 1 and rep["verdict"] == "fail"
    assert kind in {f["kind"] for f in rep["findings"]}
    assert any(r["kind"] == f"finding:{kind}" for r in rep["reasons"])
    assert all((out / f).exists() for f in ("audit.json", "audit.md", "audit.html"))


def test_a_module_that_raises_at_import_is_one_load_error(tmp_path):
    """Not a battery of 30-odd reasons: one load_error finding, one reason, no measurement."""
    rc, rep, out = audit(tmp_path, "fixtures_raises_at_import:rule")
    assert rc == 1 and rep["verdict"] == "fail"
    assert [f["kind"] for f in rep["findings"]] == ["load_error"]
    assert [r["kind"] for r in rep["reasons"]] == ["finding:load_error"]
    assert "broken dependency" in rep["reasons"][0]["message"]
    assert rep["measurements"] == [] and rep["end_to_end"] is None and rep["kappa"] is None


@pytest.mark.parametrize("args, msg", [
    (["no_such_module_xyz:f"], "cannot import module"),
    (["not-a-target"], "MODULE:CALLABLE"),
    (["fixtures_audit:nothere"], "no attribute"),
    (["fixtures_audit:NeedsArgs"], "beta"),
    (["fixtures_audit:median", "--f", "15"], "f must be"),
    (["fixtures_audit:median", "--references", "median,bogus"], "references"),
])
def test_usage_errors_exit_2_with_a_message(tmp_path, capsys, args, msg):
    rc = cli.main(["audit", *args, "--profile", "quick", "--path", TESTS, "--out", str(tmp_path / "o")])
    assert rc == 2 and msg in capsys.readouterr().err
    assert not (tmp_path / "o" / "audit.json").exists()


def test_argparse_usage_errors_exit_2(tmp_path):
    for args in (["--f", "2", "--alpha", "0.1"], ["--alpha", "-1"], ["--profile", "huge"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(["audit", "fixtures_audit:median", *args, "--out", str(tmp_path)])
        assert exc.value.code == 2
