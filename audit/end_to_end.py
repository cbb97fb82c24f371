"""ByzantinePGD end to end with the user's aggregator under the worker-level saddle-point attack,
checked against Theorem 1 with the pipeline's measured Δ.

The instance is the end-to-end experiment (:mod:`byzpgd.experiments.end_to_end`), run as is with
the user's aggregator factory in place of the paper's: population phase retrieval in d = 3,
m = 20 workers with n = 200 samples, f = 2 Byzantine workers realising the saddle trap
(SaddleTrapTarget through RealiseTarget), Δ = the sup of the pipeline's error over probe points
(raised to the sup over the visited points and the run repeated when the run saw a larger error),
Theorem 1's parameters for that Δ. Instances run through
:func:`byzpgd.experiments.loop.run_instances`.

Checked per instance (both deterministic claims of :mod:`byzpgd.theory.claims.end_to_end`, zero
tolerance beyond ROUNDING_RTOL): ``end_to_end.grad_norm`` ‖∇F(w̃)‖ <= 4Δ and
``end_to_end.iterations`` calls <= 2(F_0 − F*)L_F Q/(3Δ²), with the experiment's facts (the
claims' values, whether the run finished, whether the bound was vacuous, whether the run met the
hypotheses: stayed in the certified ball, r <= R, Δ reached). An instance outside the hypotheses
is reported and not counted. The guarantee *holds* when no instance errored (an exception,
timeout, non-finite output, ... of the aggregator ends its instance with an error), every
instance inside the hypotheses satisfies both claims, and at least one instance is inside the
hypotheses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from ..experiments import end_to_end as e2e
from ..experiments.loop import InstanceError, run_instances
from ..properties.result import ROUNDING_RTOL
from ..theory.claims import get

CLAIMS = ("end_to_end.grad_norm", "end_to_end.iterations")
AUDITED = "audited"      # the 'aggregator' of the audit's specs (the factory is passed alongside)


def instance_seeds(k: int, seed: int) -> list[int]:
    return [int(s) for s in np.random.default_rng([seed, 17]).integers(0, 2**31, size=k)]


class _Runner:
    """One audit instance: the experiment with the user's factory; None when the deadline (a
    time.perf_counter() value) has passed before it started."""

    def __init__(self, factory, log, deadline):
        self.factory, self.log, self.deadline = factory, log, deadline

    def __call__(self, spec):
        if self.deadline is not None and time.perf_counter() > self.deadline:
            return None
        if self.log is not None:
            self.log.context = {"phase": "end_to_end", "instance": spec["instance"], "seed": spec["seed"]}
        return e2e.run_instance(spec, factory=self.factory)


def run_end_to_end(factory: Callable[[int, int], Callable], instances: int, seed: int, *, log=None,
                   deadline: float | None = None) -> dict:
    """Run ``instances`` seeded end-to-end instances with the aggregator ``factory(m, f)``.
    ``deadline`` (a time.perf_counter() value): instances not started by then are skipped."""
    if not (isinstance(instances, int) and instances >= 1):
        raise ValueError(f"instances must be an integer >= 1, got {instances!r}")
    specs = [{"seed": s, "aggregator": AUDITED, "instance": k}
             for k, s in enumerate(instance_seeds(instances, seed))]
    results = run_instances(specs, _Runner(factory, log, deadline))
    return summarise([_entry(spec["seed"], r) for spec, r in zip(specs, results, strict=True)])


def _entry(seed: int, result) -> dict:
    if isinstance(result, InstanceError):   # a failure of the aggregator or of the run: reported
        return {"seed": seed, "error": result.error}
    if result.value is None:
        return {"seed": seed, "skipped": "time budget of the end-to-end phase exhausted"}
    return _record(seed, result.value, result.seconds)


def _judge(claim_id: str, rec: e2e.EndToEndRecord) -> dict:
    claim = get(claim_id)
    bound = claim.bound(rec.values)
    obs = rec.observed(claim.observed)
    return {"observed": obs, "bound": bound, "ratio": obs / bound if bound > 0 else math.inf,
            "holds": rec.finished(claim.observed) and obs <= bound * (1 + ROUNDING_RTOL),
            "vacuous": rec.vacuous(claim.observed, bound)}


def _record(seed: int, rec: e2e.EndToEndRecord, seconds: float) -> dict:
    out = {"seed": seed, "Delta": rec.Delta, "visited_max": rec.visited_max, "status": rec.status,
           "grad_norm": rec.grad_norm, "calls": rec.calls, "escapes": rec.escapes,
           "lambda_min": rec.lambda_min, "trap_budget": rec.trap_budget,
           "attempts": rec.attempts, "seconds": round(seconds, 3)}
    for cid in CLAIMS:
        out[cid.split(".")[1]] = _judge(cid, rec)
    out["in_hypotheses"] = not rec.outside_hypotheses
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
                        "n": e2e.N, "f": e2e.F, "attack": e2e.ATTACK}}
