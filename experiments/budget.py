"""The budgets every experiment runs under, in one place.

- ``FAILURE_PROBABILITY``: the δ handed to the algorithms (and the δ of the "with probability
  >= 1 − δ" claims they are judged by).
- ``INSTANCE_SECONDS``: a run's wall-clock budget; a run that exhausts it (a hang, a run far
  slower than the claim's instances ever are) has no output and violates the claim.
- ``CALL_CAPS``: a run's oracle-call cap per group of experiments: a safety stop (runs inside a
  claim's hypotheses use far fewer calls); a run stopped by it has no output and fails every
  claim except an iteration bound at or above the cap (then vacuous).
"""

from __future__ import annotations

FAILURE_PROBABILITY = 0.1
INSTANCE_SECONDS = 120.0   # wall-clock budget of one run (status 'max_seconds': a violation)

CALL_CAPS = {
    "theorems": 20_000_000,      # Theorem 1 and 2 instances (tiny Δ: long runs)
    "saddle_attack": 2_000_000,  # the attack claims and the ablations
    "end_to_end": 200_000,       # workers → attack → aggregator pipelines
    "lower_bounds": 200_000,     # the lower bound holds for any output, finished or not
}


def budget(group: str) -> dict:
    """The per-instance budgets of a group of experiments, as reported in report.json."""
    return {"oracle_calls": CALL_CAPS[group], "seconds": INSTANCE_SECONDS}
