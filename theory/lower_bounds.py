"""The lower bounds as statements: the constructions of docs/paper.md §7 as SymPy formulas, their
symbolic checks, the thresholds and the probabilities they predict. The experiments that feed the
constructions to the project's algorithms and aggregators are in
:mod:`byzpgd.experiments.lower_bounds`; the claims in :mod:`byzpgd.theory.claims.lower_bounds`.

§7.1 (Observation 2, OWN proof): the random-phase cosine family
    F_θ(w) = Δ s cos((w_1 − θ)/s) + (L/2) Σ_{k>=2} w_k²,   s = √(Δ/ρ),
and the θ-free shared oracle ĝ(w) = (0, L w_2, …, L w_d), Δ-inexact for every θ. Any algorithm
fed ĝ returns w̃ independent of θ; for θ uniform over a period, φ = (w̃_1 − θ)/s is uniform, so
P(‖∇F_θ(w̃)‖ > Δ/2) >= P(|sin φ| > 1/2) = 2/3 and P(λ_min(∇²F_θ(w̃)) < −√(ρΔ)/2) >=
P(cos φ > 1/2) = 1/3. The deterministic pair F_± = (L/2)‖w‖² ± Δw_1 with shared oracle ĝ = Lw
forces max_± ‖∇F_±(w̃)‖ >= Δ. :class:`CosineFamily` carries the family with an amplitude factor a
and a scale factor b (F = aΔ·bs·cos((w_1 − θ)/(bs)); the paper's family is a = b = 1) so that a
wrong member (a = 1.01: the oracle error is 1.01Δ; b = 1/2: not ρ-Hessian-Lipschitz) can be fed to
the checks.

§7.2 (Observation 3, RECONSTRUCTED): the Gaussian location model f(w; z) = ½‖w − z‖²,
z ~ N(μ, σ²I_d); a normal worker's message (its mean gradient at w = 0, sign flipped) is
x̄_i ~ N(μ, τ²I), τ = σ/√n, and ‖∇F(w̃)‖ = ‖w̃ − μ‖, so any algorithm is an estimator of μ.
:class:`HuberShiftCoupling`: with P_A = N(μ, τ²I), P_B = N(μ + θe₁, τ²I), t = TV(P_A, P_B) and
M = max(p_A, p_B)/(1 + t), the Byzantine law Q_W = (M − (1 − α)P_W)/α is a probability measure
iff t <= α/(1 − α); each worker is Byzantine with probability α and then draws from Q_W, so every
message is i.i.d. M in both worlds: the worlds are indistinguishable and every estimator has
error >= θ/2 with probability >= 1/2 in one of them. θ = cατ with c = 2Φ^{-1}((1 + α/(1−α))/2)/α
>= √(2π) (TV <= θ/(τ√(2π))). The √(d/(nm)) term: with the prior μ ~ N(0, s²I) and honest
workers, the posterior of μ is N(·, vI), v = (1/s² + nm/σ²)^{-1}, and by Anderson's inequality
every estimator has P(‖μ̂ − μ‖ >= r) >= P(χ²_d >= r²/v) = 1/2 for r = √(v·median(χ²_d)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.special import ndtr, ndtri
from scipy.stats import chi2

from .prover import SubCheck, prove_identity, prove_nonneg
from .rates import LOWER_BOUND, alpha, m, n, sigma
from .symbols import L_F, Delta, d, rho_F

# ---------------------------------------------------------------------------------------------
# §7.1: the thresholds and the probabilities the random-phase family forces
# ---------------------------------------------------------------------------------------------
GRAD_LOWER = Delta / 2                          # no algorithm guarantees ‖∇F(w̃)‖ <= Δ/2
LAMBDA_LOWER = sp.sqrt(rho_F * Delta) / 2       # no algorithm guarantees λ_min >= −√(ρΔ)/2
FIRST_ORDER_FAILURE = sp.Rational(2, 3)         # P_θ(‖∇F_θ(w̃)‖ > Δ/2) >= 2/3
SECOND_ORDER_FAILURE = sp.Rational(1, 3)        # P_θ(λ_min < −√(ρΔ)/2) >= 1/3
JOINT_SUCCESS = sp.Rational(1, 6)               # both guarantees at once with probability <= 1/6
grad_lower = sp.lambdify((Delta,), GRAD_LOWER, "math")
lambda_lower = sp.lambdify((rho_F, Delta), LAMBDA_LOWER, "math")

W1, THETA, PHI = sp.symbols("w_1 theta phi", real=True)


@dataclass(frozen=True)
class CosineFamily:
    """F_θ(w) = aΔ·(b s)·cos((w_1 − θ)/(b s)) + (L/2)Σ_{k>=2} w_k², s = √(Δ/ρ) (docs/paper.md §7.1:
    a = b = 1). Its derivatives along w_1: −aΔ sin φ, −(a/b)√(ρΔ) cos φ, (a/b²)ρ sin φ."""

    amplitude: float = 1.0
    scale: float = 1.0

    @property
    def is_paper_family(self) -> bool:
        return self.amplitude == 1.0 and self.scale == 1.0

    def sympy_first_coordinate(self):
        """The w_1-part of F_θ as a SymPy expression in (w_1, θ, Δ, ρ_F)."""
        a, b = sp.nsimplify(self.amplitude), sp.nsimplify(self.scale)
        s = b * sp.sqrt(Delta / rho_F)
        return a * Delta * s * sp.cos((W1 - THETA) / s)

    def phase_scale(self, Delta, rho) -> float:
        """b·s = b√(Δ/ρ): w_1 − θ = b s φ."""
        return self.scale * math.sqrt(Delta / rho)

    def period(self, Delta, rho) -> float:
        return 2 * math.pi * self.phase_scale(Delta, rho)


def family_symbolic_checks(family: CosineFamily = CosineFamily()) -> list[SubCheck]:
    """SymPy: every member is ρ-Hessian-Lipschitz (sup |∂³_111 F| <= ρ; the Hessian is diagonal
    with only its (1,1) entry depending on w) and max(L, √(ρΔ))-smooth, the shared oracle is
    Δ-inexact for every θ (sup_φ |∂_1F| <= Δ) and θ-free, the failure sets have measure
    2/3, 1/3 (joint success 1/6) over a period, and F_± forces max ‖∇F_±‖ >= Δ
    (docs/paper.md §7.1)."""
    f1 = family.sympy_first_coordinate()
    s = sp.nsimplify(family.scale) * sp.sqrt(Delta / rho_F)
    d1, d2, d3 = (sp.simplify(sp.diff(f1, W1, k).subs({W1: THETA + s * PHI})) for k in (1, 2, 3))
    out = [
        prove_nonneg(rho_F - _sup_abs(d3), "hessian_lipschitz",
                     f"sup |d^3 F/dw_1^3| = sup |{sp.sstr(d3)}| <= rho: every member is "
                     "rho-Hessian-Lipschitz"),
        prove_nonneg(sp.sqrt(rho_F * Delta) - _sup_abs(d2), "smooth",
                     f"sup |d^2 F/dw_1^2| = sup |{sp.sstr(d2)}| <= sqrt(rho Delta): members are "
                     "max(L, sqrt(rho Delta))-smooth"),
        prove_nonneg(Delta - _sup_abs(d1), "oracle_inexact",
                     f"shared oracle error |dF/dw_1 - 0| = |{sp.sstr(d1)}| <= Delta for every theta"),
        prove_identity(sp.diff(sp.Matrix([0, L_F * sp.Symbol("w_2")]), THETA).norm(), sp.Integer(0),
                       "oracle_theta_free",
                       "the shared oracle (0, L w_2, ..., L w_d) does not depend on theta"),
    ]
    out += _failure_measures(family)
    y = sp.Symbol("y", positive=True)
    out.append(prove_nonneg((L_F * y + Delta) ** 2 - (L_F * y - Delta) ** 2, "pm_pair",
                            "F_+- = (L/2)|w|^2 +- Delta w_1 with shared oracle L w (error exactly Delta): "
                            "for |w_1| = y the sign matching w_1 gives |L y + Delta| >= |L y - Delta|, so "
                            "max_+- |dF_+-/dw_1| = L|w_1| + Delta >= Delta"))
    return out


def _sup_abs(expr):
    """sup over a period φ ∈ [0, 2π] of |expr|."""
    from sympy.calculus.util import maximum, minimum

    period = sp.Interval(0, 2 * sp.pi)
    return sp.simplify(sp.Max(maximum(expr, PHI, period), -minimum(expr, PHI, period)))


def _failure_measures(family: CosineFamily) -> list[SubCheck]:
    """The measures, over a period of φ, of the first-order failure set {a|sin φ| > 1/2}, the
    second-order failure set {(a/b) cos φ > 1/2} and of the joint success set."""
    period = sp.Interval.Ropen(0, 2 * sp.pi)
    a, b = sp.nsimplify(family.amplitude), sp.nsimplify(family.scale)
    first = sp.Union(sp.solveset(a * sp.sin(PHI) > sp.S.Half, PHI, period),
                     sp.solveset(a * sp.sin(PHI) < -sp.S.Half, PHI, period))
    second = sp.solveset((a / b) * sp.cos(PHI) > sp.S.Half, PHI, period)
    both_ok = sp.Complement(period, sp.Union(first, second))
    out = []
    for name, S_, p, at_least in (("first_order_measure", first, FIRST_ORDER_FAILURE, True),
                                  ("second_order_measure", second, SECOND_ORDER_FAILURE, True),
                                  ("joint_success_measure", both_ok, JOINT_SUCCESS, False)):
        measure = sp.simplify(S_.measure / (2 * sp.pi))
        ok = sp.simplify(measure - p) >= 0 if at_least else sp.simplify(p - measure) >= 0
        out.append(SubCheck(name, f"{name.replace('_', ' ')} over a period = {p} "
                            f"({'>=' if at_least else '<='} needed)",
                            "proved" if bool(ok) else "disproved", "solveset measure",
                            f"{sp.sstr(S_)}: measure/(2 pi) = {sp.sstr(measure)}"))
    return out


# ---------------------------------------------------------------------------------------------
# §7.2: the Gaussian location model, the Huber shift coupling and the Bayesian world
# ---------------------------------------------------------------------------------------------
WORLD_FAILURE = sp.S.Half       # some world has error >= its threshold with probability >= 1/2
PRIOR_SCALE2 = 100.0            # prior variance s² = 100 σ²/(nm) of the Bayesian world
# σ(α/√n + √(d/(nm))), the statistical lower bound's rate (docs/paper.md §6, §7.2)
statistical_rate = sp.lambdify((sigma, alpha, n, m, d), sigma * LOWER_BOUND, "math")


def coupling_c(alpha: float) -> float:
    """c(α) = θ√n/(ασ) for the largest admissible shift: TV(N(0,1), N(cα,1)) = 2Φ(cα/2) − 1
    = α/(1−α), i.e. c = 2Φ^{-1}((1 + α/(1−α))/2)/α (>= √(2π) since TV <= cα/√(2π))."""
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    return float(2 * ndtri(0.5 * (1 + alpha / (1 - alpha))) / alpha)


def posterior_variance(n: int, m: int, sigma: float) -> float:
    """v = (1/s² + nm/σ²)^{-1} with the prior variance s² = PRIOR_SCALE2·σ²/(nm)."""
    return 1.0 / (n * m / sigma**2 * (1 + 1 / PRIOR_SCALE2))


def anderson_radius(v: float, d: int) -> float:
    """r = √(v·median(χ²_d)): every estimator errs by >= r with probability >= 1/2."""
    return math.sqrt(v * chi2.ppf(0.5, d))


def tv_symbolic_checks() -> list[SubCheck]:
    """TV(N(0,1), N(h,1)) = erf(h/(2√2)) <= h/√(2π) (monotone: both vanish at 0 and the
    derivative of the difference is (1 − e^{−h²/8})/√(2π) >= 0), and the residual measure is
    nonnegative iff (1 − α)(1 + t) <= 1 ⇔ t <= α/(1 − α) (docs/paper.md §7.2)."""
    h, a, tt = sp.symbols("h alpha t", positive=True)
    tv = sp.erf(h / (2 * sp.sqrt(2)))
    out = [prove_nonneg(h / sp.sqrt(2 * sp.pi) - tv, "tv_bound",
                        "TV(N(0,1), N(h,1)) = erf(h/(2 sqrt 2)) <= h/sqrt(2 pi)")]
    # q_A >= 0 on {p_A >= p_B}: 1/(1+t) - (1 - alpha) >= 0 with t = alpha/(1-alpha) - slack
    s = sp.Symbol("slack", positive=True)
    a_ = a / (1 + a)                      # α in (0, 1) as a/(1+a)
    t_ = a_ / (1 - a_) / (1 + s)           # t < α/(1−α)
    out.append(prove_nonneg(sp.simplify(1 / (1 + t_) - (1 - a_)), "residual_nonnegative",
                            "t <= alpha/(1-alpha) => 1/(1+t) - (1-alpha) >= 0 (Byzantine law is a measure)"))
    out.append(prove_identity(((1 + tt) / (1 + tt) - (1 - a)) / a, sp.Integer(1), "residual_mass",
                              "Q_W = (M - (1-alpha) P_W)/alpha has mass 1, since int M = "
                              "int max(p_A, p_B)/(1+t) = 1"))
    return out


class HuberShiftCoupling:
    """The Byzantine shift of docs/paper.md §7.2 along e₁, in units of τ (shift h = θ/τ): the
    laws P_A, P_B, their mixture M and the Byzantine laws Q_A, Q_B as densities.

    ``valid`` iff t = TV(N(0,1), N(h,1)) <= α/(1 − α); an invalid coupling (θ too large) can be
    built with ``check=False`` for the able-to-fail tests: then Q_W is not a measure."""

    def __init__(self, alpha: float, h: float, check: bool = True):
        if not 0 < alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
        if not h > 0:
            raise ValueError(f"h must be > 0, got {h}")
        self.alpha, self.h = float(alpha), float(h)
        self.t = float(2 * ndtr(h / 2) - 1)
        self.valid = self.t <= alpha / (1 - alpha) * (1 + 1e-12)
        if check and not self.valid:
            raise ValueError(f"shift h = {h} too large: TV {self.t:.4g} > alpha/(1-alpha) = "
                             f"{alpha / (1 - alpha):.4g}")

    @classmethod
    def largest(cls, alpha):
        return cls(alpha, coupling_c(alpha) * alpha)

    @staticmethod
    def _phi(x):
        return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def densities(self, x):
        """(p_A, p_B, m, q_A, q_B) at points x (first coordinate, units of τ, μ_A = 0)."""
        pa, pb = self._phi(x), self._phi(x - self.h)
        mm = np.maximum(pa, pb) / (1 + self.t)
        qa = (mm - (1 - self.alpha) * pa) / self.alpha
        qb = (mm - (1 - self.alpha) * pb) / self.alpha
        return pa, pb, mm, qa, qb

    def mixture_gap(self, x) -> float:
        """max over x of |(1−α)p_A + αq_A − (1−α)p_B − αq_B|: 0 when both worlds' messages have
        the law M (the indistinguishability the bound rests on)."""
        pa, pb, _, qa, qb = self.densities(x)
        return float(np.max(np.abs((1 - self.alpha) * pa + self.alpha * qa
                                   - (1 - self.alpha) * pb - self.alpha * qb)))
