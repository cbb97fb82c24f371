"""The byzpgd command line: help, verify's report and exit codes, claims, replay, determinism."""

import json
import subprocess
import sys

import pytest

from byzpgd import cli
from byzpgd.properties import registry, runner

REQUIRED = {"id", "statement", "source", "provenance", "kind", "status", "instances", "violations",
            "worst_ratio", "nonvacuous_instances", "empirical_constant"}


@pytest.mark.parametrize("args", [["--help"], ["verify", "--help"], ["claims", "--help"],
                                  ["replay", "--help"]])
def test_every_command_has_help(args):
    out = subprocess.run([sys.executable, "-m", "byzpgd", *args], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: byzpgd" in out.stdout


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
    entry = json.loads((tmp_path / "report.json").read_text())["claims"][0]
    assert rc == 1 and entry["status"] == "violated"
    assert entry["replay"].startswith("byzpgd replay byzantine_pgd.grad_norm '")


@pytest.mark.parametrize("args", [["verify", "--out", "x", "--profile", "nope"],
                                  ["verify", "--out", "x", "--claims", "no.such.claim"],
                                  ["verify", "--out", "x", "--seed", "-1"],
                                  ["verify"], ["replay", "byzantine_pgd.grad_norm", "{not json"],
                                  ["replay", "nope", "{}"]])
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
    entry = json.loads((tmp_path / "report.json").read_text())["claims"][0]
    assert rc == 1 and entry["status"] == "error"
    assert "RuntimeError: boom" in entry["error_examples"][0]["error"]
