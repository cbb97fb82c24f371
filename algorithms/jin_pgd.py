"""Perturbed gradient descent of Jin, Ge, Netrapalli, Kakade, Jordan (ICML 2017), Algorithm 2
(docs/paper.md §9), for the comparison with ByzantinePGD under the saddle-point attack.

```
χ ← 3·max{log(d ℓ Δ_f / (c ε² δ)), 4};  η ← c/ℓ;  r ← (√c/χ²)·(ε/ℓ)
g_thres ← (√c/χ²)·ε;  f_thres ← (c/χ³)·√(ε³/ρ);  t_thres ← (χ/c²)·(ℓ/√(ρε))
t_noise ← −t_thres − 1
for t = 0, 1, ...:
    if ‖∇f(x_t)‖ <= g_thres and t − t_noise > t_thres:
        x̃ ← x_t;  t_noise ← t;  x_t ← x̃ + ξ_t,  ξ_t ~ Uniform(B_0(r))
    if t − t_noise = t_thres and f(x_t) − f(x̃) > −f_thres:  return x̃
    x_{t+1} ← x_t − η ∇f(x_t)
```
Here ∇f is the (possibly Δ-inexact, adversarial) gradient oracle. The escape test needs function
values: ``value`` (default: the landscape's exact F, i.e. the adversary corrupts gradients only,
which favours Jin's algorithm). t_thres is rounded up. Differences from ByzantinePGD: function
decrease instead of moving distance, one perturbation per candidate instead of Q, radius ∝ ε/ℓ
instead of ∝ √dΔ/γ.

It runs on the shared loop (:mod:`.engine`, "Jin et al.'s test"), which is this algorithm
exactly with ε = g_thres, Q = 1, r, T_th = t_thres + 1 (the t_thres steps after the perturbation
and the query that tests F(x_t) − f(x̃) > −f_thres) and R = f_thres: a perturbation needs
‖∇f(x_t)‖ <= g_thres and t − t_noise > t_thres, and every query of the loop's gradient phase
after a round is at least t_thres + 1 steps after its perturbation. The oracle hears the loop's
events ('candidate', 'perturbation' with ξ, 'escape' with the escaped iterate), so adaptive
adversaries can attack it too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass

import numpy as np

from byzpgd.geometry import as_point

from . import engine
from .engine import PGDParams
from .perturbed_gd import DEFAULT_MAX_ORACLE_CALLS, _OneRun
from .result import OptimizeResult


@dataclass(frozen=True)
class JinParams:
    eta: float
    r: float
    g_thres: float
    f_thres: float
    t_thres: int
    chi: float

    def as_dict(self) -> dict:
        return asdict(self)


def jin_chi(epsilon, L, dim, delta, f_gap, c: float = 1.0) -> float:
    """Jin et al.'s χ = 3·max{log(d ℓ Δ_f / (c ε² δ)), 4} (docs/paper.md §9)."""
    return 3.0 * max(math.log(dim * L * f_gap / (c * epsilon**2 * delta)), 4.0)


def jin_radius(epsilon, L, dim, delta, f_gap, c: float = 1.0) -> float:
    """Jin et al.'s perturbation radius r = (√c/χ²)·(ε/ℓ) (docs/paper.md §9): the one place it
    is computed (the jin_radius ablation and the saddle-attack comparison use it)."""
    return math.sqrt(c) / jin_chi(epsilon, L, dim, delta, f_gap, c) ** 2 * epsilon / L


def jin_parameters(epsilon, L, rho, dim, delta, f_gap, c: float = 1.0) -> JinParams:
    """Algorithm 2's parameters (docs/paper.md §9). Jin et al.'s theorem needs ε <= ℓ²/ρ and
    c <= c_max (an unstated absolute constant); c = 1 gives the largest radius among c <= 1."""
    for name, v in (("epsilon", epsilon), ("L", L), ("rho", rho), ("dim", dim), ("delta", delta),
                    ("f_gap", f_gap), ("c", c)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be finite and > 0, got {v}")
    if epsilon > L**2 / rho:
        raise ValueError(f"epsilon must be <= L²/ρ = {L**2 / rho:.6g}, got {epsilon}")
    chi = jin_chi(epsilon, L, dim, delta, f_gap, c)
    return JinParams(eta=c / L, r=jin_radius(epsilon, L, dim, delta, f_gap, c),
                     g_thres=math.sqrt(c) / chi**2 * epsilon,
                     f_thres=c / chi**3 * math.sqrt(epsilon**3 / rho),
                     t_thres=max(1, math.ceil(chi / c**2 * L / math.sqrt(rho * epsilon) - 1e-12)),
                     chi=chi)


def loop_params(p: JinParams, max_oracle_calls: int) -> PGDParams:
    """Algorithm 2 as the shared loop's parameters (module docstring): ε = g_thres, Q = 1, r,
    R = f_thres, T_th = t_thres + 1 (capped at the call budget + 1: a round longer than the budget
    never reaches its test either way); run with ``escape_test='final'``, ``batch_rounds=False``
    and F as ``escape_values``."""
    return PGDParams(eta=p.eta, epsilon=p.g_thres, r=p.r, Q=1, R=p.f_thres,
                     T_th=min(p.t_thres + 1, int(max_oracle_calls) + 1))


def jin_pgd(oracle, w0, rng: np.random.Generator, *, epsilon: float, delta: float = 0.1,
            f_gap: float | None = None, c: float = 1.0, params: JinParams | None = None,
            value=None, max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS,
            trace: bool = False, max_seconds: float | None = None) -> OptimizeResult:
    """Run Algorithm 2 of Jin et al. (2017) with ``oracle`` for ∇f and ``value`` for f.
    Budgets as for :func:`perturbed_gd`: ``max_oracle_calls`` ('max_oracle_calls'), ``max_seconds``
    of wall-clock time ('max_seconds'); a non-finite answer or iterate ends the run ('nonfinite').
    ``gd_steps`` counts every step x ← x − η∇f(x) (t of the algorithm), the rounds' included.
    The call budget is looked at before every query (the one at x̃ + ξ included); a budget stop
    inside a round returns x̃, as the shared loop does (no output in the theorems' sense)."""
    land = oracle.landscape
    x = as_point(w0, land.dim, "w0")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if params is None:
        if f_gap is None:
            f_gap = land.value(x) - land.f_star
        params = jin_parameters(epsilon, land.L, land.rho, land.dim, delta, max(f_gap, 1e-300), c)
    value = value or land.value
    p = params
    loop = loop_params(p, max_oracle_calls)
    one = _OneRun(oracle, trace)
    batch = engine.batched_perturbed_gd(
        one, x[None, :], [loop], [rng], escape_test="final", max_oracle_calls=int(max_oracle_calls),
        max_seconds=max_seconds, batch_rounds=False,
        escape_values=lambda W, idx: np.array([value(w) for w in W], dtype=np.float64))
    res = batch[0]
    # t: every step taken; a run that converged ended at a test that failed, whose step the loop
    # computed but Algorithm 2 does not take (it returns x̃)
    steps = res.gd_steps + int(batch.round_steps[0]) - (res.status == "converged")
    return dataclasses.replace(res, gd_steps=int(steps), params=p.as_dict(),
                               trace={"points": np.array(one.points)} if trace else None)
