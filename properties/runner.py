"""Run claim checks: draw instances from the claim's sampler (seeded: the same profile and seed
draw the same instances), run each, observe, aggregate.

Used by ``byzpgd verify`` and by the pytest suites.
"""

from __future__ import annotations

import time
import traceback

from ..experiments.budget import FAILURE_PROBABILITY
from ..experiments.instances import run
from ..jsonsafe import spec_json
from ..theory.claims import get
from .checks import observe, verdict
from .profiles import examples
from .result import ClaimResult
from .strategies import sample_specs


def check_claim(claim_id: str, profile: str = "ci", seed: int = 0, *, algorithm=None,
                constant: float | None = None, n: int | None = None, progress=None) -> ClaimResult:
    """Check one claim on ``n`` instances (default: the profile's count).

    ``algorithm`` replaces the algorithm under test and ``constant`` the paper's constant (both
    for the able-to-fail tests). ``progress(done, total)`` is called after each instance.
    Returns the claim's :class:`ClaimResult`.
    """
    claim = get(claim_id)
    t0 = time.perf_counter()
    specs = sample_specs(claim_id, n or examples(profile), seed)
    observations, errors = [], []
    for i, spec in enumerate(specs):
        try:
            observations.append(observe(claim, run(spec, algorithm), constant))
        except Exception as exc:  # a crashed run is reported, never hidden
            errors.append({"spec": spec_json(spec), "error": f"{type(exc).__name__}: {exc}",
                           "traceback": traceback.format_exc(limit=3)})
        if progress is not None:
            progress(i + 1, len(specs))
    result = verdict(claim, observations, errors, FAILURE_PROBABILITY)
    return result.with_seconds(time.perf_counter() - t0)


def replay(claim_id: str, spec: dict) -> dict:
    """Re-run one instance and report its observation."""
    claim = get(claim_id)
    rec = run(spec)
    obs = observe(claim, rec)
    return {"claim": claim_id, "observed": obs.observed, "bound": obs.bound, "holds": obs.holds,
            "vacuous": obs.vacuous, "in_hypotheses": obs.in_hypotheses, "note": obs.note,
            "status": rec.status, "values": rec.values}
