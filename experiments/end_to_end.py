"""The end-to-end experiment (docs/paper.md §6 corollary with Theorem 1, §4): ByzantinePGD on the
pipeline workers → worker-level saddle attack → GradAGG, on the non-convex statistical model
(population phase retrieval, per-sample data). One instance per spec {'seed', 'aggregator'};
the claims are :mod:`byzpgd.theory.claims.end_to_end`, the check
:mod:`byzpgd.properties.suites.end_to_end`; the audit runs the same instance with the user's
aggregator (:mod:`byzpgd.audit.end_to_end`).

Instance (seeded): phase retrieval in d = ``DIM`` = 3 with ‖w*‖ = ``NORM_STAR`` = 0.1 (so that the
measured Δ satisfies Theorem 1's r <= R, Δ <= 4^-5 d^-1/2; the constants are certified on the
ball of radius ``RADIUS_FACTOR``·‖w*‖), m = ``M`` = 20 workers with n = ``N`` = 200 samples,
f = ``F`` = 2 Byzantine. The Byzantine workers realise the saddle trap of docs/paper.md §2
(:class:`~byzpgd.oracles.attacks.SaddleTrapTarget`, budget = ``TRAP_BUDGET_FACTOR`` × the
pipeline's error without attack at the saddle) through the omniscient
:class:`~byzpgd.oracles.attacks.RealiseTarget`. Δ: the sup of the error over probe points of W
(the saddle plus ``PROBES`` uniform points of the certified ball); ByzantinePGD runs with
Theorem 1's parameters for that Δ; if a visited point had a larger error, Δ := the new sup and
the run is repeated (at most ``ATTEMPTS`` runs), so that the final run's oracle was Δ-inexact on
every point it visited. Start: uniform direction, norm uniform in ``START_RADII`` × the
certified radius (there ‖∇F‖ is about 10 × 4Δ, so the gradient bound is non-vacuous). Q, r and R
are Theorem 1's at the instance's values (Δ, L_F, ρ_F, d, δ, F_0 − F*), not the run's.

Call cap (:func:`call_cap`): Theorem 1's iteration count at the Δ the run is given and the model's
constants (the bound of ``end_to_end.iterations``, experiments.budget.theorem_cap), the safety
stop ``MAX_CALLS`` where that is larger; a run that reaches it has status ``iteration_cap`` (a
violation of the iteration claim, and no output for the others), one the safety stop or the
wall-clock guard ended ``budget`` (no verdict).

Independent Δ (``independent=True``, the claim ``end_to_end.grad_norm_independent``): Δ is the sup
of the pipeline's error over the saddle and ``INDEPENDENT_PROBES`` uniform points of the ball drawn
from a stream of their own, *before* the run and never raised afterwards: the run is given that Δ
once. Then ‖∇F(w̃)‖ <= ‖ĝ(w̃)‖ + e(w̃) <= 3Δ + e(w̃), and ‖∇F(w̃)‖ <= 4Δ can fail only when the
aggregator's error at the point where ByzantinePGD stopped exceeds its sup over points the run did
not choose: the claim tests the aggregator's uniformity, not the stopping rule.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from ..algorithms import byzantine_pgd
from ..algorithms.aggregators import make
from ..oracles.attacks import RealiseTarget, SaddleTrapTarget
from ..oracles.pipeline import ByzantineOracle
from ..oracles.statistical import PhaseRetrievalModel
from ..oracles.workers import WorkerPool
from ..theory.certify import certify
from ..theory.claims import get
from ..theory.parameters import byzantine_pgd_parameters
from .budget import CALL_CAPS, FAILURE_PROBABILITY, INSTANCE_SECONDS, CallCap, within_safety
from .instances import cap_for_values, record_status

DIM, NORM_STAR, M, N, F = 3, 0.1, 20, 200, 2
RADIUS_FACTOR = 1.5
START_RADII = (0.6, 0.95)
PROBES, PROBE_RADIUS = 8, 0.95          # probe points uniform in the ball of PROBE_RADIUS × radius
TRAP_BUDGET_FACTOR = 2.0
REALISE_ITERS = 10
ATTEMPTS = 4
INDEPENDENT_PROBES = 16
MAX_CALLS = CALL_CAPS["end_to_end"]
ATTACK = "saddle trap realised by the Byzantine workers (RealiseTarget of SaddleTrapTarget)"

Factory = Callable[[int, int], Callable]


@dataclass(frozen=True)
class EndToEndRecord:
    """What one end-to-end run measured. ``Delta`` is the Δ the run was given (the sup of the
    pipeline's error over the probes, raised to the visited sup on a repeat), ``visited_max``
    the sup over the final run's visited points; ``Q``, ``r``, ``R`` are Theorem 1's at the
    instance's values; ``lambda_bound`` is Theorem 1's λ_min bound at Δ (reported: vacuous at
    every statistically realisable Δ here); ``saddle_lambda`` the saddle's λ_min, −2‖w*‖²."""

    spec: dict
    Delta: float
    visited_max: float
    grad_norm: float
    lambda_min: float
    start_grad_norm: float
    calls: int
    status: str
    escapes: int
    Q: int
    r: float
    R: float
    L_F: float
    F_gap: float
    left_domain: bool
    attempts: int
    lambda_bound: float
    trap_budget: float
    saddle_lambda: float
    independent: bool = False

    @property
    def values(self) -> dict[str, float]:
        """The claims' symbols at this instance (theory.symbols names)."""
        return {"Delta": self.Delta, "L_F": self.L_F, "F_gap": self.F_gap, "Q": self.Q,
                "r": self.r, "R": self.R}

    def observed(self, quantity: str) -> float:
        """'grad_norm' = ‖∇F(w̃)‖ (certified), 'oracle_calls' = parallel iterations."""
        if quantity == "grad_norm":
            return self.grad_norm
        if quantity == "oracle_calls":
            return float(self.calls)
        raise ValueError(f"unknown observed quantity {quantity!r}")

    def finished(self, quantity: str) -> bool:
        """Has the run an output for ``quantity``? (A run stopped by the call cap has no w̃; its
        call count is still an observation.)"""
        return quantity == "oracle_calls" or self.status == "converged"

    def vacuous(self, quantity: str, bound: float) -> bool:
        """Could the run not have exceeded ``bound``? The start already satisfies a gradient
        bound, or the call cap is at or below an iteration bound."""
        if quantity == "grad_norm":
            return self.start_grad_norm <= bound
        return bound >= MAX_CALLS

    @property
    def outside_hypotheses(self) -> str:
        """'' when the run met the hypotheses of the end-to-end claims
        (theory.claims.end_to_end.HYPOTHESES), else which failed."""
        if self.left_domain:
            return "outside: left the certified ball"
        if self.r > self.R:
            return "outside: r > R"
        if self.visited_max > self.Delta and not self.independent:
            return "outside: Delta not reached on a visited point"
        return ""


@dataclass(frozen=True)
class Instance:
    """The seeded problem of one spec: model, workers, aggregator, saddle trap and start."""

    model: PhaseRetrievalModel
    pool: WorkerPool
    aggregate: Callable
    trap: SaddleTrapTarget
    w0: np.ndarray


def call_cap(land, Delta: float, w0: np.ndarray) -> CallCap:
    """The run's call cap (module docstring), from the theory at (Δ, L_F, ρ_F, d, δ, F(w_0) − F*)."""
    gap = land.value(w0) - land.f_star
    p = byzantine_pgd_parameters(Delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap)
    values = {"Delta": Delta, "L_F": land.L, "rho_F": land.rho, "d": land.dim,
              "delta": FAILURE_PROBABILITY, "F_gap": gap, "Q": p["Q"], "T_th": p["T_th"]}
    return within_safety(cap_for_values("byzantine_pgd", values), MAX_CALLS)


def default_algorithm(spec, oracle, w0, rng):
    """The algorithm under test: ByzantinePGD with Theorem 1's parameters for ``oracle.delta``,
    capped at :func:`call_cap`."""
    cap = call_cap(oracle.landscape, oracle.delta, w0)
    return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, max_oracle_calls=cap.calls,
                         max_seconds=INSTANCE_SECONDS)


def build(seed: int, factory: Factory) -> Instance:
    """The instance of ``seed`` (module docstring); ``factory(m, f)`` gives the aggregator."""
    rng = np.random.default_rng([seed, 1])
    w_star = rng.standard_normal(DIM)
    w_star *= NORM_STAR / np.linalg.norm(w_star)
    model = PhaseRetrievalModel(w_star, RADIUS_FACTOR * NORM_STAR)
    pool = WorkerPool(model, M, N, rng, f=F)
    aggregate = factory(M, F)
    saddle = model.saddle_point()
    clean = ByzantineOracle(pool, None, aggregate, np.random.default_rng([seed, 2]))
    trap = SaddleTrapTarget(model, TRAP_BUDGET_FACTOR * clean.error(saddle), saddle=saddle)
    u = rng.standard_normal(DIM)
    w0 = rng.uniform(*START_RADII) * model.domain_radius * u / np.linalg.norm(u)
    return Instance(model, pool, aggregate, trap, w0)


def calibrated_run(spec: dict, inst: Instance, algorithm) -> tuple[ByzantineOracle, object, float, int]:
    """Run ``algorithm`` with Δ = the probe sup, repeated with Δ raised to the visited sup while a
    visited point had a larger error (at most ATTEMPTS runs). Returns (oracle of the last run,
    its result, Δ, runs)."""
    seed = int(spec["seed"])
    probe_rng = np.random.default_rng([seed, 3])
    delta_hat = None
    for attempt in range(1, ATTEMPTS + 1):
        oracle = ByzantineOracle(inst.pool, RealiseTarget(inst.trap, iters=REALISE_ITERS), inst.aggregate,
                                 np.random.default_rng([seed, 4]))
        if delta_hat is None:
            oracle.probe(PROBES, probe_rng, radius=PROBE_RADIUS * inst.model.domain_radius)
            oracle.probe_max = max(oracle.probe_max, oracle.error(inst.trap.saddle))
            delta_hat = oracle.empirical_delta()
        oracle.delta = delta_hat
        res = algorithm(spec, oracle, inst.w0, np.random.default_rng([seed, 5]))
        # no output (non-finite, budget) or a non-finite visited error: raising Δ cannot help
        if (oracle.visited_max <= delta_hat or attempt == ATTEMPTS
                or res.status in ("nonfinite", "max_seconds") or not np.isfinite(oracle.visited_max)):
            return oracle, res, delta_hat, attempt
        delta_hat = max(delta_hat, oracle.visited_max)
    raise AssertionError("unreachable")


def independent_run(spec: dict, inst: Instance, algorithm) -> tuple[ByzantineOracle, object, float, int]:
    """Run ``algorithm`` once with Δ = the sup of the error over the saddle and INDEPENDENT_PROBES
    points drawn from their own stream (module docstring): the Δ is never raised."""
    seed = int(spec["seed"])
    oracle = ByzantineOracle(inst.pool, RealiseTarget(inst.trap, iters=REALISE_ITERS), inst.aggregate,
                             np.random.default_rng([seed, 4]))
    oracle.probe(INDEPENDENT_PROBES, np.random.default_rng([seed, 6]),
                 radius=PROBE_RADIUS * inst.model.domain_radius)
    oracle.probe_max = max(oracle.probe_max, oracle.error(inst.trap.saddle))
    oracle.delta = delta_hat = oracle.probe_max
    res = algorithm(spec, oracle, inst.w0, np.random.default_rng([seed, 5]))
    return oracle, res, delta_hat, 1


_CONTROLLERS: dict[tuple[int, int], ThreadpoolController] = {}


def one_blas_thread():
    """``threadpoolctl.threadpool_limits(limits=1)`` (the same limit on the same libraries)
    without rescanning the process's libraries at every run (that scan reads /proc/self/maps:
    about 1.5 ms, more than a tenth of a run here). The controller is kept per process and per
    number of imported modules, so a module imported since (which may load another BLAS) makes
    a new scan, as threadpool_limits would."""
    key = (os.getpid(), len(sys.modules))
    controller = _CONTROLLERS.get(key)
    if controller is None:
        _CONTROLLERS.clear()
        controller = _CONTROLLERS[key] = ThreadpoolController()
    return controller.limit(limits=1)


def run_instance(spec: dict, algorithm=None, factory: Factory | None = None, *,
                 independent: bool = False) -> EndToEndRecord:
    """One end-to-end run of ``spec`` ({'seed', 'aggregator'}). ``algorithm(spec, oracle, w0,
    rng) -> OptimizeResult`` replaces ByzantinePGD and ``factory(m, f)`` the aggregator named by
    the spec (able-to-fail tests, the audit); ``independent`` gives the run the Δ measured on
    points it did not choose (:func:`independent_run`) instead of :func:`calibrated_run`'s."""
    if factory is None:
        def factory(m, f):
            return make(spec["aggregator"], m, f)
    runner = independent_run if independent else calibrated_run
    with one_blas_thread():     # tiny m × m linear algebra: one BLAS thread is fastest
        inst = build(int(spec["seed"]), factory)
        oracle, res, delta_hat, attempts = runner(spec, inst, algorithm or default_algorithm)
        return record(spec, inst, oracle, res, delta_hat, attempts, independent)


def record(spec, inst: Instance, oracle, res, delta_hat: float, attempts: int,
           independent: bool = False) -> EndToEndRecord:
    """The record of one run: Theorem 1's parameters and λ_min bound at the instance's values
    (its model's dimension and constants), the certificate of the output (also the audit's, whose
    instances have another dimension)."""
    land = inst.model
    gap = land.value(inst.w0) - land.f_star
    p = byzantine_pgd_parameters(delta_hat, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap)
    cert = certify(land, res.w)
    lam_bound = get("byzantine_pgd.lambda_min").bound(
        {"Delta": delta_hat, "L_F": land.L, "rho_F": land.rho, "d": land.dim})
    return EndToEndRecord(
        spec=spec, Delta=delta_hat, visited_max=oracle.visited_max, grad_norm=cert.grad_norm,
        lambda_min=cert.lambda_min, start_grad_norm=float(np.linalg.norm(land.grad(inst.w0))),
        calls=res.grad_oracle_calls,
        status=record_status(res.status, res.grad_oracle_calls, call_cap(land, delta_hat, inst.w0)),
        escapes=res.escapes, Q=p["Q"], r=p["r"],
        R=p["R"], L_F=land.L, F_gap=gap,
        left_domain=bool(oracle.max_query_norm > land.domain_radius * (1 + 1e-12)),
        attempts=attempts, lambda_bound=lam_bound, trap_budget=inst.trap.budget,
        saddle_lambda=-2 * float(land.w_star @ land.w_star), independent=independent)
