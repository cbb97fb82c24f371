"""User-declared claims (issue 25 item 3): a claim file outside the package is loaded, verified,
replayed and located like a built-in claim, and a subtly wrong algorithm is caught by it."""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from byzpgd.claims import Claim, Measurement
from byzpgd.properties.registry import REPLAYS, load_all, run_check
from byzpgd.properties.user import USER_CLAIMS, load_claims_from, register_user_claim, unregister
from byzpgd.theory.claims import DEFINED_IN

EXAMPLE = str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "claim_momentum.py")
EXAMPLE_ID = "example.momentum_gd.grad_norm"
x = sp.Symbol("x", positive=True)


def _example_module():
    load_claims_from(EXAMPLE)
    return sys.modules[USER_CLAIMS[EXAMPLE_ID].run.__module__]


def test_the_example_claim_file_holds_and_is_located_at_its_file():
    assert load_claims_from(EXAMPLE) == [EXAMPLE_ID] or EXAMPLE_ID in USER_CLAIMS
    assert load_claims_from(EXAMPLE) == [EXAMPLE_ID]           # loading twice is a no-op
    res = run_check(EXAMPLE_ID, "quick", 0)
    assert res.status == "holds" and res.nonvacuous_instances >= 20
    assert 0.5 < res.worst_ratio <= 1.0
    assert set(res.adversaries) == {s["adversary"]["name"] for s in USER_CLAIMS[EXAMPLE_ID].specs("quick", 0)}
    assert DEFINED_IN[EXAMPLE_ID] == EXAMPLE


def _sup_norm_momentum_gd(oracle, w0, L, Delta, beta=0.2, stop=3.0):
    """The example's method with its stopping test on the sup norm ‖ĝ‖_∞ <= 3Δ (‖ĝ‖ up to 3Δ√d)."""
    w, w_prev = np.array(w0, dtype=np.float64), np.array(w0, dtype=np.float64)
    for t in range(20_000):
        g = oracle(w)
        if np.max(np.abs(g)) <= stop * Delta:
            return w, t
        w, w_prev = w - (1 - beta) * g / L + beta * (w - w_prev), w
    return None, 20_000


@pytest.mark.parametrize("slip", ["stop_at_4_delta", "sup_norm_stop"])
def test_a_subtly_wrong_method_is_caught_by_the_users_claim(slip, monkeypatch):
    """Stopping at ‖ĝ‖ <= 4Δ instead of 3Δ (a constant off by 4/3), or testing ‖ĝ‖ in the sup
    norm: both break ‖∇F(w_out)‖ <= 4Δ on some instance, and the replay reproduces it."""
    mod = _example_module()
    faulty = (functools.partial(mod.momentum_gd, stop=4.0) if slip == "stop_at_4_delta"
              else _sup_norm_momentum_gd)
    monkeypatch.setattr(mod, "momentum_gd", faulty)
    res = run_check(EXAMPLE_ID, "quick", 0)
    assert res.status == "violated" and res.worst_violation.ratio > 1.0
    assert res.worst_violation.replay.startswith(f"byzpgd replay {EXAMPLE_ID} ")
    assert REPLAYS[EXAMPLE_ID](_spec_of(res))["holds"] is False


def _spec_of_replay(replay: str) -> dict:
    """The SPEC of a 'byzpgd replay ID SPEC [--claims-from FILE]' command."""
    import json
    import shlex
    return json.loads(shlex.split(replay)[3])


def _spec_of(res):
    return _spec_of_replay(res.worst_violation.replay)


# --- a probabilistic user claim, declared here ---------------------------------------------------
def _sample(src):
    return {"seed": src.seed(), "p": 0.05}


def _run_rare(spec):
    rng = np.random.default_rng(spec["seed"])
    return Measurement(float(rng.uniform() < spec["p"]), {"x": 0.5})   # fails when observed 1 > 0.5


def _run_often(spec):
    return _run_rare({**spec, "p": 0.3})


def _probabilistic(claim_id, run):
    claim = Claim(id=claim_id, statement="an event of probability <= 0.1", source="tests",
                  provenance="OWN", kind="probabilistic", observed="indicator of the event",
                  constant=1.0, shape=x, failure_probability=sp.Rational(1, 10))
    register_user_claim(claim, sample=_sample, run=run, group=lambda s: "g" + str(s["seed"] % 2),
                        examples={"quick": 150, "ci": 150, "deep": 150}, origin=__file__)
    return claim_id


def test_a_probabilistic_user_claim_is_decided_by_the_binomial_tests():
    rare, often = _probabilistic("tests.user.rare", _run_rare), _probabilistic("tests.user.often", _run_often)
    try:
        held, broke = run_check(rare, "quick", 0), run_check(often, "quick", 0)
        assert held.status == "holds" and held.binomial is not None and held.detectable_excess is not None
        assert set(held.adversaries) == {"g0", "g1"}
        assert broke.status == "violated"
    finally:
        unregister(rare)
        unregister(often)


@pytest.mark.parametrize("change,message", [
    ({"kind": "rate"}, "kind must be one of"),
    ({"kind": "probabilistic"}, "needs failure_probability"),
    ({"kind": "probabilistic", "failure_probability": sp.Symbol("delta")}, "needs failure_probability"),
    ({"id": "byzantine_pgd.grad_norm"}, "already registered"),
])
def test_bad_declarations_get_a_clear_error(change, message):
    fields = dict(id="tests.user.bad", statement="s", source="tests", provenance="OWN",
                  kind="deterministic", observed="o", constant=1.0, shape=x)
    fields.update(change)
    load_all()     # the built-in claims are registered: a clashing id is refused
    with pytest.raises(ValueError, match=message):
        register_user_claim(Claim(**fields), sample=_sample, run=_run_rare)
    assert "tests.user.bad" not in USER_CLAIMS


def _run_wrong_type(spec):
    return 0.3


def test_a_run_that_returns_the_wrong_type_is_an_error_not_a_verdict():
    claim = Claim(id="tests.user.wrong_type", statement="s", source="tests", provenance="OWN",
                  kind="deterministic", observed="o", constant=1.0, shape=x)
    register_user_claim(claim, sample=_sample, run=_run_wrong_type,
                        examples={"quick": 5, "ci": 5, "deep": 5}, origin=__file__)
    try:
        res = run_check("tests.user.wrong_type", "quick", 0)
        assert res.status == "error" and res.errors >= 1     # early decision: the first error decides
        assert "not a Measurement" in str(res.error_examples)
    finally:
        unregister("tests.user.wrong_type")


def test_a_missing_claim_file_is_reported():
    with pytest.raises(FileNotFoundError, match="no claim file"):
        load_claims_from("no/such/claims.py")


# --- the command line --------------------------------------------------------------------------
def _broken_copy(tmp_path) -> str:
    """The example with its stopping threshold moved from 3Δ to 4Δ, under another id."""
    text = Path(EXAMPLE).read_text()
    text = text.replace("stop: float = 3.0", "stop: float = 4.0").replace(EXAMPLE_ID, "tests.cli.broken")
    path = tmp_path / "broken_claims.py"
    path.write_text(text)
    return str(path)


def test_verify_replay_and_where_from_the_command_line(tmp_path, capsys):
    import json

    from byzpgd.cli import main

    broken = _broken_copy(tmp_path)
    try:
        code = main(["verify", "--claims-from", broken, "--claims", "tests.cli.*", "--profile", "quick",
                     "--jobs", "1", "--quiet", "--out", str(tmp_path / "r")])
        assert code == 1
        report = json.loads((tmp_path / "r" / "report.json").read_text())
        assert report["command"].startswith(f"byzpgd verify --claims-from {broken} ")
        (claim,) = report["claims"]
        assert claim["status"] == "violated" and claim["replay"].endswith(f"--claims-from {broken}")
        spec = _spec_of_replay(claim["replay"])
        capsys.readouterr()
        assert main(["replay", "tests.cli.broken", json.dumps(spec), "--claims-from", broken]) == 1
        assert json.loads(capsys.readouterr().out)["holds"] is False
        assert main(["claims", "--claims-from", broken, "--where", "tests.cli.broken"]) == 0
        assert capsys.readouterr().out.count(broken) == 3
    finally:
        unregister("tests.cli.broken")


def test_a_claim_file_that_cannot_load_is_a_usage_error(tmp_path, capsys):
    from byzpgd.cli import main

    bad = tmp_path / "bad_claims.py"
    bad.write_text("raise RuntimeError('my file is broken')\n")
    assert main(["verify", "--claims-from", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "RuntimeError: my file is broken" in capsys.readouterr().err
    assert main(["replay", "x.y", "{}", "--claims-from", str(tmp_path / "missing.py")]) == 2
    assert "no claim file" in capsys.readouterr().err


def _run_hangs(spec):
    import time
    while True:
        time.sleep(0.01)


def test_a_run_that_hangs_is_stopped_at_its_limit_and_is_an_error():
    claim = Claim(id="tests.user.hangs", statement="s", source="tests", provenance="OWN",
                  kind="deterministic", observed="o", constant=1.0, shape=x)
    register_user_claim(claim, sample=_sample, run=_run_hangs, examples={"quick": 3, "ci": 3, "deep": 3},
                        origin=__file__, seconds=0.2)
    try:
        res = run_check("tests.user.hangs", "quick", 0)
        assert res.status == "error" and "wall-clock limit of 0.2 s" in str(res.error_examples)
    finally:
        unregister("tests.user.hangs")
    with pytest.raises(ValueError, match="wall-clock limit"):
        register_user_claim(dataclasses.replace(claim, id="tests.user.bad_limit"), sample=_sample,
                            run=_run_rare, seconds=float("inf"))
