"""Deliberately broken algorithm variants for the able-to-fail tests: each must be caught."""

from dataclasses import replace

import numpy as np

from byzpgd.algorithms import robust_gd
from byzpgd.algorithms.byzantine_pgd import theorem_params as thm1
from byzpgd.algorithms.exact_pgd import theorem_params as thm2
from byzpgd.algorithms.perturbed_gd import perturbed_gd
from byzpgd.experiments.budget import FAILURE_PROBABILITY
from byzpgd.experiments.instances import MAX_ORACLE_CALLS


def _thm1(spec, oracle, w0):
    land = oracle.landscape
    return thm1(oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                land.value(w0) - land.f_star)


def _thm2(spec, oracle, w0):
    land = oracle.landscape
    return thm2(spec["epsilon"], land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                land.value(w0) - land.f_star)


def bpgd_epsilon_5delta(spec, oracle, w0, rng):
    """ByzantinePGD that stops at ‖ĝ‖ <= 5Δ instead of 3Δ: breaks ‖∇F‖ <= 4Δ."""
    p = replace(_thm1(spec, oracle, w0), epsilon=5 * oracle.delta)
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=MAX_ORACLE_CALLS)


def bpgd_no_perturbation(spec, oracle, w0, rng):
    """Robust GD (Q = 0): stays at a saddle, breaks the λ_min bound."""
    return robust_gd(oracle, w0, max_oracle_calls=MAX_ORACLE_CALLS)


SLOW_CAP = 50_000  # the slow variants need not run long to exceed the bounds


class _Averaging:
    """Answers each query with the mean of ``reps`` answers of the wrapped oracle (one
    vectorised batch); every answer is a parallel iteration of the wrapped oracle."""

    batchable = False

    def __init__(self, oracle, reps):
        self.oracle, self.reps = oracle, reps
        self.landscape, self.delta = oracle.landscape, oracle.delta

    def __call__(self, w):
        return self.oracle(np.tile(w, (self.reps, 1))).mean(axis=0)


def bpgd_repeated_queries(spec, oracle, w0, rng):
    """ByzantinePGD that averages 10^4 oracle answers per step (10^4 parallel iterations per
    step, counted by the certifying oracle): breaks the iteration bound."""
    res = perturbed_gd(_Averaging(oracle, 10_000), w0, _thm1(spec, oracle, w0), rng,
                       max_oracle_calls=MAX_ORACLE_CALLS)
    res.grad_oracle_calls = oracle.calls
    return res


def exact_threshold_2eps(spec, oracle, w0, rng):
    """Exact PGD returning points with ‖∇F‖ <= 2ε: breaks ‖∇F‖ <= ε."""
    p = replace(_thm2(spec, oracle, w0), epsilon=2 * spec["epsilon"])
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=MAX_ORACLE_CALLS)


def exact_no_perturbation(spec, oracle, w0, rng):
    """Exact PGD with Q = 0 (plain GD): stuck at the saddle, breaks the λ_min bound."""
    p = replace(_thm2(spec, oracle, w0), Q=0)
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=MAX_ORACLE_CALLS)


def exact_slow_steps(spec, oracle, w0, rng):
    """Exact PGD with η = 1/(1000 L_F): breaks the iteration bound."""
    p = _thm2(spec, oracle, w0)
    p = replace(p, eta=p.eta / 1000)
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=SLOW_CAP)



# --- subtle variants (within a factor 2 of the right value) ------------------------------------
def bpgd_epsilon_1_5(spec, oracle, w0, rng):
    """ByzantinePGD stopping at ‖ĝ‖ <= 1.5·3Δ: its outputs can have ‖∇F‖ up to 5.5Δ > 4Δ."""
    p = _thm1(spec, oracle, w0)
    return perturbed_gd(oracle, w0, replace(p, epsilon=1.5 * p.epsilon), rng,
                        max_oracle_calls=MAX_ORACLE_CALLS)


def exact_threshold_1_5eps(spec, oracle, w0, rng):
    """Exact PGD returning points with ‖∇F‖ <= 1.5ε: breaks ‖∇F‖ <= ε."""
    p = replace(_thm2(spec, oracle, w0), epsilon=1.5 * spec["epsilon"])
    return perturbed_gd(oracle, w0, p, rng, max_oracle_calls=MAX_ORACLE_CALLS)


def exact_poster_no_perturbation(spec, oracle, w0, rng):
    """The poster's parameters with Q = 0: stuck at the saddle."""
    from byzpgd.algorithms.exact_pgd import theorem_params
    land = oracle.landscape
    p = theorem_params(spec["epsilon"], land.L, land.rho, land.dim, FAILURE_PROBABILITY,
                       land.value(w0) - land.f_star, variant="poster")
    return perturbed_gd(oracle, w0, replace(p, Q=0), rng, max_oracle_calls=MAX_ORACLE_CALLS)
