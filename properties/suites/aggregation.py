"""Rate claims of the three GradAGGs (docs/paper.md §6): the empirical Δ of the pipeline
workers → worst attack → aggregator, swept over n, m, α and d, against the exponents of §6.

The filter is given the honest covariance bound σ²/n (its assumption in docs/paper.md §6): with
its MAD estimate instead, the estimate is inflated by the contamination and the α-slope comes out
about 0.69 instead of 0.57 (alie_ls, m = 200, α in [0.02, 0.16]).

Model: Gaussian location (statistics.GaussianLocation, σ = 1, μ = 0, W = unit ball around μ);
each measurement is the empirical Δ of one seeded pipeline: the sup of ‖ĝ(w) − ∇F(w)‖ over
``PROBES`` random points of W. Per swept variable v the log-log slope s of the mean Δ over
replicates is fitted by least squares (for α: of the *excess* error √(E Δ² − E Δ₀²) over the
α = 0 pipeline on the same data, which isolates the α term). The rate is an upper bound, so the
claim holds when s <= e + TOL for every sweep, e the exponent of the §6 rate in that regime
(theory.aggregator_rates.exponent), TOL = 0.2 (about 4 standard errors of a 4-point slope at
the default replication). The fitted slopes and constants, the attack chosen as the worst for each
sweep (the one of largest mean Δ at the sweep's middle setting, among the library; α = 0.1
there for the m sweep, whose own runs have no Byzantine worker), and the ratio of the measured Δ to
the statistical lower bound α/√n + √(d/(nm)) are reported. 'worst_ratio' is
max_v (v_max/v_min)^(s − e − TOL): the growth over the sweep relative to the largest allowed.
"""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from ...algorithms.aggregators import make, make_iterative_filtering
from ...oracles.attacks import make_attack
from ...oracles.pipeline import ByzantineOracle
from ...oracles.statistical import GaussianLocation
from ...oracles.workers import WorkerPool
from ...theory import aggregator_rates as ar
from ...theory.claims import Claim, register
from ..profiles import examples
from ..registry import register_check

TOL = 0.2
PROBES = 2
CANDIDATE_ATTACKS = ("sign_flip", "gaussian", "alie", "ipm", "mimic", "nan", "inf", "neg_inf", "huge",
                     "alie_ls", "ipm_ls", "shift")

# regimes: fixed values and the swept grid (α = 0 for the m sweep isolates √(d/(nm)))
SWEEPS = {
    "n": ({"m": 50, "d": 10, "alpha": 0.1}, [25, 100, 400, 1600]),
    "m": ({"n": 100, "d": 10, "alpha": 0.0}, [20, 40, 80, 160, 320]),
    "alpha": ({"n": 100, "m": 200, "d": 10}, [0.02, 0.04, 0.08, 0.16]),
    "d": ({"n": 100, "m": 50, "alpha": 0.1}, [4, 16, 64, 256]),
}

AGG_CLAIMS = {"median": "aggregator.median.rate", "trimmed_mean": "aggregator.trimmed_mean.rate",
              "iterative_filtering": "aggregator.iterative_filtering.rate"}
_SOURCE = {"median": "Yin et al. 2018 via docs/paper.md §6 (S5 translation)",
           "trimmed_mean": "Yin et al. 2018 via docs/paper.md §6 (S5 translation)",
           "iterative_filtering": "docs/paper.md §6 (new uniform convergence bound; S5 translation)"}

for _agg, _cid in AGG_CLAIMS.items():
    register(Claim(
        id=_cid,
        statement=f"The {_agg.replace('_', ' ')} GradAGG is a Delta-inexact oracle with "
                  f"Delta = O~({ar.RATES[_agg].subs(ar.S, 0)}) under every attack (log-log slopes in "
                  f"n, m, alpha, d at most the rate's exponents + {TOL})",
        source=f"docs/paper.md §6 table; {_SOURCE[_agg]}", provenance="CONFIRMED-INDIRECT", kind="rate",
        observed="empirical_delta", constant=1.0, shape=ar.RATES[_agg].subs(ar.S, 0),
        hypotheses=("Gaussian location model (symmetric data: skewness S = 0)",
                    "alpha < 1/2 (median, trimmed mean with beta = alpha), alpha < 1/4 (filter)",
                    "Delta measured as the sup over random probe points of W (finite: the covering "
                    "factor sqrt(d) of the uniform bound cannot show)"),
        notes="Upper-bound rate: the check bounds the fitted slopes from above. The measured d-slope "
              "of median/trimmed mean is about 1/2 < 1 (pointwise error); reported as 'slopes'."))


def measure(agg_name, attack, n, m, d, alpha, seed, factory=None, probes=PROBES):
    """Empirical Δ of one seeded pipeline (and of its α = 0 counterpart on the same data when
    alpha > 0 is measured for the excess error)."""
    rng = np.random.default_rng(seed)
    model = GaussianLocation(np.zeros(d), sigma=1.0, radius=1.0)
    pool = WorkerPool(model, m, n, rng, alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if factory is not None:
            agg = factory(m, pool.f)
        elif agg_name == "iterative_filtering":   # the filter knows σ² (docs/paper.md §6)
            agg = make_iterative_filtering(m, pool.f, sigma2=model.worker_sigma2(n))
        else:
            agg = make(agg_name, m, pool.f)
        oracle = ByzantineOracle(pool, make_attack(attack) if pool.f else None, agg,
                                 np.random.default_rng(seed + 1))
        delta = oracle.probe(probes, np.random.default_rng(seed + 2))
    return delta


def _fit(x, y):
    lx, ly = np.log(x), np.log(y)
    A = np.vstack([lx, np.ones_like(lx)]).T
    (s, c), *_ = np.linalg.lstsq(A, ly, rcond=None)
    return float(s), float(np.exp(c))


def rate_check(agg_name: str, profile: str = "ci", seed: int = 0, progress=None, *, factory=None,
               exponents: dict | None = None, reps: int | None = None) -> dict:
    """The rate claim of ``agg_name``; ``factory`` (m, f) -> aggregate replaces the aggregator
    and ``exponents`` the theory's exponents (both for the able-to-fail tests)."""
    reps = reps or max(3, examples(profile) // 20)
    rate = ar.RATES[agg_name].subs(ar.S, 0)
    rng = np.random.default_rng([seed, 7])
    seeds = rng.integers(0, 2**31, size=reps)
    slopes, constants, violations, ratios, lb_ratios, instances = {}, {}, [], {}, [], 0
    nonvac = 0
    k_emp = 0.0
    total = sum(len(g) for _, g in SWEEPS.values())
    done = 0
    worst_by_sweep, pilots = {}, {}
    for var, (fixed, grid) in SWEEPS.items():
        # the worst attack of the library at the middle of this sweep (2 seeds)
        mid = {**fixed, var: grid[len(grid) // 2]}
        if mid["alpha"] == 0:
            mid["alpha"] = 0.1
        pilot = {a: float(np.mean([measure(agg_name, a, seed=int(s), factory=factory, **mid)
                                   for s in seeds[:2]])) for a in CANDIDATE_ATTACKS}
        worst = max(pilot, key=lambda a: pilot[a])
        worst_by_sweep[var], pilots[var] = worst, pilot
        means = []
        for val in grid:
            cfg = {**fixed, var: val}
            ds = np.array([measure(agg_name, worst, seed=int(s), factory=factory, **cfg) for s in seeds])
            instances += len(ds)
            nonvac += int(np.sum(np.isfinite(ds) & (ds > 0)))
            if var == "alpha":
                d0 = np.array([measure(agg_name, worst, seed=int(s), factory=factory,
                                       **{**cfg, "alpha": 0.0}) for s in seeds])
                means.append(np.sqrt(max(np.mean(ds**2) - np.mean(d0**2), 1e-300)))
            else:
                means.append(float(np.mean(ds)))
            if np.all(np.isfinite(ds)):
                r = ar.evaluate(rate, **cfg)
                lb = ar.evaluate(ar.LOWER_BOUND, **cfg)
                k_emp = max(k_emp, float(np.max(ds)) / r)
                lb_ratios.append(float(np.mean(ds)) / lb)
            else:
                k_emp = np.inf
            done += 1
            if progress is not None:
                progress(done, total)
        means = np.array(means)
        e = float((exponents or {}).get(var, ar.exponent(rate, var, {"alpha": 0} if var == "m" else None)))
        if not np.all(np.isfinite(means)):
            s, c = np.inf, np.inf
        else:
            s, c = _fit(np.array(grid, dtype=float), means)
        slopes[var] = {"fitted": round(s, 4), "theory": e, "tolerance": TOL,
                       "matches": bool(abs(s - e) <= TOL), "values": [float(v) for v in grid],
                       "delta": [float(v) for v in means]}
        constants[var] = c
        ratios[var] = float((grid[-1] / grid[0]) ** (s - e - TOL)) if np.isfinite(s) else np.inf
        if not s <= e + TOL:
            violations.append(var)
    status = "violated" if violations else ("holds" if nonvac >= 20 else "inconclusive")
    entry = {"status": status, "instances": instances, "nonvacuous_instances": nonvac,
             "outside_hypotheses": 0, "violations": len(violations), "errors": 0,
             "worst_ratio": max(ratios.values()), "empirical_constant": k_emp, "paper_constant": None,
             "slopes": slopes, "fitted_constants": constants, "worst_attack": worst_by_sweep,
             "pilot_delta_by_attack": pilots, "replicates": reps, "tolerance": TOL,
             "lower_bound_ratio_min": min(lb_ratios, default=None)}
    if violations:
        entry["violated_sweeps"] = violations
        entry["replay"] = (f"python -c \"from byzpgd.properties.suites.aggregation import rate_check; "
                           f"print(rate_check('{agg_name}', '{profile}', {seed}))\"")
    return entry


def _single_thread(fn):
    """Run with BLAS pinned to one thread: the m × m Gram/eigh calls are tiny, and a
    multi-threaded BLAS on a loaded machine made them 15× slower (threadpoolctl)."""
    def wrapped(*a, **k):
        with threadpool_limits(limits=1):
            return fn(*a, **k)
    return wrapped


def _register(agg, cid):
    register_check(cid)(_single_thread(lambda profile, seed, progress: rate_check(
        agg, profile, seed, progress)))


for _agg, _cid in AGG_CLAIMS.items():
    _register(_agg, _cid)
