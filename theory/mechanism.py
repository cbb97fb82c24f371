"""The mechanism of the proofs, as bounds computable at an instance's values (docs/paper.md §8):
what one inexact gradient step must decrease (§8.1), and how likely one perturbation round is to
fail to leave a strict saddle (§8.3, made exact on the cosine saddle of §7.1's family). These
are the bounds of the OWN "mechanism" claims, which see every parameter of ByzantinePGD at
practical Δ where the theorems' own bounds are vacuous (docs/paper.md §10.1).

Statements only: nothing here runs an algorithm.
"""

from __future__ import annotations

import math

from scipy.special import betainc


def descent_required(g_norm: float, Delta: float, L: float) -> float:
    """§8.1 (inexact descent): for η = 1/L_F and ‖ĝ − ∇F‖ <= Δ, one step w⁺ = w − ηĝ has
    F(w) − F(w⁺) >= (1/L)‖ĝ‖(‖ĝ‖/2 − Δ). Returns that guaranteed decrease (may be negative,
    when ‖ĝ‖ < 2Δ: then the lemma guarantees nothing beyond an increase of at most Δ²/(2L))."""
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


def round_failure_bound(*, Delta: float, gamma: float, s: float, eta: float, T_th: int, r: float,
                        R: float, dim: int) -> float:
    """§8.3 on the cosine saddle: the probability that one perturbation round from the saddle
    (ξ uniform in B(r), then T_th steps, escape when ‖u − w̃‖ >= R) fails to escape, for every
    Δ-inexact oracle, adaptive or not: at most P(|⟨ξ, v⟩| < escape_threshold) (the other
    coordinates can only add to ‖u − w̃‖). 1.0 when R >= s (the bound does not apply)."""
    if not (r > 0 and R < s):
        return 1.0
    g_eff = cosine_growth_curvature(gamma, s, R)
    return ball_coordinate_cdf(escape_threshold(Delta, g_eff, eta, T_th, R) / r, dim)


def trapped_bound(round_failure: float, Q: int) -> float:
    """The Q rounds draw independent ξ: P(all Q rounds fail) <= round_failure^Q."""
    return float(round_failure) ** int(Q)
