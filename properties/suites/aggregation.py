"""Checks of the aggregator rate claims (statements: :mod:`byzpgd.theory.claims.aggregation`;
the measurement: :func:`byzpgd.experiments.aggregation.measure`): the empirical Δ of the pipeline
workers → worst attack → aggregator, swept over n, m, α and d, against the exponents of the §6
rates (docs/paper.md §6).

Sampler: per swept variable v (:data:`SWEEPS`: the fixed values and the grid) and grid value,
``replicates`` seeded pipelines (replicate i's seed from
byzpgd.seeding.instance_rng(seed, "aggregator.rate", i); max(3, examples(profile)/20)
replicates), under the attack of the library (:data:`CANDIDATE_ATTACKS`) of largest mean Δ at
the sweep's middle setting on the first two seeds (α = 0.1 there for the m sweep, whose own runs
have no Byzantine worker: α = 0 isolates √(d/(nm))). For the α sweep each pipeline is also
measured at α = 0 on the same data.

Observation: the log-log slope s of the mean Δ over the replicates (for α: of the *excess* error
√(E Δ² − E Δ₀²) over the α = 0 pipeline, which isolates the α term), fitted by least squares
(:func:`byzpgd.properties.fits.loglog_fit`). Hypotheses: those of the claim (Gaussian location,
α below the breakdown point); every instance is inside them. Check: the rate is an upper bound, so
the claim holds when s <= e + TOL for every sweep, e = :func:`byzpgd.theory.rates.exponent` of the
symmetric rate in that regime, TOL = SLOPE_TOLERANCE = 0.2 (about 4 standard errors of a 4-point
slope at the default replication); a sweep with a non-finite mean Δ violates it.

Result: ``fits`` = one :class:`~byzpgd.properties.result.Fit` per sweep (slope, expected = e,
tolerance, constant, points {"x": grid, "y": mean Δ (α: excess Δ)}); ``worst_ratio`` =
max_v (v_max/v_min)^(s − e − TOL), the growth over the sweep relative to the largest allowed;
``empirical_constant`` = max Δ / rate over the grid points; ``details``: 'worst_attack' and
'pilot_delta_by_attack' per sweep, 'replicates', 'lower_bound_ratio_min' (the smallest mean Δ /
the statistical lower bound α/√n + √(d/(nm)), docs/paper.md §7.2), 'violated_sweeps'.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ...experiments.aggregation import measure
from ...experiments.loop import InstanceError, run_instances, split
from ...jsonsafe import spec_json
from ...seeding import instance_rng
from ...theory import rates
from ...theory.claims import get
from ...theory.claims.aggregation import RATE_CLAIMS
from ...theory.claims.aggregation import SLOPE_TOLERANCE as TOL
from ..fits import loglog_fit
from ..profiles import examples
from ..registry import register_check
from ..result import ClaimResult, Fit

CANDIDATE_ATTACKS = ("sign_flip", "gaussian", "alie", "ipm", "mimic", "nan", "inf", "neg_inf", "huge",
                     "alie_ls", "ipm_ls", "shift")
PILOT_SEEDS = 2
PILOT_ALPHA = 0.1       # the pilot of a sweep whose fixed α is 0
MIN_REPLICATES = 3

# regimes: fixed values and the swept grid (α = 0 for the m sweep isolates √(d/(nm)))
SWEEPS = {
    "n": ({"m": 50, "d": 10, "alpha": 0.1}, [25, 100, 400, 1600]),
    "m": ({"n": 100, "d": 10, "alpha": 0.0}, [20, 40, 80, 160, 320]),
    "alpha": ({"n": 100, "m": 200, "d": 10}, [0.02, 0.04, 0.08, 0.16]),
    "d": ({"n": 100, "m": 50, "alpha": 0.1}, [4, 16, 64, 256]),
}


# --- sampler ---------------------------------------------------------------------------------
def replicate_seeds(profile: str, seed: int, reps: int | None = None) -> list[int]:
    reps = reps or max(MIN_REPLICATES, examples(profile) // 20)
    return [int(instance_rng(seed, "aggregator.rate", i).integers(0, 2**31)) for i in range(reps)]


def pilot_specs(agg_name: str, seeds: list[int]) -> list[tuple[str, str, dict]]:
    """(sweep, attack, spec) at the middle of each sweep, for every candidate attack."""
    out = []
    for var, (fixed, grid) in SWEEPS.items():
        mid = {**fixed, var: grid[len(grid) // 2]}
        mid["alpha"] = mid["alpha"] or PILOT_ALPHA
        out += [(var, a, {"aggregator": agg_name, "attack": a, "seed": s, **mid})
                for a in CANDIDATE_ATTACKS for s in seeds[:PILOT_SEEDS]]
    return out


def grid_specs(agg_name: str, worst: dict[str, str], seeds: list[int]) -> list[tuple[str, int, bool, dict]]:
    """(sweep, grid index, is the α = 0 companion, spec) for every grid point and replicate."""
    out = []
    for var, (fixed, grid) in SWEEPS.items():
        for i, val in enumerate(grid):
            cfg = {"aggregator": agg_name, "attack": worst[var], **fixed, var: val}
            out += [(var, i, False, {**cfg, "seed": s}) for s in seeds]
            if var == "alpha":
                out += [(var, i, True, {**cfg, "alpha": 0.0, "seed": s}) for s in seeds]
    return out


# --- observation -----------------------------------------------------------------------------
def worst_attacks(pilots: list[tuple[str, str, dict]], values: list) -> tuple[dict, dict]:
    """(worst attack per sweep, mean pilot Δ per sweep and attack); errored pilots are left out."""
    sums: dict[str, dict[str, list]] = {}
    for (var, attack, _), v in zip(pilots, values, strict=True):
        sums.setdefault(var, {}).setdefault(attack, [])
        if v is not None:
            sums[var][attack].append(v)
    means = {var: {a: float(np.mean(vs)) if vs else -math.inf for a, vs in by.items()}
             for var, by in sums.items()}
    return {var: max(by, key=lambda a: by[a]) for var, by in means.items()}, means


def sweep_mean(var: str, ds: np.ndarray, d0: np.ndarray) -> float:
    """The swept quantity at one grid point: mean Δ, or for α the excess √(E Δ² − E Δ₀²)."""
    if var == "alpha":
        return float(np.sqrt(max(np.mean(ds**2) - np.mean(d0**2), 1e-300)))
    return float(np.mean(ds))


def fit_sweep(var: str, means: list[float], rate, exponents: dict | None) -> Fit:
    """The log-log fit of one sweep against the rate's exponent (``exponents`` overrides it)."""
    grid = [float(v) for v in SWEEPS[var][1]]
    e = float((exponents or {}).get(var, rates.exponent(rate, var, {"alpha": 0} if var == "m" else None)))
    fit = loglog_fit(grid, means) if np.all(np.isfinite(means)) else None
    slope, constant = fit if fit is not None else (math.inf, math.inf)
    return Fit(slope=slope, expected=e, tolerance=TOL, constant=constant,
               points={"x": grid, "y": [float(v) for v in means]})


def growth_ratio(var: str, fit: Fit) -> float:
    """(v_max/v_min)^(s − e − TOL): > 1 exactly when the slope exceeds the allowed one."""
    grid = SWEEPS[var][1]
    if not math.isfinite(fit.slope):
        return math.inf
    return float((grid[-1] / grid[0]) ** (fit.slope - fit.expected - fit.tolerance))


# --- check -----------------------------------------------------------------------------------
def rate_check(agg_name: str, profile: str = "ci", seed: int = 0, progress=None, *, factory=None,
               exponents: dict | None = None, reps: int | None = None) -> ClaimResult:
    """The rate claim of ``agg_name``; ``factory`` (m, f) -> aggregate replaces the aggregator
    and ``exponents`` the theory's exponents (both for the able-to-fail tests)."""
    seeds = replicate_seeds(profile, seed, reps)
    fn = functools.partial(measure, factory=factory)
    pilots = pilot_specs(agg_name, seeds)
    total = len(pilots) + sum(len(SWEEPS[v][1]) * len(seeds) * (2 if v == "alpha" else 1) for v in SWEEPS)
    pilot_runs = run_instances([s for *_, s in pilots], fn, progress=_offset(progress, 0, total))
    pilot_values, pilot_errors = _values(pilot_runs)
    worst, pilot_means = worst_attacks(pilots, pilot_values)
    grid = grid_specs(agg_name, worst, seeds)
    grid_runs = run_instances([s for *_, s in grid], fn, progress=_offset(progress, len(pilots), total))
    grid_values, grid_errors = _values(grid_runs)
    return _result(agg_name, profile, seed, grid, grid_values, pilot_errors + grid_errors,
                   exponents, {"worst_attack": worst, "pilot_delta_by_attack": pilot_means,
                               "replicates": len(seeds)})


def _result(agg_name, profile, seed, grid, values, errors, exponents, details) -> ClaimResult:
    rate = rates.symmetric_rate(agg_name)
    fits, k_emp, lb_ratios, measured = {}, 0.0, [], []
    for var, (fixed, values_of_var) in SWEEPS.items():
        means = []
        for i, val in enumerate(values_of_var):
            ds = _at(grid, values, var, i, companion=False)
            d0 = _at(grid, values, var, i, companion=True)
            measured.append(ds)
            means.append(sweep_mean(var, ds, d0) if ds.size else math.nan)
            cfg = {**fixed, var: val}
            if ds.size and np.all(np.isfinite(ds)):
                k_emp = max(k_emp, float(np.max(ds)) / rates.evaluate(rate, **cfg))
                lb_ratios.append(float(np.mean(ds)) / rates.evaluate(rates.LOWER_BOUND, **cfg))
            else:
                k_emp = math.inf
        fits[var] = fit_sweep(var, means, rate, exponents)
    violated = [v for v, fit in fits.items() if not fit.slope <= fit.expected + fit.tolerance]
    all_ds = np.concatenate(measured)
    claim = get(RATE_CLAIMS[agg_name])
    return ClaimResult.build(
        claim, violated=bool(violated), instances=int(all_ds.size),
        nonvacuous_instances=int(np.sum(np.isfinite(all_ds) & (all_ds > 0))), outside_hypotheses=0,
        violations=len(violated), errors=len(errors),
        worst_ratio=max(growth_ratio(v, fit) for v, fit in fits.items()), empirical_constant=k_emp,
        claim_constant=None, fits=fits,
        replay=(f"python -c \"from byzpgd.properties.suites.aggregation import rate_check; "
                f"print(rate_check('{agg_name}', '{profile}', {seed}))\"") if violated else None,
        error_examples=tuple(e.as_example(spec_json(e.spec)) for e in errors[:3]),
        details={**details, "lower_bound_ratio_min": min(lb_ratios, default=None),
                 "violated_sweeps": violated})


def _at(grid, values, var, i, *, companion: bool) -> np.ndarray:
    """The measured Δ of the replicates at grid point i of sweep var (errored runs left out)."""
    return np.array([v for (sv, si, c, _), v in zip(grid, values, strict=True)
                     if sv == var and si == i and c == companion and v is not None], dtype=float)


def _values(results) -> tuple[list, list]:
    """The value of each run (None where it errored) and the errors."""
    return [None if isinstance(r, InstanceError) else r.value for r in results], split(results)[1]


def _offset(progress, start: int, total: int):
    if progress is None:
        return None
    return lambda done, _: progress(start + done, total)


def _check_of(agg_name: str):
    def check(profile: str, seed: int, progress=None) -> ClaimResult:
        return rate_check(agg_name, profile, seed, progress)
    return check


for _agg, _cid in RATE_CLAIMS.items():
    register_check(_cid)(_check_of(_agg))
