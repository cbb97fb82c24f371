"""Checks of the aggregators' (f, κ)-robustness claims (statements:
:mod:`byzpgd.theory.claims.robustness`; bounds: :mod:`byzpgd.theory.robustness`): a second,
independent check of each paper GradAGG that measures no Δ from the pipeline under test.

Instances (:func:`robustness_specs`): ``examples(profile, 'aggregator.robustness')`` searches,
the configurations :data:`CONFIGS` (n, f, d) in turn, instance i's search seed from
``instance_rng(seed, claim, i)``. Each runs :func:`byzpgd.audit.kappa.kappa_hat` on the project's
rule built for (n, f) (``byzpgd.algorithms.aggregators.make``, so a fault injected there is what
runs) with the profile's deterministic evaluation budget (:data:`SEARCH`; no wall-clock cap, so
the verdict does not depend on the machine's load).

Observation: κ̂ / the proven bound (median, trimmed mean; holds when <= 1 up to 1e-6, rounding),
or 1 when the filter's error grows without bound and 0 otherwise (bound 1/2). A rule that raises,
returns a wrong shape or a non-finite vector on finite input violates the claim (never hidden).
Every instance is non-vacuous and inside the hypotheses. Unless ``--complete``, the check stops at
the first violation (properties.early).
"""

from __future__ import annotations

import math
import time
import warnings

from ...algorithms.aggregators import make
from ...audit.kappa import kappa_hat
from ...experiments.loop import run_instances, split
from ...seeding import instance_rng
from ...theory.claims import get
from ...theory.claims.robustness import BOUNDED_CLAIMS, KAPPA_CLAIMS
from ...theory.robustness import median_kappa_bound, trimmed_mean_kappa_bound
from ..checks import Observation, verdict
from ..early import stop_rule
from ..profiles import examples
from ..registry import register_claim
from ..result import ClaimResult

COUNTS_KEY = "aggregator.robustness"
RULE_OF = {**{cid: agg for agg, cid in KAPPA_CLAIMS.items()},
           **{cid: agg for agg, cid in BOUNDED_CLAIMS.items()}}
PROVEN = {"median": median_kappa_bound, "trimmed_mean": trimmed_mean_kappa_bound}
# (n, f, d): the bounds are attained at (11, 3) (median) and (10, 4) (trimmed mean); the filter's
# configurations keep α = f/n < 1/4, where its guarantee holds
CONFIGS = {"median": ((20, 2, 3), (11, 3, 3), (10, 4, 2), (12, 3, 2), (9, 2, 2)),
           "trimmed_mean": ((20, 2, 3), (11, 3, 3), (10, 4, 2), (12, 3, 2), (9, 2, 2)),
           "iterative_filtering": ((20, 2, 3), (20, 4, 3), (13, 3, 2), (17, 4, 2))}
SEARCH = {"quick": {"restarts": 4, "maxiter": 200}, "ci": {"restarts": 8, "maxiter": 400},
          "deep": {"restarts": 16, "maxiter": 1000}}
RTOL = 1e-6   # κ̂ above the bound by more than this (relative) is not rounding (audit.kappa.verdict)


def robustness_specs(claim_id: str, profile: str, seed: int, n: int | None = None) -> list[dict]:
    """The claim's searches (module docstring); search i depends only on (seed, claim_id, i)."""
    rule = RULE_OF[claim_id]
    configs = CONFIGS[rule]
    count = n or examples(profile, COUNTS_KEY)
    out = []
    for i in range(count):
        n_rows, f, d = configs[i % len(configs)]
        out.append({"rule": rule, "n": n_rows, "f": f, "d": d,
                    "search_seed": int(instance_rng(seed, claim_id, i).integers(2**62)), **SEARCH[profile]})
    return out


def search(spec: dict):
    """κ̂ of the project's rule at the spec's (n, f, d) (a :class:`byzpgd.audit.kappa.KappaResult`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # α >= 1/4 warnings of the filter's factory
        rule = make(spec["rule"], spec["n"], spec["f"])
    return kappa_hat(rule, spec["n"], spec["f"], spec["d"], spec["search_seed"],
                     restarts=spec["restarts"], maxiter=spec["maxiter"], name=spec["rule"])


def observe(claim_id: str, spec: dict, res) -> Observation:
    """The observation of one search (module docstring)."""
    claim = get(claim_id)
    failed = res.status in ("exception", "bad_output", "nonfinite_output")
    if claim_id in BOUNDED_CLAIMS.values():
        unbounded = res.status == "unbounded" or not math.isfinite(res.kappa_hat)
        obs, bound = float(unbounded or failed), claim.bound({})
        holds = not (unbounded or failed)
    else:
        proven = PROVEN[spec["rule"]](spec["n"], spec["f"])
        obs, bound = res.kappa_hat / proven, claim.bound({})
        holds = not failed and obs <= bound * (1 + RTOL)
    where = f"(kappa_hat = {res.kappa_hat:.4g}, n = {spec['n']}, f = {spec['f']}, d = {spec['d']})"
    note = f"{res.reason} {where}" if failed or not holds else where
    return Observation(obs, bound, obs / bound, bool(holds), False, True, obs, spec, note)


def check_robustness(claim_id: str, profile: str = "ci", seed: int = 0, *, n: int | None = None,
                     progress=None, executor=None) -> ClaimResult:
    """Check one robustness claim on its searches (module docstring)."""
    t0 = time.perf_counter()
    claim = get(claim_id)
    specs = robustness_specs(claim_id, profile, seed, n)
    rule = stop_rule(claim.kind, specs, lambda s: s["rule"], 0.0)
    fn = _Observed(claim_id)
    results = run_instances(specs, fn, executor, progress, stop=rule)
    observations, errors = split(results)
    details = {"configurations": [list(c) for c in CONFIGS[RULE_OF[claim_id]]], "search": SEARCH[profile],
               **(rule.details() if rule is not None else {})}
    result = verdict(claim, observations, errors, 0.0, details=details, group_of=lambda s: s["rule"])
    return result.with_seconds(time.perf_counter() - t0)


class _Observed:
    """One search, observed (a picklable callable for any executor)."""

    def __init__(self, claim_id: str):
        self.claim_id = claim_id

    def __call__(self, spec: dict) -> Observation:
        return observe(self.claim_id, spec, search(spec))


def replay_robustness(claim_id: str, spec: dict) -> dict:
    """Re-run one search (``byzpgd replay``)."""
    res = search(spec)
    o = observe(claim_id, spec, res)
    return {"claim": claim_id, "observed": o.observed, "bound": o.bound, "holds": o.holds,
            "kappa_hat": res.kappa_hat, "status": res.status, "reason": res.reason,
            "configuration": res.to_dict()["rows"], "vacuous": False, "in_hypotheses": True}


for _cid in RULE_OF:
    register_claim(_cid, check_robustness, replay_robustness)
