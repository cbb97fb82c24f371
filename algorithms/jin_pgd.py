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
instead of ∝ √dΔ/γ. The oracle is told 'candidate' and 'perturbation' (with ξ), like the shared
loop does, so adaptive adversaries can attack it too.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from byzpgd.geometry import as_point, uniform_ball

from .perturbed_gd import DEFAULT_MAX_ORACLE_CALLS
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


def _notify(oracle, event, **data):
    notify = getattr(oracle, "notify", None)
    if notify is not None:
        notify(event, **data)


def jin_pgd(oracle, w0, rng: np.random.Generator, *, epsilon: float, delta: float = 0.1,
            f_gap: float | None = None, c: float = 1.0, params: JinParams | None = None,
            value=None, max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS,
            trace: bool = False, max_seconds: float | None = None) -> OptimizeResult:
    """Run Algorithm 2 of Jin et al. (2017) with ``oracle`` for ∇f and ``value`` for f.
    Budgets as for :func:`perturbed_gd`: ``max_oracle_calls`` ('max_oracle_calls'), ``max_seconds``
    of wall-clock time ('max_seconds'); a non-finite answer or iterate ends the run ('nonfinite')."""
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
    calls, escapes, rounds = 0, 0, 0
    t_noise = -p.t_thres - 1
    x_tilde, f_tilde = None, None
    points = [] if trace else None
    status = "converged"
    t = 0
    deadline = None if max_seconds is None else time.monotonic() + float(max_seconds)
    while True:
        if calls >= max_oracle_calls:
            status = "max_oracle_calls"
            break
        if deadline is not None and calls % 256 == 0 and time.monotonic() > deadline:
            status = "max_seconds"
            break
        if not np.all(np.isfinite(x)):
            status = "nonfinite"
            break
        g = oracle(x)
        if not np.all(np.isfinite(g)):
            status = "nonfinite"
            break
        calls += 1
        if trace:
            points.append(x.copy())
        if np.linalg.norm(g) <= p.g_thres and t - t_noise > p.t_thres:
            x_tilde, f_tilde, t_noise = x.copy(), value(x), t
            _notify(oracle, "candidate", w=x_tilde)
            xi = uniform_ball(rng, land.dim, p.r)
            rounds += 1
            _notify(oracle, "perturbation", candidate=x_tilde, xi=xi)
            x = x_tilde + xi
            g = oracle(x)
            calls += 1
            if trace:
                points.append(x.copy())
        if x_tilde is not None and t - t_noise == p.t_thres:
            if value(x) - f_tilde > -p.f_thres:
                x = x_tilde
                break
            escapes += 1       # f decreased by f_thres since the perturbation
            _notify(oracle, "escape", w=x)
        x = x - p.eta * g
        t += 1
    tr = {"points": np.array(points)} if trace else None
    return OptimizeResult(w=x, grad_oracle_calls=calls, gd_steps=t, escape_rounds=rounds,
                          escapes=escapes, status=status, params=p.as_dict(), trace=tr)
