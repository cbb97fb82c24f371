"""ByzantinePGD / exact PGD / robust GD: input validation, determinism, the result object, the
two reconstruction options, and the batched perturbation rounds."""

import math

import numpy as np
import pytest

from byzpgd.algorithms import PGDParams, byzantine_pgd, exact_pgd, perturbed_gd, robust_gd
from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.oracles.inexact import (
    CertifiedOracle,
    ExactOracle,
    InexactOracle,
    OracleBudgetExceeded,
    RandomDirectionOracle,
    ScaledGradientOracle,
)
from byzpgd.oracles.landscapes import CosineSaddle


def saddle(dim=4, seed=0):
    return CosineSaddle.random(dim, np.random.default_rng(seed))


def noisy(land, delta=1e-3, seed=1):
    return CertifiedOracle(RandomDirectionOracle(land, delta, np.random.default_rng(seed)))


# --- validation ------------------------------------------------------------------------------
def test_delta_must_be_positive():
    land = saddle()
    with pytest.raises(ValueError, match="Delta"):
        byzantine_pgd(ExactOracle(land), np.zeros(4), np.random.default_rng(0), delta=0.1)
    with pytest.raises(ValueError, match="delta must be finite and >= 0"):
        RandomDirectionOracle(land, -1.0, np.random.default_rng(0))


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 2.0])
def test_failure_probability_must_be_in_open_unit_interval(bad):
    with pytest.raises(ValueError, match=r"delta must be in \(0, 1\)"):
        byzantine_pgd(noisy(saddle()), np.zeros(4), np.random.default_rng(0), delta=bad)


@pytest.mark.parametrize("w0", [[np.nan, 0, 0, 0], [np.inf, 0, 0, 0]])
def test_start_point_must_be_finite(w0):
    with pytest.raises(ValueError, match="w0 must be finite"):
        byzantine_pgd(noisy(saddle()), np.array(w0), np.random.default_rng(0), delta=0.1)


def test_dimension_mismatch_is_reported():
    with pytest.raises(ValueError, match=r"w0 must have shape \(4,\)"):
        byzantine_pgd(noisy(saddle()), np.zeros(3), np.random.default_rng(0), delta=0.1)


def test_params_are_validated():
    with pytest.raises(ValueError, match="eta"):
        PGDParams(eta=0, epsilon=1, r=1, Q=1, R=1, T_th=1)
    with pytest.raises(ValueError, match="Q must be an integer"):
        PGDParams(eta=1, epsilon=1, r=1, Q=1.5, R=1, T_th=1)
    with pytest.raises(ValueError, match="T_th"):
        PGDParams(eta=1, epsilon=1, r=1, Q=1, R=1, T_th=0)


def test_options_and_rng_are_validated():
    p = PGDParams(eta=1, epsilon=1e-3, r=1e-3, Q=1, R=1e-2, T_th=5)
    with pytest.raises(ValueError, match="escape_reference"):
        perturbed_gd(noisy(saddle()), np.zeros(4), p, np.random.default_rng(0), escape_reference="x")
    with pytest.raises(ValueError, match="escape_test"):
        perturbed_gd(noisy(saddle()), np.zeros(4), p, np.random.default_rng(0), escape_test="x")
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        perturbed_gd(noisy(saddle()), np.zeros(4), p, 0)


def test_exact_pgd_rejects_inexact_oracle_and_too_large_epsilon():
    land = saddle()
    with pytest.raises(ValueError, match="exact oracle"):
        exact_pgd(noisy(land), np.zeros(4), np.random.default_rng(0), epsilon=1e-3, delta=0.1)
    with pytest.raises(ValueError, match=r"epsilon must be <= L"):
        exact_pgd(ExactOracle(land), np.zeros(4), np.random.default_rng(0), epsilon=1.0, delta=0.1)


# --- behaviour -------------------------------------------------------------------------------
def test_same_seed_same_result():
    land = saddle()
    runs = [byzantine_pgd(noisy(land, 1e-4, 5), np.zeros(4), np.random.default_rng(7), delta=0.1)
            for _ in range(2)]
    assert np.array_equal(runs[0].w, runs[1].w)
    assert runs[0].grad_oracle_calls == runs[1].grad_oracle_calls
    assert runs[0].escapes == runs[1].escapes


@pytest.mark.parametrize("batch", [False, True])
def test_result_fields_and_escape_from_the_saddle(batch):
    land = saddle()
    orc = noisy(land, 1e-12)
    p = theorem_params(1e-12, land.L, land.rho, 4, 0.1, land.value(np.zeros(4)) - land.f_star)
    res = perturbed_gd(orc, np.zeros(4), p, np.random.default_rng(0), batch_rounds=batch)
    assert res.status == "converged" and res.success
    assert res.escapes >= 1 and res.escape_rounds >= res.escapes
    assert set(res.params) >= {"eta", "epsilon", "r", "Q", "R", "T_th", "escape_reference"}
    # sequential: every query is one parallel iteration; batched: rounds after the first
    # escaping one are computed but not counted
    if batch:
        assert res.grad_oracle_calls <= orc.calls
    else:
        assert res.grad_oracle_calls == orc.calls
    assert np.linalg.norm(land.grad(res.w)) <= 4e-12


def test_robust_gd_stays_at_the_saddle():
    land = saddle()
    res = robust_gd(noisy(land, 1e-4), np.zeros(4))
    assert res.escape_rounds == 0 and np.array_equal(res.w, np.zeros(4))


def test_oracle_call_budget_is_reported():
    land = saddle()
    p = PGDParams(eta=1e-6, epsilon=1e-9, r=0.0, Q=0, R=1.0, T_th=1)
    res = perturbed_gd(noisy(land, 1e-10), np.ones(4), p, np.random.default_rng(0), max_oracle_calls=50)
    assert res.status == "max_oracle_calls" and res.grad_oracle_calls == 50 and not res.success
    assert "budget ran out after 50 calls" in res.message and "not an output" in res.message


def test_message_says_why_the_run_ended():
    land = saddle()
    p = theorem_params(1e-12, land.L, land.rho, 4, 0.1, land.value(np.zeros(4)) - land.f_star)
    res = perturbed_gd(noisy(land, 1e-12), np.zeros(4), p, np.random.default_rng(0))
    assert res.message.startswith("returned a candidate") and f"{res.escapes} escapes" in res.message
    diverging = PGDParams(eta=5.0, epsilon=1e-9, r=0.0, Q=0, R=1.0, T_th=1)   # η = 5/L: unstable
    res = perturbed_gd(ExactOracle(land), np.full(4, 0.3), diverging, np.random.default_rng(0))
    assert res.status == "nonfinite" and "NaN or infinite" in res.message
    from byzpgd.algorithms.result import status_message
    assert "'left_region'" in status_message("left_region", 3, 0)   # an observer's own stop


@pytest.mark.parametrize("reference", ["candidate", "perturbed"])
@pytest.mark.parametrize("test", ["every_step", "final"])
def test_both_readings_of_the_escape_test_escape_the_saddle(reference, test):
    land = saddle()
    res = byzantine_pgd(noisy(land, 1e-12), np.zeros(4), np.random.default_rng(0), delta=0.1,
                        escape_reference=reference, escape_test=test)
    assert res.escapes >= 1 and res.params["escape_reference"] == reference


def test_trace_records_every_query():
    land = saddle()
    res = byzantine_pgd(noisy(land, 1e-4), np.zeros(4), np.random.default_rng(0), delta=0.1, trace=True)
    assert res.trace["points"].shape == (res.grad_oracle_calls, 4)
    assert len(res.trace["phase"]) == res.grad_oracle_calls


def test_batched_rounds_count_calls_like_the_sequential_loop():
    """At a critical point with r = 0 no round escapes: 1 + Q·T_th calls either way. With
    r >> R the first round escapes at its first step: 1 + 1 calls (then GD continues)."""
    land = saddle()
    stuck = PGDParams(eta=1.0, epsilon=1e-6, r=0.0, Q=7, R=1.0, T_th=11)
    for batch in (True, False):
        res = perturbed_gd(ExactOracle(land), np.zeros(4), stuck, np.random.default_rng(0),
                           batch_rounds=batch)
        assert (res.grad_oracle_calls, res.escape_rounds, res.escapes) == (1 + 7 * 11, 7, 0)
    jump = PGDParams(eta=1.0, epsilon=1e-6, r=10.0, Q=7, R=1e-3, T_th=11)
    counts = []
    for batch in (True, False):
        p = jump
        res = perturbed_gd(ExactOracle(land), np.zeros(4), p, np.random.default_rng(0),
                           batch_rounds=batch, max_oracle_calls=2)
        counts.append((res.grad_oracle_calls, res.escape_rounds, res.escapes))
    assert counts[0] == counts[1] == (2, 1, 1)


def test_batched_and_sequential_rounds_agree_in_law():
    """Escape frequency from the exact saddle with a small radius: the two modes draw
    different random numbers but must escape at the same rate (two-proportion check)."""
    land = CosineSaddle([1.0], [0.5], [0.5])
    p = PGDParams(eta=1.0, epsilon=1e-9, r=1e-3, Q=1, R=1e-2, T_th=8)
    rates = []
    for batch in (True, False):
        esc = [perturbed_gd(ExactOracle(land), np.zeros(2), p, np.random.default_rng(s),
                            batch_rounds=batch, max_oracle_calls=10).escapes > 0 for s in range(400)]
        rates.append(np.mean(esc))
    # escape iff |xi_1| (1.5)^t crosses R within 8 steps: P = P(|xi_1| >= R/1.5^8) for xi uniform in B(r)
    assert abs(rates[0] - rates[1]) < 0.12
    assert 0.05 < rates[0] < 0.95


# --- theorem parameters ----------------------------------------------------------------------
def test_theorem1_parameters_match_their_formulas():
    Delta, L, rho, d, delta, gap = 1e-10, 2.0, 0.5, 7, 0.05, 3.0
    p = theorem_params(Delta, L, rho, d, delta, gap)
    assert p.eta == pytest.approx(1 / L) and p.epsilon == pytest.approx(3 * Delta)
    assert p.r == pytest.approx(4 * Delta**0.6 * d**0.3 / math.sqrt(rho))
    assert p.R == pytest.approx(Delta**0.4 * d**0.2 / math.sqrt(rho))
    q = 2 * math.log(rho * gap / (48 * L * delta * Delta**1.2 * d**0.6))
    assert p.Q == math.ceil(q)
    t = L / (384 * (math.sqrt(rho) + L) * Delta**0.4 * d**0.2)
    assert p.T_th == math.ceil(t)


def test_theorem1_integer_parameters_are_at_least_one():
    p = theorem_params(0.5, 1.0, 1.0, 2, 0.5, 1e-6)
    assert p.Q == 1 and p.T_th == 1


# --- the certifying layer --------------------------------------------------------------------
def test_certifying_layer_rejects_an_oracle_one_percent_over_budget():
    land = saddle()

    class Over(RandomDirectionOracle):
        def error(self, w, grad):
            return 1.01 * super().error(w, grad)

    orc = CertifiedOracle(Over(land, 1e-3, np.random.default_rng(0)))
    with pytest.raises(OracleBudgetExceeded, match="exceeds"):
        orc(np.ones(4))
    ok = CertifiedOracle(RandomDirectionOracle(land, 1e-3, np.random.default_rng(0)))
    ok(np.ones(4))
    assert ok.max_error == pytest.approx(1e-3)


def test_certifying_layer_rejects_non_finite_and_wrong_shape():
    land = saddle()

    class Broken(ExactOracle):
        def __call__(self, w):
            return np.full(3, np.nan)

    with pytest.raises(OracleBudgetExceeded, match="shape"):
        CertifiedOracle(Broken(land))(np.ones(4))

    class NaN(ExactOracle):
        def __call__(self, w):
            return np.full(4, np.nan)

    with pytest.raises(OracleBudgetExceeded, match="non-finite"):
        CertifiedOracle(NaN(land))(np.ones(4))


@pytest.mark.parametrize("big", [1e160, 1e200, 1e308])
@pytest.mark.parametrize("batch", [False, True])
def test_certifying_layer_rejects_a_huge_finite_answer(big, batch):
    """‖ĝ‖² overflows for such answers; a norm computed as sqrt(ĝ·ĝ) (numpy's) is inf, so the
    allowance 4 eps‖ĝ‖ becomes inf and the answer would pass. The certifying layer rescales."""
    land = saddle()

    class Huge(InexactOracle):
        def error(self, w, grad):
            e = np.zeros_like(grad)
            e[..., 0] = big
            return e

    orc = CertifiedOracle(Huge(land, 1e-3))
    w = np.ones((3, 4)) if batch else np.ones(4)
    with pytest.raises(OracleBudgetExceeded, match="exceeds"):
        orc(w)


def test_certifying_layer_measures_tiny_errors_of_an_exact_oracle():
    """With Δ = 0 an error of 1e-170 is still an error (its square underflows to 0)."""
    land = saddle()

    class Tiny(InexactOracle):
        def error(self, w, grad):
            return np.full_like(grad, 1e-170)

    with pytest.raises(OracleBudgetExceeded, match="exceeds"):
        CertifiedOracle(Tiny(land, 0.0))(np.zeros(4))
    assert CertifiedOracle(ExactOracle(land))(np.zeros(4)).shape == (4,)


def test_scaled_gradient_oracle_stays_within_budget():
    land = saddle()
    orc = CertifiedOracle(ScaledGradientOracle(land, 1e-2, 0.75))
    for w in np.random.default_rng(0).standard_normal((20, 4)):
        orc(w)
    assert orc.max_error <= 1e-2 * (1 + 1e-12)
