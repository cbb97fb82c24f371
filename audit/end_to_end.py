"""ByzantinePGD end to end with the user's aggregator under the worker-level saddle-point attack,
checked against Theorem 1 with the pipeline's measured Δ.

This is the instance of the end-to-end suite (:mod:`byzpgd.properties.suites.end_to_end`),
reused as is: population phase retrieval in d = 3, m = 20 workers with n = 200 samples, f = 2
Byzantine workers realising the saddle trap (SaddleTrapTarget through RealiseTarget), Δ = the
sup of the pipeline's error over probe points (raised to the sup over the visited points and the
run repeated when the run saw a larger error), Theorem 1's parameters for that Δ. The user's
aggregator enters the suite's registry under a temporary name for the duration of the runs
(:func:`temporary_aggregator`); the suite's :func:`~byzpgd.properties.suites.end_to_end.run_instance`
and :func:`~byzpgd.properties.suites.end_to_end.observe_record` do the rest.

Checked per instance (both deterministic claims, zero tolerance beyond 1e-9 relative rounding):
``end_to_end.grad_norm`` ‖∇F(w̃)‖ <= 4Δ and ``end_to_end.iterations`` calls <= 2(F_0 − F*)L_F Q/(3Δ²).
An instance outside the hypotheses (the run left the certified ball, r > R, or Δ not reached) is
reported and not counted. The guarantee *holds* when no instance errored (an exception, timeout,
non-finite output, ... of the aggregator ends its instance with an error), every instance inside
the hypotheses satisfies both claims, and at least one instance is inside the hypotheses.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from ..algorithms import aggregators as agg_registry
from ..properties.suites import end_to_end as e2e
from .sandbox import AggregatorFailure

CLAIMS = ("end_to_end.grad_norm", "end_to_end.iterations")
_counter = itertools.count()


@contextlib.contextmanager
def temporary_aggregator(factory: Callable[[int, int], Callable], prefix: str = "audit"):
    """Register ``factory(m, f)`` in the aggregator registry under a fresh name for the duration
    of the block (any f < m accepted) and remove it afterwards."""
    name = f"{prefix}:{next(_counter)}"
    agg_registry.register(name, max_f=lambda m: m - 1)(factory)
    try:
        yield name
    finally:
        agg_registry.unregister(name)


def instance_seeds(k: int, seed: int) -> list[int]:
    return [int(s) for s in np.random.default_rng([seed, 17]).integers(0, 2**31, size=k)]


def run_end_to_end(factory: Callable[[int, int], Callable], instances: int, seed: int, *, log=None,
                   deadline: float | None = None) -> dict:
    """Run ``instances`` seeded end-to-end instances with the aggregator ``factory(m, f)``.
    ``deadline`` (a time.perf_counter() value): instances not started by then are skipped."""
    if not (isinstance(instances, int) and instances >= 1):
        raise ValueError(f"instances must be an integer >= 1, got {instances!r}")
    records = []
    with temporary_aggregator(factory) as name:
        for k, s in enumerate(instance_seeds(instances, seed)):
            spec = {"seed": s, "aggregator": name}
            if deadline is not None and time.perf_counter() > deadline:
                records.append({"seed": s, "skipped": "time budget of the end-to-end phase exhausted"})
                continue
            if log is not None:
                log.context = {"phase": "end_to_end", "instance": k, "seed": s}
            t0 = time.perf_counter()
            try:
                rec = e2e.run_instance(spec)
            except AggregatorFailure as exc:
                records.append({"seed": s, "error": f"aggregator failure: {exc}"})
                continue
            except Exception as exc:  # a failure of the run itself: reported, never hidden
                records.append({"seed": s, "error": f"{type(exc).__name__}: {exc}"})
                continue
            records.append(_record(s, rec, time.perf_counter() - t0))
    return summarise(records)


def _record(seed: int, rec: dict, seconds: float) -> dict:
    out = {"seed": seed, "Delta": rec["Delta"], "visited_max": rec["visited_max"], "status": rec["status"],
           "grad_norm": rec["grad_norm"], "calls": rec["calls"], "escapes": rec["escapes"],
           "lambda_min": rec["lambda_min"], "trap_budget": rec["trap_budget"],
           "attempts": rec["attempts"], "seconds": round(seconds, 3)}
    inside = True
    for cid in CLAIMS:
        o = e2e.observe_record(cid, rec)
        key = cid.split(".")[1]
        out[key] = {"observed": o.observed, "bound": o.bound, "ratio": o.ratio, "holds": o.holds,
                    "vacuous": o.vacuous}
        inside = inside and o.in_hypotheses
    out["in_hypotheses"] = inside
    out["holds"] = all(out[c.split(".")[1]]["holds"] for c in CLAIMS)
    return out


def summarise(records: list[dict]) -> dict:
    errors = [r for r in records if "error" in r]
    ran = [r for r in records if "error" not in r and "skipped" not in r]
    inside = [r for r in ran if r["in_hypotheses"]]
    violations = [r for r in inside if not r["holds"]]
    reasons = []
    for r in errors:
        reasons.append(f"end-to-end instance seed {r['seed']}: {r['error']}")
    for r in violations:
        parts = [f"{c.split('.')[1]}: observed {r[c.split('.')[1]]['observed']:.4g} > bound "
                 f"{r[c.split('.')[1]]['bound']:.4g}" for c in CLAIMS if not r[c.split(".")[1]]["holds"]]
        if r["status"] != "converged":
            parts.append(f"status {r['status']}")
        reasons.append(f"Theorem 1 violated on end-to-end instance seed {r['seed']} (Delta = "
                       f"{r['Delta']:.4g}): " + "; ".join(parts))
    if not errors and not inside:
        reasons.append("no end-to-end instance was inside Theorem 1's hypotheses: the guarantee "
                       "could not be checked")
    worst = {}
    for c in CLAIMS:
        key = c.split(".")[1]
        vals = [r[key]["ratio"] for r in inside if math.isfinite(r[key]["ratio"])]
        worst[key] = max(vals) if vals else None
    return {"claims": list(CLAIMS), "instances": len(records), "ran": len(ran),
            "inside_hypotheses": len(inside), "errors": len(errors), "violations": len(violations),
            "skipped": sum("skipped" in r for r in records), "worst_ratio": worst,
            "holds": not reasons, "reasons": reasons, "records": records,
            "setting": {"landscape": "phase retrieval (population risk)", "d": e2e.DIM, "m": e2e.M,
                        "n": e2e.N, "f": e2e.F, "attack": "saddle trap realised by the Byzantine "
                        "workers (RealiseTarget of SaddleTrapTarget)"}}
