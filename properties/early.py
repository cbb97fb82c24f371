"""Early decisions: a claim stops drawing instances once its verdict cannot change (issue 26).

The rule, applied after each instance in the order of the specs (:class:`EarlyStop`):

- an instance that crashed: the claim's status is 'error' whatever follows (the status rule of
  :func:`byzpgd.properties.result.decide_status`), so it stops;
- a *deterministic* claim stops at its first violation inside the hypotheses (one violation is
  a violated claim, whatever follows);
- a *probabilistic* claim stops once some group's failures, or the pooled failures, reject even
  at the largest sample the claim could still reach: P[Binomial(n_max, δ) >= k] < α/(G + 1),
  with n_max = the group's non-vacuous runs so far + its instances not yet run and G the number
  of groups among *all* the specs (the final test has at most n_max trials and at most G groups;
  the tail P[Binomial(n, δ) >= k] grows with n and the level α/(G + 1) shrinks with G, so a
  rejection at (n_max, G) is a rejection of the final test: :func:`byzpgd.properties.checks.verdict`);
- a run the wall-clock guard ended (``budget``, experiments/budget.py) leaves the claim unable
  to hold: it stops too (its status is then 'inconclusive' unless a violation came before;
  running on would cost up to one guard per instance).

A claim that holds is never stopped early: its counts are those of the profile. Errors in
instances after an early stop are not seen (they were never run). ``--complete``
(:func:`complete_instances`, :data:`COMPLETE`) runs every instance, for tightness statistics.
The result's ``details['early_decision']`` says after how many of the planned instances the
claim was decided.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import ContextVar

from ..experiments.loop import InstanceError, Timed
from .result import ALPHA_BINOMIAL, BinomialTest

COMPLETE: ContextVar[bool] = ContextVar("byzpgd_complete_instances", default=False)
"""Whether claim checks run every instance of the profile (``byzpgd verify --complete``)."""


@contextlib.contextmanager
def complete_instances(on: bool = True):
    """Within the block, claim checks run every instance (no early decisions)."""
    token = COMPLETE.set(bool(on))
    try:
        yield
    finally:
        COMPLETE.reset(token)


class EarlyStop:
    """The stop rule of the module docstring for one claim over ``specs`` (in run order).
    ``group_of(spec)`` is the claim's test group (probabilistic claims); ``failure_probability``
    its δ. Call it with each instance's result (a :class:`Timed` Observation or an
    :class:`InstanceError`): True once the verdict cannot change. ``drawn`` counts the calls."""

    def __init__(self, kind: str, specs: Sequence[dict], group_of: Callable[[dict], str],
                 failure_probability: float, alpha: float = ALPHA_BINOMIAL):
        self.kind, self.group_of, self.delta = kind, group_of, float(failure_probability)
        self.remaining = Counter(group_of(s) for s in specs)
        self.alpha = alpha / (len(self.remaining) + 1)
        self.trials: Counter = Counter()
        self.failures: Counter = Counter()
        self.planned, self.drawn, self.reason = len(specs), 0, ""

    def __call__(self, result) -> bool:
        self.drawn += 1
        if isinstance(result, InstanceError):
            return self._stop("an instance crashed (status 'error' whatever follows)")
        obs = result.value if isinstance(result, Timed) else result
        group = self.group_of(obs.spec)
        self.remaining[group] -= 1
        if not obs.observed_run:
            return False
        if obs.budget_ended:
            return self._stop("a run ended by the wall-clock guard (budget): the claim cannot hold")
        if not obs.in_hypotheses:
            return False
        if self.kind != "probabilistic":
            return (not obs.holds) and self._stop("a violation (deterministic claim)")
        if obs.vacuous:
            return False
        self.trials[group] += 1
        self.failures[group] += not obs.holds
        if obs.holds:
            return False
        n_max = self.trials[group] + self.remaining[group]
        if BinomialTest.of(self.failures[group], n_max, self.delta, self.alpha).rejects:
            return self._stop(f"{self.failures[group]} failures in group {group!r} reject at any "
                              f"sample up to {n_max}")
        pooled = sum(self.trials.values()) + sum(self.remaining.values())
        if BinomialTest.of(sum(self.failures.values()), pooled, self.delta, self.alpha).rejects:
            return self._stop(f"{sum(self.failures.values())} pooled failures reject at any sample "
                              f"up to {pooled}")
        return False

    def _stop(self, reason: str) -> bool:
        self.reason = reason
        return True

    def details(self) -> dict:
        """``details['early_decision']`` of a claim stopped early (empty when it ran every instance)."""
        if self.drawn >= self.planned or not self.reason:
            return {}
        return {"early_decision": {"instances_run": self.drawn, "instances_planned": self.planned,
                                   "reason": self.reason}}


def observed_stop(rule: EarlyStop | None, specs: Sequence[dict], observe: Callable[[dict, object], object]):
    """``rule`` fed with ``observe(spec, value)`` of each result, in spec order: the ``stop`` of
    :func:`byzpgd.experiments.loop.run_instances` for a check whose instances return runs that it
    observes afterwards (None when ``rule`` is None: ``--complete``)."""
    if rule is None:
        return None
    order = iter(specs)

    def stop(result) -> bool:
        spec = next(order)
        if isinstance(result, InstanceError):
            return rule(result)
        return rule(Timed(observe(spec, result.value), result.seconds))
    return stop


def stop_rule(kind: str, specs: Sequence[dict], group_of, failure_probability: float) -> EarlyStop | None:
    """The :class:`EarlyStop` of a claim check, or None under ``--complete`` (:data:`COMPLETE`)."""
    if COMPLETE.get():
        return None
    return EarlyStop(kind, specs, group_of, failure_probability)
