"""Running ByzantinePGD with given constant factors on the ablation / calibration family
(docs/paper.md §2, §4, §9), and the three ablated variants (docs/paper.md §9, "Differences in
ByzantinePGD").

A spec (drawn by :func:`byzpgd.properties.suites.ablations.calibration_instance`) holds d, γ, the
half-width s, Δ, the start offset ``start_v`` ∈ [−1/2, 1/2], the seeds and the adversary. The
landscape is a rotated cosine saddle with L_F = 1, one negative direction of curvature γ and
ρ_F = γ/s; the start is w_0 = c + β (Δ/γ) v with v the negative eigenvector at the saddle c and
β = ``start_v``: inside the trap's fake basin |y| < Δ/γ (docs/paper.md §2).

The algorithm is ByzantinePGD with Theorem 1's exponents and the constant factors ``factors``
(algorithms.byzantine_pgd.theorem_params: theory.parameters.byzantine_pgd_parameters), at
δ = FAILURE_PROBABILITY and F_0 − F* = F(w_0) − F*; a *variant*
``variant(params, Delta, landscape, f_gap) -> params`` changes them (the ablations below).

Every run goes under the descent monitor (experiments.monitor: η = 1/L_F in every variant, so
Lemma §8.1 binds each step of each of them), with the safety stop MAX_CALLS and the wall-clock
guard: a run the monitor stopped is not the algorithm the claims are about (``observed`` False),
one the guard ended has no verdict (``budget_ended``).
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..algorithms.byzantine_pgd import theorem_params
from ..algorithms.engine import batched_perturbed_gd
from ..algorithms.jin_pgd import jin_radius
from ..algorithms.perturbed_gd import PGDParams
from ..oracles.adversaries import make_adversary, saddle_eigenspace
from ..oracles.batched import BatchedCertifiedOracle, batch_adversaries, batch_landscapes, kind_order
from ..oracles.inexact import CertifiedOracle
from ..oracles.landscapes import CosineSaddle
from ..oracles.landscapes.rotation import random_rotation
from ..theory.certify import certify
from ..theory.claims import get
from .budget import CALL_CAPS, FAILURE_PROBABILITY, INSTANCE_SECONDS
from .loop import InstanceError, only
from .monitor import STATUS as MONITOR_STATUS
from .monitor import BatchedDescentMonitor

MAX_CALLS = CALL_CAPS["saddle_attack"]
LARGE_R_FACTOR = 100.0   # ablation.large_R: R beyond the saddle-to-minimum distance π γ/ρ_F

Variant = Callable[[PGDParams, float, CosineSaddle, float], PGDParams]


# --- the ablated variants (docs/paper.md §9) ------------------------------------------------------
def single_round(p: PGDParams, Delta: float, land, f_gap: float) -> PGDParams:
    """Q = 1: one perturbation round instead of Q."""
    return replace(p, Q=1)


def jin_scale_radius(p: PGDParams, Delta: float, land, f_gap: float) -> PGDParams:
    """r = Jin et al.'s radius √c ε/(χ² L_F) with ε = 4Δ, c = 1 (docs/paper.md §9) instead of
    r ∝ √d Δ/γ' (the perturbation that beats the adversary)."""
    return replace(p, r=jin_radius(4.0 * Delta, land.L, land.dim, FAILURE_PROBABILITY, f_gap))


def large_R(p: PGDParams, Delta: float, land, f_gap: float) -> PGDParams:
    """R = LARGE_R_FACTOR × R: the moving-distance escape test never fires."""
    return replace(p, R=LARGE_R_FACTOR * p.R)


def lambda_shape_without_log(Delta: float, L: float, rho: float, dim: int) -> float:
    """(√ρ_F + L_F) Δ^{2/5} d^{1/5}: Theorem 1's λ_min shape (theory.claims.LAMBDA_SHAPE_BPGD,
    docs/paper.md §4) divided by its log(10/Δ)."""
    values = {"Delta": Delta, "L_F": L, "rho_F": rho, "d": dim}
    return get("byzantine_pgd.lambda_min").shape_value(values) / math.log(10.0 / Delta)


# --- one run ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalibrationRun:
    """One run on the ablation family.

    ``trapped``: λ_min(∇²F(w̃)) <= −γ/2 or the run did not converge; ``C``: the smallest C with
    λ_min(w̃) >= −C (√ρ_F + L_F) Δ^{2/5} d^{1/5} (Theorem 1's λ_min shape without the log,
    docs/paper.md §4); ``params``: the parameters the run used; ``max_error``: the largest oracle
    error the certifying layer measured."""

    trapped: bool
    lambda_min: float
    gamma: float
    grad_norm: float
    C: float
    calls: int
    status: str
    params: dict
    max_error: float

    @property
    def lambda_min_plus_gamma(self) -> float:
        return self.lambda_min + self.gamma


@dataclass(frozen=True)
class AblationPair:
    """The ablated and the full algorithm on the same instance, start and seed."""

    ablated: CalibrationRun
    full: CalibrationRun

    @property
    def observed(self) -> bool:
        """Neither run was stopped by the descent monitor (module docstring)."""
        return MONITOR_STATUS not in (self.ablated.status, self.full.status)

    @property
    def budget_ended(self) -> bool:
        """A run was ended by the wall-clock guard: no verdict on this instance."""
        return "max_seconds" in (self.ablated.status, self.full.status)


def calibration_landscape(spec: dict) -> CosineSaddle:
    """L_F = 1 (a_1 = 1), γ, s from the spec, other a_i ∈ [0.3, 1] and a random rotation."""
    rng = np.random.default_rng(spec["landscape_seed"])
    d = spec["dim"]
    a = rng.uniform(0.3, 1.0, size=d - 1)
    a[0] = 1.0
    return CosineSaddle(a, [spec["gamma"]], [spec["s"]], random_rotation(d, rng))


def run_calibration(spec: dict, factors: dict, variant: Variant | None = None, *,
                    max_calls: int = MAX_CALLS) -> CalibrationRun:
    """Run ByzantinePGD with the constant factors ``factors`` (and ``variant``) on the spec: a
    batch of one of :func:`run_calibration_batch` (a bad spec raises its own error)."""
    return only(run_calibration_batch([spec], factors, variant, raise_build_errors=True, max_calls=max_calls))


@dataclass(frozen=True)
class _Built:
    land: CosineSaddle
    w0: np.ndarray
    gamma: float
    oracle: CertifiedOracle
    params: PGDParams


def _build(spec: dict, factors: dict, variant: Variant | None, land: CosineSaddle | None = None) -> _Built:
    land = calibration_landscape(spec) if land is None else land
    c, V, gammas = saddle_eigenspace(land)        # a cosine saddle: its strict saddle (land.saddle())
    gam = float(gammas.max())
    D = spec["Delta"]
    w0 = c + V[:, 0] * spec["start_v"] * D / gam
    oracle = CertifiedOracle(make_adversary(spec["adversary"], land, D))
    gap = land.value(w0) - land.f_star
    p = theorem_params(D, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap, factors)
    if variant is not None:
        p = variant(p, D, land, gap)
    return _Built(land, w0, gam, oracle, p)


def run_calibration_batch(specs: list[dict], factors: dict, variant: Variant | None = None, *,
                          raise_build_errors: bool = False, max_calls: int = MAX_CALLS,
                          landscapes: list | None = None) -> list[CalibrationRun | InstanceError]:
    """:func:`run_calibration` of every spec as batched trials of the one loop (each under the
    descent monitor, the call cap ``max_calls`` (default the safety stop MAX_CALLS) and the
    wall-clock guard; a trial's outcome does not depend on the batch): per spec its run, or the
    InstanceError of a spec that could not be built (``raise_build_errors``: raised instead) or
    whose trial ended in an error. ``landscapes``: the specs' :func:`calibration_landscape`
    already built (None where it is to be built here; a landscape holds no state, so two runs
    of a spec may share it)."""
    out: list = [None] * len(specs)
    built: list[tuple[int, _Built]] = []
    for i, spec in enumerate(specs):
        try:
            built.append((i, _build(spec, factors, variant, None if landscapes is None else landscapes[i])))
        except Exception as exc:
            if raise_build_errors:
                raise
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=4))
    if not built:
        return out
    built = [built[k] for k in kind_order([b.oracle.oracle for _, b in built])]   # kinds contiguous
    trials = [b for _, b in built]
    bl = batch_landscapes([b.land for b in trials])
    cert = BatchedCertifiedOracle(batch_adversaries([b.oracle.oracle for b in trials], bl))
    res = batched_perturbed_gd(BatchedDescentMonitor(cert, bl.L, cert.delta), bl.pad([b.w0 for b in trials]),
                               [b.params for b in trials],
                               [np.random.default_rng(specs[i]["run_seed"]) for i, _ in built],
                               max_oracle_calls=max_calls, max_seconds=INSTANCE_SECONDS, dims=bl.dims)
    for j, (i, b) in enumerate(built):
        r = res[j]
        if r.status == "error":
            out[i] = InstanceError(specs[i], res.errors[j], "batched calibration run (ablations.py)")
            continue
        cert_w = certify(b.land, r.w)
        scale = lambda_shape_without_log(specs[i]["Delta"], b.land.L, b.land.rho, b.land.dim)
        out[i] = CalibrationRun(
            trapped=bool(cert_w.lambda_min <= -b.gamma / 2 or r.status != "converged"),
            lambda_min=cert_w.lambda_min, gamma=b.gamma, grad_norm=cert_w.grad_norm,
            C=max(0.0, -cert_w.lambda_min) / scale, calls=r.grad_oracle_calls, status=r.status,
            params=b.params.as_dict(), max_error=float(cert.max_error[j]))
    return out


def _landscape_or_none(spec: dict) -> CosineSaddle | None:
    """The spec's landscape, or None when it cannot be built (each run then reports the error)."""
    try:
        return calibration_landscape(spec)
    except Exception:
        return None


def run_ablation(spec: dict, factors: dict, variant: Variant) -> AblationPair:
    """The ablated variant and the full algorithm (both with ``factors``) on the spec."""
    return AblationPair(run_calibration(spec, factors, variant), run_calibration(spec, factors))


def run_ablation_batch(specs: list[dict], factors: dict,
                       variant: Variant) -> list[AblationPair | InstanceError]:
    """:func:`run_ablation` of every spec: the ablated runs as one batch, the full runs as another,
    on the same landscapes (each spec's built once)."""
    lands = [_landscape_or_none(s) for s in specs]
    ablated = run_calibration_batch(specs, factors, variant, landscapes=lands)
    full = run_calibration_batch(specs, factors, landscapes=lands)
    return [a if isinstance(a, InstanceError) else f if isinstance(f, InstanceError) else AblationPair(a, f)
            for a, f in zip(ablated, full, strict=True)]
