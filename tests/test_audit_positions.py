"""Byzantine row positions are the adversary's (issue 21, item 1): the placement primitives of
oracles/pipeline.py (Placement, arrange), the oracle's per-call placement and the adaptive attacks
that must see it, the battery's placed attacks, and the verdicts of rules that trust positions
(tests/fixtures_positional.py) next to the references'."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from byzpgd.algorithms.aggregators import coordinate_median, make, mean
from byzpgd.audit import battery as bat
from byzpgd.audit.run import audit_in_process
from byzpgd.oracles.attacks import ALIELineSearch, AttackContext, IPMLineSearch, arrange
from byzpgd.oracles.pipeline import FIRST, PLACEMENTS, ByzantineOracle, Placement
from byzpgd.oracles.statistical import GaussianLocation
from byzpgd.oracles.workers import WorkerPool

sys.path.insert(0, str(Path(__file__).parent))
import fixtures_positional as fp  # noqa: E402


# ---------------------------------------------------------------------------------------------
# arrange and Placement
# ---------------------------------------------------------------------------------------------
def _rows(rng, f=3, h=7, d=4):
    return rng.standard_normal((f, d)), rng.standard_normal((h, d))


def test_arrange_puts_each_byzantine_row_at_its_index_and_keeps_the_honest_order():
    byz, honest = _rows(np.random.default_rng(0))
    X = arrange(byz, honest, np.array([1, 4, 9]))
    np.testing.assert_array_equal(X[[1, 4, 9]], byz)
    np.testing.assert_array_equal(X[[0, 2, 3, 5, 6, 7, 8]], honest)
    np.testing.assert_array_equal(arrange(byz, honest, None), np.concatenate([byz, honest]))
    np.testing.assert_array_equal(arrange(byz, honest, np.arange(3)), np.concatenate([byz, honest]))


@pytest.mark.parametrize("bad", [[0, 0, 1], [0, 1, 10], [-1, 2, 3], [0, 1]])
def test_arrange_rejects_positions_that_are_not_f_distinct_indices(bad):
    byz, honest = _rows(np.random.default_rng(1))
    with pytest.raises(ValueError, match="distinct indices"):
        arrange(byz, honest, np.array(bad))


def test_fixed_placements_are_first_last_and_every_kth_row():
    m, f = 30, 3
    np.testing.assert_array_equal(Placement("first").positions(m, f), [0, 1, 2])
    np.testing.assert_array_equal(Placement("last").positions(m, f), [27, 28, 29])
    np.testing.assert_array_equal(Placement("interleaved").positions(m, f), [5, 15, 25])
    np.testing.assert_array_equal(Placement("interleaved").positions(10, 1), [5])
    assert Placement("last").positions(m, 0).size == 0
    with pytest.raises(ValueError, match="placement must be one of"):
        Placement("middle")
    with pytest.raises(ValueError, match="swaps must be"):
        Placement("worst_placement", swaps=-1)
    with pytest.raises(ValueError, match="needs a Generator"):
        Placement("random").positions(m, f)
    assert set(PLACEMENTS) == {"first", "last", "interleaved", "random", "worst_placement"}


def test_random_placement_is_seeded_distinct_and_covers_every_row():
    draws = [Placement("random").positions(10, 3, rng) for rng in [np.random.default_rng(5)] * 400]
    again = [Placement("random").positions(10, 3, rng) for rng in [np.random.default_rng(5)] * 400]
    assert all(np.array_equal(a, b) for a, b in zip(draws, again, strict=True))
    assert all(len(set(p.tolist())) == 3 and np.all(np.diff(p) > 0) for p in draws)
    counts = np.bincount(np.concatenate(draws), minlength=10)
    assert counts.min() > 0.5 * counts.mean()      # every row is Byzantine about 3/10 of the time


def _reads_row(i):
    """A rule that returns row i (the error is large exactly when a Byzantine row sits at i)."""
    return lambda X: X[i]


def test_the_placement_search_finds_the_row_a_rule_reads_and_needs_its_swaps_to():
    rng = np.random.default_rng(2)
    byz, honest = 100.0 + rng.standard_normal((2, 3)), rng.standard_normal((18, 3))
    rule = _reads_row(7)                             # not among first (0, 1), last, interleaved (5, 15)

    def error(X):
        return float(np.linalg.norm(rule(X)))
    pos, e = Placement("worst_placement", candidates=3, swaps=60).search(byz, honest, error,
                                                                        np.random.default_rng(3))
    assert 7 in pos and e > 50
    # the wrong variant: no swaps (only the three fixed candidates) misses it
    _, e0 = Placement("worst_placement", candidates=3, swaps=0).search(byz, honest, error,
                                                                       np.random.default_rng(3))
    assert e0 < 10


def test_the_placement_search_stops_at_an_infinite_error():
    byz, honest = np.full((2, 3), np.inf), np.zeros((8, 3))
    calls = []

    def error(X):
        calls.append(1)
        return float(np.linalg.norm(X[0]))
    pos, e = Placement("worst_placement", candidates=8, swaps=50).search(byz, honest, error,
                                                                        np.random.default_rng(0))
    assert np.isinf(e) and 0 in pos and len(calls) == 1


# ---------------------------------------------------------------------------------------------
# the oracle: a placement per call, the same one for the adaptive attack and the final call
# ---------------------------------------------------------------------------------------------
def _pool(m=20, f=4, n=50, d=3, seed=0):
    model = GaussianLocation(np.zeros(d), sigma=1.0, radius=1.0)
    return WorkerPool(model, m, n, np.random.default_rng(seed), f=f)


class _Recorder:
    """An aggregator that records every input (wraps ``agg``)."""

    def __init__(self, agg):
        self.agg, self.inputs = agg, []

    def __call__(self, X):
        self.inputs.append(np.array(X))
        return self.agg(X)


def _byzantine_rows(X, honest) -> tuple[int, ...]:
    """The indices of the rows of X that are not honest rows (honest rows are distinct draws)."""
    is_honest = (X[:, None, :] == honest[None, :, :]).all(axis=2).any(axis=1)
    return tuple(int(i) for i in np.flatnonzero(~is_honest))


def _placements_seen(oracle: ByzantineOracle, rec: _Recorder, w) -> tuple[set, tuple]:
    """(the Byzantine positions of every aggregator call of one query, the oracle's placement)."""
    honest = oracle.pool.honest_gradients(w)
    rec.inputs.clear()
    oracle.gradient(w)
    return {_byzantine_rows(X, honest) for X in rec.inputs}, tuple(int(i) for i in oracle.last_positions)


@pytest.mark.parametrize("attack", [ALIELineSearch, IPMLineSearch, bat.WorstCaseSearch])
def test_an_adaptive_attack_evaluates_the_rule_at_the_placement_of_the_final_call(attack):
    pool = _pool()
    rec = _Recorder(coordinate_median)
    oracle = ByzantineOracle(pool, attack(), rec, np.random.default_rng(1), placement=Placement("random"),
                             placement_rng=np.random.default_rng(2))
    finals = []
    for w in np.random.default_rng(3).uniform(-0.5, 0.5, size=(4, 3)):
        seen, final = _placements_seen(oracle, rec, w)
        assert len(rec.inputs) > 5 and seen == {final}
        finals.append(final)
    assert len(set(finals)) > 1                        # drawn afresh per call


class _StaleLineSearch(IPMLineSearch):
    """The wrong variant: evaluates the rule with the Byzantine rows first, whatever the call's
    placement (what the attacks did before positions were the adversary's)."""

    def __call__(self, honest, w, ctx):
        return super().__call__(honest, w, AttackContext(ctx.f, ctx.m, ctx.aggregate, ctx.true_grad, ctx.rng))


def test_the_same_placement_check_catches_an_attack_that_ignores_the_placement():
    pool = _pool()
    rec = _Recorder(coordinate_median)
    oracle = ByzantineOracle(pool, _StaleLineSearch(), rec, np.random.default_rng(1),
                             placement=Placement("last"))
    seen, final = _placements_seen(oracle, rec, np.full(3, 0.2))
    assert final == (16, 17, 18, 19) and seen == {(0, 1, 2, 3), final}


def test_every_aggregator_sees_the_same_placements_and_the_attack_stream_is_untouched():
    w_all = np.random.default_rng(4).uniform(-0.5, 0.5, size=(5, 3))

    def run(agg, placement):
        rec = _Recorder(agg)
        oracle = ByzantineOracle(_pool(), "gaussian", rec, np.random.default_rng(7), placement=placement,
                                 placement_rng=np.random.default_rng(8))
        out = [(oracle.gradient(w), tuple(oracle.last_positions)) for w in w_all]
        return [o[0] for o in out], [o[1] for o in out], rec.inputs
    g_med, p_med, _ = run(coordinate_median, Placement("random"))
    g_mean, p_mean, _ = run(mean, Placement("random"))
    assert p_med == p_mean and len(set(p_med)) > 1
    # the Gaussian rows come from the attack's stream, which placements do not consume: the
    # multiset of rows is that of the first-rows placement, call by call
    _, _, x_first = run(mean, FIRST)
    _, _, x_rand = run(mean, Placement("random"))
    for a, b in zip(x_first, x_rand, strict=True):
        np.testing.assert_array_equal(np.sort(a, axis=0), np.sort(b, axis=0))
    # and a permutation-invariant rule gives the same answer at any placement
    g_first, _, _ = run(coordinate_median, FIRST)
    np.testing.assert_allclose(g_med, g_first, rtol=0, atol=0)


def test_the_default_placement_is_the_first_rows():
    rec = _Recorder(coordinate_median)
    oracle = ByzantineOracle(_pool(), "sign_flip", rec, np.random.default_rng(0))
    assert oracle.placement == FIRST
    seen, final = _placements_seen(oracle, rec, np.full(3, 0.3))
    assert seen == {final} == {(0, 1, 2, 3)}


def test_a_placement_search_refuses_an_adaptive_attack():
    with pytest.raises(ValueError, match="adapts to the aggregator"):
        ByzantineOracle(_pool(), "alie_ls", coordinate_median, np.random.default_rng(0),
                        placement=Placement("worst_placement"))
    ByzantineOracle(_pool(), "alie", coordinate_median, np.random.default_rng(0),
                    placement=Placement("worst_placement"))


def test_a_searched_placement_is_the_worst_for_the_rule_among_the_fixed_ones():
    pool, w = _pool(), np.full(3, 0.3)
    rule = fp.last_half_mean

    def err(placement):
        o = ByzantineOracle(pool, "sign_flip", rule, np.random.default_rng(0), placement=placement,
                            placement_rng=np.random.default_rng(1))
        return o.error(w), tuple(o.last_positions)
    e_first, e_last = err(FIRST)[0], err(Placement("last"))[0]
    e_worst, pos = err(Placement("worst_placement"))
    assert e_first < 0.5 * e_last and e_worst >= e_last and min(pos) >= 10


# ---------------------------------------------------------------------------------------------
# the battery
# ---------------------------------------------------------------------------------------------
def test_battery_names_carry_the_placement_and_plain_attacks_are_at_random_positions():
    cfg = bat.profile_config("quick")
    assert bat.split_attack("ipm_ls@last") == ("ipm_ls", "last")
    assert bat.split_attack("sign_flip") == ("sign_flip", "random")
    assert bat.placement_of("sign_flip", cfg) == Placement("random", cfg["placement_candidates"],
                                                           cfg["placement_swaps"])
    assert bat.placement_of("sign_flip", dict(cfg, placement="first")).kind == "first"
    placed = {bat.split_attack(a)[1] for a in bat.PLACED_ATTACKS}
    assert placed == {"first", "last", "interleaved", "worst_placement"}
    assert set(bat.PLACED_ATTACKS) <= set(bat.BATTERY_ATTACKS)
    for a in bat.PLACED_ATTACKS:        # a search pairs with non-adaptive attacks only
        base, kind = bat.split_attack(a)
        assert not (kind == "worst_placement" and bat.make_battery_attack(a, None, None, cfg, 0).adaptive)


def _setting_data(seed=0):
    s = next(s for s in bat.settings(bat.profile_config("quick"), 3) if s.f == 3 and s.n == 100 and s.m == 30)
    return s, bat.SettingData(s, seed)


def test_a_measurement_is_reproducible_and_its_placements_do_not_depend_on_the_rule():
    cfg = dict(bat.profile_config("quick"))
    s, data = _setting_data()
    recs = {name: _Recorder(agg) for name, agg in (("median", coordinate_median), ("mean", mean))}
    deltas = {name: bat.measure(data, rec, "sign_flip", cfg, 0)["delta"] for name, rec in recs.items()}
    again = bat.measure(bat.SettingData(s, 0), coordinate_median, "sign_flip", cfg, 0)["delta"]
    assert again == deltas["median"]
    # sign flip rows are -mean(honest), equal to one another (the honest rows are distinct draws)
    def repeated(X):
        return tuple(np.flatnonzero((X[:, None] == X[None]).all(axis=2).sum(axis=1) > 1))
    pos = {name: [repeated(X) for X in rec.inputs] for name, rec in recs.items()}
    assert pos["median"] == pos["mean"] and len(pos["median"]) == cfg["probes"]
    assert any(p != (0, 1, 2) for p in pos["median"])


def test_placed_and_plain_attacks_agree_for_a_permutation_invariant_rule():
    cfg = dict(bat.profile_config("quick"))
    _, data = _setting_data()
    agg = make("trimmed_mean", 30, 3)
    plain = bat.measure(data, agg, "sign_flip", cfg, 0)["delta"]
    for kind in ("first", "last", "interleaved", "worst_placement"):
        assert bat.measure(data, agg, f"sign_flip@{kind}", cfg, 0)["delta"] == pytest.approx(plain, rel=1e-12)
    user = bat.measure(data, fp.last_half_mean, "sign_flip@last", cfg, 0)["delta"]
    assert user > 2 * bat.measure(data, fp.last_half_mean, "sign_flip@first", cfg, 0)["delta"]


# ---------------------------------------------------------------------------------------------
# verdicts (quick profile, in process, seed 0, without the end-to-end runs)
# ---------------------------------------------------------------------------------------------
CACHE: dict = {}


def _audit(factory) -> tuple[str, list[dict], list[dict]]:
    """(verdict, reasons, rows) of the audit of ``factory(m, f) -> aggregate``, as dicts (from the
    typed result or the report)."""
    rep = audit_in_process(factory, profile="quick", seed=0, end_to_end=False, reference_cache=CACHE)
    if isinstance(rep, dict):
        return rep["verdict"], rep["reasons"], rep["results"]
    return rep.verdict, [r.to_dict() for r in rep.reasons], [m.to_dict() for m in rep.measurements]


def _delta(row: dict) -> float:
    return row["delta"] if "delta" in row else row["delta_empirical"]


def _breakdown_attacks(reasons) -> set[str]:
    """The attacks that exceed the breakdown threshold at some setting (from the fail reasons)."""
    return {a for r in reasons if r["kind"] == "breakdown" for a in r.get("attacks_exceeding", {})}


@pytest.fixture(scope="module")
def last_half():
    return _audit(lambda m, f: fp.last_half_mean)


@pytest.fixture(scope="module")
def anchored():
    return _audit(lambda m, f: fp.anchored_mean)


def test_the_last_half_mean_fails_with_a_reason_naming_a_placement(last_half):
    verdict, reasons, rows = last_half
    assert verdict != "pass"
    named = [r for r in reasons if r["kind"] == "breakdown" and "ipm_ls@last" in r["message"]]
    assert named and "ipm_ls@last" in _breakdown_attacks(reasons)
    assert "ipm_ls@first" not in _breakdown_attacks(reasons)     # its first half is never read
    worst = [r for r in rows if r["attack"] == "worst" and not r["honest"]]
    assert worst and all(r["placement"] == bat.split_attack(r["worst_attack"])[1] for r in worst)


# what a rule that trusts positions must not get, and what placements must not cost a reference
HARMED = ("breakdown", "delta_exceeds_reference", "bias")


def test_the_last_half_mean_would_pass_if_byzantine_rows_always_came_first(monkeypatch):
    """The check can fail: with the battery of before (every attack with its rows first, no placed
    attack), on the same data and references, nothing counts against the last-half mean: no
    breakdown, constant, bias or other fail/suboptimal reason. Its verdict is pass, or
    inconclusive where the quick profile's data leave a rate undetermined (the evidence rule of
    issue 21 item 3: its n slope at seed 0 is -0.38, 95% CI [-0.68, -0.08], threshold -0.25)."""
    plain = tuple(a for a in bat.BATTERY_ATTACKS if a not in bat.PLACED_ATTACKS)
    monkeypatch.setitem(bat.PROFILES, "quick", dict(bat.PROFILES["quick"], placement="first"))
    monkeypatch.setattr(bat, "run_battery", functools.partial(bat.run_battery, attacks=plain))
    verdict, reasons, rows = _audit(lambda m, f: fp.last_half_mean)
    assert {r["attack"] for r in rows} == {*plain, bat.HONEST, "worst"}
    assert not [r["message"] for r in reasons if r["kind"] in HARMED or r["grade"] in ("fail", "suboptimal")]
    assert verdict in ("pass", "inconclusive")


def test_the_row_zero_anchored_mean_breaks_exactly_where_a_byzantine_row_sits_at_row_zero(anchored):
    verdict, reasons, _ = anchored
    assert verdict == "fail"
    broke = _breakdown_attacks(reasons)
    assert "ipm_ls@first" in broke
    # last and interleaved leave row 0 honest: the filter around it then holds
    assert not {a for a in broke if bat.split_attack(a)[1] in ("last", "interleaved")}, broke
    assert any("ipm_ls@first" in r["message"] for r in reasons if r["kind"] == "breakdown")


@pytest.mark.parametrize("name", ["median", "trimmed_mean"])
def test_reference_rules_keep_their_verdict_and_do_not_see_placements(name):
    """Placements cost a permutation-invariant rule nothing: every placed attack gives the plain
    attack's Δ (the same data, the same rows, in another order), so no reason names a placement
    and the verdict stays pass."""
    verdict, reasons, rows = _audit(lambda m, f: make(name, m, f))
    assert not [r["message"] for r in reasons if r["kind"] in HARMED or r["grade"] == "fail"]
    assert not [r["message"] for r in reasons if bat.PLACEMENT_SEP in r["message"]]
    assert verdict == "pass", [r["message"] for r in reasons]
    by = {(r["setting"], r["attack"]): _delta(r) for r in rows}
    placed = [(sid, a) for sid, a in by if a in bat.PLACED_ATTACKS]
    assert len(placed) == len(bat.PLACED_ATTACKS) * len({sid for sid, a in placed}) > 0
    for sid, a in placed:
        assert by[(sid, a)] == pytest.approx(by[(sid, bat.split_attack(a)[0])], rel=1e-12), (sid, a)
