"""``byzpgd audit-optimizer``: audit a user's optimizer against the Δ-inexact adversaries, the
saddle-point attack and the lower-bound constructions (docs/audit-optimizer.md).

**The method** (:class:`Optimizer`): ``fn(oracle, w0, rng, budget) -> point``; methods written
against a plain gradient callable are adapted by :func:`from_gradient_callable`.

**The battery** (:func:`battery`), per landscape with certified constants (rotated cosine saddles,
oracles.landscapes.CosineSaddle: L_F, ρ_F, F* and the strict saddle c known exactly) and per Δ of
the profile (quick: 1e-2, 1e-3, 1e-13; ci: 1e-2, 1e-3, 1e-12, 1e-13, 1e-14 on two landscapes):

- ``first_order``: every Δ-inexact adversary of ``byzpgd.oracles.adversaries.NAMES`` from a random
  start (uniform in the unit ball);
- ``saddle_attack``: the attack adversaries (:data:`ATTACK_ADVERSARIES`) from the strict saddle's
  fake basin (w_0 = c + a u_P + b u_V, experiments.saddle_attack.attack_start) and from the
  attack's fake minimum (the saddle c for the trap, the white-box and the search adversaries,
  the planted target p for the target field), each with its control: robust GD (ε = 3Δ) from the
  same start under a fresh copy of the same adversary;
- ``lower_bound``: the two θ-free oracles of docs/paper.md §7.1 (Observation 2): the output is
  certified on the member F_θ with θ drawn after the run (random phase), and on the worse of
  F_± = (L/2)‖w‖² ± Δw_1.

Why these Δ: two regimes, each where a reference's behaviour is stated. Δ ∈ {1e-2, 1e-3} is where
the claims ``saddle_attack.robust_gd_trapped`` and ``saddle_attack.jin_pgd_trapped`` are checked
(Jin's parameters need ε = 4Δ not too small to finish); Δ <= 1e-12 is where Theorem 1's λ_min
bound is (near) non-vacuous, i.e. where the theory says ByzantinePGD escapes. In between
(1e-5 <= Δ <= 1e-8 at d = 4) Theorem 1's parameters give T_th <= 2 and ByzantinePGD is trapped
(measured, docs/audit-optimizer.md): the theory predicts nothing there and the battery does not
grade it.

**Per run** (:class:`~.optimizer_result.RunRow`): ‖∇F(w̃)‖/Δ and λ_min(∇²F(w̃)) (exact certificates,
theory.certify) beside Theorem 1's bounds (4Δ; −1900 (√ρ_F + L_F) Δ^{2/5} d^{1/5} log(10/Δ)) and
Observation 2's (Δ/2; −√(ρ_F Δ)/2), and the oracle calls, counted by the wrapper the user's code
receives (:class:`~.optimizer_isolation.CountingOracle`), outside it.

**The verdict** (:func:`grade`, positive evidence only):

- ``fail``: the user's code raised, hung, crashed, returned NaN/Inf, the wrong shape or type,
  wrote into w_0 or queried a non-finite point in some run; or a finished run has
  ‖∇F(w̃)‖ > C_FIRST_ORDER·Δ (not even first-order; C_FIRST_ORDER = 8 = twice Theorem 1's 4);
- ``first-order only``: no failure, and some finished run ended trapped at the attacked saddle
  (λ_min(w̃) + its certificate error < −γ/2, γ = −λ_min(∇²F(c)));
- ``second-order``: no failure, every run finished within its budget with ‖∇F(w̃)‖ <= cΔ
  (c reported), and every saddle-attack run escaped by the margin λ_min(w̃) − error > −γ/4, with
  at least one escape per Δ where the control (robust GD) was trapped (an instance whose control
  escaped is vacuous: it shows no escape);
- ``inconclusive``: anything else (a budget ran out, an output between −γ/2 and −γ/4, no
  non-vacuous attack instance at some Δ).

Every random choice comes from ``byzpgd.seeding.instance_rng(seed, 'optimizer-audit', i, stream)``
(run i: stream 0 the landscape, 1 the start, 2 the adversary, 3 the optimizer's ``rng``, 4 θ).
"""

from __future__ import annotations

import inspect
import math
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..algorithms import byzantine_pgd, robust_gd
from ..algorithms.jin_pgd import jin_pgd
from ..experiments.budget import FAILURE_PROBABILITY
from ..experiments.lower_bounds import PAPER_FAMILY, SharedOracle, member
from ..experiments.saddle_attack import attack_start
from ..oracles.adversaries import NAMES, make_adversary
from ..oracles.inexact import CertifiedOracle
from ..oracles.landscapes import CosineSaddle
from ..seeding import instance_rng
from ..theory import lower_bounds as lb
from ..theory.certify import certify
from ..theory.claims import get as get_claim
from . import loader
from .optimizer_isolation import CountingOracle, Outcome, ProblemView, probe_import, run_isolated
from .optimizer_result import DeltaSummary, Finding, OptimizerAudit, Reason, RunRow

KEY = "optimizer-audit"
C_FIRST_ORDER = 8.0          # first-order tolerance ‖∇F(w̃)‖ <= 8Δ: twice Theorem 1's 4Δ
TRAP_FRACTION = 0.5          # trapped: λ_min(w̃) < −γ/2 (as saddle_attack.*: AttackRun.left_saddle)
ESCAPE_FRACTION = 0.25       # escaped by the margin: λ_min(w̃) > −γ/4
ATTACK_ADVERSARIES = ("trap", "target_field", "adaptive", "search")
ERROR_STATUSES = ("exception", "timeout", "crash", "non_finite_output", "wrong_shape", "wrong_type",
                  "mutated_w0", "diverged", "import_error")
MAX_TIMEOUTS = 2             # after this many timeouts the remaining runs are skipped


@runtime_checkable
class Optimizer(Protocol):
    """A method under audit: ``fn(oracle, w0, rng, budget) -> point``.

    - ``oracle(w)``: ĝ(w) with ‖ĝ(w) − ∇F(w)‖ <= Δ (docs/paper.md §1, Def. 1), chosen by an
      adversary; w of shape (d,) (or (k, d) when ``oracle.batchable``: k answers, k calls).
      ``oracle.delta`` is Δ; ``oracle.landscape`` has ``dim``, ``L`` (L_F), ``rho`` (ρ_F),
      ``f_star`` and ``value(w)`` (F exact); ``oracle.notify(event, **data)`` may announce
      'candidate', 'perturbation', 'escape' (adaptive adversaries see them).
    - ``w0``: the start, float64 of shape (d,); do not write into it (a ``mutated_w0`` finding).
    - ``rng``: a ``numpy.random.Generator``, the method's only source of randomness.
    - ``budget``: the largest number of oracle calls; a call beyond it raises (the run then has no
      verdict), and a run that uses the whole budget has none either.
    - returns w̃, array-like of shape (d,) (an object with an attribute ``w``, such as
      byzpgd's ``OptimizeResult``, is read through it).
    """

    def __call__(self, oracle, w0: np.ndarray, rng: np.random.Generator, budget: int): ...


_RNG_NAMES = ("rng", "random_state", "generator")
_BUDGET_NAMES = ("budget", "max_calls", "max_oracle_calls", "max_iter", "maxiter")


def from_gradient_callable(method: Callable, **kwargs) -> Callable:
    """Adapt ``method(grad, w0, **kw)`` (grad: a plain callable w -> ĝ(w)) to :class:`Optimizer`.

    ``method`` is called with the oracle's ``__call__`` as ``grad`` and a copy of w_0; the rng
    and the budget are passed as keywords when ``method`` has a parameter of one of the names
    ``rng``/``random_state``/``generator`` and ``budget``/``max_calls``/``max_oracle_calls``/
    ``max_iter``/``maxiter`` (each gradient call is one oracle call); ``kwargs`` are passed on
    (e.g. a step size). The returned function has the Protocol's signature."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        params = {}

    def optimizer(oracle, w0, rng, budget):
        extra = dict(kwargs)
        for name in _RNG_NAMES:
            if name in params:
                extra[name] = rng
        for name in _BUDGET_NAMES:
            if name in params:
                extra[name] = int(budget)
        return method(oracle.__call__, np.array(w0, dtype=np.float64), **extra)

    name = f"from_gradient_callable({getattr(method, '__name__', 'method')})"
    optimizer.__name__ = optimizer.__qualname__ = name
    optimizer.__wrapped__ = method
    return optimizer


# --- the reference optimizers (MODULE:CALLABLE byzpgd.audit.optimizer:<name>) ------------------------
def byzantine_pgd_optimizer(oracle, w0, rng, budget):
    """ByzantinePGD with Theorem 1's parameters (docs/paper.md §4), δ = 0.1."""
    return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, max_oracle_calls=int(budget)).w


def robust_gd_optimizer(oracle, w0, rng, budget):
    """Robust GD, η = 1/L_F, ε = 3Δ (no perturbation): the victim of the saddle-point attack."""
    return robust_gd(oracle, w0, max_oracle_calls=int(budget)).w


def jin_pgd_optimizer(oracle, w0, rng, budget):
    """Jin et al.'s PGD (docs/paper.md §9) with ε = 4Δ, c = 1, δ = 0.1 and exact F values."""
    return jin_pgd(oracle, w0, rng, epsilon=4 * oracle.delta, delta=FAILURE_PROBABILITY,
                   max_oracle_calls=int(budget)).w


REFERENCES = {"byzantine_pgd": byzantine_pgd_optimizer, "robust_gd": robust_gd_optimizer,
              "jin_pgd": jin_pgd_optimizer}


# --- the battery ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """``deltas``; ``landscapes``: (dim, n_neg, L, ρ) of the cosine saddles; ``budget(Δ)``: oracle
    calls (``budget_large`` for Δ >= 1e-6, ``budget_small`` below: ByzantinePGD certifies a
    candidate with Q·T_th ≈ 1.04e4 calls at Δ = 1e-13, d = 4: 11 423 calls at most measured,
    docs/audit-optimizer.md); ``time_limit``: seconds per run."""

    deltas: tuple[float, ...]
    landscapes: tuple[tuple[int, int, float, float], ...]
    budget_large: int
    budget_small: int
    time_limit: float

    def budget(self, Delta: float) -> int:
        return self.budget_large if Delta >= 1e-6 else self.budget_small


PROFILES = {
    "quick": Profile((1e-2, 1e-3, 1e-13), ((4, 1, 1.0, 1.0),), 5_000, 15_000, 60.0),
    "ci": Profile((1e-2, 1e-3, 1e-12, 1e-13, 1e-14), ((4, 1, 1.0, 1.0), (6, 2, 1.5, 0.5)),
                  10_000, 80_000, 120.0),
}


@dataclass(frozen=True)
class Instance:
    """One run of the battery (JSON-able): ``kind``, Δ, adversary, start, the landscape's
    (dim, n_neg, L, ρ), ``budget``, ``index`` (its seeds: module docstring)."""

    index: int
    kind: str
    Delta: float
    adversary: str
    start: str
    landscape: tuple[int, int, float, float]
    budget: int


def battery(profile: str) -> list[Instance]:
    """The runs of ``profile`` (module docstring), in a fixed order."""
    if profile not in PROFILES:
        raise loader.UsageError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    prof = PROFILES[profile]
    out: list[tuple] = []
    for Delta in prof.deltas:
        for land in prof.landscapes:
            out += [("first_order", Delta, adv, "random", land) for adv in NAMES]
            out += [("saddle_attack", Delta, adv, start, land)
                    for adv in ATTACK_ADVERSARIES for start in ("saddle", "fake_minimum")]
        dim, _, L, rho = prof.landscapes[0]
        out += [("lower_bound", Delta, "shared_oracle", kind, prof.landscapes[0]) for kind in ("phase", "pm")]
    return [Instance(i, kind, Delta, adv, start, land, prof.budget(Delta))
            for i, (kind, Delta, adv, start, land) in enumerate(out)]


def _rng(seed: int, inst: Instance, stream: int) -> np.random.Generator:
    return instance_rng(seed, KEY, inst.index, stream)


def _landscape(seed: int, inst: Instance) -> CosineSaddle:
    dim, n_neg, L, rho = inst.landscape
    # the landscape depends on (seed, its constants) only: every run on it sees the same F
    rng = instance_rng(seed, f"{KEY}/landscape/{dim}/{n_neg}/{L!r}/{rho!r}", 0)
    return CosineSaddle.random(dim, rng, n_neg=n_neg, L=L, rho=rho)


def _adversary(seed: int, inst: Instance, land):
    desc = {"name": inst.adversary, "seed": int(_rng(seed, inst, 2).integers(2**31))}
    return make_adversary(desc, land, inst.Delta)


def _start(seed: int, inst: Instance, land, adversary) -> np.ndarray:
    rng = _rng(seed, inst, 1)
    if inst.start == "random":
        return land.sample_start(rng, "ball", 1.0)
    if inst.start == "fake_minimum":
        target = getattr(adversary, "target", None)
        return np.array(land.saddle().point if target is None else target, dtype=np.float64)
    # inside the fake basin (experiments.saddle_attack); the target field's basin has radius about
    # Δ/(2 L_F), so its start is that close along the positive directions too
    p_scale = inst.Delta / land.L if inst.adversary == "target_field" else 1.0
    spec = {"start_seed": int(rng.integers(2**31)), "start_p": 0.1 * p_scale, "start_v": 0.5,
            "Delta": inst.Delta}
    return attack_start(spec, land)[0]


def _theory(Delta: float, L: float, rho: float, dim: int) -> tuple[float, float]:
    """(Theorem 1's λ_min bound, Observation 2's λ_min barrier −√(ρΔ)/2) at the values."""
    values = {"Delta": Delta, "L_F": L, "rho_F": rho, "d": dim, "delta": FAILURE_PROBABILITY}
    return float(get_claim("byzantine_pgd.lambda_min").bound(values)), -float(lb.lambda_lower(rho, Delta))


@dataclass(frozen=True)
class _Judged:
    grad_ratio: float | None
    lambda_min: float | None
    lambda_min_error: float
    gamma: float | None
    control_trapped: bool | None


def _trapped(lam: float | None, err: float, gamma: float | None) -> bool | None:
    if lam is None or gamma is None:
        return None
    return bool(lam + err < -TRAP_FRACTION * gamma)


def _escaped(lam: float | None, err: float, gamma: float | None) -> bool | None:
    if lam is None or gamma is None:
        return None
    return bool(lam - err > -ESCAPE_FRACTION * gamma)


def _run_saddle_instance(target, paths, seed: int, inst: Instance, time_limit: float
                         ) -> tuple[Outcome, _Judged, dict]:
    land = _landscape(seed, inst)
    adversary = _adversary(seed, inst, land)
    w0 = _start(seed, inst, land, adversary)
    gamma = float(-land.saddle().lambda_min)
    oracle = CountingOracle(CertifiedOracle(adversary), ProblemView(land), inst.Delta, inst.budget)
    out = run_isolated(target, oracle, w0, _rng(seed, inst, 3), inst.budget, time_limit, paths)
    control = None
    if inst.kind == "saddle_attack":    # robust GD, same start, a fresh copy of the same adversary
        res = robust_gd(CertifiedOracle(_adversary(seed, inst, land)), w0, max_oracle_calls=inst.budget)
        cert = certify(land, res.w)
        control = bool(res.status == "converged" and _trapped(cert.lambda_min, cert.lambda_min_error, gamma))
    if out.w is None:
        return out, _Judged(None, None, 0.0, gamma, control), {"L": land.L, "rho": land.rho}
    cert = certify(land, out.w)
    return out, _Judged(cert.grad_norm / inst.Delta, cert.lambda_min, cert.lambda_min_error, gamma,
                        control), {"L": land.L, "rho": land.rho}


def _run_lower_bound(target, paths, seed: int, inst: Instance, time_limit: float
                     ) -> tuple[Outcome, _Judged, dict]:
    dim, _, L, rho = inst.landscape
    shared = SharedOracle(inst.start, dim, inst.Delta, rho, L)
    w0 = _rng(seed, inst, 1).standard_normal(dim)
    oracle = CountingOracle(shared, ProblemView(shared.landscape), inst.Delta, inst.budget)
    out = run_isolated(target, oracle, w0, _rng(seed, inst, 3), inst.budget, time_limit, paths)
    consts = {"L": shared.landscape.L, "rho": shared.landscape.rho}
    if out.w is None:
        return out, _Judged(None, None, 0.0, None, None), consts
    w = out.w
    if inst.start == "phase":      # θ drawn after the run (docs/paper.md §7.1)
        theta = _rng(seed, inst, 4).uniform(0.0, PAPER_FAMILY.period(inst.Delta, rho))
        cert = certify(member(PAPER_FAMILY, dim, inst.Delta, rho, L, theta), w)
        return out, _Judged(cert.grad_norm / inst.Delta, cert.lambda_min, cert.lambda_min_error, None,
                            None), consts
    e1 = np.zeros(dim)
    e1[0] = inst.Delta
    worst = max(np.linalg.norm(L * w + e1), np.linalg.norm(L * w - e1)) / inst.Delta
    return out, _Judged(float(worst), float(L), 0.0, None, None), consts


def run_instance(target, inst: Instance, seed: int, time_limit: float, paths=()) -> RunRow:
    """Build, run (isolated) and certify one instance of the battery."""
    runner = _run_lower_bound if inst.kind == "lower_bound" else _run_saddle_instance
    out, j, consts = runner(target, paths, seed, inst, time_limit)
    thm1, obs2 = _theory(inst.Delta, consts["L"], consts["rho"], inst.landscape[0])
    name = "random_phase_cosine" if inst.kind == "lower_bound" else "cosine_saddle"
    return RunRow(inst.index, inst.kind, inst.Delta, inst.adversary, inst.start, name, inst.landscape[0],
                  consts["L"], out.status, j.grad_ratio, j.lambda_min, j.lambda_min_error, j.gamma,
                  _trapped(j.lambda_min, j.lambda_min_error, j.gamma),
                  _escaped(j.lambda_min, j.lambda_min_error, j.gamma), j.control_trapped, out.calls,
                  inst.budget, out.seconds, thm1, obs2, out.message)


def skipped_row(inst: Instance, why: str) -> RunRow:
    return RunRow(inst.index, inst.kind, inst.Delta, inst.adversary, inst.start, "-", inst.landscape[0],
                  float("nan"), "skipped", None, None, 0.0, None, None, None, None, 0, inst.budget, 0.0,
                  float("nan"), float("nan"), why)


# --- findings, summaries, verdict ------------------------------------------------------------------
def findings_of(rows: list[RunRow]) -> tuple[Finding, ...]:
    """One finding per (status, message with digits ignored) of the runs an error ended."""
    out: dict[tuple, list] = {}
    for r in rows:
        if r.status in ERROR_STATUSES:
            key = (r.status, "".join("#" if ch.isdigit() else ch for ch in r.note))
            out.setdefault(key, [r.status, r.note, 0, r.index])[2] += 1
    return tuple(Finding(*v) for v in out.values())


def summarize(rows: list[RunRow]) -> tuple[DeltaSummary, ...]:
    """Per-Δ summaries (:class:`~.optimizer_result.DeltaSummary`)."""
    out = []
    for Delta in sorted({r.Delta for r in rows}, reverse=True):
        rs = [r for r in rows if r.Delta == Delta]
        fin = [r for r in rs if r.finished]
        sad = [r for r in fin if r.gamma is not None and r.lambda_min is not None]
        att = [r for r in rs if r.kind == "saddle_attack"]
        thm1 = max((r.theorem1_lambda for r in rs if math.isfinite(r.theorem1_lambda)), default=float("nan"))
        obs2 = min((r.obs2_lambda for r in rs if math.isfinite(r.obs2_lambda)), default=float("nan"))
        out.append(DeltaSummary(
            Delta, len(rs), len(fin), max((r.grad_ratio for r in fin), default=None),
            min((r.lambda_min for r in sad), default=None), 4.0, thm1,
            all(r.theorem1_lambda >= r.L_F for r in rs), 0.5, obs2,
            len(att), sum(bool(r.finished and r.escaped and r.control_trapped) for r in att),
            sum(bool(r.finished and r.trapped) for r in att),
            sum(bool(r.finished and r.escaped and not r.control_trapped) for r in att),
            max((r.calls for r in rs), default=0)))
    return tuple(out)


def _where(r: RunRow) -> str:
    return f"run {r.index} ({r.kind}, Δ = {r.Delta:g}, {r.adversary}, start {r.start})"


def grade(rows: list[RunRow], findings: tuple[Finding, ...]) -> tuple[str, tuple[Reason, ...]]:
    """The verdict and its reasons from the rows (module docstring)."""
    fin = [r for r in rows if r.finished]
    if findings:
        return "fail", tuple(Reason("fail", f"{f.kind} in {f.count} run(s) (first: run {f.first_run}): "
                                            f"{f.message}") for f in findings)
    not_first = [r for r in fin if not r.grad_ratio <= C_FIRST_ORDER]
    if not_first:
        worst = max(not_first, key=lambda r: r.grad_ratio)
        return "fail", (Reason("fail", f"not first-order in {len(not_first)} finished run(s): "
                                       f"‖∇F(w̃)‖ = {worst.grad_ratio:.3g}Δ > {C_FIRST_ORDER:g}Δ at "
                                       f"{_where(worst)}"),)
    if not fin:
        return "inconclusive", (Reason("inconclusive", "no run finished within its budget"),)
    c = max(r.grad_ratio for r in fin)
    first = Reason("first-order only", f"first-order: ‖∇F(w̃)‖ <= {c:.3g}Δ in all {len(fin)} finished runs")
    trapped = [r for r in fin if r.trapped]
    if trapped:
        r = trapped[0]
        return "first-order only", (
            Reason("first-order only", f"trapped by the saddle-point attack in {len(trapped)} run(s): e.g. "
                                       f"{_where(r)} ended at λ_min = {r.lambda_min:.3g} < −γ/2 = "
                                       f"{-r.gamma / 2:.3g}"), first)
    reasons = []
    unfinished = [r for r in rows if not r.finished]
    if unfinished:
        reasons.append(Reason("inconclusive", f"{len(unfinished)} run(s) did not finish within the budget "
                                              f"(e.g. {_where(unfinished[0])})"))
    attacks = [r for r in rows if r.kind == "saddle_attack" and r.finished]
    between = [r for r in attacks if not r.escaped]
    if between:
        reasons.append(Reason("inconclusive", f"{len(between)} attack run(s) ended neither trapped nor "
                                              "escaped by the margin λ_min > −γ/4 (e.g. "
                                              f"{_where(between[0])})"))
    for Delta in sorted({r.Delta for r in rows}, reverse=True):
        shown = [r for r in attacks if r.Delta == Delta and r.escaped and r.control_trapped]
        if not shown:
            reasons.append(Reason("inconclusive", f"no non-vacuous saddle-attack escape at Δ = {Delta:g} "
                                                  "(robust GD, the control, was never trapped)"))
    if reasons:
        return "inconclusive", tuple(reasons) + (first,)
    margin = min((r.lambda_min - r.lambda_min_error) / r.gamma + TRAP_FRACTION for r in attacks)
    n_shown = sum(bool(r.control_trapped) for r in attacks)
    return "second-order", (
        Reason("second-order", f"escaped all {len(attacks)} saddle-attack runs ({n_shown} where robust GD "
                               f"from the same start was trapped); smallest margin "
                               f"(λ_min(w̃) + γ/2)/γ = {margin:.3g}"),
        Reason("second-order", f"first-order everywhere: ‖∇F(w̃)‖ <= {c:.3g}Δ in all {len(fin)} runs"))


def lambda_scale(rows: list[RunRow]) -> float | None:
    """max over finished saddle-landscape runs of max(0, −λ_min(w̃))/γ."""
    vals = [max(0.0, -r.lambda_min) / r.gamma for r in rows
            if r.finished and r.gamma is not None and r.lambda_min is not None]
    return max(vals) if vals else None


# --- the audit -----------------------------------------------------------------------------------------
def _describe(target) -> str:
    if isinstance(target, str):
        return target
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{getattr(target, '__module__', '?')}:{name}"


def audit_optimizer(target, profile: str = "quick", seed: int = 0, *, time_limit: float | None = None,
                    paths=(), progress: Callable[[str], None] | None = None,
                    command: str | None = None) -> OptimizerAudit:
    """Audit ``target`` (an :class:`Optimizer`, or ``"MODULE:CALLABLE"``) on the profile's battery.

    Raises :class:`~byzpgd.audit.loader.UsageError` for a malformed target, a module or attribute
    that is not found, an unknown profile or a negative seed; everything the user's code does is
    a finding of the result (module docstring). ``time_limit``: seconds per run (default: the
    profile's)."""
    t0 = time.perf_counter()
    if profile not in PROFILES:
        raise loader.UsageError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    if not (isinstance(seed, int) and seed >= 0):
        raise loader.UsageError(f"seed must be an integer >= 0, got {seed!r}")
    limit = float(PROFILES[profile].time_limit if time_limit is None else time_limit)
    label = _describe(target)
    command = command or shlex.join(["byzpgd", "audit-optimizer", label, "--profile", profile,
                                     "--seed", str(seed)])
    insts = battery(profile)
    if isinstance(target, str):
        loader.parse_target(target)
        status, text = probe_import(target, paths, max(limit, 60.0))
        if status == "usage":
            raise loader.UsageError(text)
        if status != "ok":
            rows = [skipped_row(i, "the target could not be imported") for i in insts]
            finding = Finding("import_error" if status == "import_error" else "timeout", text, 1, 0)
            return OptimizerAudit(label, "not loaded", profile, seed, "fail",
                                  (Reason("fail", f"importing {target}: {text}"),), None, None,
                                  summarize(rows), tuple(rows), (finding,), limit, command,
                                  time.perf_counter() - t0)
        description = text
    elif not callable(target):
        raise loader.UsageError("the optimizer must be callable or 'MODULE:CALLABLE', got "
                                f"{type(target).__name__}")
    else:
        description = loader.describe(target)
    rows: list[RunRow] = []
    timeouts = 0
    for inst in insts:
        if timeouts >= MAX_TIMEOUTS:
            rows.append(skipped_row(inst, f"skipped after {MAX_TIMEOUTS} timeouts"))
            continue
        row = run_instance(target, inst, seed, limit, paths)
        timeouts += row.status == "timeout"
        rows.append(row)
        if progress is not None:
            progress(f"run {inst.index + 1}/{len(insts)}: {inst.kind} Δ={inst.Delta:g} {inst.adversary} "
                     f"{inst.start}: {row.status}")
    findings = findings_of(rows)
    verdict, reasons = grade(rows, findings)
    fin = [r.grad_ratio for r in rows if r.finished]
    return OptimizerAudit(label, description, profile, seed, verdict, reasons, max(fin) if fin else None,
                          lambda_scale(rows), summarize(rows), tuple(rows), findings, limit, command,
                          time.perf_counter() - t0)
