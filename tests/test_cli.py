"""The byzpgd command line: help, verify's report and exit codes, claims, replay, determinism."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from byzpgd import cli
from byzpgd.properties import registry, runner
from byzpgd.reports.model import Report

ROOT = Path(__file__).resolve().parents[1]

REQUIRED = {"id", "statement", "source", "provenance", "kind", "status", "instances", "violations",
            "worst_ratio", "nonvacuous_instances", "empirical_constant"}


@pytest.mark.parametrize("args", [["--help"], ["verify", "--help"], ["claims", "--help"],
                                  ["replay", "--help"]])
def test_every_command_has_help(args):
    out = subprocess.run([sys.executable, "-m", "byzpgd", *args], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: byzpgd" in out.stdout


def test_claims_help_shows_where():
    out = subprocess.run([sys.executable, "-m", "byzpgd", "claims", "--help"], capture_output=True,
                         text=True, check=True)
    assert "--where ID" in out.stdout


def test_verify_writes_the_report(tmp_path):
    rc = cli.main(["verify", "--profile", "quick", "--claims",
                   "byzantine_pgd.grad_norm,exact_pgd.iterations", "--out", str(tmp_path), "--quiet",
                   "--jobs", "1"])
    report = json.loads((tmp_path / "report.json").read_text())
    assert rc == 0
    assert report["profile"] == "quick" and report["seed"] == 0
    assert {"python", "packages"} <= set(report["environment"])
    assert [c["id"] for c in report["claims"]] == ["byzantine_pgd.grad_norm", "exact_pgd.iterations"]
    for c in report["claims"]:
        assert REQUIRED <= set(c) and c["status"] == "holds"


def test_same_seed_same_report_apart_from_timing(tmp_path):
    entries = []
    for k in range(2):
        cli.main(["verify", "--profile", "quick", "--claims", "byzantine_pgd.lambda_min",
                  "--seed", "3", "--out", str(tmp_path / str(k)), "--quiet", "--jobs", "1"])
        rep = json.loads((tmp_path / str(k) / "report.json").read_text())
        for c in rep["claims"]:
            c.pop("seconds")
        entries.append(rep["claims"])
    assert entries[0] == entries[1]


def test_violation_gives_exit_code_1_and_a_replay(tmp_path, monkeypatch):
    real = runner.check_claim

    def broken(claim_id, profile, seed, **kwargs):
        return real(claim_id, profile, seed, constant=0.5, **kwargs)  # 4Δ → 0.5Δ: violated

    registry.load_all()
    monkeypatch.setitem(registry.CHECKS, "byzantine_pgd.grad_norm",
                        lambda profile, seed, progress: broken("byzantine_pgd.grad_norm", profile, seed))
    rc = cli.main(["verify", "--profile", "quick", "--claims", "byzantine_pgd.grad_norm",
                   "--out", str(tmp_path), "--quiet", "--jobs", "1"])
    result = Report.from_json(json.loads((tmp_path / "report.json").read_text())).claims[0]
    assert rc == 1 and result.status == "violated"
    assert result.replay.startswith("byzpgd replay byzantine_pgd.grad_norm '")


@pytest.mark.parametrize("args", [["verify", "--out", "x", "--profile", "nope"],
                                  ["verify", "--out", "x", "--claims", "no.such.claim"],
                                  ["verify", "--out", "x", "--seed", "-1"],
                                  ["verify"], ["replay", "byzantine_pgd.grad_norm", "{not json"],
                                  ["replay", "nope", "{}"], ["claims", "--where", "no.such.claim"]])
def test_usage_errors_exit_2(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = subprocess.run([sys.executable, "-m", "byzpgd", *args], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip()


def test_claims_lists_every_registered_claim():
    out = subprocess.run([sys.executable, "-m", "byzpgd", "claims", "--json"], capture_output=True,
                         text=True, check=True)
    rows = json.loads(out.stdout)
    assert {r["id"] for r in rows} >= {"byzantine_pgd.grad_norm", "exact_pgd.lambda_min"}
    assert all(r["formula"] and r["provenance"] for r in rows)


def test_replay_reproduces_an_instance(capsys):
    from byzpgd.jsonsafe import spec_json
    from byzpgd.properties.strategies import sample_specs

    spec = sample_specs("byzantine_pgd.grad_norm", 1, 0)[0]
    rc = cli.main(["replay", "byzantine_pgd.grad_norm", spec_json(spec)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["holds"] and out["observed"] <= out["bound"]


def test_a_crashing_check_is_an_error_entry_not_a_crash(tmp_path, monkeypatch):
    registry.load_all()

    def crash(profile, seed, progress):
        raise RuntimeError("boom")

    monkeypatch.setitem(registry.CHECKS, "exact_pgd.iterations", crash)
    rc = cli.main(["verify", "--profile", "quick", "--claims", "exact_pgd.iterations",
                   "--out", str(tmp_path), "--quiet", "--jobs", "1"])
    result = Report.from_json(json.loads((tmp_path / "report.json").read_text())).claims[0]
    assert rc == 1 and result.status == "error"
    assert "RuntimeError: boom" in result.error_examples[0]["error"]


def test_claims_where_names_the_files_of_a_claim():
    out = subprocess.run([sys.executable, "-m", "byzpgd", "claims", "--where",
                          "byzantine_pgd.grad_norm", "--json"], capture_output=True, text=True,
                         check=True)
    files = json.loads(out.stdout)
    assert files["statement"] == ["theory/claims/theorems.py"]
    assert files["check"] == ["properties/suites/theorems.py"]
    assert "experiments/instances.py" in files["experiment"]
    assert "tests/test_theorem1_byzantine_pgd.py" in files["tests"]
    assert "tests/test_lower_bounds.py" not in files["tests"]
    paths = [p for key in ("statement", "check", "experiment", "tests") for p in files[key]]
    assert all((ROOT / p).is_file() for p in paths)
    text = subprocess.run([sys.executable, "-m", "byzpgd", "claims", "--where",
                           "byzantine_pgd.grad_norm"], capture_output=True, text=True, check=True)
    assert all(p in text.stdout for p in paths)
