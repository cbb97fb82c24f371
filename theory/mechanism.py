"""The mechanism of the proofs, as bounds computable at an instance's values (docs/paper.md §8):
what one inexact gradient step must decrease (§8.1), and how likely one perturbation round is to
fail to leave a strict saddle (§8.3, made exact on the cosine saddle of §7.1's family). These
are the bounds of the OWN "mechanism" claims, which see every parameter of ByzantinePGD at
practical Δ where the theorems' own bounds are vacuous (docs/paper.md §10.1).

Statements only: nothing here runs an algorithm.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betainc


def descent_required(g_norm, Delta, L):
    """§8.1 (inexact descent): for η = 1/L_F and ‖ĝ − ∇F‖ <= Δ, one step w⁺ = w − ηĝ has
    F(w) − F(w⁺) >= (1/L)‖ĝ‖(‖ĝ‖/2 − Δ). Returns that guaranteed decrease (may be negative,
    when ‖ĝ‖ < 2Δ: then the lemma guarantees nothing beyond an increase of at most Δ²/(2L)).
    Floats or numpy arrays (elementwise): the one statement the descent monitor
    (experiments/monitor.py) and the check of ``mechanism.descent`` both call."""
    return g_norm * (g_norm / 2.0 - Delta) / L


def ball_coordinate_cdf(t: float, dim: int) -> float:
    """P(|⟨ξ, v⟩| < t·r) for ξ uniform in the d-ball of radius r and any unit v: ⟨ξ, v⟩²/r² ~
    Beta(1/2, (d+1)/2) (the squared first coordinate of a uniform point of the unit d-ball)."""
    if t <= 0:
        return 0.0
    if t >= 1:
        return 1.0
    return float(betainc(0.5, (dim + 1) / 2.0, t * t))


def cosine_growth_curvature(gamma: float, s: float, R: float) -> float:
    """γ' = γ(1 − (R/s)²/6): along a negative direction of the cosine saddle,
    ∂F/∂y = −γ s sin(y/s) and s·sin(|y|/s) >= |y|(1 − y²/(6s²)), so while |y| <= R the escape
    coordinate grows at least like curvature γ'. Requires R < s (else 0 is returned)."""
    return gamma * max(0.0, 1.0 - (R / s) ** 2 / 6.0)


def escape_threshold(Delta: float, gamma_eff: float, eta: float, T_th: int, R: float) -> float:
    """The smallest escape coordinate |y_0| from which T_th inexact GD steps surely reach |y| >= R
    against any oracle error of norm <= Δ: along the escape direction
    |y_{t+1}| >= (1 + ηγ')|y_t| − ηΔ, so |y_t| − Δ/γ' >= (1 + ηγ')^t (|y_0| − Δ/γ'), and
    |y_{T_th}| >= R as soon as |y_0| >= Δ/γ' + (R − Δ/γ')(1 + ηγ')^{−T_th}."""
    if gamma_eff <= 0:
        return math.inf
    trap = Delta / gamma_eff
    return trap + max(0.0, R - trap) * (1.0 + eta * gamma_eff) ** (-float(T_th))


def escape_threshold_perturbed(Delta: float, gamma_eff: float, eta: float, T_th: int,
                               R: float) -> float:
    """The same for the escape test measured from the perturbed point w̃ + ξ (docs/paper.md §3,
    the first open point): the round needs |y_T − y_0| >= R. Along the escape direction y keeps
    its sign and |y_T| − Δ/γ' >= g(|y_0| − Δ/γ'), g = (1 + ηγ')^T_th, so |y_T| − |y_0| >=
    (g − 1)(|y_0| − Δ/γ') >= R as soon as |y_0| >= Δ/γ' + R/(g − 1): a threshold larger than the
    candidate reading's Δ/γ' + (R − Δ/γ')/g by the factor about g/(g − 1) on its second term."""
    if gamma_eff <= 0:
        return math.inf
    growth = (1.0 + eta * gamma_eff) ** float(T_th)
    if growth <= 1.0:
        return math.inf
    return Delta / gamma_eff + R / (growth - 1.0)


READINGS = ("candidate", "perturbed")
TESTS = ("every_step", "final")


def round_failure_bound(*, Delta: float, gamma: float, s: float, eta: float, T_th: int, r: float,
                        R: float, dim: int, reference: str = "candidate",
                        test: str = "every_step") -> float:
    """§8.3 on the cosine saddle: the probability that one perturbation round from the saddle
    (ξ uniform in B(r), then T_th steps) fails to escape, for every Δ-inexact oracle, adaptive
    or not, given everything before the round (ξ is fresh): at most P(|⟨ξ, v⟩| < threshold),
    the other coordinates only adding to the distance. One bound per reading of Algorithm 1's
    escape test (docs/paper.md §3, §10.2):

    - ``reference='candidate'`` (‖u − w̃‖ >= R, the default reading): threshold
      :func:`escape_threshold` with γ' = γ(1 − (R/s)²/6) (a round that has not escaped has
      |y| < R); requires R < s.
    - ``reference='perturbed'`` (‖u − (w̃ + ξ)‖ >= R): threshold
      :func:`escape_threshold_perturbed` with γ' at |y| < R + r (a round that has not escaped
      has |y − y_0| < R); requires R + r < s. Larger than the candidate reading's bound.
    - ``test='final'`` (the test only after step T_th): the same bound as ``'every_step'`` when
      γ s sin(R/s) >= Δ: then h(y) = y + ηγ s sin(y/s) is nondecreasing (ηγ <= 1) and
      h(y) − ηΔ >= R for y in [R, s(π + arcsin(Δ/(γs)))], an interval mapped into itself, so a
      coordinate that reached R stays beyond it until step T_th and both tests see the escape.
      Without that condition no bound is claimed (1.0).

    1.0 when the bound does not apply."""
    if reference not in READINGS:
        raise ValueError(f"reference must be one of {READINGS}, got {reference!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    reach = R if reference == "candidate" else R + r
    if not (r > 0 and reach < s):
        return 1.0
    if test == "final" and gamma * s * math.sin(R / s) < Delta:
        return 1.0
    g_eff = cosine_growth_curvature(gamma, s, reach)
    threshold = (escape_threshold if reference == "candidate" else escape_threshold_perturbed)(
        Delta, g_eff, eta, T_th, R)
    return ball_coordinate_cdf(threshold / r, dim)


def round_failure_bound_any_reading(**kw) -> float:
    """The per-round bound valid whichever reading of Algorithm 1's escape test docs/paper.md §3
    leaves open: the largest :func:`round_failure_bound` over the references (w̃, w̃ + ξ) and the
    tests (every step, final step). The w̃ + ξ reading's is the largest wherever the final-step
    condition γ s sin(R/s) >= Δ holds, which it does whenever the candidate bound is below 1
    (then Δ/γ' < R and γ s sin(R/s) >= γ'R > Δ)."""
    return max(round_failure_bound(**kw, reference=ref, test=t) for ref in READINGS for t in TESTS)


def trapped_bound(round_failure: float, Q: int) -> float:
    """The Q rounds draw independent ξ: P(all Q rounds fail) <= round_failure^Q."""
    return float(round_failure) ** int(Q)


def failed_rounds_tail(round_failure: float, Q: int, k: int) -> float:
    """The law the per-round bound gives the number F of failed rounds before the first escape
    (at most Q rounds): each round fails with probability <= p given the past (:func:`round_failure_bound`
    holds conditionally: its ξ is fresh), so P(F >= k) <= p^k for k <= Q (F is stochastically
    dominated by a geometric law truncated at Q); k = Q is :func:`trapped_bound`."""
    if k <= 0:
        return 1.0
    if k > Q:
        return 0.0
    return float(round_failure) ** int(k)


def exact_round_failure(gamma, s, eta, T_th, r, R, dim, reference: str = "candidate",
                        iterations: int = 60) -> np.ndarray:
    """The exact oracle's round-failure probability *along the escape coordinate* (Δ = 0), for
    arrays of instances: the smallest |y_0| from which y_{t+1} = y_t + ηγ s sin(y_t/s) (exact GD
    on the cosine saddle's negative direction) reaches |y_t| >= R ('candidate') or |y_t − y_0| >= R
    ('perturbed') within T_th steps, found by bisection (the map is increasing, so trajectories
    are ordered in y_0), turned into P(|⟨ξ, v⟩| < y*) as in :func:`round_failure_bound`. The
    positive-curvature coordinates only add to the distance, so this is an upper bound on the
    true failure probability and sits below (candidate reading) the §8.3 bound, whose γ' is a
    lower bound on the growth: the difference is the bound's slack."""
    gamma, s, eta, r, R = (np.asarray(x, dtype=np.float64) for x in (gamma, s, eta, r, R))
    T = np.asarray(T_th, dtype=np.int64)
    dim = np.asarray(dim, dtype=np.int64)
    gamma, s, eta, r, R, T, dim = np.broadcast_arrays(gamma, s, eta, r, R, T, dim)
    lo, hi = np.zeros(gamma.shape), R.copy()

    def escapes(y0):
        y = y0.copy()
        out = np.zeros(y0.shape, dtype=bool)
        for t in range(1, int(T.max(initial=0)) + 1):
            y = y + eta * gamma * s * np.sin(y / s)
            reach = y if reference == "candidate" else y - y0
            out |= (reach >= R) & (t <= T)
        return out

    for _ in range(iterations):
        mid = (lo + hi) / 2
        ok = escapes(mid)
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    t = np.clip(hi / r, 0.0, 1.0)
    return betainc(0.5, (dim + 1) / 2.0, t * t)
