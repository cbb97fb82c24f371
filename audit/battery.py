"""The audit battery: the empirical Δ of the user's aggregator and of the reference aggregators
on identical inputs, over statistical settings × attacks.

Model (as in the aggregator experiment, :mod:`byzpgd.experiments.aggregation`): Gaussian
location, f(w; z) = ½‖w − z‖², z ~ N(0, I_d), W = the unit ball; m workers with n samples each,
f of them Byzantine. One measurement = the empirical Δ of the pipeline workers → attack →
aggregator (:class:`~byzpgd.oracles.pipeline.ByzantineOracle`): the sup of ‖ĝ(w) − ∇F(w)‖ over
``probes`` random points of W. Every aggregator of a setting sees the same honest data, the same
probe points and the same attack randomness; adaptive attacks (line searches, the oracle-realising
attack, the worst-case search) adapt to each aggregator with the same procedure and budget.

Settings: an α sweep at n = n0 (f = round(φ·f_max) for the profile's fractions φ) and an n sweep
at f_max, with m and d from the profile (f_max from ``--f`` or ⌊α·m⌋).

Attacks: the whole library (:data:`byzpgd.oracles.attacks.ATTACKS`: sign flip, Gaussian, ALIE,
IPM, mimic, NaN/±Inf/1e308 rows, the line-search ALIE and IPM, the lower bound's shift), the
omniscient oracle-realising attack (:class:`~byzpgd.oracles.attacks.RealiseTarget` aiming at
∇F(w) + B·u, u a random unit vector of the setting, B = √d: how far the aggregate can be dragged
along u), and :class:`WorstCaseSearch`, a black-box search over the Byzantine vectors aimed at
the aggregator under test.

Reference aggregators: the paper's three (median, trimmed mean with β = f/m, iterative
filtering given the honest covariance bound σ²/n, :func:`byzpgd.experiments.aggregation.paper_aggregator`)
by default; a reference whose breakdown number is below f is left out at that setting. Also
recorded per setting: the statistical lower bound σ(α/√n + √(d/(nm))) (docs/paper.md §7.2, σ = 1)
and the paper's Õ-rates (:func:`byzpgd.theory.rates.symmetric_rate`, constants dropped, skewness 0).
Slopes of the worst Δ are fitted with :func:`byzpgd.properties.fits.loglog_fit`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from byzpgd.geometry import unit_vector

from ..algorithms.aggregators import AGGREGATORS, PAPER_AGGREGATORS, max_byzantine
from ..experiments.aggregation import paper_aggregator
from ..oracles.attacks import ATTACKS, Attack, RealiseTarget, make_attack
from ..oracles.pipeline import ByzantineOracle
from ..oracles.statistical import GaussianLocation
from ..oracles.workers import WorkerPool
from ..properties.fits import loglog_fit
from ..theory import rates as theory_rates
from .sandbox import AggregatorFailure

PROFILES = {
    "quick": {"m": 30, "d": 10, "n0": 100, "n_grid": (25, 100, 400), "alpha_fractions": (0.25, 0.5, 1.0),
              "probes": 2, "restarts": 2, "maxfev": 100, "e2e_instances": 3},
    "ci": {"m": 50, "d": 10, "n0": 100, "n_grid": (25, 100, 400, 1600),
           "alpha_fractions": (0.125, 0.25, 0.5, 1.0), "probes": 3, "restarts": 3, "maxfev": 200,
           "e2e_instances": 6},
    "deep": {"m": 100, "d": 20, "n0": 100, "n_grid": (25, 100, 400, 1600, 6400),
             "alpha_fractions": (0.0625, 0.125, 0.25, 0.5, 1.0), "probes": 6, "restarts": 5, "maxfev": 400,
             "e2e_instances": 24},
}
DEFAULT_ALPHA = 0.1
LIBRARY_ATTACKS = tuple(ATTACKS)
BATTERY_ATTACKS = (*LIBRARY_ATTACKS, "realise_target", "worst_case")


def profile_config(profile: str) -> dict:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    return dict(PROFILES[profile])


@dataclass(frozen=True)
class Setting:
    id: int
    m: int
    n: int
    d: int
    f: int
    sweeps: tuple[str, ...]

    @property
    def alpha(self) -> float:
        return self.f / self.m

    def to_dict(self) -> dict:
        return {"id": self.id, "m": self.m, "n": self.n, "d": self.d, "f": self.f, "alpha": self.alpha,
                "sweeps": list(self.sweeps)}

    def label(self) -> str:
        return f"m = {self.m}, n = {self.n}, d = {self.d}, f = {self.f} (alpha = {self.alpha:.3g})"


def byzantine_count(m: int, f: int | None = None, alpha: float | None = None) -> int:
    """f_max from ``f`` or ``alpha`` (⌊α·m⌋); 1 <= f_max < m/2."""
    if f is not None and alpha is not None:
        raise ValueError("pass at most one of f and alpha")
    if not (isinstance(m, int) and m >= 3):
        raise ValueError(f"m must be an integer >= 3, got {m!r}")
    if f is None:
        alpha = DEFAULT_ALPHA if alpha is None else alpha
        if not (isinstance(alpha, int | float) and 0 < alpha < 0.5):
            raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
        f = int(math.floor(alpha * m + 1e-12))
        if f < 1:
            raise ValueError(f"alpha = {alpha} gives f = floor(alpha m) = 0 Byzantine workers for m = {m}; "
                             f"alpha must be >= 1/m = {1 / m:.3g} (or pass --m)")
    if not (isinstance(f, int) and 1 <= f and 2 * f < m):
        raise ValueError(f"f must be an integer in [1, m/2) = [1, {m / 2:g}) for m = {m}, got {f!r} "
                         "(pass a larger --m)")
    return f


def settings(cfg: dict, f_max: int) -> list[Setting]:
    """The α sweep at n0 and the n sweep at f_max (shared settings once)."""
    m, d, n0 = cfg["m"], cfg["d"], cfg["n0"]
    fs = sorted({max(1, int(round(phi * f_max))) for phi in cfg["alpha_fractions"]} | {f_max})
    keys: dict[tuple[int, int], set] = {}
    for f in fs:
        keys.setdefault((n0, f), set()).add("alpha")
    for n in cfg["n_grid"]:
        keys.setdefault((n, f_max), set()).add("n")
    out = []
    for k, ((n, f), sw) in enumerate(sorted(keys.items(), key=lambda kv: (kv[0][1], kv[0][0]))):
        out.append(Setting(k, m, n, d, f, tuple(sorted(sw))))
    return out


def _values(s: Setting) -> dict[str, float]:
    return {"n": s.n, "m": s.m, "alpha": s.alpha, "d": s.d}


def lower_bound(s: Setting) -> float:
    """σ(α/√n + √(d/(nm))), σ = 1 (docs/paper.md §7.2; theory.rates.LOWER_BOUND)."""
    return theory_rates.evaluate(theory_rates.LOWER_BOUND, **_values(s))


def paper_rates(s: Setting) -> dict[str, float]:
    """The Õ-rates of the paper's three aggregators at s (constants and logs dropped, symmetric
    noise: theory.rates.symmetric_rate)."""
    return {name: theory_rates.evaluate(theory_rates.symmetric_rate(name), **_values(s))
            for name in PAPER_AGGREGATORS}


# ---------------------------------------------------------------------------------------------
# attacks of the battery that are not in the library
# ---------------------------------------------------------------------------------------------
class FarTarget:
    """ĝ(w) = ∇F(w) + B·u: a target for :class:`RealiseTarget` that asks the aggregate to move
    by B along the unit vector u."""

    def __init__(self, landscape, budget: float, direction: np.ndarray):
        self.landscape, self.budget, self.direction = landscape, float(budget), np.asarray(direction, float)

    def __call__(self, w):
        return self.landscape.grad(w) + self.budget * self.direction


class WorstCaseSearch(Attack):
    """Black-box worst-case search over the Byzantine vectors, aimed at ``ctx.aggregate``.

    Byzantine row i is b_i = ḡ + σ̂ ⊙ (e^t √d v/‖v‖ + e^s ξ_i), ḡ and σ̂ the honest mean and
    coordinate std, ξ_i fixed N(0, I) draws: d + 2 parameters (scale t, spread s, direction v).
    The error ‖agg(X) − ∇F(w)‖ is maximised from ``restarts`` starting directions (ALIE's −1,
    IPM's −ḡ, then random ones): a log-grid line search over t, then Nelder–Mead (adaptive, an
    explicit initial simplex) with ``maxfev`` evaluations. Stops at the first infinite error. A
    failure of the aggregator propagates (the measurement is then +inf)."""

    name = "worst_case"

    def __init__(self, restarts: int = 2, maxfev: int = 100, grid: int = 8):
        if not (isinstance(restarts, int) and restarts >= 1):
            raise ValueError(f"restarts must be an integer >= 1, got {restarts!r}")
        if not (isinstance(maxfev, int) and maxfev >= 10):
            raise ValueError(f"maxfev must be an integer >= 10, got {maxfev!r}")
        self.restarts, self.maxfev, self.grid = restarts, maxfev, int(grid)
        self.last_error = np.nan
        self.evaluations = 0

    def __call__(self, honest, w, ctx):
        f, d = ctx.f, honest.shape[1]
        if f == 0:
            return np.empty((0, d))
        mu, sd = honest.mean(axis=0), honest.std(axis=0)
        scale = float(np.median(sd)) if np.any(sd > 0) else 1.0
        sd = np.where(sd > 0, sd, scale if scale > 0 else 1.0)
        xi = ctx.rng.standard_normal((f, d))
        ref = ctx.true_grad if ctx.true_grad is not None else mu
        root_d = math.sqrt(d)

        def rows(p):
            v = p[2:]
            nv = float(np.linalg.norm(v))
            v = v / nv if nv > 0 else np.full(d, 1 / root_d)
            with np.errstate(over="ignore", invalid="ignore"):
                return mu + sd * (math.exp(min(p[0], 700.0)) * root_d * v + math.exp(min(p[1], 700.0)) * xi)

        best = {"err": -1.0, "p": None}

        def err(p):
            self.evaluations += 1
            b = rows(p)
            out = np.asarray(ctx.aggregate(np.concatenate([b, honest])), dtype=np.float64)
            e = float(np.linalg.norm(out - ref))
            e = e if np.isfinite(e) else np.inf
            if e > best["err"]:
                best["err"], best["p"] = e, np.array(p, dtype=float)
            if np.isinf(e):
                raise _Found
            return e

        starts = [-np.ones(d), -mu / max(float(np.linalg.norm(mu)), 1e-300)]
        while len(starts) < self.restarts:
            starts.append(ctx.rng.standard_normal(d))
        ts = np.log(np.geomspace(0.05, 100.0, self.grid))
        try:
            for v0 in starts[: self.restarts]:
                v0 = v0 / np.linalg.norm(v0)
                vals = [err(np.concatenate([[t, math.log(1e-3)], v0])) for t in ts]
                x0 = np.concatenate([[ts[int(np.argmax(vals))], math.log(1e-3)], v0])
                steps = np.concatenate([[0.5, 2.0], np.full(d, 0.5)])
                simplex = np.vstack([x0, x0 + np.diag(steps)])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    minimize(lambda p: -err(p), x0, method="Nelder-Mead",
                             options={"maxfev": self.maxfev, "initial_simplex": simplex, "adaptive": True,
                                      "xatol": 1e-4, "fatol": 1e-12})
        except _Found:
            pass
        self.last_error = best["err"]
        return rows(best["p"])


class _Found(Exception):
    """An infinite error was found: no need to search further."""


def make_battery_attack(name: str, s: Setting, model, cfg: dict, seed: int) -> Attack:
    if name == "realise_target":
        u = unit_vector(np.random.default_rng([seed, s.id, 3]), s.d)
        return RealiseTarget(FarTarget(model, math.sqrt(s.d), u))
    if name == "worst_case":
        return WorstCaseSearch(restarts=cfg["restarts"], maxfev=cfg["maxfev"])
    return make_attack(name)


# ---------------------------------------------------------------------------------------------
# references and measurements
# ---------------------------------------------------------------------------------------------
def reference_aggregate(name: str, s: Setting, model) -> Callable | None:
    """The reference ``name`` for s, or None when f exceeds its breakdown number."""
    if name not in AGGREGATORS:
        raise ValueError(f"reference must be one of {sorted(AGGREGATORS)}, got {name!r}")
    if s.f > max_byzantine(name, s.m):
        return None
    return paper_aggregator(name, s.m, s.f, model, s.n)


class SettingData:
    """The honest data of one setting (shared by every aggregator and attack)."""

    def __init__(self, s: Setting, seed: int):
        self.setting = s
        self.model = GaussianLocation(np.zeros(s.d), sigma=1.0, radius=1.0)
        self.pool = WorkerPool(self.model, s.m, s.n, np.random.default_rng([seed, s.id, 0]), f=s.f)


def measure(data: SettingData, aggregate: Callable, attack: str, cfg: dict, seed: int) -> dict:
    """Empirical Δ of workers → ``attack`` → ``aggregate`` on ``data``: {'delta', 'error'}.
    A failure of the aggregator (an exception, a timeout, ...) gives Δ = +inf and its kind."""
    s = data.setting
    k = BATTERY_ATTACKS.index(attack)
    att = make_battery_attack(attack, s, data.model, cfg, seed)
    oracle = ByzantineOracle(data.pool, att, aggregate, np.random.default_rng([seed, s.id, 1, k]))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            delta = oracle.probe(cfg["probes"], np.random.default_rng([seed, s.id, 2]))
    except AggregatorFailure as exc:
        return {"delta": math.inf, "error": exc.kind}
    return {"delta": float(delta) if math.isfinite(delta) else math.inf, "error": None}


def run_battery(user_factory: Callable[[int, int], Callable], cfg: dict, f_max: int, seed: int, *,
                references=PAPER_AGGREGATORS, attacks=BATTERY_ATTACKS, log=None, progress=None) -> dict:
    """Measure the user's aggregator (``user_factory(m, f)``) and the references on every
    setting × attack. Returns {'settings', 'results'} with one row per (setting, attack) and one
    row per setting with attack 'worst' (the sup over the attacks)."""
    unknown = [a for a in attacks if a not in BATTERY_ATTACKS]
    if unknown:
        raise ValueError(f"attacks must be among {BATTERY_ATTACKS}, got {unknown}")
    sets = settings(cfg, f_max)
    rows = []
    total, done = len(sets) * len(attacks), 0
    for s in sets:
        data = SettingData(s, seed)
        lb = lower_bound(s)
        rates = paper_rates(s)
        refs = {r: reference_aggregate(r, s, data.model) for r in references}
        user = user_factory(s.m, s.f)
        per_attack = []
        for a in attacks:
            if log is not None:
                log.context = {"phase": "battery", "attack": a, **s.to_dict()}
            mu = measure(data, user, a, cfg, seed)
            ref_d = {r: (None if agg is None else measure(data, agg, a, cfg, seed)["delta"])
                     for r, agg in refs.items()}
            row = _row(s, a, mu["delta"], ref_d, lb, rates)
            row["error"] = mu["error"]
            per_attack.append(row)
            done += 1
            if progress is not None:
                progress(done, total, row)
        rows.extend(per_attack)
        rows.append(_worst_row(s, per_attack, refs, lb, rates))
    return {"settings": [s.to_dict() for s in sets], "results": rows}


def _best(ref_d: dict) -> tuple[str | None, float | None]:
    avail = {r: v for r, v in ref_d.items() if v is not None}
    if not avail:
        return None, None
    r = min(avail, key=lambda k: avail[k])
    return r, avail[r]


def _ratio(a, b):
    if a is None or b is None:
        return None
    if b == 0:
        return 0.0 if a == 0 else math.inf
    return a / b


def _row(s: Setting, attack: str, delta: float, ref_d: dict, lb: float, rates: dict) -> dict:
    best_name, best = _best(ref_d)
    return {"attack": attack, "setting": s.id, "m": s.m, "n": s.n, "d": s.d, "f": s.f, "alpha": s.alpha,
            "delta_empirical": delta, "delta_reference": ref_d, "best_reference": best_name,
            "ratio_to_best_reference": _ratio(delta, best), "lower_bound": lb,
            "ratio_to_lower_bound": _ratio(delta, lb), "rates": rates}


def _worst_row(s, per_attack, refs, lb, rates) -> dict:
    worst = max(per_attack, key=lambda r: r["delta_empirical"])
    ref_d, ref_att = {}, {}
    for r in refs:
        vals = [(row["delta_reference"][r], row["attack"]) for row in per_attack
                if row["delta_reference"][r] is not None]
        if vals:
            v, a = max(vals, key=lambda t: t[0])
            ref_d[r], ref_att[r] = v, a
        else:
            ref_d[r], ref_att[r] = None, None
    row = _row(s, "worst", worst["delta_empirical"], ref_d, lb, rates)
    row["worst_attack"] = worst["attack"]
    row["reference_worst_attack"] = ref_att
    row["error"] = next((r["error"] for r in per_attack if r["error"]), None)
    return row


def rate_summary(results: list[dict], references=PAPER_AGGREGATORS) -> dict:
    """Against the paper's rates: for the user's rule and each reference, the empirical constant
    max over settings of worst Δ / rate (per paper rate), and the log-log slopes of the worst Δ
    in α (n = n0) and in n (f = f_max) next to the exponents of the rates and the lower bound."""
    worst = [r for r in results if r["attack"] == "worst"]
    series = {"user": [r["delta_empirical"] for r in worst]}
    for ref in references:
        series[ref] = [r["delta_reference"].get(ref) for r in worst]
    constants = {}
    for who, ds in series.items():
        constants[who] = {}
        for rate in PAPER_AGGREGATORS:
            vals = [d / r["rates"][rate] for d, r in zip(ds, worst, strict=True) if d is not None]
            constants[who][rate] = max(vals) if vals else None
    slopes = {}
    n0 = min((r["n"] for r in worst), key=lambda n: abs(math.log(n / 100))) if worst else None
    f_max = max((r["f"] for r in worst), default=None)
    for var, pick in (("alpha", lambda r: r["n"] == n0), ("n", lambda r: r["f"] == f_max)):
        pts = [(i, r) for i, r in enumerate(worst) if pick(r)]
        xs = [r[var] for _, r in pts]
        entry = {"values": xs, "fitted": {}}
        for who, ds in series.items():
            ys = [ds[i] if ds[i] is not None else np.nan for i, _ in pts]
            fit = loglog_fit(xs, ys)
            entry["fitted"][who] = None if fit is None else fit[0]
        entry["theory"] = {name: float(theory_rates.exponent(theory_rates.symmetric_rate(name), var))
                           for name in PAPER_AGGREGATORS}
        entry["theory"]["lower_bound"] = float(theory_rates.exponent(theory_rates.LOWER_BOUND, var))
        slopes[var] = entry
    return {"empirical_constants": constants, "slopes": slopes,
            "note": "rates are O~ with constants and logs dropped; the alpha slope is of the raw "
                    "worst Delta (not of its alpha term), so it is below the rate's exponent when the "
                    "sqrt(d/(nm)) term dominates"}
