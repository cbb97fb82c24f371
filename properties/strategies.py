"""Instance distributions for the claim checks, written once and drawn two ways.

An instance sampler is a function ``sampler(src) -> spec`` that draws from a *source* with four
primitives (``uniform``, ``log_uniform``, ``integer``, ``seed``). Two sources implement them:

- :class:`HypothesisSource` wraps Hypothesis' ``draw``: :func:`claim_strategy` turns a sampler
  into a Hypothesis strategy, so the pytest suites get Hypothesis' edge-case bias, shrinking and
  ``@example`` regressions;
- :class:`NumpySource` wraps a ``numpy.random.Generator``: ``byzpgd verify`` draws independent
  instances from exactly the same distribution (Hypothesis' generator deliberately repeats and
  minimises values, which is right for bug hunting but not for counting instances).

Each claim's sampler aims at the regime where its bound is *non-vacuous* (docs/ARCHITECTURE.md,
"How claims are checked", Vacuity; the bounds are those of docs/paper.md §4 and §7.3):

- λ_min of Theorem 1 bites only when 1900(√ρ+L)Δ^{2/5}d^{1/5}log(10/Δ) < L_F: Δ ~ 1e-14. We
  draw ρ = u·L² with u ∈ [1/4, 1] and d <= 6, which keeps the largest non-vacuous Δ above
  3e-14, and Δ >= 5e-15 so that float64 rounding of ∇F (about 1e-15 near the minima) stays
  well below Δ.
- the iteration bounds bite only when they are below the run's oracle-call cap: the largest Δ
  allowed by the hypothesis r <= R (about 1e-3/√d), or ε >= 3e-3, and mostly starts near a
  minimum (small F_0 − F*, hence a small bound).
- the gradient-norm bounds are exercised over the whole allowed range of Δ, mostly from starts
  whose gradient exceeds the bound.
Phase-retrieval starts stay inside the certified ball (radius 1.5): ‖w*‖ = 1, offsets around a
minimum are <= 0.5 and balls are clipped to 0.95 of the radius (instances.start_point).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from scipy.optimize import brentq

from ..oracles.adversaries import NAMES as ADVERSARY_NAMES
from ..oracles.adversaries import sample_adversary
from ..seeding import instance_rng
from ..theory.claims import get

DELTA_FLOOR = 5e-15
NONVACUOUS_MARGIN = 0.8  # draw Δ (or ε) so that the λ_min bound is <= 0.8 L_F
SEED_MAX = 2**32 - 1


class NumpySource:
    """Independent draws from a numpy Generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def uniform(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    def log_uniform(self, lo, hi):
        return float(10.0 ** self.rng.uniform(math.log10(lo), math.log10(hi)))

    def integer(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))

    def seed(self):
        return int(self.rng.integers(0, SEED_MAX + 1))


class HypothesisSource:
    """Draws through Hypothesis (inside ``st.composite``)."""

    def __init__(self, draw):
        self.draw = draw

    def uniform(self, lo, hi):
        return self.draw(st.floats(lo, hi))

    def log_uniform(self, lo, hi):
        return 10.0 ** self.draw(st.floats(math.log10(lo), math.log10(hi)))

    def integer(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def seed(self):
        return self.draw(st.integers(0, SEED_MAX))


# --- small pieces ---------------------------------------------------------------------------
START_MIXES = {  # probabilities of (near the saddle, uniform in a ball, near the global minimum)
    "lambda": (0.8, 0.2, 0.0),
    "iterations": (0.05, 0.05, 0.9),
    "any": (0.2, 0.6, 0.2),
}


# Theorem 1's iteration bound is non-vacuous (below the 2e7-call cap) only for small F_0 − F*, and
# inside its hypothesis (Q's formula > 1) only for F_0 − F* above about Δ^{6/5}: offsets 0.02..0.2
MINIMUM_OFFSETS = {"iterations": (0.02, 0.2)}


def start(src, regime: str, stuck_scale: float | None = None) -> dict:
    """Near the strict saddle, uniform in a ball of radius 0.5..3, or near the global minimum
    (offset 10^-3..0.1), mixed as START_MIXES[regime].

    Saddle offsets are 0 or log-uniform in 10^-14..10^-3, or, when ``stuck_scale`` is given
    (Δ/L_F or ε/L_F), in 10^-3..1 times it: there the first gradient is already below the
    threshold, so only the perturbation rounds can leave the saddle (the λ_min instances)."""
    p_saddle, p_ball, _ = START_MIXES[regime]
    u = src.uniform(0, 1)
    if u < p_saddle:
        if src.uniform(0, 1) < 0.2:
            scale = 0.0
        elif stuck_scale is not None:
            scale = stuck_scale * src.log_uniform(1e-3, 1.0)
        else:
            scale = src.log_uniform(1e-14, 1e-3)
        return {"start": "saddle", "start_scale": scale, "start_seed": src.seed()}
    if u < p_saddle + p_ball:
        return {"start": "ball", "start_scale": src.uniform(0.5, 3.0), "start_seed": src.seed()}
    lo, hi = MINIMUM_OFFSETS.get(regime, (1e-3, 0.1))
    return {"start": "minimum", "start_scale": src.log_uniform(lo, hi), "start_seed": src.seed()}


def cosine_saddle(src, dims=(2, 6)) -> dict:
    """L ∈ [1/2, 2], ρ = u L² with u ∈ [1/4, 1], one or two negative-curvature directions."""
    dim = src.integer(*dims)
    L = src.uniform(0.5, 2.0)
    return {"landscape": "cosine_saddle", "dim": dim, "L": L, "rho": src.uniform(0.25, 1.0) * L**2,
            "n_neg": min(src.integer(1, 2), dim), "landscape_seed": src.seed()}


def phase_retrieval(src, dims=(2, 6)) -> dict:
    return {"landscape": "phase_retrieval", "dim": src.integer(*dims), "L": None, "rho": None,
            "landscape_seed": src.seed()}


def landscape(src, regime: str) -> dict:
    if regime == "lambda" or src.uniform(0, 1) < 0.6:
        return cosine_saddle(src)
    return phase_retrieval(src)


def largest_delta_r_le_R(dim: int) -> float:
    """Largest Δ with Theorem 1's r <= R (theory.hypotheses.theorem1_r_le_R), i.e.
    4 Δ^{1/5} d^{1/10} <= 1 with the paper's factors (docs/paper.md §3, §4); the closed form
    keeps the draws bit-identical (tested against the theory's statement)."""
    return 4.0**-5 / math.sqrt(dim)


def largest_nonvacuous(claim_id, values, var, lo, hi):
    """Largest value of ``var`` in [lo, hi] at which the claim's bound is <= margin·L_F."""
    claim = get(claim_id)

    def excess(log_x):
        return claim.bound({**values, var: 10.0**log_x}) - NONVACUOUS_MARGIN * values["L_F"]

    if excess(math.log10(hi)) <= 0:
        return hi
    if excess(math.log10(lo)) > 0:
        return lo
    return 10.0 ** brentq(excess, math.log10(lo), math.log10(hi), xtol=1e-6)


# --- instance samplers ----------------------------------------------------------------------
def byzantine_instance(src, regime: str, adversary: str | None = None) -> dict:
    """regime: 'lambda' (non-vacuous λ_min bound), 'iterations' or 'any' (see module doc);
    ``adversary``: the adversary's name (default: drawn uniformly among every adversary)."""
    land = landscape(src, regime)
    r_le_R = 0.9 * largest_delta_r_le_R(land["dim"])
    if regime == "lambda":
        values = {"L_F": land["L"], "rho_F": land["rho"], "d": land["dim"]}
        hi = largest_nonvacuous("byzantine_pgd.lambda_min", values, "Delta", DELTA_FLOOR, 1e-12)
        Delta = src.log_uniform(DELTA_FLOOR, max(hi, DELTA_FLOOR))
    elif regime == "iterations":
        Delta = src.log_uniform(r_le_R / 3, r_le_R)
    else:
        Delta = src.log_uniform(DELTA_FLOOR, r_le_R)
    st_ = start(src, regime, Delta / land["L"] if regime == "lambda" else None)
    return {"family": "byzantine_pgd", **land, **st_, "Delta": Delta,
            "oracle_seed": src.seed(), "run_seed": src.seed(),
            "adversary": sample_adversary(src, adversary)}


def exact_instance(src, regime: str, adversary: str | None = None) -> dict:
    """regime: 'lambda' (ε <= 2e-6, non-vacuous), 'poster_lambda' (ε ∈ [1e-10, 1e-8], the
    poster's parameters: spec 'variant' = 'poster'), 'iterations' (ε ∈ [3e-3, L²/(16ρ)]) or 'any'.
    Theorem 2 is a statement about the exact oracle, so the adversary gets the budget Δ = 0
    (every adversary then answers ∇F exactly, which the certifying layer confirms)."""
    land = landscape(src, "lambda" if regime == "poster_lambda" else regime)
    if land["landscape"] == "phase_retrieval":
        eps_max = 19.25 / (16 * 27.0)  # L²/(16ρ) for radius 1.5 and ‖w*‖ = 1 (PhaseRetrieval.random)
    else:
        eps_max = land["L"] ** 2 / (16 * land["rho"])
    if regime == "lambda":
        eps = src.log_uniform(1e-8, 2e-6)
    elif regime == "poster_lambda":   # the poster's bound (constant 60) bites only below ~1e-8
        eps = src.log_uniform(1e-10, 1e-8)
    elif regime == "iterations":
        eps = src.log_uniform(3e-3, eps_max)
    else:
        eps = src.log_uniform(1e-8, eps_max)
    lam = regime in ("lambda", "poster_lambda")
    st_ = start(src, "lambda" if lam else regime, eps / land["L"] if lam else None)
    spec = {"family": "exact_pgd", **land, **st_, "epsilon": eps, "run_seed": src.seed(),
            "adversary": sample_adversary(src, adversary)}
    return {**spec, "variant": "poster"} if regime == "poster_lambda" else spec


SAMPLERS = {
    "byzantine_pgd.grad_norm": lambda src, adv=None: byzantine_instance(src, "any", adv),
    "byzantine_pgd.lambda_min": lambda src, adv=None: byzantine_instance(src, "lambda", adv),
    "byzantine_pgd.iterations": lambda src, adv=None: byzantine_instance(src, "iterations", adv),
    "exact_pgd.grad_norm": lambda src, adv=None: exact_instance(src, "any", adv),
    "exact_pgd.lambda_min": lambda src, adv=None: exact_instance(src, "lambda", adv),
    "exact_pgd.iterations": lambda src, adv=None: exact_instance(src, "iterations", adv),
    "exact_pgd.poster_lambda_min": lambda src, adv=None: exact_instance(src, "poster_lambda", adv),
}

# Which adversary attacks instance i of ``sample_specs``: ADVERSARY_SCHEDULES[claim][i % len], so
# that every adversary of the library is met equally often by every claim (the per-adversary
# tests need about 95 non-vacuous runs per adversary for their power, properties.checks).
ADVERSARY_SCHEDULES = {cid: ADVERSARY_NAMES for cid in SAMPLERS}


def _sampler(claim_id):
    if claim_id not in SAMPLERS:
        raise KeyError(f"no instance sampler for claim {claim_id!r}; known: {sorted(SAMPLERS)}")
    return SAMPLERS[claim_id]


def claim_strategy(claim_id: str, adversary: str | None = None):
    """The Hypothesis strategy of a claim's instances (the adversary and its parameters are
    drawn too, unless ``adversary`` names one)."""
    sampler = _sampler(claim_id)
    return st.composite(lambda draw: sampler(HypothesisSource(draw), adversary))()


def sample_specs(claim_id: str, n: int, seed: int, adversary: str | None = None) -> list[dict]:
    """``n`` independent instances; instance i is drawn from ``instance_rng(seed, claim_id, i)``
    (byzpgd.seeding), so it depends only on (seed, claim_id, i). The adversary
    of instance i is ``adversary`` if given, else ADVERSARY_SCHEDULES[claim_id][i % len]."""
    sampler = _sampler(claim_id)
    sched = ADVERSARY_SCHEDULES.get(claim_id, ADVERSARY_NAMES)
    return [sampler(NumpySource(instance_rng(seed, claim_id, i)), adversary or sched[i % len(sched)])
            for i in range(n)]
