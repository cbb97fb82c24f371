"""``byzpgd demo saddle-attack`` and ``byzpgd calibrate``."""

import json
import subprocess
import sys

from byzpgd import cli
from byzpgd.commands import calibrate
from byzpgd.experiments.figures import saddle_attack


def test_demo_writes_png_and_svg(tmp_path):
    rc = cli.main(["demo", "saddle-attack", "--out", str(tmp_path)])
    assert rc == 0
    for name in ("saddle_attack.png", "saddle_attack.svg"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert (tmp_path / "saddle_attack.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_runs_show_the_trap_and_the_escape():
    data = saddle_attack()
    assert data.robust_gd.lambda_min <= data.trapped_below == -0.4   # trapped: γ = 0.8
    assert data.robust_gd.escapes == 0
    assert data.byzantine_pgd.lambda_min > 0 and data.byzantine_pgd.escapes >= 1
    assert data.byzantine_pgd.grad_norm <= data.grad_bound


def test_commands_have_help_and_validate_arguments(tmp_path):
    for args in (["demo", "--help"], ["calibrate", "--help"]):
        out = subprocess.run([sys.executable, "-m", "byzpgd", *args], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: byzpgd" in out.stdout
    out = subprocess.run([sys.executable, "-m", "byzpgd", "demo", "saddle-attack", "--out",
                          str(tmp_path), "--delta", "5"], capture_output=True, text=True)
    assert out.returncode == 2 and "--delta" in out.stderr


def test_calibrate_writes_its_findings(tmp_path, monkeypatch):
    """A miniature search (one Δ, two grid values per factor); the real one: docs/calibration.md."""
    monkeypatch.setattr(calibrate, "DELTAS", (1e-2,))
    monkeypatch.setattr(calibrate, "GRIDS", {"c_T": (4.0,), "c_Q": (4.0,), "c_r": (0.5,), "c_R": (0.5,)})
    monkeypatch.setattr(calibrate, "START", {"c_r": 1.0, "c_R": 1.0, "c_T": 8.0, "c_Q": 8.0})
    rc = cli.main(["calibrate", "--out", str(tmp_path), "--per-cell", "1", "--verify-per-cell", "1",
                   "--quiet"])
    out = json.loads((tmp_path / "calibration.json").read_text())
    assert rc in (0, 1) and (rc == 0) == (out["verification"]["trapped"] == 0)
    assert set(out["chosen"]) == {"c_r", "c_R", "c_T", "c_Q"}
    paper = out["claim_constants"]["by_dim"]["10"]
    assert paper["largest_nonvacuous_Delta"] < 1e-13          # the λ_min bound bites only there
    assert paper["at_Delta_1e-3"]["r"] > paper["at_Delta_1e-3"]["R"]   # and r > R at Δ = 1e-3
    assert out["verification"]["worst_C"] >= 0 and out["verification"]["errors"] == []


def test_calibration_draws_are_the_documented_ones():
    """Run k of cell (i_Δ, i_adversary) is drawn from default_rng([seed, i_Δ, i_adversary, k])
    (docs/calibration.md), through the one seeding scheme."""
    import numpy as np

    from byzpgd.oracles.adversaries import NAMES
    from byzpgd.properties.strategies import NumpySource
    from byzpgd.properties.suites.ablations import calibration_instance

    specs = calibrate._specs(2, 5)
    assert len(specs) == 2 * len(NAMES) * len(calibrate.DELTAS)
    i, j, k = 1, 2, 1
    D = calibrate.DELTAS[i]
    expected = calibration_instance(NumpySource(np.random.default_rng([5, i, j, k])), D, D,
                                    adversary=NAMES[j], names=NAMES)
    assert specs[(i * len(NAMES) + j) * 2 + k] == expected
