"""Running one saddle-attack instance (docs/paper.md §2): the landscape, the start inside the
trap's fake basin, the attacked algorithm, the certificate of its output, and optionally the
control run with the exact oracle from the same start and seed.

A spec (drawn by :mod:`byzpgd.properties.suites.saddle_attack`) names the landscape, Δ, the
adversary, the start offsets ``start_p``, ``start_v`` and the seeds ``start_seed``, ``run_seed``;
``algorithm`` is 'robust_gd', 'jin_pgd' or 'byzantine_pgd'.

Start (OWN): w_0 = c + a·u_P + b·u_V with c the landscape's strict saddle, u_P a random unit
vector orthogonal to the negative eigenspace V of ∇²F(c) (0 when V is the whole space),
a = ``start_p``, u_V a random unit vector of V and b = β·Δ/(2γ), β = ``start_v``: inside the fake
basin |y| < Δ/γ of the trap adversary (docs/paper.md §2).

Budgets (experiments/budget.py): ByzantinePGD's oracle-call cap is Theorem 1's own iteration
bound at the instance's values (:func:`escape_cap`; a run that reaches it has violated the
theorem: status ``iteration_cap``), the safety stop ``CALL_CAPS['saddle_attack']`` where that
bound is larger; the runs of robust GD and Jin et al.'s PGD, whose claims state no iteration
count, stop at the safety stop. A run ended by a safety stop or the wall-clock guard has status
``budget`` (no verdict); one the descent monitor stopped has ``descent_violated``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..algorithms import PGDParams, byzantine_pgd, robust_gd
from ..algorithms.jin_pgd import jin_parameters, jin_pgd
from ..algorithms.jin_pgd import loop_params as jin_loop_params
from ..oracles.adversaries import negative_eigenspace
from ..oracles.inexact import CertifiedOracle, ExactOracle
from ..theory.certify import certify
from .budget import BUDGET, CALL_CAPS, FAILURE_PROBABILITY, INSTANCE_SECONDS, CallCap, within_safety
from .instances import build_landscape, cap_for_values, make_oracle, record_status, theorem_values
from .monitor import DescentMonitor

MAX_CALLS = CALL_CAPS["saddle_attack"]
ALGORITHMS = ("robust_gd", "jin_pgd", "byzantine_pgd")


@dataclass(frozen=True)
class AttackRun:
    """What a saddle-attack check needs from one run.

    ``values``: Delta, L_F, rho_F, d, delta (the failure probability handed to the algorithm) and
    gamma = −λ_min(∇²F(c)); ``control_lambda_min``: λ_min at the output of the same algorithm
    with the exact oracle from the same start and seed (None when no control was run)."""

    lambda_min: float
    lambda_min_error: float
    grad_norm: float
    gamma: float
    status: str
    oracle_calls: int
    escapes: int
    values: dict
    left_domain: bool
    control_lambda_min: float | None = None

    @property
    def left_saddle(self) -> bool:
        """The output is not at the attacked saddle: λ_min(w̃) > −γ/2."""
        return self.lambda_min > -self.gamma / 2

    @property
    def control_left_saddle(self) -> bool | None:
        if self.control_lambda_min is None:
            return None
        return self.control_lambda_min > -self.gamma / 2


def attack_start(spec: dict, land) -> tuple[np.ndarray, float]:
    """w_0 = c + a u_P + β Δ/(2γ) u_V (module docstring) and γ = −λ_min(∇²F(c))."""
    c = land.saddle().point
    V, gammas = negative_eigenspace(land, c)
    gam = float(gammas.max())
    rng = np.random.default_rng(spec["start_seed"])
    u = rng.standard_normal(land.dim)
    u -= V @ (V.T @ u)
    # no positive directions (c is a local maximum): the start is c + b u_V
    u_p = u / np.linalg.norm(u) if V.shape[1] < land.dim else np.zeros(land.dim)
    v = V @ rng.standard_normal(V.shape[1])
    u_v = v / np.linalg.norm(v)
    return c + spec["start_p"] * u_p + spec["start_v"] * spec["Delta"] / (2 * gam) * u_v, gam


def escape_cap(spec: dict, land, w0: np.ndarray) -> CallCap:
    """ByzantinePGD's call cap on the instance: Theorem 1's iteration bound at the instance's
    values (Δ, the landscape's constants, F(w_0) − F*: experiments.instances.cap_for_values,
    never the run's), or the safety stop MAX_CALLS (source 'safety') when that is smaller."""
    values = theorem_values({"family": "byzantine_pgd", "Delta": spec["Delta"]}, land,
                            land.value(w0) - land.f_star)
    return within_safety(cap_for_values("byzantine_pgd", values), MAX_CALLS)


def run_status(name: str, loop_status: str, calls: int, cap: CallCap | None) -> str:
    """The run's status: ByzantinePGD's through its theory cap
    (:func:`byzpgd.experiments.instances.record_status`); for the others a stop by the safety
    cap or the wall-clock guard is ``budget``."""
    if name == "byzantine_pgd" and cap is not None:
        return record_status(loop_status, calls, cap)
    return BUDGET if loop_status in ("max_oracle_calls", "max_seconds") else loop_status


def run_algorithm(name: str, oracle, w0: np.ndarray, spec: dict, max_calls: int = MAX_CALLS):
    """The attacked algorithm ``name`` as the claims prescribe it: robust GD (ε = 3Δ), Jin et
    al.'s PGD (ε = 4Δ, c = 1) or ByzantinePGD (Theorem 1's parameters, at most ``max_calls``
    oracle calls), δ = FAILURE_PROBABILITY."""
    rng = np.random.default_rng(spec["run_seed"])
    D = spec["Delta"]
    if name == "robust_gd":
        return robust_gd(oracle, w0, epsilon=3 * D, max_oracle_calls=MAX_CALLS,
                         max_seconds=INSTANCE_SECONDS)
    if name == "jin_pgd":
        return jin_pgd(oracle, w0, rng, epsilon=4 * D, delta=FAILURE_PROBABILITY,
                       max_oracle_calls=MAX_CALLS, max_seconds=INSTANCE_SECONDS)
    if name == "byzantine_pgd":
        return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, max_oracle_calls=max_calls,
                             max_seconds=INSTANCE_SECONDS)
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {name!r}")


def loop_params(name: str, spec: dict, land, w0: np.ndarray, oracle,
                max_calls: int = MAX_CALLS) -> PGDParams:
    """The shared loop's parameters of :func:`run_algorithm`'s ``name`` on this instance (for
    batched trials: :func:`byzpgd.experiments.batched.run_attack_batch`): robust GD (η = 1/L_F,
    ε = 3Δ, Q = 0), Jin et al.'s PGD (ε = 4Δ, c = 1, as
    :func:`~byzpgd.algorithms.jin_pgd.loop_params`) or ByzantinePGD (Theorem 1's, Δ = the
    oracle's), δ = FAILURE_PROBABILITY."""
    D = spec["Delta"]
    if name == "robust_gd":
        return PGDParams(eta=1.0 / land.L, epsilon=3.0 * D, r=0.0, Q=0, R=1.0, T_th=1)
    gap = land.value(w0) - land.f_star
    if name == "jin_pgd":
        p = jin_parameters(4 * D, land.L, land.rho, land.dim, FAILURE_PROBABILITY, max(gap, 1e-300))
        return jin_loop_params(p, max_calls)
    if name == "byzantine_pgd":
        if not (oracle.delta > 0):
            raise ValueError(f"Delta (oracle.delta) must be > 0 for ByzantinePGD, got {oracle.delta}")
        return importlib.import_module("byzpgd.algorithms.byzantine_pgd").theorem_params(
            oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap)
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {name!r}")


def run_attack(spec: dict, algorithm: Callable | None = None, control: bool = True,
               attacked_control: str | None = None) -> AttackRun:
    """Run the spec's algorithm (or ``algorithm(spec, oracle, w0, rng)``) under the spec's
    adversary and certify its output; with ``control``, also run the spec's algorithm with the
    exact oracle from the same start and seed; with ``attacked_control`` (an algorithm name, e.g.
    'robust_gd'), run that algorithm under the same adversary (a fresh copy, same seed) from the
    same start instead: the control of an escape claim."""
    land = build_landscape(spec)
    w0, gam = attack_start(spec, land)
    oracle = make_oracle({**spec, "family": "byzantine_pgd"}, land)
    cap = escape_cap(spec, land, w0) if spec["algorithm"] == "byzantine_pgd" else None
    if algorithm is None and spec["algorithm"] == "byzantine_pgd":
        # the theorem's algorithm runs under the descent monitor (experiments.monitor)
        res = run_algorithm(spec["algorithm"], DescentMonitor(oracle, land.L, oracle.delta), w0, spec,
                            cap.calls)
    elif algorithm is None:
        res = run_algorithm(spec["algorithm"], oracle, w0, spec)
    else:
        res = algorithm(spec, oracle, w0, np.random.default_rng(spec["run_seed"]))
    cert = certify(land, res.w)
    control_lambda_min = None
    if attacked_control is not None:
        same = make_oracle({**spec, "family": "byzantine_pgd"}, land)
        control_lambda_min = certify(land, run_algorithm(attacked_control, same, w0, spec).w).lambda_min
    elif control:
        exact = CertifiedOracle(ExactOracle(land))
        control_lambda_min = certify(land, run_algorithm(spec["algorithm"], exact, w0, spec).w).lambda_min
    return AttackRun(
        lambda_min=cert.lambda_min, lambda_min_error=cert.lambda_min_error,
        grad_norm=cert.grad_norm, gamma=gam,
        status=run_status(spec["algorithm"], res.status, res.grad_oracle_calls, cap),
        oracle_calls=res.grad_oracle_calls, escapes=res.escapes,
        values={"Delta": spec["Delta"], "L_F": land.L, "rho_F": land.rho, "d": land.dim,
                "delta": FAILURE_PROBABILITY, "gamma": gam},
        left_domain=bool(land.domain_radius is not None
                         and oracle.max_query_norm > land.domain_radius),
        control_lambda_min=control_lambda_min)
