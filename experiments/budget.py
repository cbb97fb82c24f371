"""The budgets every experiment runs under, in one place.

- ``FAILURE_PROBABILITY``: the δ handed to the algorithms (and the δ of the "with probability
  >= 1 − δ" claims they are judged by).
- :func:`theorem_cap`: the oracle-call cap of a Theorem 1 / Theorem 2 run, *derived from the
  theorem's own iteration bound* at the instance's values (docs/paper.md §4, §7.3): the smallest
  call count that exceeds the bound, so a run that reaches it has violated the iteration claim,
  whatever it would have done next and whatever the machine's load (status ``ITERATION_CAP``).
  One stated allowance, only where the claim's hypotheses leave the bound without force:
  Theorem 1's bound counts Q times the large-gradient steps and covers the 1 + Q·T_th calls that
  certify the final candidate only when Q >= 2 (theory/claims/theorems.py, notes of
  ``byzantine_pgd.iterations``); where Q's formula gives <= 1 (clamped to Q = 1, outside that
  claim's hypotheses) the cap adds those 1 + Q·T_th calls.
- ``CALL_CAPS``: a safety stop per group of experiments (the theorem runs: only where the theory's
  count is larger than it, e.g. 1e29 calls at Δ = 1e-14); a run stopped there is *not* a
  violation of the iteration claim: it is reported like the wall-clock guard, ``BUDGET``.
- ``INSTANCE_SECONDS``: a run's wall-clock guard, the last one: a run it ends (a hang, a
  runaway at a Δ whose theoretical count is astronomically large) is reported as ``BUDGET``: no
  verdict on that run, neither a violation of a guarantee nor a kill (a claim with such a run
  cannot hold: it is 'inconclusive' unless violated elsewhere, properties/checks.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FAILURE_PROBABILITY = 0.1
INSTANCE_SECONDS = 120.0   # wall-clock guard of one run (run status BUDGET: no verdict)

ITERATION_CAP = "iteration_cap"   # run status: reached the theory's call count (a violation)
BUDGET = "budget"                 # run status: ended by the wall-clock guard or a safety stop
CAP_RTOL = 1e-9   # = properties.result.ROUNDING_RTOL: the cap exceeds the bound by more than rounding

CALL_CAPS = {
    "theorems": 20_000_000,      # safety stop of Theorem 1 and 2 runs (their cap is theorem_cap)
    "saddle_attack": 2_000_000,  # the attack claims and the ablations
    "end_to_end": 200_000,       # workers → attack → aggregator pipelines
    "lower_bounds": 5_000,       # any output, finished or not, is checked: only a cost bound
                                 # (correct runs: at most 1592 calls on ci, exact PGD; 38 ByzantinePGD)
}


@dataclass(frozen=True)
class CallCap:
    """A run's oracle-call cap: ``calls`` allowed, ``bound`` the iteration bound it comes from,
    ``allowance`` the stated extra calls (0 inside the claim's hypotheses), ``source`` 'theory'
    (reaching it violates the iteration claim) or 'safety' (the theory's count is above the
    safety stop: reaching it is ``BUDGET``)."""

    calls: int
    bound: float
    allowance: int
    source: str

    def status(self, loop_status: str) -> str:
        """The record status of a run that ended with the loop's ``loop_status``."""
        if loop_status == "max_oracle_calls":
            return ITERATION_CAP if self.source == "theory" else BUDGET
        if loop_status == "max_seconds":
            return BUDGET
        return loop_status


def theorem_cap(bound: float, allowance: int = 0, safety: int | None = None) -> CallCap:
    """The smallest call count above ``bound``·(1 + CAP_RTOL), plus ``allowance`` (see the module
    docstring); the safety stop ``CALL_CAPS['theorems']`` when that is smaller."""
    safety = CALL_CAPS["theorems"] if safety is None else int(safety)
    if not bound >= 0:
        raise ValueError(f"an iteration bound must be >= 0, got {bound!r}")
    if not math.isfinite(bound) or bound * (1 + CAP_RTOL) + 1 + allowance > safety:
        return CallCap(safety, float(bound), int(allowance), "safety")
    return CallCap(math.floor(bound * (1 + CAP_RTOL)) + 1 + int(allowance), float(bound), int(allowance),
                   "theory")


def within_safety(cap: CallCap, safety: int) -> CallCap:
    """``cap``, or the safety stop ``safety`` (source 'safety': reaching it is ``BUDGET``) when
    that is smaller: the cap of a group whose safety stop is below the theorems' one."""
    return cap if cap.calls <= safety else CallCap(int(safety), cap.bound, cap.allowance, "safety")


def budget(group: str) -> dict:
    """The per-instance budgets of a group of experiments, as reported in report.json."""
    if group in ("theorems", "end_to_end", "saddle_attack"):
        who = "ByzantinePGD's runs: " if group == "saddle_attack" else ""
        return {"oracle_calls": f"{who}theorem_cap: the theorem's iteration bound at the instance's values "
                                f"(+ 1 + Q*T_th where Q's formula <= 1), safety stop {CALL_CAPS[group]}",
                "seconds": INSTANCE_SECONDS}
    return {"oracle_calls": CALL_CAPS[group], "seconds": INSTANCE_SECONDS}
