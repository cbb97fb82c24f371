"""The runs behind the figures: ByzantinePGD against robust GD from a strict saddle, returned as
plain data (:class:`EscapeData`) that :mod:`byzpgd.reports` only draws.

Two settings, both deterministic in their seeds:

- :func:`saddle_attack`: the saddle-point attack of docs/paper.md §2 (``byzpgd demo
  saddle-attack``). A cosine saddle with the identity rotation, so that the 2-D slice through
  the saddle spanned by the negative-curvature direction e_1 and the first positive direction
  e_2 is a coordinate plane; both runs start inside the trap's fake basin |y_1| < Δ/γ under the
  trap adversary; ByzantinePGD uses Theorem 1's formulas (docs/paper.md §4) with the calibrated
  constant factors (:data:`byzpgd.theory.parameters.CALIBRATED_FACTORS`, OWN).
- :func:`escape_illustration`: the illustration of report.html. A random 2-D cosine saddle, both
  runs start at the saddle w = 0 with an oracle whose error has norm exactly Δ in a random
  direction; ByzantinePGD uses Theorem 1's parameters (paper factors); robust GD (η = 1/L_F,
  ε = 3Δ, no perturbation) sees ‖ĝ‖ = Δ < ε at once and stops at the saddle.

Along each run: every queried point projected on the slice, ‖∇F‖ and λ_min(∇²F) at every query
(exact, :func:`byzpgd.theory.certify.certify`) and the distance from the saddle; at the output
w̃ its certificate. The slice: F on a grid of the plane through the saddle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..algorithms import byzantine_pgd, robust_gd
from ..oracles.adversaries import make_adversary
from ..oracles.inexact import CertifiedOracle, RandomDirectionOracle
from ..oracles.landscapes import CosineSaddle
from ..theory.certify import certify
from ..theory.parameters import CALIBRATED_FACTORS
from .budget import FAILURE_PROBABILITY

PARAM_NAMES = ("eta", "epsilon", "r", "Q", "R", "T_th")


@dataclass(frozen=True)
class TracedRun:
    """One traced optimizer run on a landscape F.

    ``xy`` (k, 2): the k oracle queries in the slice's coordinates; ``w_xy`` (2,): the output w̃
    there; ``grad_norms``, ``lambda_mins``, ``saddle_distances`` (k,): ‖∇F‖, λ_min(∇²F) and
    ‖w − saddle‖ at each query; ``grad_norm``, ``lambda_min``: the certificate of w̃;
    ``params``: η, ε, r, Q, R, T_th the run used."""

    name: str
    xy: np.ndarray
    w_xy: np.ndarray
    grad_norms: np.ndarray
    lambda_mins: np.ndarray
    saddle_distances: np.ndarray
    status: str
    calls: int
    escapes: int
    grad_norm: float
    lambda_min: float
    params: dict[str, float]


@dataclass(frozen=True)
class SliceGrid:
    """F on a grid of the plane through ``origin`` spanned by orthonormal u, v:
    ``values[i, j] = F(origin + x[j]·u + y[i]·v)``."""

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    x_label: str
    y_label: str


@dataclass(frozen=True)
class Mark:
    """A known critical point of F in the slice's coordinates, its kind and λ_min(∇²F)."""

    xy: np.ndarray
    kind: str
    lambda_min: float


@dataclass(frozen=True)
class EscapeData:
    """ByzantinePGD and the control (robust GD) from a strict saddle, as plain data.

    ``grad_bound`` = 4Δ, Theorem 1's bound on ‖∇F(w̃)‖ (docs/paper.md §4); ``trapped_below``
    = −γ/2, the λ_min level below which an output counts as trapped at the saddle (the
    saddle_attack claims); ``r`` and ``R``: ByzantinePGD's perturbation radius and escape
    distance; ``settings``: the values (Δ, d, seeds) that reproduce the data."""

    title: str
    description: str
    Delta: float
    L_F: float
    rho_F: float
    byzantine_pgd: TracedRun
    robust_gd: TracedRun
    grid: SliceGrid
    critical_points: tuple[Mark, ...]
    grad_bound: float
    trapped_below: float
    r: float
    R: float
    settings: dict = field(default_factory=dict)


# --- building blocks ---------------------------------------------------------------------------
def traced_run(name: str, land, result, saddle: np.ndarray, origin: np.ndarray,
               basis: np.ndarray) -> TracedRun:
    """A :class:`TracedRun` from an :class:`~byzpgd.algorithms.OptimizeResult` run with
    ``trace=True``; ``basis`` (2, d) spans the slice through ``origin``."""
    points = np.asarray(result.trace["points"], dtype=np.float64)
    certs = [certify(land, w) for w in points]
    final = certify(land, result.w)
    return TracedRun(
        name=name, xy=(points - origin) @ basis.T, w_xy=(result.w - origin) @ basis.T,
        grad_norms=np.array([c.grad_norm for c in certs]),
        lambda_mins=np.array([c.lambda_min for c in certs]),
        saddle_distances=np.linalg.norm(points - saddle, axis=1),
        status=result.status, calls=result.grad_oracle_calls, escapes=result.escapes,
        grad_norm=final.grad_norm, lambda_min=final.lambda_min,
        params={k: result.params[k] for k in PARAM_NAMES})


def slice_grid(land, origin: np.ndarray, basis: np.ndarray, x: np.ndarray, y: np.ndarray,
               labels: tuple[str, str]) -> SliceGrid:
    """F on the grid ``x`` × ``y`` of the plane through ``origin`` spanned by ``basis`` (2, d)."""
    X, Y = np.meshgrid(x, y)
    pts = origin + X.reshape(-1, 1) * basis[0] + Y.reshape(-1, 1) * basis[1]
    values = np.array([land.value(w) for w in pts]).reshape(X.shape)
    return SliceGrid(x=np.asarray(x), y=np.asarray(y), values=values, x_label=labels[0],
                     y_label=labels[1])


def _marks(land, origin: np.ndarray, basis: np.ndarray) -> tuple[Mark, ...]:
    return tuple(Mark((c.point - origin) @ basis.T, c.kind, c.lambda_min)
                 for c in land.critical_points())


# --- the saddle-point attack (byzpgd demo saddle-attack) --------------------------------------
def saddle_attack(Delta: float = 0.02, dim: int = 4, seed: int = 0) -> EscapeData:
    """Robust GD and ByzantinePGD (Theorem 1's formulas, calibrated factors, δ =
    FAILURE_PROBABILITY) from the same start inside the fake basin of the trap adversary
    (``make_adversary({"name": "trap", "seed": seed}, ...)``); ByzantinePGD's perturbations from
    ``default_rng(seed)``. Landscape: ``CosineSaddle(linspace(0.25, 1, dim − 1), [0.8], [2.0])``
    (L_F = 1, γ = 0.8, ρ_F = 0.4, saddle at 0; the slow direction e_2 first, so that the
    trajectory is visible)."""
    if dim < 3:
        raise ValueError(f"dim must be >= 3, got {dim}")
    gamma, width = 0.8, 2.0
    land = CosineSaddle(np.linspace(0.25, 1.0, dim - 1), [gamma], [width])
    w0 = np.zeros(dim)
    w0[0] = 0.3 * Delta / gamma          # inside the fake basin |y_1| < Δ/γ (docs/paper.md §2)
    w0[1], w0[2] = 1.5, -1.0

    def oracle():
        return CertifiedOracle(make_adversary({"name": "trap", "seed": seed}, land, Delta))

    bp = byzantine_pgd(oracle(), w0, np.random.default_rng(seed), delta=FAILURE_PROBABILITY,
                       factors=CALIBRATED_FACTORS, trace=True)
    gd = robust_gd(oracle(), w0, trace=True)
    origin, basis = np.zeros(dim), np.eye(dim)[:2]
    x = np.linspace(-1.3 * np.pi * width, 1.3 * np.pi * width, 200)
    y = np.linspace(-2.0, 2.0, 160)
    return EscapeData(
        title=f"Saddle-point attack: trap adversary, Δ = {Delta:g}",
        description=(f"CosineSaddle(linspace(0.25, 1, {dim - 1}), γ = [{gamma}], s = [{width}]) "
                     f"in d = {dim}; trap adversary (seed {seed}); start inside the fake basin; "
                     f"ByzantinePGD with Theorem 1's formulas and the calibrated factors "
                     f"{CALIBRATED_FACTORS}, δ = {FAILURE_PROBABILITY}."),
        Delta=Delta, L_F=land.L, rho_F=land.rho,
        byzantine_pgd=traced_run("ByzantinePGD", land, bp, origin, origin, basis),
        robust_gd=traced_run("robust GD", land, gd, origin, origin, basis),
        grid=slice_grid(land, origin, basis, x, y, ("e_1 (negative curvature)",
                                                    "e_2 (positive curvature)")),
        critical_points=_marks(land, origin, basis), grad_bound=4 * Delta,
        trapped_below=-gamma / 2, r=bp.params["r"], R=bp.params["R"],
        settings={"Delta": Delta, "dim": dim, "seed": seed})


# --- the illustration of report.html -----------------------------------------------------------
def escape_illustration(*, dim: int = 2, landscape_seed: int = 0, Delta: float = 1e-10,
                        oracle_seed: int = 1, run_seed: int = 2,
                        delta: float = FAILURE_PROBABILITY) -> EscapeData:
    """ByzantinePGD (Theorem 1's parameters for ``delta``) and robust GD (η = 1/L_F, ε = 3Δ, no
    perturbation) from the strict saddle w = 0 of ``CosineSaddle.random(dim,
    default_rng(landscape_seed))``, each with ``CertifiedOracle(RandomDirectionOracle(land,
    Delta, default_rng(oracle_seed)))``; ByzantinePGD's perturbations from
    ``default_rng(run_seed)``. The slice is the plane of the first two coordinates."""
    land = CosineSaddle.random(dim, np.random.default_rng(landscape_seed))
    w0 = np.zeros(dim)

    def oracle():
        return CertifiedOracle(RandomDirectionOracle(land, Delta,
                                                     np.random.default_rng(oracle_seed)))

    bp = byzantine_pgd(oracle(), w0, np.random.default_rng(run_seed), delta=delta, trace=True)
    gd = robust_gd(oracle(), w0, trace=True)
    origin, basis = np.zeros(dim), np.eye(dim)[:2]
    marks = _marks(land, origin, basis)
    runs = [traced_run(name, land, res, w0, origin, basis)
            for name, res in (("ByzantinePGD", bp), ("robust GD", gd))]
    extent = np.vstack([*(r.xy for r in runs), *(m.xy[None, :] for m in marks)])
    half = 1.35 * float(np.max(np.abs(extent))) + 0.5
    g = np.linspace(-half, half, 81)
    gamma = float(land.gamma.max())
    return EscapeData(
        title="Escape from the strict saddle",
        description=(f"Landscape: CosineSaddle.random({dim}, numpy.random.default_rng("
                     f"{landscape_seed})) (L_F = {land.L:.3g}, ρ_F = {land.rho:.3g}, strict "
                     f"saddle at 0 with λ_min = {-gamma:.3g}). Both runs start at the saddle "
                     f"w = 0 with CertifiedOracle(RandomDirectionOracle(land, Δ = {Delta:g}, "
                     f"default_rng({oracle_seed}))), an error of norm exactly Δ in a random "
                     f"direction. ByzantinePGD: Theorem 1's parameters for δ = {delta}, "
                     f"perturbations from default_rng({run_seed}). Robust GD: η = 1/L_F, ε = 3Δ, "
                     f"no perturbation: its first aggregated gradient has norm Δ < ε, so it "
                     f"stops at the saddle."),
        Delta=Delta, L_F=land.L, rho_F=land.rho, byzantine_pgd=runs[0], robust_gd=runs[1],
        grid=slice_grid(land, origin, basis, g, g, ("w₁", "w₂")), critical_points=marks,
        grad_bound=4 * Delta, trapped_below=-gamma / 2, r=bp.params["r"], R=bp.params["R"],
        settings={"dim": dim, "landscape_seed": landscape_seed, "Delta": Delta,
                  "oracle_seed": oracle_seed, "run_seed": run_seed, "delta": delta})
