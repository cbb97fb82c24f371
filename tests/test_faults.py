"""The seeded-fault campaign: the catalogue, injection and restoration, and a small campaign
(one kill, one survivor, one fault whose injection point does not exist) with its kill matrix."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from byzpgd.experiments import faults as F
from byzpgd.properties.campaign import expand_claims, run_campaign
from byzpgd.properties.registry import claim_ids
from byzpgd.reports.faults import write_faults


def test_the_catalogue_has_at_least_30_distinct_faults_of_every_kind():
    ids = [f.id for f in F.CATALOGUE]
    assert len(ids) >= 30 and len(set(ids)) == len(ids)
    assert {f.kind for f in F.CATALOGUE} == set(F.KINDS)
    assert sum(f.ci for f in F.CATALOGUE) >= 5
    assert all(f.reaches for f in F.CATALOGUE)       # every fault says which engine it reaches


PARAMETER_TARGETS = (F.BPGD, F.EPGD)


def test_at_least_15_code_slips_none_a_parameter_scaling():
    """Issue 22 item 4: code slips in the loop, the certifying layer and the aggregators, each with
    its harm in one line; none wraps theorem_params (a parameter scaling) or a theory table."""
    slips = [f for f in F.CATALOGUE if f.why]
    assert len(slips) >= 15
    for f in slips:
        assert f.kind in ("logic", "aggregator"), f.id
        targets = [p.target for p in f.patches]
        assert not any(t in PARAMETER_TARGETS or ".theory." in t for t in targets), f.id
        assert any(t.startswith(("byzpgd.algorithms.", "byzpgd.oracles.inexact")) for t in targets), f.id
    places = {p.target.split(":")[0] for f in slips for p in f.patches}
    assert {"byzpgd.algorithms.engine", "byzpgd.oracles.inexact"} <= places
    assert any(t.startswith("byzpgd.algorithms.aggregators") for t in places)
    loop = [f for f in slips if f.id.startswith("loop.")]
    assert loop and all("every run" in f.reaches for f in loop)


def _wrapped(fault_id, name):
    """The replacement the fault installs for module attribute ``name`` of the loop."""
    fault = F.get_fault(fault_id)
    patch = next(p for p in fault.patches if p.target.endswith(":" + name))
    return patch.wrap(F._resolve(patch.target)[2])


def test_a_loop_slip_changes_exactly_what_it_says():
    """Two slips on a strict saddle (curvature −1: the escape coordinate doubles each step): after
    T_th = 7 steps a correct round is about 0.05 from the saddle, beyond R = 0.04; its square
    (0.0025) and its last step (about 0.025) are not, so the slipped rounds do not escape, with
    the rounds one at a time or as one window."""
    from byzpgd.algorithms import PGDParams, perturbed_gd
    from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle
    from byzpgd.oracles.landscapes import CosineSaddle

    land = CosineSaddle.random(3, np.random.default_rng(0))
    params = PGDParams(eta=1 / land.L, epsilon=1e-3, r=1e-3, Q=1, R=0.04, T_th=7)

    def escapes(batch):
        res = perturbed_gd(CertifiedOracle(ExactOracle(land)), np.zeros(3), params,
                           np.random.default_rng(1), batch_rounds=batch, max_oracle_calls=1 + 7)
        return res.escapes > 0
    for batch in (False, True):
        assert escapes(batch)
        for slip in ("loop.escape_test_squared", "loop.escape_distance_from_previous_step"):
            with F.inject(F.get_fault(slip)):
                assert not escapes(batch), (slip, batch)


@pytest.mark.parametrize("fault", F.CATALOGUE, ids=lambda f: f.id)
def test_every_fault_injects_and_restores(fault):
    claim_ids()                                   # every binding loaded
    before = {p.target: F._resolve(p.target)[2] for p in fault.patches}
    with F.inject(fault):
        for p in fault.patches:
            assert F._resolve(p.target)[2] is not before[p.target], p.target
    for p in fault.patches:
        assert F._resolve(p.target)[2] is before[p.target]


@pytest.mark.parametrize("fault", F.CATALOGUE, ids=lambda f: f.id)
def test_every_fault_names_registered_claims(fault):
    assert expand_claims(fault.claims, claim_ids()), fault.id


def test_a_from_import_copy_is_patched_too():
    bpgd = importlib.import_module("byzpgd.algorithms.byzantine_pgd")
    e2e = importlib.import_module("byzpgd.experiments.end_to_end")
    original = bpgd.theorem_params
    with F.inject(F.get_fault("byzantine_pgd.Q_1")):
        assert bpgd.theorem_params(1e-14, 1.0, 1.0, 3, 0.1, 1.0).Q == 1
        for mod in (bpgd, e2e):
            if hasattr(mod, "theorem_params"):
                assert mod.theorem_params is not original
    assert bpgd.theorem_params is original


def test_a_missing_injection_point_is_an_injection_error():
    bad = F.Fault("test.missing", "logic", "no such function",
                  (F.Patch("byzpgd.algorithms.perturbed_gd:no_such_function", lambda f: f),),
                  ("mechanism.candidate_cost",))
    with pytest.raises(F.InjectionError, match="no_such_function"), F.inject(bad):
        pass


def test_a_reading_must_survive_and_is_not_counted_as_a_fault(tmp_path):
    """A reading the claims cannot tell apart is 'equivalent' and outside the catalogue's rates;
    a 'reading' that a claim rejects (here Q = 1, which is a real fault) is reported as a claim
    stricter than the paper, and the campaign is not ok."""
    cheap = ("mechanism.candidate_cost",)
    noop = F.Fault("test.reading_noop", "reading", "a reading that changes nothing",
                   (F.Patch("byzpgd.algorithms.perturbed_gd:perturbed_gd", lambda f: f),), cheap,
                   equivalent="it is the same code")
    q1 = F.get_fault("byzantine_pgd.Q_1")
    wrong = F.Fault("test.reading_q1", "reading", "Q = 1 called a reading", q1.patches, cheap,
                    equivalent="(wrongly) argued")
    real = F.Fault(q1.id, q1.kind, q1.description, q1.patches, cheap)
    c = run_campaign([noop, real], "quick", 0, command="test")
    assert [f.status for f in c.faults] == ["equivalent", "killed"]
    assert c.catalogue_kill_rate == 1.0 and c.kill_rate == 1.0 and c.readings_killed == () and c.ok
    c = run_campaign([wrong, real], "quick", 0, command="test")
    assert c.readings_killed == ("test.reading_q1",) and not c.ok
    assert c.catalogue_kill_rate == 1.0
    write_faults(tmp_path, c)
    assert json.loads((tmp_path / "faults.json").read_text())["readings_killed"] == ["test.reading_q1"]
    assert "Readings a claim rejects" in (tmp_path / "faults.md").read_text()
    with pytest.raises(ValueError, match="needs the argument"):
        F.Fault("test.bare", "reading", "no argument", q1.patches, cheap)


def test_a_small_campaign_writes_its_kill_matrix(tmp_path):
    cheap = ("mechanism.candidate_cost",)
    faults = [
        F.get_fault("byzantine_pgd.Q_1"),
        F.Fault("test.noop", "logic", "a wrapper that changes nothing",
                (F.Patch("byzpgd.algorithms.perturbed_gd:perturbed_gd", lambda f: f),), cheap),
        F.Fault("test.missing", "logic", "an injection point that does not exist",
                (F.Patch("byzpgd.algorithms.perturbed_gd:no_such_function", lambda f: f),), cheap),
    ]
    faults[0] = F.Fault(faults[0].id, faults[0].kind, faults[0].description, faults[0].patches, cheap)
    c = run_campaign(faults, "quick", 0, command="test")
    assert set(c.summary) == {"killed", "survived", "equivalent", "errored", "error"}
    by = {f.id: f for f in c.faults}
    assert by["byzantine_pgd.Q_1"].status == "killed"
    assert by["byzantine_pgd.Q_1"].conformance_killers == ("mechanism.candidate_cost",)
    assert by["byzantine_pgd.Q_1"].killed_by == ("mechanism.candidate_cost",)
    assert by["byzantine_pgd.Q_1"].outcomes[0].replay.startswith("byzpgd replay")
    assert by["test.noop"].status == "survived" and not by["test.noop"].killed
    assert by["test.missing"].status == "error" and "no_such_function" in by["test.missing"].error
    assert c.kill_rate == 0.5                     # errors are neither kills nor survivors
    assert c.catalogue_kill_rate == pytest.approx(1 / 3)   # ...but they count against the catalogue
    write_faults(tmp_path, c)
    data = json.loads((tmp_path / "faults.json").read_text())
    rows = {f["id"]: f for f in data["faults"]}
    assert rows["byzantine_pgd.Q_1"]["killed"] is True
    assert rows["byzantine_pgd.Q_1"]["killed_by"] == ["mechanism.candidate_cost"]
    assert rows["test.missing"]["status"] == "error" and rows["test.missing"]["killed"] is False
    assert rows["byzantine_pgd.Q_1"]["conformance_killers"] == ["mechanism.candidate_cost"]
    assert data["claim_levels"]["mechanism.candidate_cost"] == "conformance"
    assert data["guarantee_kill_rate"] == 0.0 and data["conformance_kill_rate"] == pytest.approx(1 / 3)
    assert data["by_kind"]["parameter"]["killed_by_conformance_only"] == 1
    assert data["all_claims"] is False
    md = (tmp_path / "faults.md").read_text()
    assert "lower bound" in md and "| kind | faults | killed |" in md
    assert "byzantine_pgd.Q_1" in (tmp_path / "faults.md").read_text()
    assert "<table>" in (tmp_path / "faults.html").read_text()


def test_a_batched_campaign_runs_the_claims_as_verify_batched_does(monkeypatch):
    """``run_campaign(batched=True)``: the fault's child runs its checks in the batched mode of
    ``byzpgd verify --batched``, and a parameter fault reaches the batched trials: exact PGD's
    T_th / 10 and R × 10 are killed by mechanism.exact_escape in both modes."""
    import queue

    from byzpgd.properties import campaign, runner

    modes = []
    monkeypatch.setattr(campaign, "run_check", lambda cid, p, s: modes.append(runner.BATCHED.get()) or
                        runner.check_claim("exact_pgd.iterations", p, s, n=3))
    for batched in (False, True):
        q = queue.Queue()
        campaign._child(None, ["exact_pgd.iterations"], "quick", 0, q, batched)
        assert [k for k, _ in iter(q.get_nowait, ("done", None))] == ["injected", "claim"]
    assert modes == [False, True] and runner.BATCHED.get() is True     # the default: batched
    monkeypatch.undo()
    claims = ("mechanism.exact_escape",)
    faults = [F.Fault(f.id, f.kind, f.description, f.patches, claims)
              for f in map(F.get_fault, ("exact_pgd.T_th_div10", "exact_pgd.R_x10"))]
    for batched in (False, True):
        c = run_campaign(faults, "quick", 0, command="test", batched=batched)
        assert [f.status for f in c.faults] == ["killed", "killed"], c.faults


def test_the_slip_copies_equal_the_original_without_their_slip():
    """The loop, round and batch copies that carry the slips are the original line for line: with
    no slip they give the original's result bit for bit (same seeds), under a batchable oracle
    (the round batch) and a sequential one; with a slip they do not."""
    from byzpgd.algorithms import PGDParams, perturbed_gd
    from byzpgd.oracles.inexact import CertifiedOracle, RandomDirectionOracle
    from byzpgd.oracles.landscapes import CosineSaddle

    engine = importlib.import_module("byzpgd.algorithms.engine")
    land = CosineSaddle.random(4, np.random.default_rng(3))
    params = PGDParams(eta=1 / land.L, epsilon=0.03, r=0.01, Q=4, R=0.05, T_th=12)
    w0 = land.sample_start(np.random.default_rng(4), "saddle", 0.0)   # rounds escape once, then fail

    def result(batchable):
        oracle = CertifiedOracle(RandomDirectionOracle(land, 1e-3, np.random.default_rng(5)))
        oracle.batchable = batchable
        res = perturbed_gd(oracle, w0, params, np.random.default_rng(6))
        return res.w.tobytes(), res.grad_oracle_calls, res.escape_rounds, res.escapes, res.status

    correct = {b: result(b) for b in (False, True)}
    assert all(r[3] >= 1 for r in correct.values())      # an escape happened: the rounds ran
    # each slipped step is the original when its slip is off: the same runs, bit for bit
    unslipped = (F.Patch(f"{F.LOOP}:escape_distance", F._distance_slip("none")),
                 F.Patch(f"{F.LOOP}:settle_window", F._settle_slip("none")))
    original = engine.escape_distance
    with F.inject(F.Fault("test.no_slip", "logic", "the copies without a slip", unslipped, ())):
        assert engine.escape_distance is not original          # the copies are the ones running
        for b in (False, True):
            assert result(b)[:4] == correct[b][:4]
    with F.inject(F.get_fault("loop.stop_on_squared_norm")):
        assert result(False) != correct[False]


def test_the_command_writes_partial_files_after_each_fault(tmp_path, monkeypatch):
    """``byzpgd faults`` rewrites DIR/faults.* after each finished fault (``partial`` with the
    pending faults), so a stopped campaign leaves what it measured; the last write is complete."""
    from byzpgd.properties import campaign

    seen = []
    real = campaign.run_campaign

    def spy(ids, *args, on_result=None, **kw):
        def hook(partial):
            on_result(partial)
            seen.append(json.loads((tmp_path / "out" / "faults.json").read_text()))
        cheap = [F.Fault(f.id, f.kind, f.description, f.patches, ("mechanism.candidate_cost",))
                 for f in map(F.get_fault, ids)]
        return real(cheap, *args, on_result=hook, **kw)
    monkeypatch.setattr(campaign, "run_campaign", spy)
    from byzpgd.cli import main
    code = main(["faults", "--profile", "quick", "--faults", "byzantine_pgd.Q_1,exact_pgd.T_th_div10",
                 "--quiet", "--out", str(tmp_path / "out")])
    assert code == 0
    assert [d["partial"] for d in seen] == [True, False]
    assert seen[0]["pending"] == ["exact_pgd.T_th_div10"] and len(seen[0]["faults"]) == 1
    final = json.loads((tmp_path / "out" / "faults.json").read_text())
    assert final["partial"] is False and len(final["faults"]) == 2
