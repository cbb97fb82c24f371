"""Empirical (f, κ)-robustness of an aggregation rule by adversarial search.

Definition (Allouah, Farhadkhani, Guerraoui, Gupta, Pinot, Stephan, "Fixing by Mixing", AISTATS
2023): F is (f, κ)-robust if for all x_1..x_n and every S ⊆ [n] with |S| = n − f,

    ‖F(x_1..x_n) − x̄_S‖² <= κ/|S| · Σ_{i∈S} ‖x_i − x̄_S‖².

:func:`kappa_hat` returns κ̂, a *lower bound* on the smallest such κ of a rule: the largest ratio
‖F(X) − x̄_S‖² / ((1/|S|) Σ_S ‖x_i − x̄_S‖²) found by maximising over the Byzantine rows and the
honest configuration (scipy.optimize, seeded restarts from structured and random starts; the
honest rows are normalised to unit spread, so the denominator is fixed, and a global scale and
the honest mean stay free, so rules that are not translation- or scale-equivariant are searched
too). The Byzantine rows sit at a random (seeded) set of positions in each restart and the best
configuration is re-evaluated at further random placements: a rule cannot gain from where the
Byzantine rows are. The final configurations are also scored over every honest subset S of
size n − f (when there are at most ``MAX_SUBSETS``), which can only raise κ̂.

Bounds reported beside κ̂ (``LOWER_BOUND_SOURCE``, ``KNOWN_UPPER_BOUNDS``):

* **No rule beats f/(n − 2f)**: take n − 2f rows at 0 and f rows at e. With S = the n − f zeros
  the variance is 0, so a rule with finite κ outputs 0; with S = the n − 2f zeros and the f rows
  at e, x̄_S = p·e, p = f/(n − f), variance p(1 − p), ratio p/(1 − p) = f/(n − 2f).
* **Upper bounds** are listed only with a proof or a quoted statement. The constants of the
  literature's Table (trimmed mean 6f/(n−2f)(1 + f/(n−2f)), median and geometric median
  4(1 + f/(n−2f))², Krum 6(1 + f/(n−2f)), NNM ∘ F) could not be quoted from a stored source (the
  one stored statement, a secondary one, gives their forms without the constants); the bounds
  here are proved in this docstring instead (provenance OWN), which is what the table checks:

  - coordinate-wise (rules acting on each coordinate): a 1-D bound c on every coordinate gives
    κ <= c, since both sides of the definition are sums over coordinates;
  - median, 1-D: if med > μ_S + t (t > 0), at least k = ⌊(n+1)/2⌋ − f honest values are >= μ_S + t
    (the values at or above the upper middle value, minus the f Byzantine ones); Cantelli's
    inequality on the honest empirical law gives k/|S| <= σ²/(σ² + t²), i.e. t² <= σ²(n − f − k)/k;
  - trimmed mean (b = f per side), 1-D: with q Byzantine values kept, the top (bottom) trimmed
    block holds >= q honest values, each >= (<=) every kept value, so each kept Byzantine value
    above (below) μ_S is matched to a distinct trimmed honest value further out; then
    (n − 2f)(T − μ_S) is bounded by Σ_{i∈A}(x_i − μ_S) over an honest set A of size
    a ∈ [max(0, n − 3f), n − 2f], and |Σ_A (x_i − μ_S)| <= σ·sqrt(a(|S| − a)) (Cauchy–Schwarz with
    Σ_S (x_i − μ_S) = 0), so κ <= max_a a(n − f − a)/(n − 2f)²; at a = n − 2f this is f/(n − 2f);
  - geometric median z: f(z) <= f(μ_S) and the triangle inequality on the honest and the
    Byzantine terms give (n − 2f)‖z − μ_S‖ <= 2 Σ_S ‖x_i − μ_S‖ <= 2|S|·σ, so
    κ <= 4((n − f)/(n − 2f))² = 4(1 + f/(n − 2f))² (the form of the literature's statement).

A κ̂ above a rule's proven upper bound is a finding: the implementation is wrong
(:func:`verdict`). A rule that raises, returns a non-finite value or a wrong shape gets κ̂ = inf
with the reason; so does a rule whose ratio grows without bound as the Byzantine rows move away
(the mean). A single hung call is not interrupted here: run untrusted rules through the audit's
sandbox (its per-call time limit), as :func:`kappa_summary`'s caller does.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..theory.robustness import (
    geometric_median_kappa_bound,
    kappa_lower_bound,
    median_kappa_bound,
    trimmed_mean_kappa_bound,
)

LOWER_BOUND_SOURCE = ("f/(n - 2f): two-configuration argument (module docstring); stated as 'the lower "
                      "bound for kappa is kappa = delta/(1 - 2 delta)' (delta = f/n) in a secondary source "
                      "citing Allouah et al. 2023 (Fixing by Mixing)")
MAX_SUBSETS = 5000
"""Score the final configurations over every honest subset when C(n, f) is at most this."""
UNBOUNDED_FACTOR = 1e6
"""The Byzantine rows of the best configuration are moved this many times further from the
honest mean; a ratio grown by more than UNBOUNDED_GROWTH declares κ unbounded."""
UNBOUNDED_GROWTH = 1e4
DEGENERATE = 1e-20
"""An honest subset whose spread is below DEGENERATE × the spread of all rows coincides up to
rounding: its ratio is 0 if the output is within 1e-6 of the rows' spread of its mean (rounding),
else inf (κ = ∞: n − f coinciding rows and an output elsewhere)."""
EXTRA_PLACEMENTS = 8
"""Random Byzantine placements tried on each restart's best configuration."""

PROFILES: dict[str, dict[str, float]] = {
    "quick": {"restarts": 6, "maxiter": 150, "d": 2, "seconds": 4.0},
    "ci": {"restarts": 10, "maxiter": 500, "d": 3, "seconds": 25.0},
}
"""Search budgets of :func:`kappa_summary` per audit profile: restarts, evaluations per restart,
dimension, and a wall-clock cap (timings: docs/kappa.md)."""


# ---------------------------------------------------------------------------------------------
# proven bounds
# ---------------------------------------------------------------------------------------------
def lower_bound(n: int, f: int) -> float:
    """f/(n − 2f): no rule has a smaller κ (module docstring)."""
    return kappa_lower_bound(n, f)


_median_bound = median_kappa_bound
_trimmed_mean_bound = trimmed_mean_kappa_bound
_geometric_median_bound = geometric_median_kappa_bound


@dataclass(frozen=True)
class KnownBound:
    """A proven upper bound κ <= ``formula(n, f)`` for the rule ``name`` (valid for n > 2f)."""

    name: str
    expression: str
    formula: Callable[[int, int], float]
    source: str
    provenance: str

    def __call__(self, n: int, f: int) -> float:
        return float(self.formula(n, f))


KNOWN_UPPER_BOUNDS: dict[str, KnownBound] = {
    "median": KnownBound(
        "median", "(n - f - k)/k, k = floor((n+1)/2) - f", _median_bound,
        "OWN: Cantelli's inequality per coordinate (audit/kappa.py module docstring)", "OWN"),
    "trimmed_mean": KnownBound(
        "trimmed_mean", "max_{a in [max(0, n-3f), n-2f]} a(n - f - a)/(n - 2f)^2 (b = f trimmed per side)",
        _trimmed_mean_bound,
        "OWN: matching kept Byzantine values to trimmed honest ones + Cauchy-Schwarz per coordinate "
        "(audit/kappa.py module docstring)", "OWN"),
    "geometric_median": KnownBound(
        "geometric_median", "4((n - f)/(n - 2f))^2 = 4(1 + f/(n - 2f))^2", _geometric_median_bound,
        "OWN: optimality f(z) <= f(mean_S) and the triangle inequality (audit/kappa.py module docstring); "
        "the form (1 + delta/(1 - 2 delta))^2 is the one a secondary source attributes to Allouah et al. "
        "2023 for the median and the geometric median", "OWN"),
    # Allouah et al., AISTATS 2023 ("Fixing by Mixing"), Table 1 / Lemma on NNM, as this project recalls
    # them: no stored copy of the paper could be quoted, so RECONSTRUCTED (docs/paper.md's tags); the
    # measured kappa-hat are far below both (docs/kappa.md), so a wrong recollection could only make the
    # check more lenient, never flag a correct rule
    "krum": KnownBound(
        "krum", "6(1 + f/(n - 2f))", lambda n, f: 6.0 * (1.0 + f / (n - 2 * f)),
        "RECONSTRUCTED: Allouah et al., AISTATS 2023, Table 1 (Krum), as recalled, not quoted",
        "RECONSTRUCTED"),
    "nnm_trimmed_mean": KnownBound(
        "nnm_trimmed_mean", "8f/(n - f) (kappa_TM + 1), kappa_TM the trimmed mean's bound above",
        lambda n, f: 8.0 * f / (n - f) * (_trimmed_mean_bound(n, f) + 1.0),
        "RECONSTRUCTED: Allouah et al., AISTATS 2023, NNM composed with an (f, kappa)-robust rule, as "
        "recalled, not quoted; with the OWN trimmed-mean bound", "RECONSTRUCTED"),
}
"""Upper bounds on κ by rule name (names of ``byzpgd.algorithms.aggregators``), each with its
provenance: OWN (proved in this module's docstring) or RECONSTRUCTED (the literature's, as recalled).
Not listed: multi-Krum, Bulyan, centered clipping, iterative filtering."""


# ---------------------------------------------------------------------------------------------
# result types
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KappaResult:
    """κ̂ of a rule at (n, f, d): ``kappa_hat`` (a lower bound on the rule's κ; inf when the rule
    failed or κ is unbounded, ``status`` and ``reason`` say which), ``lower_bound`` f/(n − 2f),
    ``upper_bound`` (proven, when known) with ``upper_source``, the configuration achieving κ̂
    (``rows`` as given to the rule, ``honest`` the indices of S, ``output`` F(rows)),
    ``evaluations`` of the rule, the ``seed`` of the search and its budget."""

    rule: str
    n: int
    f: int
    d: int
    kappa_hat: float
    lower_bound: float
    upper_bound: float | None
    upper_source: str | None
    status: str
    reason: str
    rows: tuple[tuple[float, ...], ...]
    honest: tuple[int, ...]
    output: tuple[float, ...]
    evaluations: int
    seed: int
    restarts: int
    maxiter: int
    notes: tuple[str, ...] = ()
    per_start: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "n": self.n, "f": self.f, "d": self.d, "kappa_hat": _jf(self.kappa_hat),
                "lower_bound": self.lower_bound, "upper_bound": _jf(self.upper_bound),
                "upper_source": self.upper_source, "status": self.status, "reason": self.reason,
                "rows": [[_jf(v) for v in r] for r in self.rows], "honest": list(self.honest),
                "output": [_jf(v) for v in self.output], "evaluations": self.evaluations,
                "seed": self.seed, "restarts": self.restarts, "maxiter": self.maxiter,
                "notes": list(self.notes), "per_start": {k: _jf(v) for k, v in self.per_start.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KappaResult:
        return cls(str(d["rule"]), int(d["n"]), int(d["f"]), int(d["d"]), _pf(d["kappa_hat"]),
                   float(d["lower_bound"]), None if d.get("upper_bound") is None else _pf(d["upper_bound"]),
                   d.get("upper_source"), str(d["status"]), str(d["reason"]),
                   tuple(tuple(_pf(v) for v in r) for r in d["rows"]), tuple(int(i) for i in d["honest"]),
                   tuple(_pf(v) for v in d["output"]), int(d["evaluations"]), int(d["seed"]),
                   int(d["restarts"]), int(d["maxiter"]), tuple(d.get("notes", ())),
                   {str(k): _pf(v) for k, v in (d.get("per_start") or {}).items()})


@dataclass(frozen=True)
class KappaVerdict:
    """Whether κ̂ is a finding: ``kind`` is 'above_proven_bound' (κ̂ > the rule's proven upper
    bound: the implementation is wrong), 'rule_failed' (exception, non-finite or wrong output),
    'within_proven_bound', or 'no_known_bound'; ``finding`` is True for the first two."""

    finding: bool
    kind: str
    message: str


def _jf(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _pf(x) -> float:
    return float(x)


# ---------------------------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------------------------
class _OutOfTime(Exception):
    pass


class _RuleFailed(Exception):
    def __init__(self, status: str, reason: str, rows: np.ndarray):
        super().__init__(reason)
        self.status, self.reason, self.rows = status, reason, rows


class _Problem:
    """The objective: θ = (honest rows (h, d), Byzantine rows (f, d), log-scale) ↦ ratio, after the
    map x ↦ μ_H + (x − μ_H)/σ_H that gives the honest rows unit spread."""

    def __init__(self, aggregate: Callable, n: int, f: int, d: int):
        self.aggregate, self.n, self.f, self.d, self.h = aggregate, n, f, d, n - f
        self.evaluations = 0
        self.mutated = False
        self.deadline = math.inf
        self.best_theta: np.ndarray | None = None
        self.best_val = -math.inf
        self.perm = np.arange(n)          # rows order: perm[j] = which of (honest..., byz...) sits at j

    def unpack(self, theta: np.ndarray):
        """(honest rows Hn of unit spread, Byzantine rows B, log-scale s, honest mean μ_H), or None
        when the honest rows of θ coincide. The hot path of the search (one per evaluation): plain
        float and ndarray arithmetic, the same operations as ``np.clip`` and ``H.mean(axis=0)``
        (the sum over rows divided by h), so the same bits."""
        h, hd = self.h, self.h * self.d
        H = theta[:hd].reshape(h, self.d)
        B = theta[hd:hd + self.f * self.d].reshape(self.f, self.d)
        s = min(max(float(theta[-1]), -30.0), 30.0)
        mu = H.sum(axis=0) / h
        Hc = H - mu
        v = float(np.einsum("ij,ij->", Hc, Hc)) / h
        if not (v > 1e-300 and math.isfinite(v)):
            return None
        c = 1.0 / math.sqrt(v)                    # the same affine map for both: starts keep their meaning
        return mu + c * Hc, mu + c * (B - mu), s, mu

    def rows(self, Hn: np.ndarray, B: np.ndarray, s: float) -> np.ndarray:
        Z = np.concatenate((Hn, B))
        Z *= math.exp(s)
        return Z[self.perm]

    def call(self, X: np.ndarray) -> np.ndarray:
        self.evaluations += 1
        arg = X.copy()
        try:
            with np.errstate(all="ignore"):
                out = self.aggregate(arg)
        except Exception as exc:  # noqa: BLE001 - any failure of the rule is an outcome
            raise _RuleFailed("exception", f"the rule raised {type(exc).__name__}: {exc}", X) from None
        if arg.shape != X.shape or not (arg == X).all():      # np.array_equal, without its overhead
            self.mutated = True
        try:
            out = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            msg = f"the rule returned {type(out).__name__}, not a vector"
            raise _RuleFailed("bad_output", msg, X) from None
        if out.shape != (self.d,):
            raise _RuleFailed("bad_output", f"the rule returned shape {out.shape}, expected ({self.d},)", X)
        if not np.isfinite(out).all():
            raise _RuleFailed("nonfinite_output", "the rule returned a non-finite vector on finite input", X)
        return out

    def ratio(self, theta: np.ndarray) -> float:
        if time.perf_counter() > self.deadline:
            raise _OutOfTime
        u = self.unpack(theta)
        if u is None:
            return 0.0
        Hn, B, s, mu = u
        out = self.call(self.rows(Hn, B, s))
        e = out / math.exp(s) - mu
        val = float(e @ e)
        if val > self.best_val:
            self.best_val, self.best_theta = val, theta.copy()
        return val

    def honest_indices(self) -> np.ndarray:
        return np.sort(np.flatnonzero(self.perm < self.h))


def _pack(H: np.ndarray, B: np.ndarray, s: float = 0.0) -> np.ndarray:
    return np.concatenate([H.ravel(), B.ravel(), [s]])


def _starts(n: int, f: int, d: int, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """Structured starts (module docstring) and random ones: (name, θ0)."""
    h = n - f
    e = np.zeros(d)
    e[0] = 1.0
    out = []
    # the lower-bound construction: honest f at e, n − 2f at 0; Byzantine at 0
    H = np.zeros((h, d))
    H[:f] = e
    out.append(("lower_bound", _pack(H, np.zeros((f, d)))))
    # the same honest rows, Byzantine at the honest extreme e (same side as the honest tail)
    out.append(("byz_at_extreme", _pack(H, np.tile(e, (f, 1)))))
    # median / trimmed-mean worst case: k honest at e, the rest at 0, Byzantine at e
    k = max(1, (n + 1) // 2 - f)
    H2 = np.zeros((h, d))
    H2[:k] = e
    out.append(("median_tail", _pack(H2, np.tile(e, (f, 1)))))
    # honest on a few cluster points, Byzantine at a far point
    c = rng.standard_normal((3, d))
    H3 = c[rng.integers(0, 3, size=h)] + 0.05 * rng.standard_normal((h, d))
    far = rng.standard_normal(d)
    far *= 10.0 / np.linalg.norm(far)
    out.append(("clusters_byz_far", _pack(H3, np.tile(far, (f, 1)) + 0.01 * rng.standard_normal((f, d)))))
    # honest Gaussian, Byzantine at the honest row farthest from the honest mean
    H4 = rng.standard_normal((h, d))
    j = int(np.argmax(np.linalg.norm(H4 - H4.mean(0), axis=1)))
    out.append(("gaussian_byz_extreme", _pack(H4, np.tile(H4[j], (f, 1)))))
    # honest Gaussian, Byzantine random (spread 3)
    out.append(("random", _pack(rng.standard_normal((h, d)), 3.0 * rng.standard_normal((f, d)))))
    return out


def _subset_scores(rows: np.ndarray, out: np.ndarray, n: int, f: int):
    """(max ratio over every honest subset S of size n − f, its indices), or None if too many."""
    if math.comb(n, f) > MAX_SUBSETS:
        return None
    idx = np.array(list(itertools.combinations(range(n), n - f)))
    P = rows[idx]                                  # (C, n − f, d)
    mu = P.mean(axis=1)
    var = ((P - mu[:, None, :]) ** 2).sum(axis=2).mean(axis=1)
    err = ((out - mu) ** 2).sum(axis=1)
    scale2 = float(((rows - rows.mean(axis=0)) ** 2).sum(axis=1).mean())
    floor = DEGENERATE * scale2                    # below: a subset of coinciding rows, var is rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(var > floor, err / var, np.where(err > 1e8 * floor, np.inf, 0.0))
    j = int(np.argmax(r))
    return float(r[j]), tuple(int(i) for i in idx[j])


def kappa_hat(aggregate: Callable, n: int, f: int, d: int, rng: np.random.Generator | int, *,
              restarts: int = 8, maxiter: int = 400, method: str = "Nelder-Mead",
              name: str | None = None, seconds: float | None = None) -> KappaResult:
    """κ̂ of ``aggregate`` (an (n, d) float64 array ↦ (d,) vector) at (n, f, d): the search of the
    module docstring with ``restarts`` seeded restarts (structured starts first) of at most
    ``maxiter`` rule evaluations each (scipy ``method``: 'Nelder-Mead' or 'Powell'). ``rng``: a
    numpy Generator (a seed is drawn from it and recorded) or an int seed. ``name``: the rule's
    registry name, to report its proven upper bound (``KNOWN_UPPER_BOUNDS``). ``seconds``: a
    wall-clock cap (None: none); when it is reached the restart in progress ends with its best
    point so far, no further restart starts, and a note says so (κ̂ then depends on the machine's
    speed; the evaluation budget alone is deterministic)."""
    if not (all(isinstance(v, int) for v in (n, f, d)) and d >= 1 and 1 <= f and n > 2 * f):
        raise ValueError(f"need integers n > 2f, f >= 1, d >= 1; got n = {n!r}, f = {f!r}, d = {d!r}")
    if not (isinstance(restarts, int) and restarts >= 1 and isinstance(maxiter, int) and maxiter >= 10):
        raise ValueError(f"restarts must be >= 1 and maxiter >= 10, got {restarts!r}, {maxiter!r}")
    if method not in ("Nelder-Mead", "Powell"):
        raise ValueError(f"method must be 'Nelder-Mead' or 'Powell', got {method!r}")
    seed = int(rng.integers(0, 2**63 - 1)) if isinstance(rng, np.random.Generator) else int(rng)
    gen = np.random.default_rng(seed)
    rule = name or getattr(aggregate, "__name__", type(aggregate).__name__)
    known = KNOWN_UPPER_BOUNDS.get(name) if name else None
    ub = known(n, f) if known else None
    ub_src = known.source if known else None
    prob = _Problem(aggregate, n, f, d)
    best = (-math.inf, None, None, None, "")       # ratio, rows, honest, output, start
    per_start: dict[str, float] = {}
    starts = _starts(n, f, d, gen)
    notes: list[str] = []
    if seconds is not None:
        prob.deadline = time.perf_counter() + float(seconds)

    def fail(err: _RuleFailed) -> KappaResult:
        return KappaResult(rule, n, f, d, math.inf, lower_bound(n, f), ub, ub_src, err.status,
                           f"{err.reason} (n = {n}, f = {f}, d = {d})",
                           tuple(tuple(float(v) for v in r) for r in err.rows), (), (), prob.evaluations,
                           seed, restarts, maxiter)

    try:
        for r in range(restarts):
            label, theta0 = starts[r % len(starts)]
            if r >= len(starts):
                label = f"{label}+jitter{r // len(starts)}"
                theta0 = theta0 + 0.1 * gen.standard_normal(theta0.size)
            prob.perm = gen.permutation(n)
            prob.best_theta, prob.best_val = None, -math.inf
            out_of_time = False
            try:
                prob.ratio(theta0)
                minimize(lambda t: -prob.ratio(t), theta0, method=method,
                         options={"maxfev": maxiter, "maxiter": maxiter, "xatol": 1e-10, "fatol": 1e-12}
                         if method == "Nelder-Mead" else {"maxfev": maxiter, "xtol": 1e-10, "ftol": 1e-12})
            except _OutOfTime:
                out_of_time = True
                notes.append(f"time cap of {seconds:g} s reached in restart {r + 1} of {restarts}")
            theta = prob.best_theta if prob.best_theta is not None else theta0
            prob.deadline, saved = math.inf, prob.deadline
            val, rows, hon, out = _finish(prob, theta, gen)
            prob.deadline = saved
            per_start[label] = val
            if val > best[0]:
                best = (val, rows, hon, out, label)
            if out_of_time:
                break
        unbounded = _unbounded(prob, best[1], best[2], best[3])
    except _RuleFailed as err:
        return fail(err)
    val, rows, hon, out, label = best
    notes.insert(0, f"best start: {label}")
    if prob.mutated:
        notes.append("the rule modified its input array (each call got a fresh copy)")
    status, reason = "ok", f"largest ratio found over {prob.evaluations} evaluations"
    if unbounded is not None:
        val, status, reason = math.inf, "unbounded", unbounded
    elif rows is None:
        val, reason = 0.0, "every configuration was degenerate"
    return KappaResult(rule, n, f, d, float(val), lower_bound(n, f), ub, ub_src, status, reason,
                       tuple(tuple(float(v) for v in r) for r in (rows if rows is not None else ())),
                       tuple(hon or ()), tuple(float(v) for v in (out if out is not None else ())),
                       prob.evaluations, seed, restarts, maxiter, tuple(notes), per_start)


def _finish(prob: _Problem, theta: np.ndarray, gen: np.random.Generator):
    """Score θ at the restart's placement and ``EXTRA_PLACEMENTS`` random ones (designated honest
    set), then the worst placement over every honest subset: (ratio, rows, honest indices,
    output)."""
    u = prob.unpack(theta)
    if u is None:
        return -math.inf, None, None, None
    Hn, B, s, _ = u
    perms = [prob.perm] + [gen.permutation(prob.n) for _ in range(EXTRA_PLACEMENTS)]
    best = (-math.inf, None, None, None)
    for p in perms:
        prob.perm = p
        X = prob.rows(Hn, B, s)
        out = prob.call(X)
        hon = prob.honest_indices()
        mu = X[hon].mean(axis=0)
        var = float(((X[hon] - mu) ** 2).sum(axis=1).mean())
        val = float(((out - mu) ** 2).sum()) / var
        if val > best[0]:
            best = (val, X, tuple(int(i) for i in hon), out)
    prob.perm = perms[0]
    sub = _subset_scores(best[1], best[3], prob.n, prob.f)
    if sub is not None and sub[0] > best[0]:
        best = (sub[0], best[1], sub[1], best[3])
    return best


def _unbounded(prob: _Problem, rows, honest, out) -> str | None:
    """A reason if moving the Byzantine rows of the best configuration UNBOUNDED_FACTOR times
    further from the honest mean grows the ratio by more than UNBOUNDED_GROWTH (κ = ∞)."""
    if rows is None:
        return None
    X = np.asarray(rows)
    hon = np.asarray(honest)
    byz = np.setdiff1d(np.arange(prob.n), hon)
    mu = X[hon].mean(axis=0)
    var = float(((X[hon] - mu) ** 2).sum(axis=1).mean())
    if not var > 0:   # coinciding honest rows: their ratio (0 or ∞, DEGENERATE) is already decided
        return None
    r0 = float(((np.asarray(out) - mu) ** 2).sum()) / var
    direction = X[byz] - mu
    if not np.any(direction):
        direction = np.tile(np.eye(prob.d)[0], (len(byz), 1))
    Y = X.copy()
    Y[byz] = mu + UNBOUNDED_FACTOR * direction
    r1 = float(((prob.call(Y) - mu) ** 2).sum()) / var
    if r1 > UNBOUNDED_GROWTH * max(r0, lower_bound(prob.n, prob.f), 1.0):
        return (f"the ratio grows without bound: {r0:.4g} with the Byzantine rows as found, {r1:.4g} with "
                f"them {UNBOUNDED_FACTOR:g} times further from the honest mean")
    return None


# ---------------------------------------------------------------------------------------------
# verdict and audit summary
# ---------------------------------------------------------------------------------------------
def verdict(result: KappaResult, *, rtol: float = 1e-6) -> KappaVerdict:
    """The finding, if any, of ``result`` (``KappaVerdict``): κ̂ above the proven upper bound by
    more than ``rtol`` (relative; rounding in the rule and the ratio) means the implementation
    is wrong; a failed rule is a finding too."""
    if result.status in ("exception", "bad_output", "nonfinite_output"):
        return KappaVerdict(True, "rule_failed", result.reason)
    if result.upper_bound is None:
        return KappaVerdict(False, "no_known_bound",
                            f"kappa_hat = {result.kappa_hat:.4g} (lower bound of any rule "
                            f"{result.lower_bound:.4g}); no proven upper bound for {result.rule}")
    if result.kappa_hat > result.upper_bound * (1 + rtol):
        return KappaVerdict(True, "above_proven_bound",
                            f"kappa_hat = {result.kappa_hat:.4g} exceeds the proven bound "
                            f"{result.upper_bound:.4g} of {result.rule} at n = {result.n}, f = {result.f} "
                            f"({result.upper_source}): the implementation is wrong")
    return KappaVerdict(False, "within_proven_bound",
                        f"kappa_hat = {result.kappa_hat:.4g} <= proven bound {result.upper_bound:.4g}")


def kappa_summary(factory: Callable[[int, int], Callable], n: int, f: int, d: int, seed: int, profile: str,
                  *, name: str | None = None):
    """κ̂ of ``factory(n, f)`` for an audit, with the ``PROFILES[profile]`` budget (d: the profile's,
    at most the given ``d``), as the audit's typed ``byzpgd.audit.result.KappaSummary``. ``name``:
    the rule's registry name when it is a standard rule (its proven bound is then checked)."""
    from .result import KappaSummary

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    budget = PROFILES[profile]
    dd = max(1, min(int(d), int(budget["d"])))
    f_eff = min(int(f), (n - 1) // 2)
    if f_eff < 1:
        return KappaSummary(n=n, f=f, d=dd, kappa_hat=0.0, lower_bound=0.0, error="f = 0: nothing to search",
                            details={"profile": profile})
    res = kappa_hat(factory(n, f_eff), n, f_eff, dd, int(seed), restarts=int(budget["restarts"]),
                    maxiter=int(budget["maxiter"]), name=name, seconds=budget["seconds"])
    v = verdict(res)
    failed = res.status in ("exception", "bad_output", "nonfinite_output")
    return KappaSummary(n=n, f=f_eff, d=dd, kappa_hat=res.kappa_hat, lower_bound=res.lower_bound,
                        upper_bound=res.upper_bound, upper_source=res.upper_source,
                        exceeds_upper=v.kind == "above_proven_bound", evaluations=res.evaluations,
                        error=res.reason if failed else None,
                        details={"profile": profile, "status": res.status, "reason": res.reason,
                                 "verdict": v.kind, "message": v.message, "seed": res.seed,
                                 "restarts": res.restarts, "maxiter": res.maxiter, "notes": list(res.notes),
                                 "configuration": res.to_dict()["rows"], "honest": list(res.honest)})


__all__ = ["KNOWN_UPPER_BOUNDS", "LOWER_BOUND_SOURCE", "PROFILES", "KappaResult", "KappaVerdict",
           "KnownBound", "kappa_hat", "kappa_summary", "lower_bound", "verdict"]
