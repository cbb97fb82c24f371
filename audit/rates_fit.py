"""The audit's rate fits: log-log slopes of the worst empirical Δ along each sweep of the battery,
with confidence intervals, next to the local slopes of the paper's rates and of the lower bound.

Model of a fit (one sweep in x ∈ {n, m, α}, one aggregator): the battery's repetitions are
independent data sets, so every (x_i, Δ_ir) with finite Δ > 0 is a point of the least-squares
fit log Δ = s·log x + c (:func:`byzpgd.properties.fits.loglog_fit` gives s and C = e^c). Its
standard error is the usual OLS one, se(s) = σ̂/√(Σ(log x − mean)²) with σ̂² the residual variance
on df = N − 2 degrees of freedom, and the interval is s ± t_{df, 1−(1−level)/2}·se
(scipy.stats.t). A sweep with an infinite Δ at some point has no slope (the rule broke down:
graded by :mod:`.verdict`).

Theory, on the same grid (constants and logs dropped, σ = 1, docs/paper.md §6 and §7.2): the
rates of the median and trimmed mean (α√d/√n + d/√(nm) and αd/√n + d/√(nm) for symmetric noise,
:func:`byzpgd.theory.rates.symmetric_rate`), of iterative filtering (√α/√n + √(d/(nm))) and the
lower bound α/√n + √(d/(nm)); their *local* slope over the grid is the slope of the same fit on
the rate's values (−1/2 exactly in n, and in m at α = 0; between −1/2 and 0 in m at α > 0).

Graded sweeps (:data:`GRADED`): the m sweep at α = 0 (``m_honest``), the n sweeps (``n``
under attack at f_max, ``n_honest``) and the α sweep under attack (``alpha``). Each has a
*threshold* = the theory's exponent + :data:`TOLERANCE`: the lower bound's local slope for the n
and m sweeps (−1/2, so −1/4: halfway between the rate and no decrease at all), and for the α
sweep :data:`ALPHA_EXPONENT` = 1 (every rate's α-term is at most linear in α; the constants in front
of the α-free and α terms are unknown, so a local slope of the Õ-rates would not be a bound).
The evidence of a sweep
(:class:`~byzpgd.audit.result.SweepSlopes` ``evidence``) is read off the slope's confidence
interval [lo, hi] at ``level``:

- ``shown``: hi <= threshold (the rate is shown: the error provably shrinks at least that fast);
- ``refuted``: lo > threshold (the rule provably does not reach the rate);
- ``undetermined``: the interval contains the threshold (the data cannot tell);
- ``missing``: no slope (fewer than two finite points, or an infinite Δ: a breakdown).

Each decision's error probability is the one-sided t tail beyond the threshold,
P(T_df >= |ŝ − threshold|/se) (at most (1 − level)/2 for a shown or refuted sweep).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..algorithms.aggregators import PAPER_AGGREGATORS
from ..properties.fits import loglog_fit
from ..theory import rates as theory_rates
from .result import SlopeFit, SweepSlopes

LEVEL = 0.95
SWEEP_VARIABLE = {"alpha": "alpha", "n": "n", "m": "m", "m_honest": "m", "n_honest": "n"}
GRADED = ("m_honest", "n_honest", "n", "alpha")
TOLERANCE = 0.25
#: the α-exponent of the rates: each paper rate and the lower bound is (a constant times) α^e/√n +
#: (a term free of α) with e <= 1 (α for the median, trimmed mean and the lower bound, √α for
#: iterative filtering: docs/paper.md §6, §7.2), so a rate-optimal rule's worst Δ grows at most
#: linearly in α
ALPHA_EXPONENT = 1.0
EVIDENCE = ("shown", "refuted", "undetermined", "missing")
THEORY = (*PAPER_AGGREGATORS, "lower_bound")


def fit_slope(xs, ys_reps, *, sweep: str = "", variable: str = "", who: str = "",
              level: float = LEVEL) -> SlopeFit:
    """Fit log y = s log x + c on every (x_i, y_ir) (module docstring)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    px, py, inf = [], [], 0
    for x, ys in zip(xs, ys_reps, strict=True):
        for y in ys:
            if y is None:
                continue
            if not math.isfinite(y):
                inf += 1
            elif y > 0 and x > 0:
                px.append(float(x))
                py.append(float(y))
    base = dict(sweep=sweep, variable=variable, who=who, values=tuple(xs), level=level, infinite=inf)
    fit = None if inf else loglog_fit(px, py)
    if fit is None:
        return SlopeFit(slope=None, constant=None, se=None, df=0, ci=None, points=len(px), **base)
    s, c = fit
    lx, ly = np.log(px), np.log(py)
    df = len(px) - 2
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    se = ci = None
    if df >= 1 and sxx > 0:
        resid = ly - (s * lx + math.log(c))
        se = float(math.sqrt(float(np.sum(resid**2)) / df / sxx))
        half = float(stats.t.ppf(1 - (1 - level) / 2, df)) * se
        ci = (s - half, s + half)
    return SlopeFit(slope=s, constant=c, se=se, df=max(df, 0), ci=ci, points=len(px), **base)


def theory_slope(name: str, points: list[dict], variable: str) -> float | None:
    """Local slope of a paper rate (or 'lower_bound') over the sweep's settings (dicts with n, m,
    alpha, d); None when the rate is 0 at some point."""
    expr = theory_rates.LOWER_BOUND if name == "lower_bound" else theory_rates.symmetric_rate(name)
    xs = [p[variable] for p in points]
    ys = [theory_rates.evaluate(expr, n=p["n"], m=p["m"], alpha=p["alpha"], d=p["d"]) for p in points]
    if any(y <= 0 for y in ys):
        return None
    fit = loglog_fit(xs, ys)
    return None if fit is None else fit[0]


def sweep_exponent(sweep: str, theory: dict[str, float | None]) -> float | None:
    """The theory's exponent a graded sweep is judged against (module docstring): the lower bound's
    local slope for the n and m sweeps; :data:`ALPHA_EXPONENT` for α."""
    if sweep == "alpha":
        return ALPHA_EXPONENT
    return theory.get("lower_bound")


def judge_slope(fit: SlopeFit, threshold: float) -> tuple[str, float | None]:
    """(evidence, error probability) of ``fit`` against ``threshold`` (module docstring)."""
    if fit.slope is None:
        return "missing", None
    if fit.ci is None or fit.se is None or fit.se == 0:
        return "undetermined", None
    lo, hi = fit.ci
    prob = float(stats.t.sf(abs(fit.slope - threshold) / fit.se, fit.df))
    if hi <= threshold:
        return "shown", prob
    if lo > threshold:
        return "refuted", prob
    return "undetermined", None


def sweep_slopes(results: list[dict], settings: list[dict], references, level: float = LEVEL) -> dict:
    """{sweep: SweepSlopes} for every sweep of the battery with at least two distinct values."""
    worst = {r["setting"]: r for r in results if r["attack"] == "worst"}
    out = {}
    for sweep, var in SWEEP_VARIABLE.items():
        pts = sorted((s for s in settings if sweep in s["sweeps"] and s["id"] in worst), key=lambda s: s[var])
        if var == "alpha":
            pts = [p for p in pts if p["alpha"] > 0]     # a log-log fit needs alpha > 0
        xs = [p[var] for p in pts]
        if len(set(xs)) < 2:
            continue
        rows = [worst[p["id"]] for p in pts]
        fits = {"user": fit_slope(xs, [r.get("delta_reps") or [r["delta_empirical"]] for r in rows],
                                  sweep=sweep, variable=var, who="user", level=level)}
        for ref in references:
            ys = [(r.get("delta_reference_reps") or {}).get(ref) or [r["delta_reference"].get(ref)]
                  for r in rows]
            fits[ref] = fit_slope(xs, ys, sweep=sweep, variable=var, who=ref, level=level)
        theory = {name: theory_slope(name, pts, var) for name in THEORY}
        entry = SweepSlopes(sweep, var, tuple(xs), fits, theory, False)
        exponent = sweep_exponent(sweep, theory)
        if sweep in GRADED and exponent is not None:
            thr = exponent + TOLERANCE
            evidence, prob = judge_slope(fits["user"], thr)
            entry = SweepSlopes(sweep, var, tuple(xs), fits, theory, True, exponent, thr, evidence, prob)
        out[sweep] = entry
    return out


def empirical_constants(results: list[dict], references) -> dict:
    """Per aggregator ('user' and each reference) and paper rate: max over the attacked settings of
    worst Δ / rate, and over every setting of worst Δ / lower bound."""
    worst = [r for r in results if r["attack"] == "worst"]
    series = {"user": [r["delta_empirical"] for r in worst]}
    for ref in references:
        series[ref] = [r["delta_reference"].get(ref) for r in worst]
    out = {}
    for who, ds in series.items():
        out[who] = {}
        for rate in PAPER_AGGREGATORS:
            vals = [d / r["rates"][rate] for d, r in zip(ds, worst, strict=True)
                    if d is not None and r["rates"][rate] > 0]
            out[who][rate] = max(vals) if vals else None
        vals = [d / r["lower_bound"] for d, r in zip(ds, worst, strict=True) if d is not None]
        out[who]["lower_bound"] = max(vals) if vals else None
    return out


def rate_summary(results: list[dict], settings: list[dict], references=PAPER_AGGREGATORS,
                 level: float = LEVEL) -> dict:
    """The report's 'rates': {'slopes': {sweep: SweepSlopes.to_dict()}, 'empirical_constants',
    'level', 'note'}."""
    slopes = sweep_slopes(results, settings, references, level)
    return {"slopes": {k: v.to_dict() for k, v in slopes.items()},
            "empirical_constants": empirical_constants(results, references), "level": level,
            "note": "slopes of the worst Delta over the repetitions (OLS on log-log, t intervals); theory: "
                    "the local slope of each rate over the same grid (constants and logs dropped); a graded "
                    "sweep shows the rate when its interval lies below the theory's exponent + "
                    f"{TOLERANCE:g}"}
