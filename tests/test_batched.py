"""Batched trials (algorithms/engine.py, oracles/batched.py, experiments/batched.py) against
the one-at-a-time runs: trial b of a batch makes the run ``perturbed_gd`` makes with trial b's
own generator (same final point up to rounding, same oracle calls, rounds, escapes and status),
on several landscapes, dimensions and adversaries, both readings of the two uncertain details,
the sequential-round path and the call cap; the spec-level runners give the records of
``instances.run`` and ``mechanism.run_escape``. Speed is measured in
benchmarks/batched_trials.py, never here."""

import copy
import importlib

import numpy as np
import pytest

from byzpgd.algorithms import PGDParams, perturbed_gd
from byzpgd.algorithms.engine import batched_perturbed_gd
from byzpgd.experiments import batched as eb
from byzpgd.experiments import instances
from byzpgd.experiments import mechanism as mech
from byzpgd.experiments.loop import InstanceError
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.batched import BatchedCertifiedOracle, batch_adversaries, batch_landscapes
from byzpgd.oracles.inexact import CertifiedOracle, ExactOracle, RandomDirectionOracle
from byzpgd.oracles.landscapes import CosineSaddle, PhaseRetrieval
from byzpgd.properties.strategies import sample_specs

mech_suite = importlib.import_module("byzpgd.properties.suites.mechanism")


def same_run(seq, bat, atol=1e-9):
    """The outcome of a one-at-a-time run and of its trial in a batch agree."""
    assert bat.status == seq.status
    assert bat.grad_oracle_calls == seq.grad_oracle_calls
    assert (bat.gd_steps, bat.escape_rounds, bat.escapes) == (seq.gd_steps, seq.escape_rounds, seq.escapes)
    np.testing.assert_allclose(bat.w, seq.w, rtol=1e-9, atol=atol)


def same_attack_run(seq, bat):
    """A saddle-attack run one at a time and its trial in a batch agree (up to rounding)."""
    assert not isinstance(bat, InstanceError), bat
    assert (bat.status, bat.oracle_calls, bat.escapes, bat.left_domain) == (
        seq.status, seq.oracle_calls, seq.escapes, seq.left_domain)
    assert bat.values == seq.values and bat.gamma == seq.gamma
    np.testing.assert_allclose([bat.lambda_min, bat.control_lambda_min, bat.grad_norm],
                               [seq.lambda_min, seq.control_lambda_min, seq.grad_norm], rtol=1e-7, atol=1e-12)


def same_record(seq, bat):
    assert not isinstance(bat, InstanceError), bat
    assert (bat.status, bat.oracle_calls, bat.left_domain, bat.max_calls) == (
        seq.status, seq.oracle_calls, seq.left_domain, seq.max_calls)
    assert bat.values == seq.values and bat.spec == seq.spec
    np.testing.assert_allclose(bat.lambda_min, seq.lambda_min, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(bat.grad_norm, seq.grad_norm, rtol=1e-6, atol=1e-12)
    assert bat.start_grad_norm == pytest.approx(seq.start_grad_norm, rel=1e-12, abs=1e-15)


# --- the engine against perturbed_gd ----------------------------------------------------------
def _landscapes(dims, family="cosine_saddle"):
    """One family, several dimensions (and one or two negative directions)."""
    if family == "phase_retrieval":
        return [PhaseRetrieval.random(d, np.random.default_rng(100 + k)) for k, d in enumerate(dims)]
    return [CosineSaddle.random(d, np.random.default_rng(100 + k), n_neg=1 + k % 2 if d > 2 else 1)
            for k, d in enumerate(dims)]


def _engine_case(kind, dims, params, reference="candidate", test="every_step", cap=20_000,
                 family="cosine_saddle"):
    lands = _landscapes(dims, family)
    starts = [lands[k].saddle().point + 1e-3 * np.random.default_rng(k).standard_normal(x.dim)
              for k, x in enumerate(lands)]

    def oracle(k, land):
        if kind == "exact":
            return ExactOracle(land)
        return RandomDirectionOracle(land, 1e-3, np.random.default_rng(300 + k))

    seq = [perturbed_gd(CertifiedOracle(oracle(k, x)), starts[k], params, np.random.default_rng(k),
                        escape_reference=reference, escape_test=test, max_oracle_calls=cap)
           for k, x in enumerate(lands)]
    bl = batch_landscapes(lands)
    cert = BatchedCertifiedOracle(batch_adversaries([oracle(k, x) for k, x in enumerate(lands)], bl))
    bat = batched_perturbed_gd(cert, bl.pad(starts), [params] * len(lands),
                               [np.random.default_rng(k) for k in range(len(lands))],
                               escape_reference=reference, escape_test=test, max_oracle_calls=cap,
                               dims=bl.dims)
    return seq, bat


@pytest.mark.parametrize("family", ["cosine_saddle", "phase_retrieval"])
@pytest.mark.parametrize("reference,test", [("candidate", "every_step"), ("perturbed", "final")])
@pytest.mark.parametrize("kind", ["exact", "noisy"])
def test_engine_equals_one_at_a_time_runs(kind, reference, test, family):
    params = PGDParams(eta=0.2, epsilon=3e-3, r=1e-3, Q=6, R=0.05, T_th=40)
    seq, bat = _engine_case(kind, [2, 3, 3, 5, 4, 6], params, reference, test, family=family)
    assert {r.status for r in seq} == {"converged"} and sum(r.escapes for r in seq) > 0
    for s, b in zip(seq, bat, strict=True):
        same_run(s, b)


def test_sequential_rounds_and_the_call_cap():
    """A cap below calls + Q·T_th runs the rounds one by one (their own draws) and stops runs
    at the cap with status 'max_oracle_calls', as the loop does."""
    params = PGDParams(eta=0.2, epsilon=3e-3, r=1e-3, Q=5, R=0.05, T_th=60)
    for cap in (150, 400, 2000):
        seq, bat = _engine_case("noisy", [3, 4, 2, 5], params, cap=cap)
        for s, b in zip(seq, bat, strict=True):
            same_run(s, b)
    assert {r.status for r in seq + list(bat)} >= {"converged"}
    seq, _ = _engine_case("noisy", [3, 4, 2, 5], params, cap=150)
    assert "max_oracle_calls" in {r.status for r in seq}


def test_a_wrong_generator_or_a_wrong_step_is_caught():
    """Able to fail: trials run with each other's generators, or with a step 1.5 times too
    long, no longer match the one-at-a-time runs."""
    params = PGDParams(eta=0.5, epsilon=2e-3, r=1e-3, Q=6, R=0.05, T_th=40)
    lands = _landscapes([3, 3, 3, 3])
    starts = [np.zeros(3)] * 4
    seq = [perturbed_gd(ExactOracle(x), starts[k], params, np.random.default_rng(k))
           for k, x in enumerate(lands)]
    bl = batch_landscapes(lands)

    def batch(rngs, p):
        cert = BatchedCertifiedOracle(batch_adversaries([ExactOracle(x) for x in lands], bl))
        return batched_perturbed_gd(cert, bl.pad(starts), [p] * 4, rngs, dims=bl.dims)

    good = batch([np.random.default_rng(k) for k in range(4)], params)
    for s, b in zip(seq, good, strict=True):
        same_run(s, b)
    for wrong in (batch([np.random.default_rng(3 - k) for k in range(4)], params),
                  batch([np.random.default_rng(k) for k in range(4)],
                        PGDParams(eta=0.75, epsilon=2e-3, r=1e-3, Q=6, R=0.05, T_th=40))):
        mismatched = 0
        for s, b in zip(seq, wrong, strict=True):
            try:
                same_run(s, b)
            except AssertionError:
                mismatched += 1
        assert mismatched >= 2


def test_an_overspending_oracle_ends_its_trial_with_an_error():
    lands = _landscapes([3, 3])
    bl = batch_landscapes(lands)
    adv = batch_adversaries([RandomDirectionOracle(x, 1e-3, np.random.default_rng(k))
                             for k, x in enumerate(lands)], bl)
    cert = BatchedCertifiedOracle(adv)
    cert.delta = np.array([1e-3, 0.5e-3])            # the second trial's answers exceed its Δ
    params = PGDParams(eta=0.5, epsilon=2e-3, r=1e-3, Q=2, R=0.05, T_th=10)
    res = batched_perturbed_gd(cert, bl.pad([np.ones(3), np.ones(3)]), [params] * 2,
                               [np.random.default_rng(0), np.random.default_rng(1)], dims=bl.dims)
    assert res[0].status == "converged" and res[1].status == "error"
    assert "OracleBudgetExceeded" in res.errors[1] and 0 not in res.errors


def test_batched_rows_equal_the_one_instance_formulas():
    """The hot path row by row: the cosine terms computed on the cosine coordinates only
    (landscapes with 1 and 2 negative directions and several dimensions in one batch), ĝ and
    ∇F for mixed oracle kinds (exact rows untouched), and each trial's ``max_query_norm`` from
    rows grouped by trial over several calls. Able to fail: a row sent to the wrong trial gives
    another gradient."""
    lands = _landscapes([2, 3, 5, 4])
    assert {x.n_neg for x in lands} == {1, 2}
    bl = batch_landscapes(lands)
    rng = np.random.default_rng(7)
    idx = np.array([0, 0, 1, 2, 2, 2, 3])
    W = np.zeros((idx.size, bl.dim))
    for i, b in enumerate(idx):
        W[i, :lands[b].dim] = rng.standard_normal(lands[b].dim)
    G, F = bl.grad(W, idx), bl.value(W, idx)
    for i, b in enumerate(idx):
        d = lands[b].dim
        np.testing.assert_allclose(G[i, :d], lands[b].grad(W[i, :d]), rtol=1e-12, atol=1e-14)
        assert not np.any(G[i, d:])
        assert F[i] == pytest.approx(lands[b].value(W[i, :d]), rel=1e-12, abs=1e-14)
    wrong = bl.grad(W, np.array([0, 0, 1, 2, 2, 3, 3]))      # row 5 sent to trial 3
    assert not np.allclose(wrong[5], G[5])

    oracles = [ExactOracle(lands[0]), RandomDirectionOracle(lands[1], 1e-3, np.random.default_rng(1)),
               ExactOracle(lands[2]), RandomDirectionOracle(lands[3], 2e-3, np.random.default_rng(3))]
    cert = BatchedCertifiedOracle(batch_adversaries(oracles, bl))
    g, ended = cert.query(W, idx, np.zeros(idx.size, dtype=bool))
    assert ended == {}
    assert np.array_equal(g[idx == 0], G[idx == 0]) and np.array_equal(g[idx == 2], G[idx == 2])
    err = np.linalg.norm(g - G, axis=1)
    np.testing.assert_allclose(err[idx == 1], 1e-3, rtol=1e-12)
    np.testing.assert_allclose(err[idx == 3], 2e-3, rtol=1e-12)
    cert.query(0.5 * W[idx != 2], idx[idx != 2], np.zeros(int(np.sum(idx != 2)), dtype=bool))
    expect = [max(np.linalg.norm(W[i]) for i in np.flatnonzero(idx == b)) for b in range(4)]
    np.testing.assert_allclose(cert.max_query_norm, expect, rtol=1e-15)


def test_invalid_batches_are_rejected():
    params = PGDParams(eta=0.5, epsilon=2e-3, r=1e-3, Q=2, R=0.05, T_th=10)
    bl = batch_landscapes(_landscapes([2, 3]))
    cert = BatchedCertifiedOracle(batch_adversaries([ExactOracle(x) for x in bl.items], bl))
    rngs = [np.random.default_rng(0), np.random.default_rng(1)]
    with pytest.raises(ValueError, match="finite"):
        batched_perturbed_gd(cert, np.full((2, 3), np.nan), [params] * 2, rngs, dims=bl.dims)
    with pytest.raises(ValueError, match="0 beyond"):
        batched_perturbed_gd(cert, np.ones((2, 3)), [params] * 2, rngs, dims=bl.dims)
    with pytest.raises(ValueError, match="one params"):
        batched_perturbed_gd(cert, np.zeros((2, 3)), [params], rngs, dims=bl.dims)
    with pytest.raises(TypeError, match="Generator"):
        batched_perturbed_gd(cert, np.zeros((2, 3)), [params] * 2, [0, 1], dims=bl.dims)
    with pytest.raises(ValueError, match="no batched form"):
        batch_landscapes([bl.items[0], object()])


# --- spec-level runners -----------------------------------------------------------------------
def _no_sequential_fallback(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a batchable spec ran one at a time")
    monkeypatch.setattr(eb, "run_single", refuse)
    monkeypatch.setattr(mech, "run_escape", refuse)


@pytest.mark.parametrize("claim_id,n,seed", [("byzantine_pgd.grad_norm", 14, 3),
                                             ("exact_pgd.grad_norm", 16, 1)])
def test_run_batch_gives_the_records_of_instances_run(claim_id, n, seed, monkeypatch):
    """Theorem specs of several landscapes, dimensions and every adversary (the white-box
    adaptive one included: its state is one row per trial, fed by the loop's events)."""
    specs = sample_specs(claim_id, n, seed)
    assert len({s["landscape"] for s in specs}) == 2 and len({s["dim"] for s in specs}) >= 3
    seq = [instances.run_single(s) for s in specs]
    _no_sequential_fallback(monkeypatch)
    bat = eb.run_batch(specs)
    for s, b in zip(seq, bat, strict=True):
        same_record(s, b)


@pytest.mark.parametrize("claim_id,n,seed", [("byzantine_pgd.lambda_min", 24, 0),
                                             ("exact_pgd.lambda_min", 12, 2)])
def test_a_spec_run_alone_is_its_trial_in_a_batch_bit_for_bit(claim_id, n, seed, monkeypatch):
    """``instances.run`` (what ``byzpgd replay`` runs) is a batch of one: every record field of
    a spec run alone equals that of its trial in one batch of all the specs, exactly (every
    adversary of the claim, the search adversary's settings included)."""
    specs = sample_specs(claim_id, n, seed)
    _no_sequential_fallback(monkeypatch)
    alone = [instances.run(s) for s in specs]
    together = eb.run_batch(specs)
    if claim_id.startswith("byzantine_pgd"):
        assert {s["adversary"]["name"] for s in specs} >= {"search", "trap", "adaptive"}
    for a, b in zip(alone, together, strict=True):
        assert (a.status, a.oracle_calls, a.lambda_min, a.lambda_min_error, a.grad_norm, a.left_domain) == (
            b.status, b.oracle_calls, b.lambda_min, b.lambda_min_error, b.grad_norm, b.left_domain)


def test_search_adversaries_with_every_setting(monkeypatch):
    """The search adversary's candidates, lookahead and refinement differ per trial in a batch
    (the batch's extra ones masked). Its error is an argmin over candidates, discontinuous in
    the query point: a rounding-level difference upstream (einsum in the batch, BLAS products in
    the one-instance run) can pick another near-tied candidate, so a trial's path may leave the
    one-at-a-time path: the final points agree to the stopping tolerance, not to rounding, and
    a trial may use a few more or fewer oracle calls. Status and λ_min agree on every trial;
    oracle calls on most, and within 5% on all."""
    base = sample_specs("byzantine_pgd.grad_norm", 12, 5)
    specs = [{**s, "adversary": {"name": "search", "seed": s["adversary"]["seed"], "candidates": 4 + k % 5,
                                 "lookahead": k % 3, "refine": (k // 3) % 3}} for k, s in enumerate(base)]
    seq = [instances.run_single(s) for s in specs]
    _no_sequential_fallback(monkeypatch)
    same_calls = 0
    for s, b in zip(seq, eb.run_batch(specs), strict=True):
        assert b.status == s.status
        assert abs(b.oracle_calls - s.oracle_calls) <= 0.05 * s.oracle_calls
        same_calls += b.oracle_calls == s.oracle_calls
        np.testing.assert_allclose(b.lambda_min, s.lambda_min, rtol=1e-7, atol=1e-12)
        assert b.grad_norm == pytest.approx(s.grad_norm, rel=0.5, abs=1e-12)
    assert same_calls >= len(specs) - 3


def test_run_batch_runs_unbatchable_specs_one_at_a_time_and_records_errors(monkeypatch):
    from byzpgd.oracles.adversaries.adaptive import WhiteBoxAdaptive

    monkeypatch.setattr(WhiteBoxAdaptive, "Stack", None)        # no batched form
    specs = sample_specs("byzantine_pgd.grad_norm", 16, 0)
    adaptive = [s for s in specs if s["adversary"]["name"] == "adaptive"][:1]
    broken = {**specs[0], "landscape": "no_such_landscape"}
    out = eb.run_batch(adaptive + [broken])
    same_record(instances.run_single(adaptive[0]), out[0])
    assert isinstance(out[1], InstanceError) and "no_such_landscape" in out[1].error


def _adaptive_runs(lands, batched):
    """The loop from each landscape's saddle (r = 0.005 ≈ 5Δ, R = 0.1, Q = 6, T_th = 40: the
    rounds' errors change how long they take to escape) against the white-box adaptive
    adversary at Δ = 1e-3 (both modes), one at a time or as one batch."""
    delta = 1e-3
    advs = [make_adversary({"name": "adaptive", "seed": 10 + k, "mode": ("curvature", "distance")[k % 2],
                            "kappa": 2.0}, land, delta) for k, land in enumerate(lands)]
    params = [PGDParams(eta=1 / x.L, epsilon=3 * delta, r=0.005, Q=6, R=0.1, T_th=40) for x in lands]
    rngs = [np.random.default_rng(50 + k) for k in range(len(lands))]
    if not batched:
        return [perturbed_gd(CertifiedOracle(a), np.zeros(x.dim), p, g, max_oracle_calls=20_000)
                for a, x, p, g in zip(advs, lands, params, rngs, strict=True)]
    bl = batch_landscapes(lands)
    oracle = BatchedCertifiedOracle(batch_adversaries(advs, bl))
    return batched_perturbed_gd(oracle, np.zeros((len(lands), bl.dim)), params, rngs, dims=bl.dims,
                                max_oracle_calls=20_000)


def test_the_adaptive_adversary_batched_follows_its_events(monkeypatch):
    """The white-box adaptive adversary's batched form (its phase, candidate and the candidate's
    eigenspace one row per trial, fed by the loop's events): trials of several dimensions and
    both modes run as the one-instance adversary makes them; a batched form that missed the
    'perturbation' event (its rounds answered as in the descent phase) is told apart."""
    import byzpgd.oracles.batched as ob

    lands = _landscapes([3, 4, 2, 4, 3, 2])
    seq = _adaptive_runs(lands, batched=False)
    bat = _adaptive_runs(lands, batched=True)
    assert all(r.escapes == 1 for r in seq)                 # the rounds ran and escaped
    for s, b in zip(seq, bat, strict=True):
        assert (b.status, b.grad_oracle_calls, b.escape_rounds, b.escapes) == (
            s.status, s.grad_oracle_calls, s.escape_rounds, s.escapes)
        np.testing.assert_allclose(b.w, s.w, rtol=1e-9, atol=1e-12)
    original = ob.BatchedAdversary.notify
    monkeypatch.setattr(ob.BatchedAdversary, "notify", lambda self, b, event, **data:
                        None if event == "perturbation" else original(self, b, event, **data))
    deaf = _adaptive_runs(lands, batched=True)
    assert any((d.grad_oracle_calls, d.escapes) != (s.grad_oracle_calls, s.escapes)
               for s, d in zip(seq, deaf, strict=True))


@pytest.mark.parametrize("claim_id", ["mechanism.escape", "mechanism.exact_escape"])
def test_run_escape_batch_gives_the_runs_of_run_escape(claim_id, monkeypatch):
    specs = [s for s in mech_suite.specs(claim_id, 12, 0)
             if s.get("adversary", {}).get("name") != "adaptive"][:9]
    stops = [mech_suite.STOP_FACTOR * mech_suite.escape_values(s)["R"] for s in specs]
    caps = [mech_suite.escape_call_cap(s) for s in specs]
    seq = [mech.run_escape(s, st, c) for s, st, c in zip(specs, stops, caps, strict=True)]
    _no_sequential_fallback(monkeypatch)
    bat = eb.run_escape_batch(specs, stops, caps)
    for s, b in zip(seq, bat, strict=True):
        assert not isinstance(b, InstanceError), b
        assert (b.status, b.oracle_calls) == (s.status, s.oracle_calls)
        np.testing.assert_allclose([b.lambda_min, b.distance], [s.lambda_min, s.distance],
                                   rtol=1e-7, atol=1e-12)
    assert len({r.status for r in seq}) >= 1


def test_make_adversary_kinds_have_a_batched_form():
    land = _landscapes([3])[0]
    bl = batch_landscapes([land])
    for name in ("random_direction", "uniform_ball", "shrink", "trap", "target_field", "pull_back", "search"):
        assert batch_adversaries([make_adversary({"name": name, "seed": 1}, land, 1e-3)], bl) is not None
    assert batch_adversaries([make_adversary({"name": "adaptive", "seed": 1}, land, 1e-3)], bl) is not None
    assert batch_adversaries([make_adversary({"name": "adaptive", "seed": 1}, land, 0.0)], bl) is not None


def test_a_subclass_that_changes_the_formula_is_not_batched_with_its_parents():
    """An oracle is batched by the stack its own class declares: a subclass of Shrink with
    another error and no stack of its own runs one trial at a time (never with Shrink's formula),
    nor do the PEP constructions (no stack); Shrink itself is batched. Landscapes likewise."""
    from byzpgd.oracles.adversaries import CONSTRUCTIONS
    from byzpgd.oracles.adversaries.shrink import Shrink, ShrinkStack
    from byzpgd.oracles.batched import oracle_kind

    class Halved(Shrink):
        def error(self, w, grad):
            return 0.5 * super().error(w, grad)

    land = _landscapes([3])[0]
    bl = batch_landscapes([land])
    rng = np.random.default_rng(0)
    assert oracle_kind(Shrink(land, 1e-3, rng)) is ShrinkStack
    assert oracle_kind(Halved(land, 1e-3, rng)) is None
    assert batch_adversaries([Shrink(land, 1e-3, rng), Halved(land, 1e-3, rng)], bl) is None
    assert oracle_kind(Halved(land, 0.0, rng)) == "exact"        # no budget: ∇F whatever the formula
    for name in CONSTRUCTIONS:
        assert oracle_kind(make_adversary({"name": name, "seed": 1}, land, 1e-3)) is None
    # landscapes likewise: a subclass (which may change F) has no batched form by inheritance
    tilted_class = type("Tilted", (type(land),), {"grad": lambda self, w: 2.0 * type(land).grad(self, w)})
    tilted = copy.copy(land)
    tilted.__class__ = tilted_class
    with pytest.raises(ValueError, match="no batched form"):
        batch_landscapes([tilted])
    assert type(batch_landscapes([land])) is type(land).Stack


def test_run_attack_batch_gives_the_runs_of_run_attack(monkeypatch):
    """The saddle-attack escape claim's call: ByzantinePGD under the trap and target-field
    adversaries (descent monitor on), and robust GD under a fresh copy of the adversary."""
    from byzpgd.experiments import saddle_attack as sa

    sas = importlib.import_module("byzpgd.properties.suites.saddle_attack")
    specs = sas.sample_attack_specs("saddle_attack.byzantine_pgd_escapes", 8, 0)
    assert {s["adversary"]["name"] for s in specs} == {"trap", "target_field"}
    seq = [sa.run_attack(s, control=False, attacked_control="robust_gd") for s in specs]

    def refuse(*a, **k):
        raise AssertionError("a batchable spec ran one at a time")
    monkeypatch.setattr(sa, "run_attack", refuse)
    bat = eb.run_attack_batch(specs)
    for s, b in zip(seq, bat, strict=True):
        same_attack_run(s, b)
    assert any(r.left_saddle for r in seq) and any(r.control_left_saddle is False for r in seq)


@pytest.mark.parametrize("claim_id,n", [("saddle_attack.robust_gd_trapped", 16),
                                       ("saddle_attack.jin_pgd_trapped", 12)])
def test_run_attack_batch_gives_the_runs_of_the_trapped_claims(claim_id, n, monkeypatch):
    """The trapped claims' call (the exact-oracle control of the same algorithm from the same
    start and seed): robust GD, and Jin et al.'s PGD with its decrease test on the one loop,
    batched, give the runs of run_attack one at a time (both landscape families)."""
    from byzpgd.experiments import saddle_attack as sa

    sas = importlib.import_module("byzpgd.properties.suites.saddle_attack")
    specs = sas.sample_attack_specs(claim_id, n, 2)
    assert len({s["landscape"] for s in specs}) == 2
    seq = [sa.run_attack(s, control=True) for s in specs]

    def refuse(*a, **k):
        raise AssertionError("a batchable spec ran one at a time")
    monkeypatch.setattr(sa, "run_attack", refuse)
    bat = eb.run_attack_batch(specs, control=True, attacked_control=None)
    for s, b in zip(seq, bat, strict=True):
        same_attack_run(s, b)
    assert any(r.control_left_saddle for r in seq) and not all(r.left_saddle for r in seq)


def test_a_jin_run_without_its_decrease_test_is_told_apart_in_a_batch(monkeypatch):
    """Able to fail: the batched Jin runs with the distance test in place of the decrease test
    (a slip of the one loop's step) no longer give run_attack's runs."""
    from byzpgd.experiments import saddle_attack as sa

    sas = importlib.import_module("byzpgd.properties.suites.saddle_attack")
    specs = sas.sample_attack_specs("saddle_attack.jin_pgd_trapped", 8, 2)
    monkeypatch.setattr(sa, "MAX_CALLS", 20_000)       # every round escaping: the cap ends the run
    seq = [sa.run_attack(s, control=True) for s in specs]
    assert all(r.oracle_calls < 20_000 for r in seq)
    engine = importlib.import_module("byzpgd.algorithms.engine")
    monkeypatch.setattr(engine, "value_decrease", lambda values, U, ref, idx: np.full(len(U), np.inf))
    bat = eb.run_attack_batch(specs, control=True, attacked_control=None)
    assert any((b.status, b.oracle_calls) != (s.status, s.oracle_calls)
               for s, b in zip(seq, bat, strict=True))


def test_time_budget_and_timed_results():
    """A budget of 0 s stops every trial before its first query, as the loop does; ``timed``
    shapes batched results like run_instances' (errors kept, values wrapped)."""
    params = PGDParams(eta=0.2, epsilon=3e-3, r=1e-3, Q=2, R=0.05, T_th=10)
    lands = _landscapes([3, 4])
    seq = [perturbed_gd(ExactOracle(x), np.ones(x.dim), params, np.random.default_rng(0), max_seconds=0.0)
           for x in lands]
    bl = batch_landscapes(lands)
    cert = BatchedCertifiedOracle(batch_adversaries([ExactOracle(x) for x in lands], bl))
    bat = batched_perturbed_gd(cert, bl.pad([np.ones(3), np.ones(4)]), [params] * 2,
                               [np.random.default_rng(0), np.random.default_rng(0)], max_seconds=0.0,
                               dims=bl.dims)
    for s, b in zip(seq, bat, strict=True):
        assert s.status == "max_seconds"
        same_run(s, b)
    err = InstanceError({}, "boom", "")
    out = eb.timed(["a", err], 2.0)
    assert out[1] is err and out[0].value == "a" and out[0].seconds == 1.0



# --- byzpgd verify --batched ------------------------------------------------------------------
def _same_result(a, b):
    assert (a.status, a.instances, a.nonvacuous_instances, a.outside_hypotheses, a.violations, a.errors) == (
        b.status, b.instances, b.nonvacuous_instances, b.outside_hypotheses, b.violations, b.errors)
    assert a.worst_ratio == pytest.approx(b.worst_ratio, rel=1e-6)
    assert a.binomial == b.binomial
    assert {k: (g.instances, g.violations) for k, g in a.adversaries.items()} == {
        k: (g.instances, g.violations) for k, g in b.adversaries.items()}


@pytest.mark.parametrize("claim_id,n", [("exact_pgd.lambda_min", 30), ("exact_pgd.poster_lambda_min", 12),
                                        ("byzantine_pgd.grad_norm", 16), ("byzantine_pgd.lambda_min", 16),
                                        ("byzantine_pgd.iterations", 12), ("exact_pgd.grad_norm", 12),
                                        ("exact_pgd.iterations", 12)])
def test_check_claim_batched_gives_the_one_at_a_time_result(claim_id, n):
    """check_claim on batched trials: the same statuses, counts, binomial test and groups as
    one at a time (values equal up to rounding); the details say how the trials ran."""
    from byzpgd.properties.runner import check_claim

    loop = check_claim(claim_id, "quick", 3, n=n, batched=False)
    bat = check_claim(claim_id, "quick", 3, n=n)
    _same_result(bat, loop)
    assert bat.details["trials"] == "batched" and "trials" not in loop.details


def test_batched_trials_context_and_what_stays_one_at_a_time(monkeypatch):
    """The context turns batched trials on for calls that do not say; an algorithm under test
    other than the theorem's (the able-to-fail overrides) always runs one at a time."""
    from byzpgd.properties import runner

    calls = []
    monkeypatch.setattr(runner, "run_in_chunks",
                        lambda specs, fn, size, ex, pr, **kw: calls.append(len(specs)) or [])
    assert runner.BATCHED.get() is True       # the default
    runner.check_claim("exact_pgd.grad_norm", "quick", 0, n=5)
    res = runner.check_claim("exact_pgd.grad_norm", "quick", 0, n=5, algorithm=instances.default_algorithm)
    with runner.batched_trials(False):
        assert runner.BATCHED.get() is False
        runner.check_claim("exact_pgd.grad_norm", "quick", 0, n=4)
    assert runner.BATCHED.get() is True
    assert calls == [5] and "trials" not in res.details and res.instances == 5


def test_a_parameter_fault_reaches_the_batched_trials(monkeypatch):
    """The campaign's parameter faults patch ``theorem_params`` of the algorithm's module: the
    batched trials look it up at each call, so they run the faulty parameters as the loop does
    (here T_th halved: other oracle calls than the correct run's, equal in both paths)."""
    import importlib

    from byzpgd.algorithms import PGDParams as P

    specs = sample_specs("exact_pgd.lambda_min", 6, 2)
    good = [r.oracle_calls for r in eb.run_batch(specs)]
    module = importlib.import_module("byzpgd.algorithms.exact_pgd")
    original = module.theorem_params

    def halved(*args, **kwargs):
        p = original(*args, **kwargs)
        return P(**{**p.as_dict(), "T_th": max(1, p.T_th // 2)})
    monkeypatch.setattr(module, "theorem_params", halved)
    seq = [instances.run_single(s) for s in specs]
    bat = eb.run_batch(specs)
    assert [r.oracle_calls for r in bat] == [r.oracle_calls for r in seq] != good


def test_verify_batched_records_the_command(tmp_path):
    import byzpgd

    rep = byzpgd.verify(["exact_pgd.iterations"], "quick", 1, illustration=False)
    alone = byzpgd.verify(["exact_pgd.iterations"], "quick", 1, batched=False, illustration=False)
    assert rep.command == alone.command and "--batched" not in rep.command   # batching is no option
    assert rep["exact_pgd.iterations"].details["trials"] == "batched"
    _same_result(rep["exact_pgd.iterations"], alone["exact_pgd.iterations"])


def test_batched_checks_report_progress_as_trials_finish():
    """A batched check reports progress as its trials finish (not only when a batch ends): the
    counts grow, stay within the total and end at it; run_batch counts errors and instances
    run one at a time too."""
    from byzpgd.properties.runner import check_claim

    seen = []
    check_claim("exact_pgd.grad_norm", "quick", 0, n=12, batched=True,
                progress=lambda d, t: seen.append((d, t)))
    done = [d for d, _ in seen]
    assert {t for _, t in seen} == {12} and done == sorted(done) and done[-1] == 12 and len(seen) > 2
    specs = sample_specs("byzantine_pgd.grad_norm", 16, 0)
    adaptive = [s for s in specs if s["adversary"]["name"] == "adaptive"][:1]
    trap = [s for s in specs if s["adversary"]["name"] == "trap"][:2]
    mixed = adaptive + [{**specs[0], "landscape": "no_such_landscape"}] + trap
    calls = []
    eb.run_batch(mixed, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (4, 4) and [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize("claim_id,n", [("mechanism.exact_escape", 40), ("mechanism.escape", 16),
                                        ("saddle_attack.byzantine_pgd_escapes", 8)])
def test_escape_checks_batched_give_the_one_at_a_time_result(claim_id, n):
    """The escape claims on batched trials (run_escape_batch, run_attack_batch): the same
    statuses, counts and per-adversary groups as one at a time."""
    from byzpgd.properties.runner import batched_trials

    mech_check = claim_id.startswith("mechanism.")
    sas = importlib.import_module("byzpgd.properties.suites.saddle_attack")

    def check():
        if mech_check:
            return mech_suite.check_escape(claim_id, "quick", 2, n=n)
        return sas.check_attack(claim_id, "quick", 2, n=n)
    with batched_trials(False):
        loop = check()
    bat = check()
    assert (bat.status, bat.instances, bat.violations, bat.outside_hypotheses, bat.errors) == (
        loop.status, loop.instances, loop.violations, loop.outside_hypotheses, loop.errors)
    assert {k: (g.instances, g.violations) for k, g in bat.adversaries.items()} == {
        k: (g.instances, g.violations) for k, g in loop.adversaries.items()}
    assert bat.details["trials"] == "batched" and "trials" not in loop.details


@pytest.mark.parametrize("name", ["random_direction", "uniform_ball", "shrink", "trap", "target_field",
                                  "pull_back", "search"])
def test_each_adversary_answers_a_batch_by_its_own_formula(name):
    """A batch of trials of one adversary kind (several dimensions) gives, row by row, the
    one-instance oracle's answers from twin generators: each formula is written once in the
    adversary's module, and its batched form (its ``Stack``, in the same module) calls it with
    each trial's parameters. Able to fail: another trial's parameters give other answers."""
    from byzpgd.oracles.adversaries import NAMES
    assert name in NAMES
    lands = _landscapes([3, 4, 4])
    params = {"trap": {"kappa": 1.7}, "shrink": {"fraction": 0.6}, "pull_back": {"fraction": 0.8},
              "target_field": {"kappa": 0.4, "offset": 0.7},
              "search": {"candidates": 5, "lookahead": 1, "refine": 1}}.get(name, {})
    deltas = [1e-3, 2e-3, 5e-4]

    def oracles(seed0):
        return [make_adversary({"name": name, "seed": seed0 + b, **params}, land, deltas[b])
                for b, land in enumerate(lands)]
    single, batched = oracles(10), oracles(10)
    bl = batch_landscapes(lands)
    badv = batch_adversaries(batched, bl)
    rng = np.random.default_rng(5)
    idx = np.array([0, 1, 1, 2])
    W = np.zeros((idx.size, bl.dim))
    for i, b in enumerate(idx):
        W[i, :lands[b].dim] = 0.05 * rng.standard_normal(lands[b].dim)
    G, _ = badv(W, idx)
    for b in range(3):
        rows = np.flatnonzero(idx == b)
        d = lands[b].dim
        w = W[rows, :d] if rows.size > 1 else W[rows[0], :d]
        expect = np.atleast_2d(single[b](w))
        np.testing.assert_allclose(G[rows, :d], expect, rtol=1e-9, atol=1e-15)
    if name in ("shrink", "trap", "target_field", "pull_back"):   # deterministic given the query
        fresh = oracles(10)
        swapped = batch_adversaries([fresh[0], fresh[2], fresh[1]], bl)   # trials 1, 2: both d = 4
        G2, _ = swapped(W, idx)
        assert not np.allclose(G2[idx == 1], G[idx == 1])


def test_the_batched_monitor_judges_round_rows_and_the_escaping_step_as_the_one_run_monitor():
    """Row i of a round batch is judged against row i of the trial's previous batch, and the
    escaped point against the escaping row (``escape_round``), by the one rule of the monitor
    (judge_steps): a correct step passes, a climbing one ends the trial. Able to fail: the same
    climbing rows in a first batch after a perturbation (nothing to compare) are not judged."""
    from byzpgd.experiments.batched import BatchedDescentMonitor
    from byzpgd.experiments.monitor import STATUS

    lands = _landscapes([3, 3])
    bl = batch_landscapes(lands)

    def monitor():
        cert = BatchedCertifiedOracle(batch_adversaries([ExactOracle(x) for x in lands], bl))
        return BatchedDescentMonitor(cert, bl.L, np.zeros(2))

    eta = 1.0 / bl.L[0]
    rng = np.random.default_rng(3)
    U = 0.3 * rng.standard_normal((2, 3))             # trial 0's two rounds
    idx, batch = np.array([0, 0]), np.zeros(2, dtype=bool)
    mon = monitor()
    G, ended = mon.query(U, idx, batch)
    assert ended == {}
    step = U - eta * G                                  # both rounds step correctly
    G2, ended = mon.query(step, idx, batch)
    assert ended == {}
    climb = step.copy()
    climb[1] = step[1] + eta * G2[1]                    # round 1 climbs back
    assert mon.query(climb, idx, batch)[1] == {0: STATUS}

    mon = monitor()                                     # the escaping step: row 0 escaped
    G, _ = mon.query(U, idx, batch)
    mon.notify(0, "escape_round", index=0)
    up = U[0] + eta * G[0]                              # the "escaped point" climbs from row 0
    assert mon.query(up[None, :], np.array([0]), np.ones(1, dtype=bool))[1] == {0: STATUS}

    mon = monitor()                                     # a first batch is not a step
    mon.query(U[:1], np.array([1]), np.ones(1, dtype=bool))
    mon.notify(1, "perturbation")
    assert mon.query(U + 5.0, np.array([1, 1]), batch)[1] == {}
