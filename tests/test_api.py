"""The Python API (byzpgd.api): verify returns the report byzpgd verify writes; audit takes a
"MODULE:CALLABLE" or the object itself and sends it to the sandbox by import path or by pickling,
or says clearly why it cannot."""

import json
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest
from tiny_audit import ScaledMedian, plain_mean, sound_median, tiny_audit  # noqa: F401 (fixture)

import byzpgd
from byzpgd import _rules, api
from byzpgd.properties import registry, runner
from byzpgd.reports.json_report import without_timings


# --- verify ----------------------------------------------------------------------------------------
def test_verify_returns_the_report_the_command_writes(tmp_path):
    report = byzpgd.verify(["parameters.exp*"], profile="quick", seed=0)
    assert isinstance(report, api.VerifyReport) and report.ok and report.failed == []
    (claim,) = report.claims
    assert claim.id == "parameters.exponents" and claim.status == "holds"
    assert report["parameters.exponents"] is claim
    assert report.illustration is None      # drawn when written, not by every verify call
    paths = report.write(tmp_path / "api")
    assert [p.name for p in paths] == ["report.json", "report.md", "report.html"]
    assert "No escape illustration" not in (tmp_path / "api" / "report.html").read_text()
    from byzpgd import cli

    rc = cli.main(["verify", "--profile", "quick", "--claims", "parameters.exponents", "--jobs", "1",
                   "--out", str(tmp_path / "cli"), "--quiet"])
    assert rc == 0
    a, b = (json.loads((tmp_path / d / "report.json").read_text()) for d in ("api", "cli"))
    for rep in (a, b):
        rep.pop("command")
        for c in rep["claims"]:
            c.pop("seconds")
    assert without_timings(a) == without_timings(b)


def test_verify_reports_a_violation(monkeypatch):
    real = runner.check_claim
    registry.load_all()
    monkeypatch.setitem(registry.CHECKS, "byzantine_pgd.grad_norm", lambda profile, seed, progress: real(
        "byzantine_pgd.grad_norm", profile, seed, constant=0.5))       # 4Δ → 0.5Δ: violated
    report = api.verify("byzantine_pgd.grad_norm", profile="quick", illustration=False)
    assert not report.ok and [c.id for c in report.failed] == ["byzantine_pgd.grad_norm"]
    assert report.claims[0].status == "violated" and report.claims[0].replay


@pytest.mark.parametrize("kwargs, error", [
    ({"claims": "no.such.*"}, api.ClaimSelectionError), ({"profile": "nope"}, ValueError),
    ({"seed": -1}, ValueError), ({"jobs": 0}, ValueError), ({"progress": "yes"}, TypeError)])
def test_verify_refuses_bad_arguments_before_any_work(kwargs, error, monkeypatch):
    monkeypatch.setattr(registry, "run_check", lambda *a, **k: pytest.fail("a check ran"))
    with pytest.raises(error):
        api.verify(**{"claims": "parameters.exponents", **kwargs})


# --- audit: how the rule reaches the sandbox ------------------------------------------------------------
def test_byzpgd_audit_is_the_package_and_the_function_has_its_own_names():
    import byzpgd.audit.run as run

    assert byzpgd.audit.run is run and type(byzpgd.audit) is types.ModuleType
    from byzpgd.audit.sandbox import Sandbox  # noqa: F401
    assert byzpgd.audit_aggregator is api.audit_aggregator is api.audit   # api.audit: the old name
    with pytest.raises(api.RuleNotAuditable, match="callable"):
        byzpgd.audit.audit(42)                                            # the package's alias


def test_an_importable_function_goes_by_import_path():
    t = api.sandbox_target(sound_median)
    assert (t.target, t.how) == ("tiny_audit:sound_median", "import")
    assert any(p.endswith("tests") for p in t.paths)
    assert api.sandbox_target("pkg.mod:rule").how == "target"


def test_an_instance_is_pickled_with_a_loader_module(monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    t = api.sandbox_target(ScaledMedian(2.0))
    try:
        assert t.how == "pickle" and t.target.endswith(":rule") and t.paths[0] == t.tmpdir
        code = (f"import sys; sys.path[:0] = {list(t.paths)!r}; import numpy as np; "
                f"from byzpgd.audit.loader import import_target; "
                f"r = import_target({t.target!r}); print(r.aggregate(np.array([[1.0], [3.0], [2.0]]))[0])")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=t.tmpdir)
        assert out.returncode == 0 and out.stdout.strip() == "4.0", out.stderr
    finally:
        t.cleanup()
    assert not __import__("os").path.exists(t.tmpdir)


def _closure():
    k = 2.0
    return lambda X: k * np.mean(X, axis=0)


def _local_function():
    def local_median(X, scale=1.0):
        return scale * sound_median(X)           # a global of this (importable) module
    return local_median


def _local_instance():
    class Local:
        def aggregate(self, X):
            return X[0]
    return Local()


def _over_a_lock():
    import threading

    lock = threading.Lock()
    return lambda X: lock and X[0]         # a closure over a lock


class _MainRule:
    def __call__(self, X):
        return X.mean(axis=0)


def _load_in_child(t, X):
    """Load the target as the sandbox does (a fresh process, import_target) and call it on X."""
    code = (f"import sys; sys.path[:0] = {list(t.paths)!r}; import numpy as np, json; "
            f"from byzpgd.audit.loader import build, import_target; "
            f"r = build(import_target({t.target!r}), 3, 1); print(json.dumps(list(r(np.array({X!r})))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=t.tmpdir)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("make, expected", [
    (lambda: (lambda X: np.mean(X, axis=0)), [2.0]),                  # a lambda
    (_closure, [4.0]),                                                 # a closure
    (_local_function, [2.0]),                                          # a function defined inside another
])
def test_functions_without_an_import_path_go_by_value(make, expected, monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    t = api.sandbox_target(make())
    try:
        assert t.how == "value"
        assert _load_in_child(t, [[1.0], [3.0], [2.0]]) == expected
    finally:
        t.cleanup()


def test_a_main_function_goes_by_value_with_its_modules(monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    namespace = {"np": np, "__name__": "__main__"}
    exec("def rule(X):\n    return np.median(X, axis=0)\n", namespace)
    t = api.sandbox_target(namespace["rule"])
    try:
        assert t.how == "value" and _load_in_child(t, [[1.0], [5.0], [2.0]]) == [2.0]
    finally:
        t.cleanup()


@pytest.mark.parametrize("make, words", [
    (lambda: _local_instance(), "its class _local_instance.<locals>.Local cannot be imported by name"),
    (lambda: type("Dynamic", (), {"aggregate": lambda self, X: X[0]})(), "created dynamically"),
    (lambda: ScaledMedian(scale=lambda: 1.0), "holds a lambda"),
    (lambda: _over_a_lock(), "cannot be pickled"),
])
def test_what_cannot_be_sent_is_a_clear_error(make, words, monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    with pytest.raises(api.RuleNotAuditable) as exc:
        api.sandbox_target(make())
    msg = str(exc.value)
    assert words in msg and "cloudpickle" in msg and "MODULE:CALLABLE" in msg


def test_an_object_from_main_is_refused_without_cloudpickle(monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    monkeypatch.setattr(_MainRule, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "_MainRule", _MainRule, raising=False)
    with pytest.raises(api.RuleNotAuditable, match="__main__"):
        api.sandbox_target(_MainRule())


def test_not_a_rule_is_a_clear_error():
    with pytest.raises(api.RuleNotAuditable, match="callable"):
        api.audit_aggregator(42)


# --- audit: whole runs (a miniature battery) ---------------------------------------------------------------
@pytest.mark.usefixtures("tiny_audit")
def test_audit_of_objects_pass_and_fail_with_reasons(tmp_path):
    good = byzpgd.audit_aggregator(sound_median, f=2, m=11, profile="quick")
    assert good.ok and good.verdict == "pass" and good.reasons == ()
    assert good.command.startswith("byzpgd audit tiny_audit:sound_median --f 2 --m 11 --profile quick")
    bad = byzpgd.audit_aggregator(plain_mean, f=2, m=11, profile="quick")
    assert not bad.ok and bad.verdict == "fail" and bad.reasons
    assert all(isinstance(r, api.AuditReason) and r.kind and r.message for r in bad.reasons)
    assert "non_finite_output" in {f.kind for f in bad.findings}
    paths = bad.write(tmp_path)
    assert [p.name for p in paths] == ["audit.json", "audit.md", "audit.html"]
    written = json.loads((tmp_path / "audit.json").read_text())
    assert written["verdict"] == "fail" and written["settings"]["command"] == bad.command


@pytest.mark.usefixtures("tiny_audit")
def test_audit_of_a_pickled_instance_runs_in_the_sandbox(monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))
    res = api.audit_aggregator(ScaledMedian(1.0), f=2, m=11, profile="quick")
    assert res.verdict == "pass", [str(r) for r in res.reasons]
    assert "ScaledMedian instance" in res.target and "pickle" in res.target
    assert res.sandbox["calls"] > 0 and res.command.startswith("byzpgd.audit_aggregator(ScaledMedian")


@pytest.mark.usefixtures("tiny_audit")
def test_cloudpickle_sends_a_lambda():
    pytest.importorskip("cloudpickle", reason="cloudpickle is optional (installed with the dask extra)")
    res = api.audit_aggregator(lambda X: np.mean(X, axis=0), f=2, m=11, profile="quick")
    assert res.verdict == "fail" and "cloudpickle" in res.target


@pytest.mark.usefixtures("tiny_audit")
def test_a_local_sound_median_passes_by_value(monkeypatch):
    monkeypatch.setattr(_rules, "_pickler", lambda: (pickle, "pickle"))

    def my_median(X):
        X = np.where(np.isfinite(X), X, np.nan)
        return np.nan_to_num(np.nanmedian(X, axis=0))

    res = api.audit_aggregator(my_median, f=2, m=11, profile="quick")
    assert res.verdict == "pass", [str(r) for r in res.reasons]
    assert "my_median" in res.target and "by value" in res.target


@pytest.mark.usefixtures("tiny_audit")
def test_audit_progress_goes_to_the_display():
    import io

    from byzpgd.progress import Progress

    out = io.StringIO()
    bar = Progress("byzpgd audit", stream=out, mode="lines", interval=0.0)
    res = api.audit_aggregator("byzpgd.algorithms.aggregators:coordinate_median", f=2, m=11, profile="quick",
                    progress=bar)
    bar.close()
    text = out.getvalue()
    assert res.verdict == "pass" and "battery:" in text
    assert bar.total and bar.done == bar.total          # the battery's 'k/N' counts moved it to the end
    assert "byzpgd audit: " in text and "ETA" in text
