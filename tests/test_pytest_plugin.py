"""The pytest plugin: `pytest --byzpgd-report DIR` writes the same report as `byzpgd verify`,
using the claim entries computed by the tests where they match the report's profile and seed
(also under pytest-xdist) and computing the others at session end."""

import json
import subprocess
import sys
from importlib import metadata

from byzpgd.properties.registry import run_check
from byzpgd.reports import FILES
from byzpgd.reports.json_report import without_timings

CLAIMS = "exact_pgd.iterations,byzantine_pgd.iterations,exact_pgd.grad_norm"


def _plugin_args():
    """-p byzpgd.pytest_plugin unless the pytest11 entry point already loads it."""
    eps = metadata.entry_points(group="pytest11")
    return [] if any(ep.value == "byzpgd.pytest_plugin" for ep in eps) else ["-p", "byzpgd.pytest_plugin"]


def _pytest(tmp_path, *args):
    cmd = [sys.executable, "-m", "pytest", *_plugin_args(), "-p", "no:cacheprovider", "--rootdir",
           str(tmp_path), "-c", str(tmp_path / "pytest.ini"), *args]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


CONFTEST = """
from byzpgd.properties import registry
from byzpgd.properties.result import ClaimResult
from byzpgd.theory.claims import get

registry.load_all()
registry.CHECKS["exact_pgd.grad_norm"] = lambda profile, seed, progress: ClaimResult.build(
    get("exact_pgd.grad_norm"), violated=True, instances=3, nonvacuous_instances=3, violations=1,
    worst_ratio=2.0, empirical_constant=4.0, replay="byzpgd replay exact_pgd.grad_norm '{}'")
"""

TESTS = """
from byzpgd.properties import runner
from byzpgd.properties.runner import check_claim


def test_claim_level():                       # reused: a plain check on (quick, seed 0)
    assert check_claim("exact_pgd.iterations", "quick", seed=0).status == "holds"


def test_broken_constant_is_not_recorded():   # an able-to-fail run: never reused
    assert check_claim("exact_pgd.iterations", "quick", seed=0, constant=1e-6).status == "violated"


def test_monkeypatching_tests_are_not_trusted(monkeypatch):
    real = runner.sample_specs
    monkeypatch.setattr(runner, "sample_specs", lambda cid, n, seed: real(cid, 3, seed))
    assert check_claim("byzantine_pgd.iterations", "quick", seed=0).instances <= 3
"""


def test_report_from_a_test_run_under_xdist(tmp_path):
    """Under pytest-xdist: the entry of a claim-level test is reused (and equals what `byzpgd
    verify` computes); runs with overrides or from monkeypatching tests are not; the other claims
    are computed at session end -- one by a check that conftest breaks, so the report shows a
    violation with its replay and the session fails although every test passed."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_claims.py").write_text(TESTS)
    out = tmp_path / "rep"
    proc = _pytest(tmp_path, "-n", "2", "--byzpgd-report", str(out), "--byzpgd-profile", "quick",
                   "--byzpgd-claims", CLAIMS)
    assert proc.returncode == 1 and "3 passed" in proc.stdout, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    report = json.loads((out / "report.json").read_text())
    assert report["profile"] == "quick" and report["seed"] == 0
    assert report["pytest"]["claims_from_tests"] == ["exact_pgd.iterations"]
    assert report["pytest"]["claims_computed_at_session_end"] == ["byzantine_pgd.iterations",
                                                                   "exact_pgd.grad_norm"]
    assert "[1/3] exact_pgd.iterations: holds (from the tests" in proc.stdout
    assert "[3/3] exact_pgd.grad_norm: violated (computed" in proc.stdout
    assert report["summary"] == {"holds": 2, "violated": 1, "error": 0, "inconclusive": 0}
    # the same entries as `byzpgd verify` (run_check), apart from timings
    for entry in report["claims"][:2]:
        assert without_timings(entry) == without_timings(run_check(entry["id"], "quick", 0).to_json())
    md = (out / "report.md").read_text()
    assert "**VIOLATED**" in md and "byzpgd replay exact_pgd.grad_norm '{}'" in md


def test_usage_error(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    proc = _pytest(tmp_path, "--byzpgd-report", str(tmp_path / "r"), "--byzpgd-profile", "nope")
    assert proc.returncode == 4 and "--byzpgd-profile must be one of" in proc.stderr
    assert not (tmp_path / "r").exists()
