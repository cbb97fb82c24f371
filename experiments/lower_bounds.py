"""The lower-bound constructions of docs/paper.md §7 run against the project's algorithms and
aggregators (the statements are in :mod:`byzpgd.theory.lower_bounds`, the checks in
:mod:`byzpgd.properties.suites.lower_bounds`).

§7.1: every algorithm of :data:`ALGORITHM_RUNNERS` runs on the θ-free shared oracle of the
random-phase family (and of the pair F_±); θ is drawn after the run and the output is certified
on the members the construction names (:func:`optimization_trial`).
§7.2: one aggregator on the three worlds of one instance of the Gaussian location model: the
coupled worlds A, B (Huber shift) and the Bayesian world C (:func:`statistical_trial`).

Budgets: the lower bounds hold for *any* output, finished or not, so a run's call cap
(``CALL_CAPS['lower_bounds']``) and wall-clock guard only bound the cost of a trial (a run that
never settles is checked at the point where it stopped).

An instance is a JSON-able spec carrying (seed, key, index): every random choice comes from
``byzpgd.seeding.instance_rng(seed, key, index, stream)``, so a spec replays its run alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..algorithms import byzantine_pgd, exact_pgd, robust_gd
from ..algorithms.aggregators import AGGREGATORS, make
from ..oracles.landscapes.random_phase import RandomPhaseCosine
from ..seeding import instance_rng
from ..theory import lower_bounds as lb
from ..theory.certify import certify
from .budget import CALL_CAPS, FAILURE_PROBABILITY, INSTANCE_SECONDS

MAX_CALLS = CALL_CAPS["lower_bounds"]
PAPER_FAMILY = lb.CosineFamily()        # a = b = 1: the family of docs/paper.md §7.1
_EPS = np.finfo(np.float64).eps


def member(family: lb.CosineFamily, dim, Delta, rho, L, theta) -> RandomPhaseCosine:
    """The member F_θ of ``family`` as a landscape (certified ρ_F = (a/b²)ρ, L_F = max(L, (a/b)√(ρΔ)))."""
    return RandomPhaseCosine(dim, Delta, rho, L, theta, amplitude=family.amplitude, scale=family.scale)


# ---------------------------------------------------------------------------------------------
# §7.1: the shared oracles and the algorithm registry
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

    def __init__(self, kind, dim, Delta, rho, L, family: lb.CosineFamily = PAPER_FAMILY):
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

    def answer(self, pts: np.ndarray) -> np.ndarray:
        """ĝ at the points (rows), without recording them."""
        gr = self.L_quad * np.asarray(pts, dtype=np.float64)
        if self.kind == "phase":
            gr[..., 0] = 0.0
        return gr

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        self.queries.append(np.atleast_2d(w).copy())
        return self.answer(w)

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
    return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, max_oracle_calls=MAX_CALLS,
                         max_seconds=INSTANCE_SECONDS)


@register_algorithm("exact_pgd")
def _run_exact(oracle, w0, rng):
    land = oracle.landscape
    eps = min(oracle.delta, land.L**2 / (16 * land.rho))
    return exact_pgd(_BelievedExact(oracle), w0, rng, epsilon=eps, delta=FAILURE_PROBABILITY,
                     max_oracle_calls=MAX_CALLS, max_seconds=INSTANCE_SECONDS)


@register_algorithm("robust_gd")
def _run_robust_gd(oracle, w0, rng):
    return robust_gd(oracle, w0, max_oracle_calls=MAX_CALLS, max_seconds=INSTANCE_SECONDS)


# ---------------------------------------------------------------------------------------------
# §7.1: one executable trial of the optimization lower bound
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptTrial:
    """One run on the shared oracle, certified on the members the construction names."""

    algorithm: str
    grad_norm_random: float        # ‖∇F_θ(w̃)‖ at the random θ
    lambda_min_random: float       # λ_min(∇²F_θ(w̃)) at the random θ
    first_order_fail: bool         # ‖∇F_θ(w̃)‖ > Δ/2
    second_order_fail: bool        # λ_min < −√(ρΔ)/2
    constructed_first_fail: bool   # the member θ = w̃_1 − (π/2)bs: ‖∇F‖ > Δ/2
    constructed_second_fail: bool  # the member θ = w̃_1: λ_min < −√(ρΔ)/2
    max_oracle_error_ratio: float  # max over members used and queries of ‖ĝ − ∇F‖/Δ
    hessian_lipschitz_ratio: float  # observed |Δh_11|/(ρ|Δw_1|) near w̃ on the constructed member
    pm_max_grad: float             # max_± ‖∇F_±(w̃_pm)‖ / Δ for the F_± run


def optimization_specs(key: str, algorithm: str, count: int, seed: int) -> list[dict]:
    """``count`` instances of the optimization lower bound for ``algorithm``; instance i is drawn
    from ``instance_rng(seed, key, i, 0)`` (``key``: claim id and algorithm, 'id/algorithm')."""
    return [{"algorithm": algorithm, "seed": seed, "key": key, "index": i,
             **sample_opt_instance(instance_rng(seed, key, i, 0))} for i in range(count)]


def sample_opt_instance(rng: np.random.Generator) -> dict:
    """d in 1..6, Δ log-uniform in [1e-7, 1e-4] (so r <= R for ByzantinePGD), ρ, L log-uniform in
    [0.5, 2], a Gaussian start w0."""
    dim = int(rng.integers(1, 7))
    return {"dim": dim, "Delta": float(10 ** rng.uniform(-7, -4)), "rho": float(2 ** rng.uniform(-1, 1)),
            "L": float(2 ** rng.uniform(-1, 1)), "w0": rng.standard_normal(dim).tolist()}


def _oracle_error_ratio(grad, answers, pts, Delta):
    """max ‖ĝ − ∇F‖/Δ over the points, less the rounding allowance 4·eps·(‖ĝ‖ + ‖∇F‖) of
    :class:`byzpgd.oracles.inexact.CertifiedOracle`."""
    if len(pts) == 0:
        return 0.0
    true = grad(pts)
    err = np.linalg.norm(answers - true, axis=1)
    allow = 4 * _EPS * (np.linalg.norm(answers, axis=1) + np.linalg.norm(true, axis=1))
    return float(np.max(np.maximum(err - allow, 0.0)) / Delta)


def _hl_ratio(land: RandomPhaseCosine, w, rho):
    """Largest |h_11(x) − h_11(y)|/(ρ|x − y|) over short steps around the steepest phase."""
    base = np.array(w, dtype=np.float64)
    x0 = land.theta + land.s * np.pi / 2          # |∂³F| is largest at φ = π/2
    out = 0.0
    for h in np.array([1e-3, 1e-2, 1e-1]) * land.s:
        p, q = base.copy(), base.copy()
        p[0], q[0] = x0 - h / 2, x0 + h / 2
        out = max(out, abs(land.hess_diag(p)[0] - land.hess_diag(q)[0]) / (rho * h))
    return float(out)


def _pm_run(runner: Runner, spec: dict, w0, rng) -> tuple[float, float]:
    """The F_± run: (max_± ‖∇F_±(w̃)‖/Δ, the shared oracle's largest error ratio)."""
    dim, Delta, L = spec["dim"], spec["Delta"], spec["L"]
    pm = SharedOracle("pm", dim, Delta, spec["rho"], L)
    wp = np.asarray(runner(pm, w0.copy(), rng).w, dtype=np.float64)
    e1 = np.zeros(dim)
    e1[0] = Delta
    pm_max = max(np.linalg.norm(L * wp + e1), np.linalg.norm(L * wp - e1)) / Delta
    pts = np.vstack([pm.query_points(), wp[None, :]])
    err = max(_oracle_error_ratio(lambda x, sg=sg: L * x + sg * e1, L * pts, pts, Delta) for sg in (1, -1))
    return float(pm_max), float(err)


def optimization_trial(spec: dict, runners: dict[str, Runner] | None = None,
                       family: lb.CosineFamily = PAPER_FAMILY) -> OptTrial:
    """Run the spec's algorithm on the shared oracle, then draw θ and build the violating members
    (docs/paper.md §7.1). ``spec``: see :func:`optimization_specs`; streams 1 (the algorithm) and
    2 (θ, drawn after the run) of its instance."""
    runner = (ALGORITHM_RUNNERS if runners is None else runners)[spec["algorithm"]]
    rng_alg = instance_rng(spec["seed"], spec["key"], spec["index"], 1)
    rng_theta = instance_rng(spec["seed"], spec["key"], spec["index"], 2)
    dim, Delta, rho, L = spec["dim"], spec["Delta"], spec["rho"], spec["L"]
    w0 = np.asarray(spec["w0"], dtype=np.float64)
    oracle = SharedOracle("phase", dim, Delta, rho, L, family)
    w = np.asarray(runner(oracle, w0.copy(), rng_alg).w, dtype=np.float64)
    pts = np.vstack([oracle.query_points(), w[None, :]])
    theta = rng_theta.uniform(0.0, family.period(Delta, rho))      # drawn after the run
    bs = family.phase_scale(Delta, rho)
    members = {"random": member(family, dim, Delta, rho, L, theta),
               "first": member(family, dim, Delta, rho, L, w[0] - bs * math.pi / 2),
               "second": member(family, dim, Delta, rho, L, w[0])}
    certs = {k: certify(m_, w) for k, m_ in members.items()}
    err_ratio = max(_oracle_error_ratio(m_.grad, oracle.answer(pts), pts, Delta) for m_ in members.values())
    pm_max, pm_err = _pm_run(runner, spec, w0, rng_alg)
    thr1, thr2 = lb.grad_lower(Delta), -lb.lambda_lower(rho, Delta)
    return OptTrial(spec["algorithm"], certs["random"].grad_norm, certs["random"].lambda_min,
                    certs["random"].grad_norm > thr1, certs["random"].lambda_min < thr2,
                    certs["first"].grad_norm > thr1, certs["second"].lambda_min < thr2,
                    max(err_ratio, pm_err), _hl_ratio(members["second"], w, rho), pm_max)


# ---------------------------------------------------------------------------------------------
# §7.2: the Gaussian location model
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatInstance:
    """m workers, n samples each, dimension d, Byzantine probability α, noise scale σ."""

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
        """The number of Byzantine workers an aggregator is told to tolerate."""
        return max(1, int(math.floor(self.alpha * self.m)))

    def lower_rate(self) -> float:
        return lb.statistical_rate(self.sigma, self.alpha, self.n, self.m, self.d)


def sample_stat_instance(rng: np.random.Generator) -> StatInstance:
    """m in [25, 60], n log-uniform in [1, 200], d in [1, 20], α in [0.02, 0.2], σ in [0.1, 10]."""
    return StatInstance(m=int(rng.integers(25, 61)), n=int(round(10 ** rng.uniform(0, math.log10(200)))),
                        d=int(rng.integers(1, 21)), alpha=float(rng.uniform(0.02, 0.2)),
                        sigma=float(10 ** rng.uniform(-1, 1)))


def sample_byzantine(coup: lb.HuberShiftCoupling, world: str, k: int,
                     rng: np.random.Generator) -> np.ndarray:
    """k draws from Q_world (first coordinate) by rejection from (p_A + p_B)/2: accept with
    probability q_W/(K·(p_A+p_B)/2), K = 2/(α(1+t)) (q_W <= max(p_A,p_B)/(α(1+t)))."""
    out = np.empty(0)
    while out.size < k:
        n_prop = max(64, int(2.5 * (k - out.size) / (coup.alpha * (1 + coup.t) / 2)))
        comp = rng.random(n_prop) < 0.5
        x = rng.standard_normal(n_prop) + np.where(comp, coup.h, 0.0)
        pa, pb, _, qa, qb = coup.densities(x)
        q = qa if world == "A" else qb
        acc = rng.random(n_prop) * (pa + pb) / (coup.alpha * (1 + coup.t)) < np.maximum(q, 0.0)
        out = np.concatenate([out, x[acc]])
    return out[:k]


def sample_messages(coup: lb.HuberShiftCoupling, world: str, m: int, d: int, mu0: np.ndarray,
                    tau: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """m worker messages in world A (mean μ0) or B (mean μ0 + θe₁): worker i is Byzantine with
    probability α and then draws from Q_world; returns (X (m, d), byzantine mask)."""
    if world not in ("A", "B"):
        raise ValueError(f"world must be 'A' or 'B', got {world!r}")
    byz = rng.random(m) < coup.alpha
    Z = rng.standard_normal((m, d))
    if world == "B":
        Z[~byz, 0] += coup.h
    nb = int(byz.sum())
    if nb:
        Z[byz, 0] = sample_byzantine(coup, world, nb, rng)
    return mu0 + tau * Z, byz


@dataclass(frozen=True)
class Worlds:
    """The three worlds of one instance: messages and true mean per world, the shift θ and the
    thresholds θ/2 (worlds A, B) and r = √(v·median χ²_d) (world C)."""

    instance: StatInstance
    coupling: lb.HuberShiftCoupling
    theta: float
    messages: dict          # world -> (X (m, d), μ)
    thr_C: float


def statistical_specs(key: str, aggregators: list[str], count: int, seed: int) -> list[dict]:
    """One spec per (instance, aggregator), instance-major; the worlds of instance i come from
    ``instance_rng(seed, key, i)`` and are shared by every aggregator."""
    return [{"aggregator": a, "seed": seed, "key": key, "index": i}
            for i in range(count) for a in aggregators]


@functools.lru_cache(maxsize=2)
def statistical_worlds(seed: int, key: str, index: int) -> Worlds:
    """Draw the instance and its three worlds (cached: consecutive specs share them; the arrays
    are read-only)."""
    rng = instance_rng(seed, key, index)
    inst = sample_stat_instance(rng)
    coup = lb.HuberShiftCoupling.largest(inst.alpha)
    theta = coup.h * inst.tau
    mu0 = rng.standard_normal(inst.d) * inst.sigma
    XA, _ = sample_messages(coup, "A", inst.m, inst.d, mu0, inst.tau, rng)
    XB, _ = sample_messages(coup, "B", inst.m, inst.d, mu0, inst.tau, rng)
    muB = mu0.copy()
    muB[0] += theta
    v_post = lb.posterior_variance(inst.n, inst.m, inst.sigma)
    s = math.sqrt(lb.PRIOR_SCALE2 * inst.sigma**2 / (inst.n * inst.m))
    muC = rng.standard_normal(inst.d) * s
    XC = muC + inst.tau * rng.standard_normal((inst.m, inst.d))
    for arr in (XA, XB, XC, mu0, muB, muC):
        arr.setflags(write=False)
    return Worlds(inst, coup, theta, {"A": (XA, mu0), "B": (XB, muB), "C": (XC, muC)},
                  lb.anderson_radius(v_post, inst.d))


def aggregator_names() -> list[str]:
    """Every aggregator of the registry (each is checked against the statistical lower bound)."""
    return list(AGGREGATORS)


def default_make_aggregator(name: str, m: int, f: int, mu: np.ndarray):
    """The registry's aggregator (μ is ignored: a legitimate aggregator never sees it)."""
    return make(name, m, f)


@dataclass(frozen=True)
class StatTrial:
    """Errors of one aggregator in the three worlds of one instance (None: the aggregator does
    not accept the instance's (m, f), outside its hypotheses)."""

    aggregator: str
    index: int
    err_A: float | None
    err_B: float | None
    err_C: float | None

    @property
    def skipped(self) -> bool:
        return self.err_A is None


def statistical_trial(spec: dict, make_aggregator=None) -> StatTrial:
    """The spec's aggregator on the three worlds of its instance (docs/paper.md §7.2)."""
    make = make_aggregator or default_make_aggregator
    worlds = statistical_worlds(spec["seed"], spec["key"], spec["index"])
    inst, name = worlds.instance, spec["aggregator"]
    try:
        make(name, inst.m, inst.f, worlds.messages["A"][1])
    except (ValueError, TypeError):
        return StatTrial(name, spec["index"], None, None, None)
    errs = {}
    for w, (X, mu) in worlds.messages.items():
        out = np.asarray(make(name, inst.m, inst.f, mu)(X.copy()), dtype=np.float64)
        e = float(np.linalg.norm(out - mu))
        errs[w] = e if math.isfinite(e) else math.inf
    return StatTrial(name, spec["index"], errs["A"], errs["B"], errs["C"])
