"""Check of ``monitor.descent`` (theory/claims/monitor.py, OWN): the descent monitor's invariant
(Lemma §8.1, docs/paper.md §8.1) on the theorem claims' own runs.

The instances are the first ``share(profile, claim)`` specs of every Theorem 1 and Theorem 2 claim
(:func:`byzpgd.properties.strategies.sample_specs`, the same seeds: the same runs as those claims
make), each run by :func:`byzpgd.experiments.monitor.run_monitored` (batched trials, as every command
runs: :func:`byzpgd.experiments.batched.run_monitored_batch`, the same records). Deterministic: the claim is
violated when the monitor stops any run. A run without a judged step (it stopped at its first query)
is vacuous. The theorem claims count a run the monitor stopped as *not observed*
(:func:`byzpgd.properties.checks.verdict`): the kill is this claim's.
"""

from __future__ import annotations

import math
import time

from ...experiments.batched import BATCH_SIZE, run_monitored_batch, timed
from ...experiments.instances import adversary_name
from ...experiments.loop import InstanceError, Timed, run_in_chunks, run_instances, split
from ...experiments.monitor import MonitorRecord, run_monitored
from ...theory.claims import get
from ..checks import Observation, verdict
from ..profiles import examples
from ..registry import register_check, register_replay
from ..runner import BATCHED
from ..strategies import sample_specs
from .theorems import THEOREM_CLAIMS

CLAIM_ID = "monitor.descent"
SHARE = 8          # the monitor runs 1/SHARE of each theorem claim's instances ...
MAX_PER_CLAIM = 20  # ... at most this many per claim


def share(profile: str, claim_id: str) -> int:
    """Instances of theorem claim ``claim_id`` the monitor claim runs on ``profile``."""
    return max(3, min(MAX_PER_CLAIM, math.ceil(examples(profile, claim_id) / SHARE)))


def monitor_specs(profile: str, seed: int) -> list[dict]:
    """The first :func:`share` specs of every theorem claim, tagged with the claim they come from."""
    return [{**spec, "theorem_claim": cid} for cid in THEOREM_CLAIMS
            for spec in sample_specs(cid, share(profile, cid), seed)]


def observation(rec: MonitorRecord) -> Observation:
    """One run: observed = the worst step's excess over Lemma §8.1's allowance in units of the
    monitor's rounding tolerance, bound 1; holds unless the monitor stopped the run (excess > 1)."""
    return Observation(rec.excess, 1.0, rec.excess, holds=not rec.stopped, vacuous=rec.steps == 0,
                       in_hypotheses=True, empirical_constant=max(0.0, rec.excess), spec=rec.spec,
                       note=rec.violation or "")


def _group(spec: dict) -> str:
    return f"{spec.get('theorem_claim', spec.get('family', '?'))}: {adversary_name(spec)}"


def _instance(spec: dict) -> Observation:
    return observation(run_monitored(spec))


def _batch(specs: list[dict], progress=None) -> list[Timed | InstanceError]:
    """The specs as batched trials (each instance charged an equal share of the batch's time)."""
    t0 = time.perf_counter()
    records = run_monitored_batch(specs, progress=progress)
    return [r if isinstance(r, InstanceError) else Timed(observation(r.value), r.seconds)
            for r in timed(records, time.perf_counter() - t0)]


@register_check(CLAIM_ID)
def check(profile: str, seed: int, progress=None, *, batched: bool | None = None):
    """``batched`` (default: ``runner.BATCHED``, True as every command runs) runs the specs as
    batched trials; False runs each as a batch of one (the same records)."""
    specs = monitor_specs(profile, seed)
    if BATCHED.get() if batched is None else batched:
        results = run_in_chunks(specs, _batch, BATCH_SIZE, None, progress)
    else:
        results = run_instances(specs, _instance, progress=progress)
    observations, errors = split(results)
    details = {"instances_from": {cid: share(profile, cid) for cid in THEOREM_CLAIMS},
               "stopped_runs": sum(not o.holds for o in observations),
               "judged_steps_note": "consecutive single queries not separated by a perturbation"}
    return verdict(get(CLAIM_ID), observations, errors, 0.0, details=details, group_of=_group)


@register_replay(CLAIM_ID)
def replay(spec: dict) -> dict:
    rec = run_monitored(spec)
    return {"claim": CLAIM_ID, "holds": not rec.stopped, "status": rec.status, "steps": rec.steps,
            "observed": rec.excess, "bound": 1.0, "violation": rec.violation}
