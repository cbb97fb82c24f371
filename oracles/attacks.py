"""Byzantine attacks: ``attack(honest, w, ctx) -> (f, d)``, where ``honest`` is the (m − f, d)
array of honest gradients at the query point ``w`` and ``ctx`` an :class:`AttackContext` (f, m,
the aggregator, the true gradient for omniscient attacks, a Generator, the positions of the
Byzantine rows among the m rows of the aggregator's input). All are vectorised
(no loop over workers or coordinates); line-search attacks loop over candidate magnitudes only.

Row positions: the aggregator's input X (m, d) holds the Byzantine rows at ``ctx.positions`` (the
first f rows when None) and the honest rows, in their order, everywhere else (:func:`arrange`).
An attack that evaluates the aggregator (``adaptive = True``) builds X with
:meth:`AttackContext.rows`, so it optimises for the placement of the call its rows are used in
(:class:`~byzpgd.oracles.pipeline.ByzantineOracle` draws it before calling the attack).

Library (``ATTACKS`` maps a name to a zero-argument constructor with default parameters):

- ``sign_flip``: every Byzantine row is −s·ḡ (ḡ the honest mean), s = 1.
- ``gaussian``: ḡ + N(0, std² I), std = 10·(median honest coordinate std) by default.
- ``alie``, a little is enough (Baruch, Baruch, Goldberg, NeurIPS 2019): ḡ − z·σ̂ per coordinate,
  σ̂ the honest coordinate std, z = Φ⁻¹((m − s)/m) with s = ⌊m/2 + 1⌋ − f.
- ``ipm``, inner-product manipulation (Xie, Koyejo, Gupta, UAI 2019): −ε·ḡ, ε = 0.1.
- ``mimic`` (Karimireddy, He, Jaggi, ICLR 2022): every Byzantine row copies honest worker 0.
- ``nan`` / ``inf`` / ``neg_inf`` / ``huge``: rows of NaN, +Inf, −Inf, 1e308.
- ``alie_ls`` / ``ipm_ls``: ALIE and IPM with z (resp. ε) chosen by a line search (a log grid,
  then a golden-section refinement) that maximises the aggregation error ‖agg(X) − ∇F(w)‖
  (‖agg(X) − ḡ‖ when the true gradient is not in the context).
- ``shift``: the shift attack of the statistical lower bound (docs/paper.md §7.2): Byzantine rows
  are resampled honest rows translated by θ·v, θ = c·α·σ̂ (σ̂ the median honest coordinate std,
  v = e_1 by default), so they look like honest workers of a model whose mean is shifted by θ v.
- :class:`RealiseTarget`: the omniscient oracle-realising attack. Given ``target(w) -> ĝ`` (e.g.
  a Δ-inexact adversary, or the saddle trap), all Byzantine rows equal one vector b chosen so
  that the aggregate lands as close as possible to ĝ: b starts at ĝ and follows the fixed-point
  push b ← b + κ(ĝ − agg(X(b))), κ = m/f, keeping the best iterate. This turns any Δ-inexact
  adversary into a worker-level attack; the realised miss ‖agg − ĝ‖ is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm


def arrange(byz: np.ndarray, honest: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
    """The (f + h, d) input of the aggregator: Byzantine row i at index ``positions[i]`` (the
    first f rows when None: ``np.concatenate([byz, honest])``), the honest rows in their order at
    the other indices. ``positions``: f distinct indices in [0, f + h)."""
    byz = np.asarray(byz, dtype=np.float64)
    honest = np.asarray(honest, dtype=np.float64)
    if positions is None:
        return np.concatenate([byz, honest])
    pos = np.asarray(positions, dtype=np.intp)
    m = byz.shape[0] + honest.shape[0]
    if pos.shape != (byz.shape[0],) or np.unique(pos).size != pos.size or np.any((pos < 0) | (pos >= m)):
        raise ValueError(f"positions must be {byz.shape[0]} distinct indices in [0, {m}), got {pos.tolist()}")
    X = np.empty((m, honest.shape[1]), dtype=np.float64)
    mask = np.zeros(m, dtype=bool)
    mask[pos] = True
    X[pos] = byz
    X[~mask] = honest
    return X


@dataclass
class AttackContext:
    """What an attack may use: f, m, the aggregator, the true gradient (omniscient attacks), a
    Generator, and ``positions``: the indices of the Byzantine rows in the aggregator's input
    (None: the first f rows)."""

    f: int
    m: int
    aggregate: Callable | None = None
    true_grad: np.ndarray | None = None
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    positions: np.ndarray | None = None

    def rows(self, byz: np.ndarray, honest: np.ndarray) -> np.ndarray:
        """The aggregator's input with ``byz`` at :attr:`positions` (:func:`arrange`)."""
        return arrange(byz, honest, self.positions)


def _byz(vec, f):
    """f copies of ``vec`` as an (f, vec.size) array (np.broadcast_to(vec, (f, vec.size)).copy(),
    without building the broadcast view)."""
    vec = np.asarray(vec)
    out = np.empty((f, vec.size), dtype=vec.dtype)
    out[...] = vec
    return out


def norm2(v) -> float:
    """‖v‖₂ as a float, bit for bit ``float(np.linalg.norm(v))``: for a 1-D float64 array NumPy
    computes sqrt(v.dot(v)) (numpy.linalg.norm's fast path; sqrt is correctly rounded in both);
    any other input goes through np.linalg.norm itself."""
    if type(v) is np.ndarray and v.ndim == 1 and v.dtype == np.float64:
        return math.sqrt(v.dot(v))
    return float(np.linalg.norm(v))


def _aggregate_error(ctx, honest, byz):
    g = ctx.aggregate(ctx.rows(byz, honest))
    ref = ctx.true_grad if ctx.true_grad is not None else honest.mean(axis=0)
    e = np.linalg.norm(g - ref)
    return e if np.isfinite(e) else np.inf


def alie_z(m: int, f: int) -> float:
    """Baruch et al. (2019): s = ⌊m/2 + 1⌋ − f, z = Φ⁻¹((m − s)/m)."""
    s = np.floor(m / 2 + 1) - f
    return float(norm.ppf((m - s) / m))


class Attack:
    """``adaptive``: the attack evaluates ``ctx.aggregate`` (it builds the input with
    :meth:`AttackContext.rows`, so the placement must be fixed before it is called)."""

    name = "attack"
    adaptive = False

    def __call__(self, honest, w, ctx: AttackContext) -> np.ndarray:
        raise NotImplementedError

    def notify(self, event, **data):
        pass


class SignFlip(Attack):
    name = "sign_flip"

    def __init__(self, scale: float = 1.0):
        self.scale = float(scale)

    def __call__(self, honest, w, ctx):
        return _byz(-self.scale * honest.mean(axis=0), ctx.f)


class GaussianNoise(Attack):
    name = "gaussian"

    def __init__(self, std: float | None = None, factor: float = 10.0):
        self.std, self.factor = std, factor

    def __call__(self, honest, w, ctx):
        std = self.std
        if std is None:
            std = self.factor * float(np.median(honest.std(axis=0))) if len(honest) > 1 else 1.0
        return honest.mean(axis=0) + std * ctx.rng.standard_normal((ctx.f, honest.shape[1]))


class ALIE(Attack):
    name = "alie"

    def __init__(self, z: float | None = None):
        self.z = z

    def __call__(self, honest, w, ctx):
        z = alie_z(ctx.m, ctx.f) if self.z is None else self.z
        return _byz(honest.mean(axis=0) - z * honest.std(axis=0), ctx.f)


class IPM(SignFlip):
    """Inner-product manipulation: −ε·ḡ, a sign flip scaled by ε."""

    name = "ipm"

    def __init__(self, eps: float = 0.1):
        super().__init__(scale=eps)
        self.eps = self.scale


class Mimic(Attack):
    name = "mimic"

    def __call__(self, honest, w, ctx):
        return _byz(honest[0], ctx.f)


class NonFinite(Attack):
    def __init__(self, value: float):
        self.value = float(value)
        self.name = {np.inf: "inf", -np.inf: "neg_inf"}.get(self.value, "nan" if np.isnan(value)
                                                             else "huge")

    def __call__(self, honest, w, ctx):
        return np.full((ctx.f, honest.shape[1]), self.value)


def _line_search(objective, lo, hi, grid=12, refine=10):
    """Maximise objective(t) over t in [lo, hi]: log grid, then golden section in log t."""
    ts = np.geomspace(lo, hi, grid)
    vals = np.array([objective(t) for t in ts])
    vals = np.where(np.isfinite(vals), vals, np.inf)
    k = int(np.argmax(vals))
    a, b = np.log(ts[max(k - 1, 0)]), np.log(ts[min(k + 1, grid - 1)])
    best_t, best_v = ts[k], vals[k]
    if np.isinf(best_v):
        return best_t, best_v
    gr = (np.sqrt(5) - 1) / 2
    c, d = b - gr * (b - a), a + gr * (b - a)
    fc, fd = objective(np.exp(c)), objective(np.exp(d))
    for _ in range(refine):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - gr * (b - a)
            fc = objective(np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + gr * (b - a)
            fd = objective(np.exp(d))
    for t, v in ((np.exp(c), fc), (np.exp(d), fd)):
        if v > best_v:
            best_t, best_v = t, v
    return best_t, best_v


class ALIELineSearch(Attack):
    """ALIE with z maximising the aggregation error (requires ctx.aggregate)."""

    name = "alie_ls"
    adaptive = True

    def __init__(self, z_range=(0.05, 100.0)):
        self.z_range = z_range

    def __call__(self, honest, w, ctx):
        mu, sd = honest.mean(axis=0), honest.std(axis=0)
        if ctx.f == 0 or ctx.aggregate is None:
            return _byz(mu - alie_z(ctx.m, ctx.f) * sd, ctx.f)
        def obj(z):
            return _aggregate_error(ctx, honest, _byz(mu - z * sd, ctx.f))
        z, _ = _line_search(obj, *self.z_range)
        self.last_z = z
        return _byz(mu - z * sd, ctx.f)


class IPMLineSearch(Attack):
    """IPM with ε maximising the aggregation error (requires ctx.aggregate)."""

    name = "ipm_ls"
    adaptive = True

    def __init__(self, eps_range=(0.01, 100.0)):
        self.eps_range = eps_range

    def __call__(self, honest, w, ctx):
        mu = honest.mean(axis=0)
        if ctx.f == 0 or ctx.aggregate is None:
            return _byz(-0.1 * mu, ctx.f)
        def obj(e):
            return _aggregate_error(ctx, honest, _byz(-e * mu, ctx.f))
        e, _ = _line_search(obj, *self.eps_range)
        self.last_eps = e
        return _byz(-e * mu, ctx.f)


class Shift(Attack):
    """The statistical lower bound's shift attack (module docstring)."""

    name = "shift"

    def __init__(self, c: float = 1.0, direction: np.ndarray | None = None, theta: float | None = None):
        self.c, self.direction, self.theta = float(c), direction, theta

    def __call__(self, honest, w, ctx):
        d = honest.shape[1]
        v = np.zeros(d) if self.direction is None else np.asarray(self.direction, dtype=np.float64)
        if self.direction is None:
            v[0] = 1.0
        v = v / np.linalg.norm(v)
        theta = self.theta
        if theta is None:
            sd = float(np.median(honest.std(axis=0))) if len(honest) > 1 else 0.0
            theta = self.c * (ctx.f / ctx.m) * sd
        idx = ctx.rng.integers(0, honest.shape[0], size=ctx.f)
        return honest[idx] + theta * v


class RealiseTarget(Attack):
    """Omniscient oracle-realising attack (module docstring). ``target(w) -> ĝ``."""

    name = "realise_target"
    adaptive = True

    def __init__(self, target: Callable, iters: int = 30):
        self.target, self.iters = target, int(iters)
        self.last_miss = np.nan

    def notify(self, event, **data):
        notify = getattr(self.target, "notify", None)
        if notify is not None:
            notify(event, **data)

    def __call__(self, honest, w, ctx):
        goal = np.asarray(self.target(w), dtype=np.float64)
        if ctx.f == 0:
            self.last_miss = np.nan
            return np.empty((0, honest.shape[1]))
        kappa = ctx.m / ctx.f
        rows = _Rows(honest, ctx) if self.iters > 0 else None
        tol = 1e-12 * (1 + np.linalg.norm(goal))
        b = goal.copy()
        best_b, best_miss = b, np.inf
        for _ in range(self.iters):
            out = ctx.aggregate(rows(b))
            r = goal - out
            miss = norm2(r)
            if miss < best_miss:
                best_b, best_miss = b, miss
            if not math.isfinite(miss) or miss <= tol:
                break
            b = b + kappa * r
        self.last_miss = best_miss
        return _byz(best_b, ctx.f)


class _Rows:
    """The aggregator inputs of one attack call with every Byzantine row equal to b: a fresh
    (m, d) array per call (the aggregator may keep or change its input), equal to
    ``ctx.rows(_byz(b, f), honest)``. The placement is validated and the honest rows laid out
    once per attack call; each input is a copy of that layout with b written into the Byzantine
    rows. A b of another shape than (d,) (an aggregator that answered a wrong shape) takes the
    general path, so it fails exactly as :func:`arrange` does."""

    def __init__(self, honest, ctx: AttackContext):
        self.ctx, self.honest, self.f = ctx, honest, ctx.f
        self.layout = ctx.rows(np.zeros((ctx.f, np.shape(honest)[1])), honest)
        self.index = slice(0, ctx.f) if ctx.positions is None else np.asarray(ctx.positions, dtype=np.intp)
        self.shape = (self.layout.shape[1],)

    def __call__(self, b: np.ndarray) -> np.ndarray:
        if b.shape != self.shape or b.dtype != np.float64:
            return self.ctx.rows(_byz(b, self.f), self.honest)
        X = self.layout.copy()
        X[self.index] = b
        return X


ATTACKS: dict[str, Callable[[], Attack]] = {
    "sign_flip": SignFlip,
    "gaussian": GaussianNoise,
    "alie": ALIE,
    "ipm": IPM,
    "mimic": Mimic,
    "nan": lambda: NonFinite(np.nan),
    "inf": lambda: NonFinite(np.inf),
    "neg_inf": lambda: NonFinite(-np.inf),
    "huge": lambda: NonFinite(1e308),
    "alie_ls": ALIELineSearch,
    "ipm_ls": IPMLineSearch,
    "shift": Shift,
}


def make_attack(name: str) -> Attack:
    if name not in ATTACKS:
        raise KeyError(f"unknown attack {name!r}; known: {sorted(ATTACKS)}")
    return ATTACKS[name]()


class SaddleTrapTarget:
    """The saddle-point attack of docs/paper.md §2 as a target for :class:`RealiseTarget`:
    ĝ(w) = ∇F(w) + clip(2γ⟨w − w_s, e⟩, −budget, budget)·e, with w_s a strict saddle, e the
    unit eigenvector of its most negative Hessian eigenvalue −γ. Along e this gives the fake
    positive curvature +γ near w_s (a fake local minimum of basin |⟨w − w_s, e⟩| < budget/γ);
    the error is at most ``budget`` everywhere."""

    def __init__(self, landscape, budget: float, saddle: np.ndarray | None = None):
        if not (np.isfinite(budget) and budget >= 0):
            raise ValueError(f"budget must be finite and >= 0, got {budget}")
        self.landscape, self.budget = landscape, float(budget)
        self.saddle = landscape.saddle().point if saddle is None else np.asarray(saddle, float)
        lam, vecs = np.linalg.eigh(landscape.hess(self.saddle))
        self.gamma, self.direction = float(-lam[0]), vecs[:, 0]

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        s = np.clip(2 * self.gamma * ((w - self.saddle) @ self.direction), -self.budget, self.budget)
        return self.landscape.grad(w) + s * self.direction
