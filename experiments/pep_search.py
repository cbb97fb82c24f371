"""Adversarial search for the worst case of the gradient phase (the O of the hierarchy O <= W <= B;
W from :mod:`byzpgd.experiments.pep` or :mod:`byzpgd.theory.gd_phase`).

Every search maximizes, with scipy's Nelder–Mead from seeded restarts (starts drawn from
``numpy.random.default_rng(seed)``), a quantity measured on a *real run* of the project's
algorithm (:func:`byzpgd.algorithms.robust_gd`, which is ByzantinePGD up to its first candidate:
η = 1/L, stopping test ‖ĝ‖ <= ε) against a Δ-inexact oracle wrapped in ``CertifiedOracle``, over
the parameters of a family of functions and adversaries. A value above W is a finding: the
implementation or the PEP's encoding is wrong.

- :func:`search_min_grad`: min_{0<=i<=N} |f′(x_i)| after N steps, over the 1-D chains of
  :func:`byzpgd.oracles.adversaries.pep_worst.chain` (per step: the level f′(x_k), the oracle's
  error in [−Δ, Δ], the depth of the dip of f′ between iterates; 3N parameters), the overall level
  solved by bisection so that f(x_0) − inf f = D exactly. The W-attaining tent chain is one member.
- :func:`search_steps`: the number of large-gradient steps before the test ‖ĝ‖ <= 3Δ fires, over
  the N-dimensional rotating chains of :mod:`byzpgd.oracles.landscapes.rotating_chain` (6
  parameters: the error's angle, the bend and lift of the next gradient, the fold of the frame,
  the last gradient's size and angle), each realized as the certified L-smooth interpolant
  (:class:`~byzpgd.oracles.landscapes.smooth_interpolant.SmoothInterpolant`, exact infimum, so
  f(x_0) − inf f <= D holds exactly) with the scripted oracle
  :class:`~byzpgd.oracles.adversaries.pep_worst.ScriptedVectors` behind CertifiedOracle. Stage 1
  solves the steady geometry of the consecutive certificate (SLSQP), stage 2 runs Nelder–Mead on
  the design's count, and each restart's optimum is run for real: O is the real run's count. The
  former 1-D chains (:func:`run_steps_1d`) reach only about 0.6 of W: in 1-D every step costs at
  least 15Δ²/(4L), the rotating chain about 10Δ²/(4L) (Δ = 0.2, L = 1).
- :func:`search_output_grad`: ‖∇F(w̃)‖ at the first candidate, over F = (L/2)w² (1-D) with the
  start and the oracle ĝ = c∇F (clipped to the Δ budget) as parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from ..algorithms import robust_gd
from ..oracles.adversaries.pep_worst import Parabola, Scripted, ScriptedVectors, chain
from ..oracles.inexact import CertifiedOracle, OracleBudgetExceeded, ScaledGradientOracle
from ..oracles.landscapes import rotating_chain
from ..theory import gd_phase

METHOD = "Nelder-Mead"


@dataclass(frozen=True)
class SearchResult:
    """The best value one search found.

    quantity : what was maximized; point : the parameter point (N, Delta, L, D as relevant)
    observed : O, the best value found on a real run; params : the family's parameters there
    evaluations : objective evaluations (real runs); restarts, seed : of the Nelder–Mead starts
    description : the search in one line (for reports)
    """

    quantity: str
    point: dict
    observed: float
    params: list = field(default_factory=list)
    evaluations: int = 0
    restarts: int = 0
    seed: int = 0
    description: str = ""


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _unpack(p, N):
    """Shape parameters p (3N values in the box :func:`_box`) -> (levels relative to level 0,
    errors in units of Δ, dip depths)."""
    p = np.clip(np.asarray(p, dtype=np.float64), *_box(N))
    return np.concatenate([[1.0], np.exp(p[:N])]), p[N:2 * N], p[2 * N:3 * N]


def _box(N):
    lo = np.concatenate([np.full(N, -0.5), np.full(N, -1.0), np.zeros(N)])
    hi = np.concatenate([np.full(N, 0.5), np.ones(N), np.ones(N)])
    return lo, hi


def chain_budget(levels, errors, dips, Delta, L):
    """f(x_0) − inf f of :func:`~byzpgd.oracles.adversaries.pep_worst.chain` in closed form
    (exact: f′ is piecewise linear; inf if the design is not L-smooth or a dip would go below 0,
    which the family excludes so that f is monotone and inf f is reached after x_N). ``levels``
    may be a (k, N+1) array of k designs: the result is then an array of k budgets."""
    levels = np.asarray(levels, dtype=np.float64)
    many = levels.ndim == 2
    lv = levels if many else levels[None, :]
    g0, g1 = lv[:, :-1], lv[:, 1:]
    d = g0 + errors * Delta
    with np.errstate(divide="ignore", invalid="ignore"):
        s = d / L
        t = 0.5 * (s + (g0 - g1) / L)
        bottom = g0 - L * t
        straight = g0 + (g1 - g0) * t / s
        depth = straight - dips * (straight - bottom)
        steps = 0.5 * t * (g0 + depth) + 0.5 * (s - t) * (depth + g1)
        out = np.sum(steps, axis=1) + lv[:, -1] ** 2 / (2 * L)
    bad = np.any(d <= 0, axis=1) | np.any(np.abs(g1 - g0) > L * s * (1 + 1e-12), axis=1) \
        | np.any(depth < 0, axis=1) | ~np.isfinite(out)
    out = np.where(bad, np.inf, out)
    return out if many else float(out[0])


GRID = 128


def _design(p, N, Delta, L, D):
    """(landscape, fractions) of the chain with shape parameters p whose overall level g is the
    largest on which f(x_0) − inf f <= D (grids of GRID levels, refined five times: relative
    precision about GRID^-5); None if no level fits."""
    rel, errors, dips = _unpack(p, N)
    lo, hi = 0.0, math.sqrt(2 * L * D) * 4 + 4 * Delta
    best = None
    for _ in range(5):
        g = np.linspace(lo, hi, GRID + 1)[1:]
        ok = chain_budget(g[:, None] * rel[None, :], errors, dips, Delta, L) <= D
        if not ok.any():
            break
        k = int(np.flatnonzero(ok)[-1])
        best = g[k]
        if k == GRID - 1:          # the whole top of the grid fits: the level is unbounded here
            return None
        lo, hi = g[k], g[k + 1]
    if best is None:
        return None
    out = chain(best * rel, errors, dips, Delta, L)
    if out is None:
        return None
    return out[0], [-float(e) for e in errors]   # Scripted's fraction f gives error −fΔ·sign(f′)


def run_min_grad(p, N, Delta, L, D) -> float:
    """The objective of :func:`search_min_grad`: min_{i<=N} |f′(x_i)| on a real run (0 if the
    design is infeasible)."""
    design = _design(p, N, Delta, L, D)
    if design is None:
        return 0.0
    land, fractions = design
    oracle = CertifiedOracle(Scripted(land, Delta, np.random.default_rng(0), fractions=fractions))
    try:
        res = robust_gd(oracle, np.array([0.0]), eta=1.0 / L, epsilon=1e-300, max_oracle_calls=N + 1,
                        trace=True)
    except OracleBudgetExceeded:            # pragma: no cover - a design error, never expected
        return 0.0
    pts = res.trace["points"]
    return float(np.min(np.abs(land.grad(pts[:, 0]))))


def _nelder_mead(objective, box, restarts, seed, maxfev):
    """Maximize ``objective`` over the box (lo, hi) with Nelder–Mead (bounded) from ``restarts``
    starts drawn uniformly in the box by ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    lo, hi = box
    best, best_x, evals = -math.inf, None, 0
    for _ in range(restarts):
        start = rng.uniform(lo, hi)
        res = minimize(lambda z: -objective(z), start, method=METHOD, bounds=list(zip(lo, hi, strict=True)),
                       options={"maxfev": maxfev, "xatol": 1e-7, "fatol": 1e-12, "adaptive": True})
        evals += int(res.nfev)
        if -res.fun > best:
            best, best_x = float(-res.fun), res.x
    return best, best_x, evals


def _expand(q, N):
    """The 3 shared parameters (log level ratio per step, error, dip) as the 3N per-step ones."""
    return np.concatenate([np.full(N, q[0]), np.full(N, q[1]), np.full(N, q[2])])


def search_min_grad(N: int, Delta: float, L: float = 1.0, D: float = 1.0, *, restarts: int = 3,
                    seed: int = 0, maxfev: int = 120, polish_fev: int = 240) -> SearchResult:
    """O for min_{i<=N} ‖∇f(x_i)‖ (module docstring). Each restart: Nelder–Mead over the 3
    parameters shared by every step (``maxfev`` evaluations), then over the 3N per-step ones from
    there (``polish_fev``)."""
    gd_phase._check(N, Delta, L, D)
    rng = np.random.default_rng(seed)
    lo3, hi3 = np.array([-0.5, -1.0, 0.0]), np.array([0.5, 1.0, 1.0])
    lo, hi = _box(N)
    best, best_x, evals = -math.inf, None, 0
    for _ in range(restarts):
        res = minimize(lambda q: -run_min_grad(_expand(q, N), N, Delta, L, D), rng.uniform(lo3, hi3),
                       method=METHOD, bounds=list(zip(lo3, hi3, strict=True)),
                       options={"maxfev": maxfev, "xatol": 1e-7, "fatol": 1e-12, "adaptive": True})
        evals += int(res.nfev)
        start = _expand(res.x, N)
        if polish_fev > 0:
            res = minimize(lambda p: -run_min_grad(p, N, Delta, L, D), start, method=METHOD,
                           bounds=list(zip(lo, hi, strict=True)),
                           options={"maxfev": polish_fev, "xatol": 1e-7, "fatol": 1e-12, "adaptive": True})
            evals += int(res.nfev)
        if -res.fun > best:
            best, best_x = float(-res.fun), res.x
    return SearchResult("min_i |grad f(x_i)|, N steps", {"N": N, "Delta": Delta, "L": L, "D": D}, best,
                        [] if best_x is None else [float(v) for v in best_x], evals, restarts, seed,
                        f"{METHOD}, {restarts} seeded restarts (seed {seed}), 1-D chains: 3 shared then "
                        f"3N = {3 * N} per-step parameters")


def run_steps_1d(p, Delta, L, D, max_steps: int) -> float:
    """The former objective (1-D chains with shared per-step parameters p = (log((‖d‖ − 3Δ)/Δ),
    error in units of Δ, dip)): large-gradient steps of a real run with ε = 3Δ plus half the
    unused fraction of a step's budget. Kept for comparison: 1-D chains reach about 0.6 of W."""
    d = 3 * Delta + Delta * math.exp(float(p[0]))
    err, dip = float(p[1]), float(p[2])
    level = d - err * Delta
    per_step = chain_budget(np.array([level, level]), np.array([err]), np.array([dip]), Delta, L) \
        - level**2 / (2 * L)
    if not (math.isfinite(per_step) and per_step > 0):
        return 0.0
    room = (D - level**2 / (2 * L)) / per_step
    n = int(min(max_steps, max(0, math.floor(room))))
    if n == 0:
        return 0.0
    land, _ = chain(np.full(n + 1, level), np.full(n, err), np.full(n, dip), Delta, L)
    oracle = CertifiedOracle(Scripted(land, Delta, np.random.default_rng(0), fractions=[-err] * n))
    res = robust_gd(oracle, np.array([0.0]), eta=1.0 / L, epsilon=3 * Delta, max_oracle_calls=n + 2)
    return res.gd_steps + (room - math.floor(room)) * 0.5


@dataclass(frozen=True)
class StepsRun:
    """One real run of the step-count search.

    steps : large-gradient steps of robust_gd (η = 1/L, ε = 3Δ) on the certified interpolant of the
        design, through CertifiedOracle (0 when no member fits the budget)
    designed : the design's number of steps N; budget : its f(x_0) − inf f (<= D)
    progress : how close the design with one more step came to fitting, in [0, 1]
        (:func:`~byzpgd.oracles.landscapes.rotating_chain.longest_design`; the tie-breaker)
    dim : the dimension of the landscape; certified : whether the landscape's L-smoothness was
        certified (always, except in the able-to-fail tests)
    """

    steps: int
    designed: int = 0
    budget: float = 0.0
    progress: float = 0.0
    dim: int = 0
    certified: bool = True

    def score(self) -> float:
        """steps plus 0.49·progress (a tie-breaker in [0, 0.49]: how close one more step came)."""
        return self.steps + 0.49 * min(1.0, max(0.0, self.progress))


def run_steps(p, Delta: float, L: float, D: float, max_steps: int, *, error_factor: float = 1.0,
              smoothness_factor: float = 1.0, certify: bool = True) -> StepsRun:
    """A real run on the rotating chain with parameters p (:mod:`byzpgd.oracles.landscapes.
    rotating_chain`): the longest member whose budget f(x_0) − inf f is <= D, its L-smooth
    interpolant (certified: :class:`~byzpgd.oracles.landscapes.smooth_interpolant.NotInterpolable`
    otherwise), the oracle answering ∇f + e_k (:class:`~byzpgd.oracles.adversaries.pep_worst.
    ScriptedVectors`) wrapped in CertifiedOracle (:class:`OracleBudgetExceeded` beyond Δ), and
    robust_gd from x_0 with η = 1/L, ε = 3Δ. ``error_factor``, ``smoothness_factor`` and
    ``certify=False`` break the run on purpose (able-to-fail tests)."""
    des, progress = rotating_chain.longest_design(p, Delta, L, D, max_steps, error_factor=error_factor,
                                                  smoothness_factor=smoothness_factor)
    if des is None:
        return StepsRun(0)
    land = des.landscape(check=certify)
    adv = ScriptedVectors(land, Delta, np.random.default_rng(0), errors=des.E)
    oracle = CertifiedOracle(adv) if certify else adv
    res = robust_gd(oracle, des.X[0], eta=1.0 / L, epsilon=3 * Delta, max_oracle_calls=max_steps + 2)
    return StepsRun(int(res.gd_steps), des.steps, des.budget, progress, land.dim, certify)


def design_score(p, Delta: float, L: float, D: float, max_steps: int) -> float:
    """The objective of stage 2 of :func:`search_steps`: the design's step count plus the
    tie-breaker of :meth:`StepsRun.score`, without the run (the real run at each restart's optimum
    gives the reported value; tests check that the run takes exactly the designed steps)."""
    des, progress = rotating_chain.longest_design(p, Delta, L, D, max_steps)
    if des is None:
        return 0.0
    return StepsRun(des.steps, des.steps, des.budget, progress).score()


STEPS_BOX = (np.array([0.0, 0.0, -math.pi, math.pi / 2, -3.0, -math.pi, 0.0]),
             np.array([math.pi / 2, math.pi, math.pi, 3 * math.pi / 2, 0.5, math.pi, math.pi / 2]))
"""The box of the seven parameters (:data:`~byzpgd.oracles.landscapes.rotating_chain.PARAM_NAMES`)
of the starts."""


def steady_geometry(Delta: float, L: float, start) -> np.ndarray:
    """Stage 1 of :func:`search_steps`: (theta, bend, lift) minimizing the consecutive
    certificate's per-step decrease Φ/(4L) subject to the Lipschitz condition ‖g_k − g_{k+1}‖ <=
    ‖d_k‖ (:func:`~byzpgd.oracles.landscapes.rotating_chain.local_decrease`), SLSQP from ``start``."""
    def local(z):
        return rotating_chain.local_decrease(*z, Delta, L)

    res = minimize(lambda z: local(z)[0], np.asarray(start, dtype=float), method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda z: local(z)[1]}],
                   options={"ftol": 1e-14, "maxiter": 200})
    return np.asarray(res.x, dtype=np.float64)


def search_steps(Delta: float, L: float = 1.0, D: float = 1.0, *, restarts: int = 4, seed: int = 0,
                 maxfev: int = 300) -> SearchResult:
    """O for the number of large-gradient steps of one gradient phase: the best real-run count
    (:func:`run_steps`) over the rotating chains. Each restart (starts drawn in :data:`STEPS_BOX`
    by ``default_rng(seed)``): stage 1, the steady geometry (theta, bend, lift) from the drawn
    start (:func:`steady_geometry`); stage 2, Nelder–Mead over the seven parameters from there on
    the design's count plus tie-breaker (:func:`design_score`, ``maxfev`` evaluations); then one
    real run at the restart's optimum. O is the best real run (its steps, not the design's)."""
    with threadpool_limits(limits=1):        # small matrices: BLAS threads only contend
        return _search_steps(Delta, L, D, restarts, seed, maxfev)


def _search_steps(Delta, L, D, restarts, seed, maxfev) -> SearchResult:
    bound = gd_phase.steps_bound(Delta, L, D)
    cap = math.ceil(bound) + 2
    rng = np.random.default_rng(seed)
    lo, hi = STEPS_BOX
    best, best_x, evals = -math.inf, None, 0
    best_run = StepsRun(0)
    for _ in range(restarts):
        start = rng.uniform(lo, hi)
        start[:3] = steady_geometry(Delta, L, start[:3])
        res = minimize(lambda z: -design_score(z, Delta, L, D, cap), start, method=METHOD,
                       options={"maxfev": maxfev, "xatol": 1e-10, "fatol": 1e-12, "adaptive": True})
        evals += int(res.nfev)
        run = run_steps(res.x, Delta, L, D, cap)      # the reported value: a real run at the optimum
        evals += 1
        if run.score() > best:
            best, best_x, best_run = run.score(), res.x, run
    return SearchResult("large-gradient steps before ||g^|| <= 3 Delta", {"Delta": Delta, "L": L, "D": D},
                        float(best_run.steps), [] if best_x is None else [float(v) for v in best_x], evals,
                        restarts, seed,
                        f"{METHOD}, {restarts} seeded restarts (seed {seed}), rotating chains in "
                        f"{best_run.dim} dimensions (7 parameters, steady geometry by SLSQP first), "
                        f"certified L-smooth interpolant, real robust_gd runs")


def run_output_grad(p, Delta, L) -> float:
    """‖∇F(w̃)‖ at the first candidate of a real run on F = (L/2)w², start w_0 = 4Δ e^{p0}/L,
    oracle ĝ = c∇F clipped to the budget, c = sigmoid(p1)."""
    land = Parabola(1, L)
    w0 = np.array([4 * Delta * math.exp(float(p[0])) / L])
    oracle = CertifiedOracle(ScaledGradientOracle(land, Delta, float(_sigmoid(p[1]))))
    res = robust_gd(oracle, w0, eta=1.0 / L, epsilon=3 * Delta, max_oracle_calls=10_000)
    if res.status != "converged":
        return 0.0
    return float(np.linalg.norm(land.grad(res.w)))


def search_output_grad(Delta: float, L: float = 1.0, *, restarts: int = 4, seed: int = 0,
                       maxfev: int = 200) -> SearchResult:
    """O for ‖∇F(w̃)‖ at termination (module docstring)."""
    box = (np.array([-1.0, -4.0]), np.array([1.0, 4.0]))
    best, x, evals = _nelder_mead(lambda p: run_output_grad(p, Delta, L), box, restarts, seed, maxfev)
    return SearchResult("||grad F(w~)|| at the first candidate", {"Delta": Delta, "L": L}, best,
                        [] if x is None else [float(v) for v in x], evals, restarts, seed,
                        f"{METHOD}, {restarts} seeded restarts (seed {seed}), start and oracle scale")
