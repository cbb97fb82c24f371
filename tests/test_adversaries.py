"""The adversaries of byzpgd.oracles.adversaries: within budget (certified), batch = one by one,
each doing what it claims, the certifying layer catching an overspending one, and the theorem
checks run against every adversary (with a Hypothesis search maximising observed/bound)."""

from dataclasses import replace

import numpy as np
import pytest
import variants
from hypothesis import given, settings, target

from byzpgd.algorithms import byzantine_pgd, robust_gd
from byzpgd.algorithms.perturbed_gd import perturbed_gd
from byzpgd.experiments.instances import MAX_ORACLE_CALLS, run
from byzpgd.oracles.adversaries import (
    ADVERSARIES,
    NAMES,
    make_adversary,
    negative_eigenspace,
    saddle_eigenspace,
    trap_centre,
)
from byzpgd.oracles.inexact import CertifiedOracle, OracleBudgetExceeded
from byzpgd.oracles.landscapes import CosineSaddle, PhaseRetrieval
from byzpgd.properties.checks import observe
from byzpgd.properties.runner import check_claim
from byzpgd.properties.strategies import claim_strategy, sample_specs
from byzpgd.theory.certify import certify
from byzpgd.theory.claims import get

LANDSCAPES = [lambda: CosineSaddle.random(4, np.random.default_rng(0), n_neg=2),
              lambda: PhaseRetrieval.random(3, np.random.default_rng(1))]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("make_land", LANDSCAPES)
@pytest.mark.parametrize("Delta", [0.0, 1e-14, 1e-3, 0.3])
def test_every_adversary_stays_within_budget_single_and_batched(name, make_land, Delta):
    land = make_land()
    adv = make_adversary({"name": name, "seed": 3}, land, Delta)
    orc = CertifiedOracle(adv)
    rng = np.random.default_rng(4)
    c = land.saddle().point
    W = c + rng.standard_normal((16, land.dim)) * np.logspace(-16, 0, 16)[:, None]
    W[0] = c
    for w in W:
        orc(w)                                   # raises beyond Δ
    orc(W)
    assert orc.max_error <= Delta * (1 + 1e-12) + 1e-15
    if Delta == 0:
        assert orc.max_error == 0.0
    if name in ("random_direction", "shrink", "pull_back") and Delta > 0:
        assert orc.max_error >= 0.999 * Delta    # worst-norm adversaries spend the whole budget


# random_direction, uniform_ball and search draw fresh randomness at every call, so a batch and
# single calls cannot agree value by value; they are covered by the budget test above
DETERMINISTIC = [n for n in NAMES if n not in ("random_direction", "uniform_ball", "search")]


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_batched_answers_equal_single_answers_for_stateless_adversaries(name):
    land = LANDSCAPES[0]()
    W = np.random.default_rng(0).standard_normal((5, land.dim)) * 1e-3
    adv = make_adversary({"name": name, "seed": 1}, land, 1e-3)
    batch = adv(W)
    single = np.stack([adv(w) for w in W])
    np.testing.assert_allclose(batch, single, rtol=0, atol=1e-18)


def test_every_sampled_adversary_is_batchable():
    """The adaptive adversary too: its answers depend on the query and the announced events."""
    land = LANDSCAPES[0]()
    flags = {n: make_adversary({"name": n, "seed": 0}, land, 1e-3).batchable for n in NAMES}
    assert all(flags.values())
    assert len(NAMES) >= 8 and set(ADVERSARIES) == set(NAMES)


@pytest.mark.parametrize("mode", ["curvature", "distance"])
def test_adaptive_round_answers_batched_equal_one_by_one(mode):
    """In a perturbation round the white-box adversary's batch answer (the loop's (Q, d) rounds,
    announced by one event with every ξ) equals its answer to each round's query alone."""
    land = LANDSCAPES[0]()
    rng = np.random.default_rng(2)
    cand = land.saddle().point + 1e-6 * rng.standard_normal(land.dim)
    xi = 1e-4 * rng.standard_normal((6, land.dim))
    U = cand + xi + 1e-5 * rng.standard_normal((6, land.dim))
    batch_adv = make_adversary({"name": "adaptive", "seed": 1, "mode": mode}, land, 1e-3)
    batch_adv.notify("candidate", w=cand)
    batch_adv.notify("perturbation", candidate=cand, xi=xi)
    batch = batch_adv(U)
    one = make_adversary({"name": "adaptive", "seed": 1, "mode": mode}, land, 1e-3)
    one.notify("candidate", w=cand)
    single = []
    for k in range(len(U)):
        one.notify("perturbation", candidate=cand, xi=xi[k])
        single.append(one(U[k]))
    np.testing.assert_allclose(batch, np.stack(single), rtol=1e-12, atol=1e-18)
    # and the round answer is not the descent-phase (trap) answer: the phase matters
    fresh = make_adversary({"name": "adaptive", "seed": 1, "mode": mode}, land, 1e-3)
    assert not np.allclose(fresh(U), batch, rtol=1e-6, atol=0)


def test_unknown_adversary_and_bad_parameters_are_rejected():
    land = LANDSCAPES[0]()
    with pytest.raises(ValueError, match="unknown adversary"):
        make_adversary({"name": "nope"}, land, 1e-3)
    with pytest.raises(ValueError, match="kappa must be in"):
        make_adversary({"name": "trap", "kappa": 5.0}, land, 1e-3)
    with pytest.raises(ValueError, match="fraction must be in"):
        make_adversary({"name": "shrink", "fraction": 0.0}, land, 1e-3)


# --- able to fail: the certifying layer -----------------------------------------------------
class _Overspend:
    """Any adversary with its error stretched by 1%."""

    def __init__(self, adv, factor=1.01):
        self.adv, self.factor = adv, factor
        self.landscape, self.delta, self.batchable = adv.landscape, adv.delta, adv.batchable

    def __call__(self, w):
        g = self.adv.landscape.grad(w)
        return g + self.factor * (self.adv(w) - g)

    def notify(self, event, **data):
        self.adv.notify(event, **data)


@pytest.mark.parametrize("name", ["random_direction", "shrink", "trap", "pull_back", "adaptive"])
def test_certifying_layer_rejects_an_adversary_one_percent_over_budget(name):
    land = LANDSCAPES[0]()
    w0 = land.saddle().point + 1e-2
    orc = CertifiedOracle(_Overspend(make_adversary({"name": name, "seed": 0}, land, 1e-3)))
    with pytest.raises(OracleBudgetExceeded, match="exceeds"):
        robust_gd(orc, w0)


# --- what each adversary is for -------------------------------------------------------------
def test_shrink_drives_the_output_gradient_to_four_delta():
    """Theorem 1's ‖∇F(w̃)‖ <= 4Δ is tight: under the shrink adversary the stopping test
    ‖ĝ‖ <= 3Δ (ByzantinePGD's and robust GD's) fires at ‖∇F‖ = 4Δ, up to the last step's
    overshoot (small here: curvature 0.05 along the descent, so each step removes 5%)."""
    land = CosineSaddle([0.05, 0.05], [1.0], [1.0])
    Delta = 1e-4
    orc = CertifiedOracle(make_adversary({"name": "shrink", "seed": 0}, land, Delta))
    res = robust_gd(orc, np.array([0.0, 1.0, -1.0]))
    g = certify(land, res.w).grad_norm
    assert 0.95 * 4 * Delta <= g <= 4 * Delta
    result = check_claim("byzantine_pgd.grad_norm", "quick", seed=0, n=24)
    assert result.adversaries["shrink"].worst_ratio > 0.9


@pytest.mark.parametrize("make_land", LANDSCAPES)
def test_saddle_eigenspace_is_computed_once_per_landscape_and_handed_out_as_copies(make_land, monkeypatch):
    land = make_land()
    c = trap_centre(land)
    V, gam = negative_eigenspace(land, c)
    calls = []
    real_hess = type(land).hess
    monkeypatch.setattr(type(land), "hess", lambda self, w: calls.append(1) or real_hess(self, w))
    first = saddle_eigenspace(land)
    for x, want in zip(first, (c, V, gam), strict=True):
        assert np.array_equal(x, want)
        x[...] = np.nan                          # a caller's copy: the memo is not touched
    second = saddle_eigenspace(land)
    assert all(np.array_equal(x, want) for x, want in zip(second, (c, V, gam), strict=True))
    assert len(calls) == 1                       # one Hessian for both calls
    assert len(saddle_eigenspace(make_land())) == 3 and len(calls) == 2   # another object: computed


def test_saddle_eigenspace_of_an_unhashable_landscape_is_computed_each_time():
    class Unhashable(CosineSaddle):
        __hash__ = None
    base = LANDSCAPES[0]()
    land = Unhashable(base.a, base.gamma, base.s, base.rotation)
    c, V, gam = saddle_eigenspace(land)
    assert np.array_equal(V, negative_eigenspace(land, trap_centre(land))[0])


@pytest.mark.parametrize("make_land", [lambda: CosineSaddle.random(4, np.random.default_rng(0)),
                                       LANDSCAPES[1]])
def test_trap_makes_the_saddle_a_fake_minimum_for_robust_gd(make_land):
    land = make_land()
    c = land.saddle().point
    V, gam = negative_eigenspace(land, c)
    Delta = 1e-3
    u = np.random.default_rng(0).standard_normal(land.dim)
    u -= V @ (V.T @ u)
    w0 = c + V[:, 0] * 0.4 * Delta / gam.max() + 0.2 * u / np.linalg.norm(u)
    orc = CertifiedOracle(make_adversary({"name": "trap", "seed": 0}, land, Delta))
    res = robust_gd(orc, w0, max_oracle_calls=10_000)
    assert res.success and certify(land, res.w).lambda_min <= -gam.max() / 2
    exact = robust_gd(CertifiedOracle(make_adversary({"name": "trap", "seed": 0}, land, 0.0)), w0,
                      epsilon=3 * Delta, max_oracle_calls=10_000)
    assert certify(land, exact.w).lambda_min > -gam.max() / 2   # without the budget it escapes


def test_target_field_plants_a_fake_minimum_at_its_target():
    land = LANDSCAPES[0]()
    Delta = 1e-3
    adv = make_adversary({"name": "target_field", "kappa": 0.5, "offset": 1.0, "seed": 5}, land, Delta)
    res = robust_gd(CertifiedOracle(adv), adv.target + 1e-4, epsilon=1e-9)
    assert np.linalg.norm(res.w - adv.target) < 1e-8


def test_adaptive_adversary_sees_phase_and_perturbation():
    land = LANDSCAPES[0]()
    adv = make_adversary({"name": "adaptive", "seed": 0}, land, 1e-3)
    res = byzantine_pgd(CertifiedOracle(adv), land.saddle().point, np.random.default_rng(0),
                        delta=0.1, max_oracle_calls=200_000)
    assert adv.events["candidate"] >= 1 and adv.events["perturbation"] >= 1
    assert adv.xi is not None or res.escapes >= 1


def test_search_adversary_beats_random_noise_on_its_objective():
    land = LANDSCAPES[0]()
    adv = make_adversary({"name": "search", "candidates": 8, "lookahead": 1, "refine": 1, "seed": 0},
                         land, 1e-2)
    W = land.saddle().point + np.random.default_rng(0).standard_normal((20, land.dim)) * 1e-2
    G = land.grad(W)
    E = adv.error(W, G)
    rand = make_adversary({"name": "random_direction", "seed": 0}, land, 1e-2).error(W, G)
    j_search = adv.objective(W, G, E[:, None, :])
    j_rand = adv.objective(W, G, rand[:, None, :])
    assert np.all(j_search <= j_rand + 1e-15)


# --- the theorem claims against every adversary ---------------------------------------------
def test_every_theorem_claim_meets_every_adversary():
    for cid in ("byzantine_pgd.grad_norm", "byzantine_pgd.lambda_min", "byzantine_pgd.iterations",
                "exact_pgd.grad_norm", "exact_pgd.lambda_min", "exact_pgd.iterations"):
        names = {s["adversary"]["name"] for s in sample_specs(cid, 120, seed=0)}
        assert names == set(NAMES), cid


def test_report_entry_lists_the_adversaries_with_their_worst_ratio():
    result = check_claim("byzantine_pgd.grad_norm", "quick", seed=0, n=16)
    assert set(result.adversaries) == set(NAMES)
    for row in result.adversaries.values():
        assert row.instances >= 1 and row.worst_ratio is not None


def _bpgd_q0(spec, oracle, w0, rng):
    """ByzantinePGD with Theorem 1's parameters but Q = 0 (no escape rounds)."""
    p = replace(variants._thm1(spec, oracle, w0), Q=0)
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=MAX_ORACLE_CALLS)


def test_q0_is_caught_by_the_lambda_min_check_under_the_adversaries():
    result = check_claim("byzantine_pgd.lambda_min", "quick", seed=0, algorithm=_bpgd_q0)
    assert result.status == "violated"
    assert result.binomial.p_value < 1e-6
    assert result.replay.startswith("byzpgd replay byzantine_pgd.lambda_min '{")


# --- Hypothesis search over adversaries, their parameters and instances ----------------------
DEEP = settings.default.max_examples >= 1000
SEARCH = settings(max_examples=300 if DEEP else 6, deadline=None)


@pytest.mark.parametrize("claim_id", ["byzantine_pgd.grad_norm", "byzantine_pgd.iterations",
                                      "exact_pgd.grad_norm", "exact_pgd.iterations"])
def test_hypothesis_search_maximises_observed_over_bound(claim_id):
    """hypothesis.target() steers the search toward large observed/bound (short in CI, long under
    the deep profile); every deterministic claim must still hold on what it finds."""
    claim = get(claim_id)

    @SEARCH
    @given(claim_strategy(claim_id))
    def search(spec):
        obs = observe(claim, run(spec))
        if obs.in_hypotheses:
            target(obs.ratio, label=f"{claim_id} observed/bound [{spec['adversary']['name']}]")
            assert obs.holds, spec

    search()
