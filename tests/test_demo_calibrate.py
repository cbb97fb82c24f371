"""``byzpgd demo saddle-attack`` and ``byzpgd calibrate`` (its algorithm:
:mod:`byzpgd.experiments.calibration`)."""

import json
import subprocess
import sys
import threading

import pytest

from byzpgd import cli
from byzpgd import progress as progress_module
from byzpgd.commands import calibrate
from byzpgd.experiments import calibration as C
from byzpgd.experiments.figures import saddle_attack
from byzpgd.progress import Progress


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


MINI = {"DELTAS": (1e-2,), "GRIDS": {"c_T": (4.0,), "c_Q": (4.0,), "c_r": (0.5,), "c_R": (0.5,)},
        "START": {"c_r": 1.0, "c_R": 1.0, "c_T": 8.0, "c_Q": 8.0}}


@pytest.fixture
def mini(monkeypatch):
    """A miniature calibration: one Δ, one grid value per factor (5 candidates)."""
    for name, value in MINI.items():
        monkeypatch.setattr(calibrate, name, value)


def test_calibrate_writes_its_findings(tmp_path, mini):
    """A miniature search; the real one: docs/calibration.md."""
    rc = cli.main(["calibrate", "--out", str(tmp_path), "--per-cell", "1", "--verify-per-cell", "1",
                   "--jobs", "1", "--quiet"])
    out = json.loads((tmp_path / "calibration.json").read_text())
    assert rc in (0, 1) and (rc == 0) == (out["verification"]["trapped"] == 0)
    assert set(out["chosen"]) == {"c_r", "c_R", "c_T", "c_Q"}
    assert len(out["search"]["history"]) == len(C.plan(MINI["GRIDS"], MINI["START"])) == 5
    paper = out["claim_constants"]["by_dim"]["10"]
    assert paper["largest_nonvacuous_Delta"] < 1e-13          # the λ_min bound bites only there
    assert paper["at_Delta_1e-3"]["r"] > paper["at_Delta_1e-3"]["R"]   # and r > R at Δ = 1e-3
    assert out["verification"]["worst_C"] >= 0 and out["verification"]["errors"] == []


# --- the search: a fixed plan ---------------------------------------------------------------------
TRAPPED = {("c_T", 1.0): 2, ("c_Q", 1.0): 6, ("c_Q", 2.0): 5, ("c_Q", 4.0): 3, ("c_Q", 8.0): 2,
           ("c_r", 0.25): 16, ("c_r", 0.5): 8, ("c_R", 0.25): 4}


def _fake_evaluate(factors: dict, specs) -> C.Evaluation:
    """Trapped runs by the one factor that differs from START (:data:`TRAPPED`, else none)."""
    changed = [(k, v) for k, v in factors.items() if v != C.START[k]]
    trapped = max((TRAPPED.get(kv, 0) for kv in changed), default=0)
    return C.Evaluation(dict(factors), len(specs), trapped, 0, 0.0, 0, 0, {})


def _old_search(specs, evaluate_fn=None, say=print, grids=None, start=None):
    """The search before issue 23: each factor stops at its first value with no trapped run."""
    factors, history = dict(C.START), [_fake_evaluate(C.START, specs)]
    for name in C.FACTOR_ORDER:
        for value in C.GRIDS[name]:
            if value >= factors[name]:
                break
            ev = _fake_evaluate({**factors, name: value}, specs)
            history.append(ev)
            if ev.trapped == 0:
                factors = {**factors, name: value}
                break
    return factors, history


def _search_problems(search) -> list[str]:
    specs = [{}] * 4
    chosen, history = search(specs, _fake_evaluate)
    problems = []
    if chosen != {"c_r": 1.0, "c_R": 0.5, "c_T": 2.0, "c_Q": 16.0}:
        problems.append(f"chose {chosen}, not the smallest values with no trapped run")
    if [ev.factors for ev in history][1:] != [
            {**C.START, "c_T": v} for v in (1.0, 2.0, 4.0, 8.0)] + [
            {**C.START, "c_T": 2.0, "c_Q": v} for v in (1.0, 2.0, 4.0, 8.0)] + [
            {**C.START, "c_T": 2.0, "c_r": v} for v in (0.25, 0.5)] + [
            {**C.START, "c_T": 2.0, "c_R": v} for v in (0.25, 0.5)]:
        problems.append("the candidates are not the plan's")
    if len(history) * len(specs) != C.total_runs(len(specs), 0):
        problems.append(f"{len(history) * len(specs)} runs, not the {C.total_runs(len(specs), 0)} announced")
    return problems


def test_the_search_runs_every_candidate_of_its_plan():
    assert _search_problems(C.search) == []
    assert _search_problems(_old_search) != []    # stopping at the first escaping value is caught


# --- progress: one total from the start -------------------------------------------------------------
class _RecordingProgress(Progress):
    seen: list = []

    def set(self, done, total=None, note=None):
        super().set(done, total, note)
        type(self).seen.append((self.done, self.total))


def _progress_problems(monkeypatch, tmp_path) -> list[str]:
    _RecordingProgress.seen = []
    monkeypatch.setattr(progress_module, "Progress", _RecordingProgress)
    rc = cli.main(["calibrate", "--out", str(tmp_path), "--per-cell", "1", "--verify-per-cell", "1",
                   "--jobs", "1", "--quiet"])
    seen = _RecordingProgress.seen
    n = len(calibrate._specs(1, 0))
    total = C.total_runs(n, n, MINI["GRIDS"], MINI["START"])
    problems = [] if rc in (0, 1) else [f"exit {rc}"]
    if {t for _, t in seen} != {total}:
        problems.append(f"totals {sorted({t for _, t in seen})}, not one total {total} from the start")
    dones = [d for k, (d, _) in enumerate(seen) if d and (k == 0 or d != seen[k - 1][0])]
    if dones != list(range(1, total + 1)):   # heartbeats repeat a count: they add none
        problems.append("the count does not go up by one run at a time to the total")
    return problems


def test_progress_counts_one_fixed_total(tmp_path, monkeypatch, mini):
    assert _progress_problems(monkeypatch, tmp_path) == []


def test_a_search_that_skips_candidates_is_caught_by_the_progress_check(tmp_path, monkeypatch, mini):
    def skipping(specs, evaluate_fn=None, say=print, grids=None, start=None):
        factors, history = dict(start), [evaluate_fn(dict(start), specs)]
        return factors, history                    # the rest of the plan never runs
    monkeypatch.setattr(C, "search", skipping)
    assert _progress_problems(monkeypatch, tmp_path) != []


def test_heartbeat_shows_the_bar_while_a_run_goes_on():
    beat = threading.Event()

    class Bar:
        done = 3

        def set(self, done):
            assert done == 3
            beat.set()
    with calibrate.heartbeat(Bar(), seconds=0.01):
        assert beat.wait(30)


# --- the run, the words -------------------------------------------------------------------------------
def test_the_run_is_the_ablations_run_with_the_calibration_cap():
    from byzpgd.experiments.ablations import run_calibration

    spec = calibrate._specs(1, 0)[8]               # Δ = 1e-3, the first adversary
    factors = dict(C.START)
    assert C.run(spec, factors, max_calls=2_000_000) == run_calibration(spec, factors)
    capped = C.run(spec, factors, max_calls=50)
    assert capped.status == "max_oracle_calls" and capped.trapped


def test_help_and_the_run_agree_where_it_runs(tmp_path, mini, capfd, monkeypatch):
    monkeypatch.setenv("BYZPGD_PROGRESS", "lines")
    out = subprocess.run([sys.executable, "-m", "byzpgd", "calibrate", "--help"], capture_output=True,
                         text=True)
    help_text = " ".join(out.stdout.split())
    assert "--jobs N local worker processes (default 2; 1 runs in this process" in help_text
    assert "(default: the local process pool)" in help_text
    for args, where in (([], "runs on 2 local process(es)"), (["--jobs", "1"], "runs on this process")):
        cli.main(["calibrate", "--out", str(tmp_path / where[:12]), "--per-cell", "1",
                  "--verify-per-cell", "1", *args])
        assert f"byzpgd calibrate: {where}" in capfd.readouterr().err


def test_exit_1_is_explained(tmp_path, monkeypatch, capfd):
    def one_trapped(factors, specs, executor=None, bar=None, max_calls=None):
        for _ in specs:
            bar.advance()
        return C.Evaluation(dict(factors), len(specs), 1, 0, 0.5, 0, 0, {})
    monkeypatch.setattr(calibrate, "evaluate", one_trapped)
    rc = cli.main(["calibrate", "--out", str(tmp_path), "--profile", "quick", "--jobs", "1", "--quiet"])
    err = capfd.readouterr().err
    n = len(calibrate._specs(2, 0))
    assert rc == 1 and f"exit 1: the chosen factors were trapped on 1 of {n} verification runs" in err


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
