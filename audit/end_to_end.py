"""ByzantinePGD end to end with the user's aggregator under the worker-level saddle-point attack,
checked against Theorem 1 with the pipeline's measured Δ.

The instance is the end-to-end experiment's (:mod:`byzpgd.experiments.end_to_end`: its
calibrated run, algorithm and record) in a higher dimension, with the user's aggregator factory
in place of the paper's: population phase retrieval in d = ``DIM`` = 10 with ‖w*‖ = ``NORM_STAR``
= 0.065 (the experiment's 0.1 in d = 3; Theorem 1's r <= R needs Δ <= 4^-5 d^-1/2 ≈ 3.1e-4 at
d = 10, and the phase-retrieval gradient noise scales like ‖w*‖³, so 0.065 puts the paper's
median at Δ ≈ 1.2–2e-4, inside), m = 20 workers with n = 200 samples, f = 2 Byzantine workers
realising the saddle trap (SaddleTrapTarget through RealiseTarget), Δ = the sup of the pipeline's
error over probe points (raised to the sup over the visited points and the run repeated when the
run saw a larger error), Theorem 1's parameters for that Δ and d. Instances run through
:func:`byzpgd.experiments.loop.run_instances`.

Checked per instance (both deterministic claims of :mod:`byzpgd.theory.claims.end_to_end`, zero
tolerance beyond ROUNDING_RTOL): ``end_to_end.grad_norm`` ‖∇F(w̃)‖ <= 4Δ and
``end_to_end.iterations`` calls <= 2(F_0 − F*)L_F Q/(3Δ²), with the experiment's facts (the
claims' values, whether the run finished, whether the bound was vacuous, whether the run met the
hypotheses: stayed in the certified ball, r <= R, Δ reached). An instance outside the hypotheses
*could not be checked* (its measured Δ is too large for Theorem 1, or the run left the
certified ball): it is reported apart, with why, and counts neither for nor against the rule
(a rule with a larger Δ, such as Krum, has more such instances). The guarantee *holds* when no
instance errored (an exception, timeout, non-finite output, ... of the aggregator ends its
instance with an error) and every instance inside the hypotheses satisfies both claims; when no
instance was inside, the summary's ``status`` is 'unchecked' and a note says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from ..experiments import end_to_end as e2e
from ..experiments.loop import InstanceError, run_instances
from ..oracles.attacks import SaddleTrapTarget
from ..oracles.pipeline import ByzantineOracle
from ..oracles.statistical import PhaseRetrievalModel
from ..oracles.workers import WorkerPool
from ..properties.result import ROUNDING_RTOL
from ..theory.claims import get

CLAIMS = ("end_to_end.grad_norm", "end_to_end.iterations")
AUDITED = "audited"      # the 'aggregator' of the audit's specs (the factory is passed alongside)


DIM, NORM_STAR, M, N, F = 10, 0.065, 20, 200, 2


def build(seed: int, factory) -> e2e.Instance:
    """The audit's instance of ``seed``: the experiment's construction (its ``build``) at d = DIM
    and ‖w*‖ = NORM_STAR (module docstring)."""
    rng = np.random.default_rng([seed, 1])
    w_star = rng.standard_normal(DIM)
    w_star *= NORM_STAR / np.linalg.norm(w_star)
    model = PhaseRetrievalModel(w_star, e2e.RADIUS_FACTOR * NORM_STAR)
    pool = WorkerPool(model, M, N, rng, f=F)
    aggregate = factory(M, F)
    saddle = model.saddle_point()
    clean = ByzantineOracle(pool, None, aggregate, np.random.default_rng([seed, 2]))
    trap = SaddleTrapTarget(model, e2e.TRAP_BUDGET_FACTOR * clean.error(saddle), saddle=saddle)
    u = rng.standard_normal(DIM)
    w0 = rng.uniform(*e2e.START_RADII) * model.domain_radius * u / np.linalg.norm(u)
    return e2e.Instance(model, pool, aggregate, trap, w0)


def run_instance(spec: dict, factory) -> e2e.EndToEndRecord:
    """One audit instance: :func:`build`, the experiment's calibrated run of ByzantinePGD, and its
    record with Theorem 1's parameters at d = DIM."""
    with threadpool_limits(limits=1):
        inst = build(int(spec["seed"]), factory)
        oracle, res, delta_hat, attempts = e2e.calibrated_run(spec, inst, e2e.default_algorithm)
    return e2e.record(spec, inst, oracle, res, delta_hat, attempts)


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
        return run_instance(spec, self.factory)


def instance_specs(instances: int, seed: int) -> list[dict]:
    """The specs of the ``instances`` end-to-end instances of ``seed`` (each seeded by its own
    spec: :func:`instance_seeds`)."""
    if not (isinstance(instances, int) and instances >= 1):
        raise ValueError(f"instances must be an integer >= 1, got {instances!r}")
    return [{"seed": s, "aggregator": AUDITED, "instance": k}
            for k, s in enumerate(instance_seeds(instances, seed))]


def run_specs(factory: Callable[[int, int], Callable], specs: list[dict], *, log=None,
              deadline: float | None = None) -> list[dict]:
    """The records of the instances ``specs`` (in order) with the aggregator ``factory(m, f)``:
    a pure function of each spec (its seed), so instances can run in any process and be merged in
    spec order before :func:`summarise`. ``deadline``: as in :func:`run_end_to_end`."""
    results = run_instances(specs, _Runner(factory, log, deadline))
    return [_entry(spec["seed"], r) for spec, r in zip(specs, results, strict=True)]


def run_end_to_end(factory: Callable[[int, int], Callable], instances: int, seed: int, *, log=None,
                   deadline: float | None = None) -> dict:
    """Run ``instances`` seeded end-to-end instances with the aggregator ``factory(m, f)``.
    ``deadline`` (a time.perf_counter() value): instances not started by then are skipped."""
    return summarise(run_specs(factory, instance_specs(instances, seed), log=log, deadline=deadline))


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
    out["outside"] = rec.outside_hypotheses.removeprefix("outside: ")
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
    unchecked = [r for r in ran if not r["in_hypotheses"]]
    notes = []
    if unchecked:
        why: dict[str, int] = {}
        for r in unchecked:
            why[r["outside"]] = why.get(r["outside"], 0) + 1
        notes.append(f"{len(unchecked)} of {len(records)} end-to-end instance(s) could not be checked "
                     "(outside Theorem 1's hypotheses: " + ", ".join(f"{k}: {v}" for k, v in why.items())
                     + "); they count neither for nor against the rule")
    if not errors and not inside:
        notes.append("no end-to-end instance was inside Theorem 1's hypotheses: the guarantee could not "
                     "be checked (not a fail)")
    status = ("error" if errors else "violated" if violations else "holds" if inside else "unchecked")
    worst = {}
    for c in CLAIMS:
        key = c.split(".")[1]
        vals = [r[key]["ratio"] for r in inside if math.isfinite(r[key]["ratio"])]
        worst[key] = max(vals) if vals else None
    return {"claims": list(CLAIMS), "instances": len(records), "ran": len(ran),
            "inside_hypotheses": len(inside), "errors": len(errors), "violations": len(violations),
            "skipped": sum("skipped" in r for r in records), "could_not_be_checked": len(unchecked),
            "worst_ratio": worst, "holds": not reasons, "status": status, "reasons": reasons,
            "notes": notes, "records": records,
            "setting": {"landscape": "phase retrieval (population risk)", "d": DIM, "m": M, "n": N, "f": F,
                        "norm_w_star": NORM_STAR, "attack": e2e.ATTACK}}
