"""The lower bounds as executable constructions (docs/paper.md §7).

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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.special import ndtr, ndtri
from scipy.stats import chi2

from ..algorithms import byzantine_pgd, exact_pgd, robust_gd
from ..oracles.landscapes.base import Landscape
from ..oracles.landscapes.random_phase import RandomPhaseCosine
from .parameter_checks import SubCheck, prove_identity, prove_nonneg

FAILURE_PROBABILITY = 0.1       # δ given to the algorithms that need one
MAX_CALLS = 200_000             # the lower bound holds for any output, finished or not

# ---------------------------------------------------------------------------------------------
# §7.1: the random-phase cosine family
# ---------------------------------------------------------------------------------------------
_w1, _th = sp.symbols("w_1 theta", real=True)
_phi = sp.Symbol("phi", real=True)
_D, _rho, _L = sp.symbols("Delta rho L", positive=True)


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
        """The w_1-part of F_θ as a SymPy expression in (w_1, θ, Δ, ρ)."""
        a, b = sp.nsimplify(self.amplitude), sp.nsimplify(self.scale)
        s = b * sp.sqrt(_D / _rho)
        return a * _D * s * sp.cos((_w1 - _th) / s)

    def period(self, Delta, rho) -> float:
        return 2 * math.pi * self.scale * math.sqrt(Delta / rho)

    def member(self, dim, Delta, rho, L, theta) -> Landscape:
        return RandomPhaseCosine(dim, Delta, rho, L, theta, amplitude=self.amplitude, scale=self.scale)


def family_symbolic_checks(family: CosineFamily = CosineFamily()) -> list[SubCheck]:
    """SymPy: every member is ρ-Hessian-Lipschitz (sup |∂³_111 F| <= ρ; the Hessian is diagonal
    with only its (1,1) entry depending on w) and max(L, √(ρΔ))-smooth, the shared oracle is
    Δ-inexact for every θ (sup_φ |∂_1F| <= Δ) and θ-free, and the failure sets have measure
    2/3, 1/3 (joint success 1/6) over a period (docs/paper.md §7.1)."""
    from sympy.calculus.util import maximum, minimum

    f1 = family.sympy_first_coordinate()
    s = sp.nsimplify(family.scale) * sp.sqrt(_D / _rho)
    to_phi = {_w1: _th + s * _phi}
    d1, d2, d3 = (sp.simplify(sp.diff(f1, _w1, k).subs(to_phi)) for k in (1, 2, 3))
    I = sp.Interval(0, 2 * sp.pi)
    out = []

    def sup_abs(expr):
        return sp.simplify(sp.Max(maximum(expr, _phi, I), -minimum(expr, _phi, I)))

    out.append(prove_nonneg(_rho - sup_abs(d3), "hessian_lipschitz",
                            f"sup |d^3 F/dw_1^3| = sup |{sp.sstr(d3)}| <= rho: every member is "
                            "rho-Hessian-Lipschitz"))
    out.append(prove_nonneg(sp.sqrt(_rho * _D) - sup_abs(d2), "smooth",
                            f"sup |d^2 F/dw_1^2| = sup |{sp.sstr(d2)}| <= sqrt(rho Delta): members are "
                            "max(L, sqrt(rho Delta))-smooth"))
    out.append(prove_nonneg(_D - sup_abs(d1), "oracle_inexact",
                            f"shared oracle error |dF/dw_1 - 0| = |{sp.sstr(d1)}| <= Delta for every theta"))
    oracle = sp.Matrix([0, _L * sp.Symbol("w_2")])
    out.append(prove_identity(sp.diff(oracle, _th).norm(), sp.Integer(0), "oracle_theta_free",
                              "the shared oracle (0, L w_2, ..., L w_d) does not depend on theta"))
    Iper = sp.Interval.Ropen(0, 2 * sp.pi)
    a = sp.nsimplify(family.amplitude)
    b = sp.nsimplify(family.scale)
    first = sp.Union(sp.solveset(a * sp.sin(_phi) > sp.S.Half, _phi, Iper),
                     sp.solveset(a * sp.sin(_phi) < -sp.S.Half, _phi, Iper))
    second = sp.solveset((a / b) * sp.cos(_phi) > sp.S.Half, _phi, Iper)
    both_ok = sp.Complement(Iper, sp.Union(first, second))
    for name, S_, p in (("first_order_measure", first, sp.Rational(2, 3)),
                        ("second_order_measure", second, sp.Rational(1, 3)),
                        ("joint_success_measure", both_ok, sp.Rational(1, 6))):
        measure = sp.simplify(S_.measure / (2 * sp.pi))
        ok = sp.simplify(p - measure) >= 0 if name == "joint_success_measure" else \
            sp.simplify(measure - p) >= 0
        out.append(SubCheck(name, f"{name.replace('_', ' ')} over a period = {p} "
                            f"({'<=' if name.startswith('joint') else '>='} needed)",
                            "proved" if bool(ok) else "disproved", "solveset measure",
                            f"{sp.sstr(S_)}: measure/(2 pi) = {sp.sstr(measure)}"))
    # F_± pair: oracle error exactly Δ; max_± |L w_1 ± Δ| = L|w_1| + Δ >= Δ
    y = sp.Symbol("y", positive=True)
    out.append(prove_nonneg((_L * y + _D) ** 2 - (_L * y - _D) ** 2, "pm_pair",
                            "F_+- = (L/2)|w|^2 +- Delta w_1 with shared oracle L w (error exactly Delta): "
                            "for |w_1| = y the sign matching w_1 gives |L y + Delta| >= |L y - Delta|, so "
                            "max_+- |dF_+-/dw_1| = L|w_1| + Delta >= Delta"))
    return out


# ---------------------------------------------------------------------------------------------
# the shared oracles and the algorithm registry
# ---------------------------------------------------------------------------------------------
class _FamilyView:
    """What an algorithm may know about the family: dimension, L_F, ρ_F, inf F and the θ-free
    envelope sup_θ F_θ(w) as its 'value' (used only to size F_0 − F*). No gradient."""

    def __init__(self, dim, L, rho, f_star, envelope):
        self.dim, self.L, self.rho, self.f_star, self._env = dim, L, rho, f_star, envelope

    def value(self, w):
        return float(self._env(np.asarray(w, dtype=np.float64)))


class SharedOracle:
    """The θ-free oracle of a lower-bound construction. ``kind='phase'``: ĝ(w) = (0, L w_2, …)
    for the cosine family; ``kind='pm'``: ĝ(w) = L w for F_±. Records every query point."""

    batchable = True

    def __init__(self, kind, dim, Delta, rho, L, family: CosineFamily = CosineFamily()):
        self.kind, self.delta, self.L_quad = kind, float(Delta), float(L)
        self.queries: list[np.ndarray] = []
        a, b = family.amplitude, family.scale
        if kind == "phase":
            amp = a * Delta * b * math.sqrt(Delta / rho)
            self.landscape = _FamilyView(dim, max(L, a / b * math.sqrt(rho * Delta)), a / b**2 * rho, -amp,
                                         lambda w: amp + 0.5 * L * float(w[1:] @ w[1:]))
        elif kind == "pm":
            self.landscape = _FamilyView(dim, L, rho, -Delta**2 / (2 * L),
                                         lambda w: 0.5 * L * float(w @ w) + Delta * abs(w[0]))
        else:
            raise ValueError(f"kind must be 'phase' or 'pm', got {kind!r}")

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        self.queries.append(np.atleast_2d(w).copy())
        gr = self.L_quad * w
        if self.kind == "phase":
            gr[..., 0] = 0.0
        return gr

    def notify(self, event, **data):
        pass

    def query_points(self) -> np.ndarray:
        return np.concatenate(self.queries) if self.queries else np.zeros((0, self.landscape.dim))


class _BelievedExact:
    """Exact-oracle PGD (Theorem 2) treats its oracle as exact: it gets the shared answers."""

    batchable = True

    def __init__(self, oracle):
        self.oracle, self.landscape, self.delta = oracle, oracle.landscape, 0.0

    def __call__(self, w):
        return self.oracle(w)

    def notify(self, event, **data):
        pass


Runner = Callable[[object, np.ndarray, np.random.Generator], object]
ALGORITHM_RUNNERS: dict[str, Runner] = {}


def register_algorithm(name: str):
    """Decorator: ``runner(oracle, w0, rng) -> OptimizeResult`` runs an algorithm of the project
    on a Δ-inexact oracle (attributes ``landscape``, ``delta``). Every registered runner is
    checked against the optimization lower bound."""
    def deco(fn):
        if name in ALGORITHM_RUNNERS:
            raise ValueError(f"algorithm {name!r} is already registered")
        ALGORITHM_RUNNERS[name] = fn
        return fn
    return deco


@register_algorithm("byzantine_pgd")
def _run_bpgd(oracle, w0, rng):
    return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, max_oracle_calls=MAX_CALLS)


@register_algorithm("exact_pgd")
def _run_exact(oracle, w0, rng):
    land = oracle.landscape
    eps = min(oracle.delta, land.L**2 / (16 * land.rho))
    return exact_pgd(_BelievedExact(oracle), w0, rng, epsilon=eps, delta=FAILURE_PROBABILITY,
                     max_oracle_calls=MAX_CALLS)


@register_algorithm("robust_gd")
def _run_robust_gd(oracle, w0, rng):
    return robust_gd(oracle, w0, max_oracle_calls=MAX_CALLS)


# ---------------------------------------------------------------------------------------------
# one executable trial of the optimization lower bound
# ---------------------------------------------------------------------------------------------
@dataclass
class OptTrial:
    algorithm: str
    spec: dict
    grad_norm_random: float        # ‖∇F_θ(w̃)‖ at the random θ
    lambda_min_random: float       # λ_min(∇²F_θ(w̃)) at the random θ
    first_order_fail: bool         # ‖∇F_θ(w̃)‖ > Δ/2
    second_order_fail: bool        # λ_min < −√(ρΔ)/2
    constructed_first_fail: bool   # the member θ = w̃_1 − (π/2)bs: ‖∇F‖ > Δ/2
    constructed_second_fail: bool  # the member θ = w̃_1: λ_min < −√(ρΔ)/2
    max_oracle_error_ratio: float  # max over members used and queries of ‖ĝ − ∇F‖/Δ
    hessian_lipschitz_ratio: float  # observed |Δh_11|/(ρ|Δw_1|) near w̃ on the constructed member
    pm_max_grad: float             # max_± ‖∇F_±(w̃_pm)‖ / Δ for the F_± run


_EPS = np.finfo(np.float64).eps


def _oracle_error_ratio(member, oracle_answers, pts, Delta):
    """max ‖ĝ − ∇F‖/Δ over the points, less the rounding allowance 4·eps·(‖ĝ‖ + ‖∇F‖) of
    :class:`byzpgd.oracles.inexact.CertifiedOracle`."""
    if len(pts) == 0:
        return 0.0
    true = member.grad(pts)
    err = np.linalg.norm(oracle_answers - true, axis=1)
    allow = 4 * _EPS * (np.linalg.norm(oracle_answers, axis=1) + np.linalg.norm(true, axis=1))
    return float(np.max(np.maximum(err - allow, 0.0)) / Delta)


def _hl_ratio(member, w, rho):
    """Largest |h_11(x) − h_11(y)|/(ρ|x − y|) over short steps around the steepest phase."""
    base = np.array(w, dtype=np.float64)
    s = member.s
    x0 = member.theta + s * np.pi / 2          # |∂³F| is largest at φ = π/2
    hs = np.array([1e-3, 1e-2, 1e-1]) * s
    out = 0.0
    for h in hs:
        p, q = base.copy(), base.copy()
        p[0], q[0] = x0 - h / 2, x0 + h / 2
        out = max(out, abs(member.hess_diag(p)[0] - member.hess_diag(q)[0]) / (rho * h))
    return float(out)


class _PM:
    """F_± = (L/2)‖w‖² ± Δw_1 (gradient only)."""

    def __init__(self, L, shift):
        self.L, self.shift = L, shift

    def grad(self, w):
        return self.L * np.asarray(w, dtype=np.float64) + self.shift


def optimization_trial(algorithm: str, runner: Runner, spec: dict, rng_alg: np.random.Generator,
                       rng_theta: np.random.Generator, family: CosineFamily = CosineFamily()) -> OptTrial:
    """Run ``runner`` on the shared oracle, then draw θ and build the violating members.
    ``spec``: dim, Delta, rho, L and the start w0 (a list)."""
    from .certify import certify

    dim, Delta, rho, L = spec["dim"], spec["Delta"], spec["rho"], spec["L"]
    w0 = np.asarray(spec["w0"], dtype=np.float64)
    oracle = SharedOracle("phase", dim, Delta, rho, L, family)
    res = runner(oracle, w0.copy(), rng_alg)
    w = np.asarray(res.w, dtype=np.float64)
    pts = np.vstack([oracle.query_points(), w[None, :]])
    answers = L * pts
    answers[:, 0] = 0.0
    theta = rng_theta.uniform(0.0, family.period(Delta, rho))      # drawn after the run
    bs = family.scale * math.sqrt(Delta / rho)
    members = {"random": family.member(dim, Delta, rho, L, theta),
               "first": family.member(dim, Delta, rho, L, w[0] - bs * math.pi / 2),
               "second": family.member(dim, Delta, rho, L, w[0])}
    certs = {k: certify(m_, w) for k, m_ in members.items()}
    err_ratio = max(_oracle_error_ratio(m_, answers, pts, Delta) for m_ in members.values())
    thr2 = -math.sqrt(rho * Delta) / 2
    # F_± run
    pm = SharedOracle("pm", dim, Delta, rho, L)
    res_pm = runner(pm, w0.copy(), rng_alg)
    wp = np.asarray(res_pm.w, dtype=np.float64)
    e1 = np.zeros(dim)
    e1[0] = Delta
    pm_max = max(np.linalg.norm(L * wp + e1), np.linalg.norm(L * wp - e1)) / Delta
    pm_pts = np.vstack([pm.query_points(), wp[None, :]])
    pm_err = max(_oracle_error_ratio(_PM(L, sg * e1), L * pm_pts, pm_pts, Delta) for sg in (1, -1))
    return OptTrial(algorithm, spec, certs["random"].grad_norm, certs["random"].lambda_min,
                    certs["random"].grad_norm > Delta / 2, certs["random"].lambda_min < thr2,
                    certs["first"].grad_norm > Delta / 2, certs["second"].lambda_min < thr2,
                    max(err_ratio, float(pm_err)), _hl_ratio(members["second"], w, rho), float(pm_max))


def sample_opt_spec(rng: np.random.Generator) -> dict:
    """An instance of the optimization lower bound: d in 1..6, Δ log-uniform in [1e-7, 1e-4]
    (so r <= R for ByzantinePGD), ρ, L log-uniform in [0.5, 2], a Gaussian start."""
    dim = int(rng.integers(1, 7))
    return {"dim": dim, "Delta": float(10 ** rng.uniform(-7, -4)), "rho": float(2 ** rng.uniform(-1, 1)),
            "L": float(2 ** rng.uniform(-1, 1)), "w0": rng.standard_normal(dim).tolist()}


# ---------------------------------------------------------------------------------------------
# §7.2: the Gaussian location model and the Huber shift coupling
# ---------------------------------------------------------------------------------------------
def coupling_c(alpha: float) -> float:
    """c(α) = θ√n/(ασ) for the largest admissible shift: TV(N(0,1), N(cα,1)) = 2Φ(cα/2) − 1
    = α/(1−α), i.e. c = 2Φ^{-1}((1 + α/(1−α))/2)/α (>= √(2π) since TV <= cα/√(2π))."""
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
    return float(2 * ndtri(0.5 * (1 + alpha / (1 - alpha))) / alpha)


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
    """The Byzantine shift attack of docs/paper.md §7.2 along e₁, in units of τ (shift h = θ/τ).

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

    def sample_byzantine(self, world: str, k: int, rng: np.random.Generator) -> np.ndarray:
        """k draws from Q_world (first coordinate) by rejection from (p_A + p_B)/2: accept with
        probability q_W/(K·(p_A+p_B)/2), K = 2/(α(1+t)) (q_W <= max(p_A,p_B)/(α(1+t)))."""
        out = np.empty(0)
        while out.size < k:
            n_prop = max(64, int(2.5 * (k - out.size) / (self.alpha * (1 + self.t) / 2)))
            comp = rng.random(n_prop) < 0.5
            x = rng.standard_normal(n_prop) + np.where(comp, self.h, 0.0)
            pa, pb, _, qa, qb = self.densities(x)
            q = qa if world == "A" else qb
            acc = rng.random(n_prop) * (pa + pb) / (self.alpha * (1 + self.t)) < np.maximum(q, 0.0)
            out = np.concatenate([out, x[acc]])
        return out[:k]

    def sample_messages(self, world: str, m: int, d: int, mu0: np.ndarray, tau: float,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """m worker messages in world A (mean μ0) or B (mean μ0 + θe₁): worker i is Byzantine
        with probability α and then draws from Q_world; returns (X (m, d), byzantine mask)."""
        if world not in ("A", "B"):
            raise ValueError(f"world must be 'A' or 'B', got {world!r}")
        byz = rng.random(m) < self.alpha
        Z = rng.standard_normal((m, d))
        if world == "B":
            Z[~byz, 0] += self.h
        nb = int(byz.sum())
        if nb:
            Z[byz, 0] = self.sample_byzantine(world, nb, rng)
        return mu0 + tau * Z, byz


@dataclass
class StatInstance:
    m: int
    n: int
    d: int
    alpha: float
    sigma: float

    @property
    def tau(self) -> float:
        return self.sigma / math.sqrt(self.n)

    @property
    def f(self) -> int:
        return max(1, int(math.floor(self.alpha * self.m)))

    def lower_rate(self) -> float:
        return self.sigma * (self.alpha / math.sqrt(self.n) + math.sqrt(self.d / (self.n * self.m)))


def sample_stat_instance(rng: np.random.Generator) -> StatInstance:
    """m in [25, 60], n log-uniform in [1, 200], d in [1, 20], α in [0.02, 0.2], σ in [0.1, 10]."""
    return StatInstance(m=int(rng.integers(25, 61)), n=int(round(10 ** rng.uniform(0, math.log10(200)))),
                        d=int(rng.integers(1, 21)), alpha=float(rng.uniform(0.02, 0.2)),
                        sigma=float(10 ** rng.uniform(-1, 1)))


PRIOR_SCALE2 = 100.0   # prior variance s² = 100 σ²/(nm) of the Bayesian world


def default_make_aggregator(name: str, m: int, f: int, mu: np.ndarray):
    """The registry's aggregator (μ is ignored: a legitimate aggregator never sees it)."""
    from ..algorithms.aggregators import make
    return make(name, m, f)


@dataclass
class StatTrial:
    """Errors of one aggregator in the three worlds of one instance."""

    err_A: float
    err_B: float
    err_C: float
    thr_AB: float        # θ/2
    thr_C: float         # r = √(v·median χ²_d)
    rate: float          # σ(α/√n + √(d/(nm)))


def statistical_worlds(inst: StatInstance, rng: np.random.Generator) -> dict:
    """Simulate the three worlds of one instance once (shared by every aggregator)."""
    coup = HuberShiftCoupling.largest(inst.alpha)
    theta = coup.h * inst.tau
    mu0 = rng.standard_normal(inst.d) * inst.sigma
    XA, _ = coup.sample_messages("A", inst.m, inst.d, mu0, inst.tau, rng)
    XB, _ = coup.sample_messages("B", inst.m, inst.d, mu0, inst.tau, rng)
    muB = mu0.copy()
    muB[0] += theta
    v_post = 1.0 / (inst.n * inst.m / inst.sigma**2 * (1 + 1 / PRIOR_SCALE2))
    s = math.sqrt(PRIOR_SCALE2 * inst.sigma**2 / (inst.n * inst.m))
    muC = rng.standard_normal(inst.d) * s
    XC = muC + inst.tau * rng.standard_normal((inst.m, inst.d))
    return {"coupling": coup, "theta": theta, "A": (XA, mu0), "B": (XB, muB), "C": (XC, muC),
            "thr_C": math.sqrt(v_post * chi2.ppf(0.5, inst.d))}


def statistical_trial(name: str, inst: StatInstance, worlds: dict, make_aggregator=None) -> StatTrial:
    make_aggregator = make_aggregator or default_make_aggregator
    errs = {}
    for w in ("A", "B", "C"):
        X, mu = worlds[w]
        agg = make_aggregator(name, inst.m, inst.f, mu)
        out = np.asarray(agg(X.copy()), dtype=np.float64)
        e = float(np.linalg.norm(out - mu))
        errs[w] = e if math.isfinite(e) else math.inf
    return StatTrial(errs["A"], errs["B"], errs["C"], worlds["theta"] / 2, worlds["thr_C"], inst.lower_rate())
