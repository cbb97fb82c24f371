"""Bad input is refused early with one clear line (exit 2): an --out that is a file, sits under a
file, or cannot be written; claim patterns that match nothing. --claims takes patterns and says
what matched. Ctrl-C during verify leaves the previous report set untouched and says so."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from byzpgd import cli
from byzpgd.api import ClaimSelectionError, select_claims
from byzpgd.outdir import OutDirError, check_out_dir
from byzpgd.properties import registry

KNOWN = ["byzantine_pgd.grad_norm", "byzantine_pgd.lambda_min", "exact_pgd.grad_norm", "parameters.exponents"]


# --- claim patterns ------------------------------------------------------------------------------------
def test_patterns_select_in_order_without_duplicates():
    assert select_claims("byzantine_pgd.*", KNOWN) == KNOWN[:2]
    assert select_claims("parameters.exponents,*.grad_norm", KNOWN) == [
        "parameters.exponents", "byzantine_pgd.grad_norm", "exact_pgd.grad_norm"]
    assert select_claims(["*grad_norm", "byzantine_pgd.*"], KNOWN) == [
        "byzantine_pgd.grad_norm", "exact_pgd.grad_norm", "byzantine_pgd.lambda_min"]
    assert select_claims(None, KNOWN) == KNOWN
    assert select_claims("exact_pgd.grad_norm", KNOWN) == ["exact_pgd.grad_norm"]


@pytest.mark.parametrize("bad", ["nope.*", "byzantine_pgd.*,nope", "", ",", [], [3], 5])
def test_patterns_matching_nothing_are_errors(bad):
    with pytest.raises(ClaimSelectionError):
        select_claims(bad, KNOWN)


def test_a_pattern_is_not_a_prefix():
    with pytest.raises(ClaimSelectionError, match="byzantine_pgd"):
        select_claims("byzantine_pgd", KNOWN)     # an id, not a pattern: no claim has it


# --- --out -----------------------------------------------------------------------------------------------
@pytest.fixture
def no_work(monkeypatch):
    """Any claim check (or calibration run, fault campaign, figure) run would fail the test."""
    from byzpgd.commands import calibrate
    from byzpgd.experiments import figures
    from byzpgd.properties import campaign

    def boom(*a, **k):
        raise AssertionError("work started before the usage error")

    from byzpgd.audit import run as audit_run

    registry.load_all()
    monkeypatch.setattr(audit_run, "run_audit", boom)
    monkeypatch.setattr(registry, "run_check", boom)
    monkeypatch.setattr(calibrate, "calibrate", boom)
    monkeypatch.setattr(campaign, "run_campaign", boom)
    monkeypatch.setattr(figures, "saddle_attack", boom)


def _bad_outs(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("not a folder")
    outs = {"existing file": (str(f), "exists and is not a folder"),
            "under a file": (str(f / "sub"), "is a file, not a folder"),
            "read-only mount": ("/sys/byzpgd-no-such-dir/out", "cannot be created")}
    if os.geteuid() != 0:   # root writes through permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        outs["not writable"] = (str(ro), "is not writable")
    return outs


COMMANDS = {"verify": ["verify", "--claims", "parameters.exponents"], "calibrate": ["calibrate"],
            "faults": ["faults", "--subset"], "demo": ["demo", "saddle-attack"],
            "audit": ["audit", "byzpgd.algorithms.aggregators:coordinate_median"]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_out_is_one_line_exit_2_before_any_work(command, tmp_path, capsys, no_work):
    for case, (out, words) in _bad_outs(tmp_path).items():
        rc = cli.main([*COMMANDS[command], "--out", out])
        err = capsys.readouterr().err
        assert rc == 2, (case, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and out in lines[0], (case, err)
        assert lines[0].startswith(f"byzpgd {command}: error:")
        assert "Traceback" not in err


def test_check_out_dir_creates_missing_folders_and_can_take_them_back(tmp_path):
    out = check_out_dir(tmp_path / "a" / "b")
    assert out.path.is_dir() and out.created == (tmp_path / "a", tmp_path / "a" / "b")
    out.discard_if_empty()
    assert not (tmp_path / "a").exists()
    again = check_out_dir(tmp_path)
    assert again.created == () and list(tmp_path.iterdir()) == []   # the write probe left nothing


def test_check_out_dir_refuses_an_empty_name():
    with pytest.raises(OutDirError, match="needs a folder"):
        check_out_dir("")


def test_verify_says_which_ids_a_pattern_matched(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BYZPGD_PROGRESS", "lines")
    rc = cli.main(["verify", "--profile", "quick", "--claims", "parameters.exp*", "--jobs", "1",
                   "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 0 and "--claims parameters.exp* matched 1 claim(s): parameters.exponents" in err
    assert "--claims 'parameters.exp*'" in (tmp_path / "report.json").read_text()   # the command
    rc = cli.main(["verify", "--claims", "nothing.*", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nothing.*" in err[0]


@pytest.mark.parametrize("argv", [["verify", "--claims", "nothing.*"], ["faults"]])
def test_the_former_batched_switch_is_accepted_and_said_to_be_ignored(argv, tmp_path, capsys):
    """Old scripts with ``--batched`` still run; the user is told that it changes nothing."""
    rc = cli.main([*argv, "--batched"] + (["--out", str(tmp_path)] if argv[0] == "verify" else []))
    err = capsys.readouterr().err
    assert rc == 2                                   # the usage error of the rest of the command
    assert f"byzpgd {argv[0]}: note: --batched is ignored: every run is batched" in err
    rc = cli.main([*argv] + (["--out", str(tmp_path)] if argv[0] == "verify" else []))
    assert rc == 2 and "--batched" not in capsys.readouterr().err


# --- Ctrl-C ----------------------------------------------------------------------------------------------
def _default_sigint():
    """In the child: SIGINT back to its default (a pytest-xdist worker ignores SIGINT, and an ignored
    signal is inherited across exec, so Python would not turn Ctrl-C into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_leaves_the_previous_report_untouched(tmp_path, jobs):
    previous = {name: f"previous {name}\n" for name in ("report.json", "report.md", "report.html")}
    for name, text in previous.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, "BYZPGD_PROGRESS": "lines"}
    # claims that run for ten seconds or more on the deep profile (batched: see docs/scale-out.md)
    proc = subprocess.Popen([sys.executable, "-m", "byzpgd", "verify", "--profile", "deep", "--claims",
                             "exact_pgd.poster_lambda_min,exact_pgd.lambda_min", "--jobs", jobs,
                             "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=_default_sigint)
    seen = []
    for line in proc.stderr:                 # wait until the checks run
        seen.append(line)
        if "2 claims, profile deep" in line:
            break
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    try:
        _, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert "interrupted after" in err and f"the previous report in {tmp_path} is untouched" in err
    assert "Traceback" not in err
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == previous   # no temporary left behind


def test_ctrl_c_without_a_previous_report_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("byzpgd.api.verify", interrupted)
    out = tmp_path / "new" / "dir"
    rc = cli.main(["verify", "--claims", "parameters.exponents", "--out", str(out), "--quiet"])
    assert rc == 130 and "no report was written" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()    # the folders made by the --out check are removed again
    assert Path(tmp_path).is_dir()


# --- --version -------------------------------------------------------------------------------------------
def test_version_is_the_installed_distributions():
    from importlib import metadata

    import byzpgd

    out = subprocess.run([sys.executable, "-m", "byzpgd", "--version"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.strip() == f"byzpgd {metadata.version('byzpgd')}" == f"byzpgd {byzpgd.__version__}"


def test_version_comes_from_the_package_metadata_not_a_literal():
    """With the metadata saying 7.7.7-test, both __version__ and --version say so (a version string
    written in the code would not follow)."""
    code = ("import importlib.metadata as m; real = m.version; "
            "m.version = lambda name: '7.7.7-test' if name == 'byzpgd' else real(name); "
            "import byzpgd, byzpgd.cli; print(byzpgd.__version__); byzpgd.cli.main(['--version'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["7.7.7-test", "byzpgd", "7.7.7-test"], out.stderr


# --- replay: bad SPEC fields ---------------------------------------------------------------------------
def _replay_specs() -> dict[str, list[dict]]:
    """Specs as the samplers draw them (and the reports print them), for every claim with a replay."""
    from byzpgd.properties.strategies import sample_specs
    from byzpgd.properties.suites import end_to_end
    from byzpgd.properties.suites.ablations import sample_ablation_specs
    from byzpgd.properties.suites.saddle_attack import sample_attack_specs

    registry.load_all()
    out = {}
    for cid in registry.REPLAYS:
        group = cid.split(".")[0]
        if group in ("byzantine_pgd", "exact_pgd"):
            out[cid] = sample_specs(cid, 200, 3)
        elif group == "ablation":
            out[cid] = sample_ablation_specs(cid, 50, 3)
        elif group == "saddle_attack":
            out[cid] = sample_attack_specs(cid, 50, 3)
        else:
            out[cid] = end_to_end.specs("ci", 3, cid)
    return out


def test_every_spec_the_samplers_draw_passes_the_replay_check():
    from byzpgd.properties.replay_spec import check_spec

    specs = _replay_specs()
    assert set(specs) == set(registry.REPLAYS) and all(specs.values())
    for cid, drawn in specs.items():
        for spec in drawn:
            check_spec(cid, spec)     # raises SpecError naming the field it refuses


def _spec(cid: str, **change) -> dict:
    spec = dict(_replay_specs()[cid][0])
    for key, value in change.items():
        if "__" in key:               # adversary__kappa -> spec["adversary"]["kappa"]
            outer, inner = key.split("__")
            spec[outer] = {**spec[outer], inner: value}
        elif value is _DROP:
            spec.pop(key)
        else:
            spec[key] = value
    return spec


_DROP = object()
BYZ, EXACT, E2E = "byzantine_pgd.grad_norm", "exact_pgd.grad_norm", "end_to_end.grad_norm"
ABL, ATTACK = "ablation.single_round", "saddle_attack.robust_gd_trapped"

# (claim, change, words the one line must hold): wrong types, non-finite, out of range, unknown
BAD_SPECS = {
    "int as a string": (BYZ, {"dim": "4"}, ["'dim'", "integer", '"4" (a string)']),
    "float for an int": (BYZ, {"n_neg": 1.5}, ["'n_neg'", "integer"]),
    "number as a string": (BYZ, {"L": "1.7"}, ["'L'", "number"]),
    "true for a number": (BYZ, {"Delta": True}, ["'Delta'", "number", "true/false"]),
    "NaN": (EXACT, {"epsilon": float("nan")}, ["'epsilon'", "finite"]),
    "Infinity": (ABL, {"gamma": float("inf")}, ["'gamma'", "finite"]),
    "L = 0": (BYZ, {"L": 0.0}, ["'L'", "> 0"]),
    "negative Delta": (BYZ, {"Delta": -1e-3}, ["'Delta'", ">= 0"]),
    "negative seed": (BYZ, {"run_seed": -1}, ["'run_seed'", ">= 0"]),
    "huge dim": (BYZ, {"dim": 10 ** 9}, ["'dim'", "<= 1000"]),
    "n_neg above dim": (BYZ, {"n_neg": 50}, ["'n_neg'", "<= dim"]),
    "unknown landscape": (BYZ, {"landscape": "bowl"}, ["'landscape'", "cosine_saddle"]),
    "unknown field": (BYZ, {"dimension": 4}, ["unknown field 'dimension'"]),
    "other family": (BYZ, {"family": "exact_pgd"}, ["'family'", "byzantine_pgd"]),
    "adversary not an object": (BYZ, {"adversary": "trap"}, ["'adversary'", "JSON object"]),
    "adversary parameter as a string": (ATTACK, {"adversary__kappa": "2"}, ["'adversary.kappa'", "number"]),
    "unknown adversary": (ATTACK, {"adversary__name": "evil"}, ["'adversary.name'", "trap"]),
    "parameter the adversary lacks": (ATTACK, {"adversary__lookahead": 1}, ["'adversary.lookahead'"]),
    "unknown algorithm": (ATTACK, {"algorithm": "sgd"}, ["'algorithm'", "robust_gd"]),
    "unknown aggregator": (E2E, {"aggregator": "med"}, ["'aggregator'", "median"]),
    "seed as a float": (E2E, {"seed": 1.5}, ["'seed'", "integer"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_replay_refuses_a_bad_field_in_one_line_naming_it(case, capsys, monkeypatch):
    import json

    cid, change, words = BAD_SPECS[case]
    spec = _spec(cid, **change)

    def boom(spec):
        raise AssertionError("the replay ran on a refused SPEC")
    monkeypatch.setitem(registry.REPLAYS, cid, boom)
    rc = cli.main(["replay", cid, json.dumps(spec)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith("byzpgd replay: invalid SPEC: "), err
    for w in words:
        assert w in lines[0], (w, err)


def test_replay_check_bounds_are_the_stated_ones():
    """The boundary values themselves: Delta = 0 and fraction = 1 are allowed, L = 0 and a fraction
    just above 1 are not (a check with < for <=, or one that lets true pass as 1, fails here)."""
    from byzpgd.properties.replay_spec import SpecError, check_spec

    byz = _replay_specs()[BYZ]
    frac = next(s for s in byz if "fraction" in s.get("adversary", {}))
    check_spec(BYZ, {**byz[0], "Delta": 0.0})
    check_spec(BYZ, {**frac, "adversary": {**frac["adversary"], "fraction": 1.0}})
    check_spec(BYZ, {**byz[0], "dim": 1000, "n_neg": 1000})
    for bad in ({"L": 0.0}, {"adversary": {**frac["adversary"], "fraction": 1.0 + 1e-12}}, {"dim": 1001},
                {"L": True}, {"landscape_seed": 2 ** 32}):
        with pytest.raises(SpecError):
            check_spec(BYZ, {**frac, **bad})


def test_replay_names_a_missing_field(capsys):
    import json

    rc = cli.main(["replay", BYZ, json.dumps(_spec(BYZ, dim=_DROP))])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"byzpgd replay: invalid SPEC: SPEC has no field 'dim', which {BYZ} needs"]
