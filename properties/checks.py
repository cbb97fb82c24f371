"""Turning runs into verdicts: one :class:`Observation` per (claim, run), and the aggregate
verdict of a claim over many runs (docs/ARCHITECTURE.md, "How claims are checked"). :func:`observe` is the
observation of the Theorem 1 and Theorem 2 claims (docs/paper.md §4, §7.3); :class:`Observation`
and :func:`verdict` serve every instance-based claim.

- Deterministic claims: every instance must satisfy observed <= bound·(1 + ROUNDING_RTOL).
- Probabilistic claims ("with probability >= 1 − δ"): k failures among the N non-vacuous runs
  (each with its own seed, so independent given the instances) are rejected only when
  P[Binomial(N, δ) >= k] < ALPHA_BINOMIAL = 1e-4, the per-claim false-alarm rate.
- Vacuity: an instance whose bound could not have been violated is counted apart.
- A claim holds only with at least MIN_NONVACUOUS non-vacuous instances ('inconclusive' else).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..experiments.budget import BUDGET, ITERATION_CAP
from ..experiments.instances import RunRecord, adversary_name
from ..experiments.loop import InstanceError
from ..experiments.monitor import STATUS as MONITOR_STATUS
from ..jsonsafe import spec_json
from ..theory.claims import Claim
from .power import CountGroup, decide
from .result import (
    ALPHA_BINOMIAL,
    MIN_NONVACUOUS,
    ROUNDING_RTOL,
    BinomialTest,
    ClaimResult,
    GroupRow,
    Violation,
    detectable_failure_rate,
    rejection_count,
)


@dataclass
class Observation:
    """A claim ``observed <= bound`` on one instance: ``ratio`` = observed/bound, ``holds``
    (up to ROUNDING_RTOL), ``vacuous`` (the instance could not have violated it),
    ``in_hypotheses`` (else counted apart, with the reason in ``note``), ``empirical_constant``
    (the smallest constant in place of the paper's that holds here) and the instance's ``spec``."""

    observed: float
    bound: float
    ratio: float
    holds: bool
    vacuous: bool
    in_hypotheses: bool
    empirical_constant: float
    spec: dict
    note: str = ""
    observed_run: bool = True      # False: the descent monitor stopped the run (not observed)
    budget_ended: bool = False     # True: the wall-clock guard or a safety stop ended it (no verdict)


def _quantity(claim: Claim):
    if claim.measures is None:
        raise ValueError(f"claim {claim.id} declares no measured quantity (Claim.measures)")
    return claim.measures


def _in_hypotheses(claim: Claim, rec: RunRecord) -> tuple[bool, str]:
    """The run stayed where the constants are certified, and the instance satisfies the claim's
    machine-checked hypotheses (``Claim.requires``, at the theory's values of the instance)."""
    if rec.left_domain:
        return False, "the run left the ball on which L_F and rho_F are certified"
    for requirement in claim.requires:
        why = requirement(rec.values)
        if why:
            return False, why
    return True, ""


def observe(claim: Claim, rec: RunRecord, constant: float | None = None) -> Observation:
    """The observation of ``claim`` on one run; ``constant`` overrides the claim's constant
    (used by the able-to-fail tests)."""
    bound = claim.bound(rec.values, constant)
    quantity = _quantity(claim)
    obs = quantity.value(rec)
    obs_tol = quantity.error(rec)           # e.g. the λ_min certificate's stated accuracy
    # a run stopped by its oracle-call cap has no output: it fails every claim except an
    # iteration bound at or above the cap (then vacuous); a run that reached the theory's call
    # count (ITERATION_CAP, experiments/budget.py) has made more calls than the theorem allows,
    # a violation of the iteration claim and so of the theorem's other claims on that run; a run
    # that ended on a non-finite value fails every claim; one the wall-clock guard (or a safety
    # stop) ended is BUDGET: no verdict (counted apart by :func:`verdict`)
    finished = rec.status == "converged" or (quantity.counts_capped
                                             and rec.status in ("max_oracle_calls", ITERATION_CAP))
    holds = finished and obs - obs_tol <= bound * (1 + ROUNDING_RTOL)
    inside, note = _in_hypotheses(claim, rec)
    if rec.status == MONITOR_STATUS:
        note = "stopped by the descent monitor (a kill of claim monitor.descent): not observed"
    elif rec.status == ITERATION_CAP:
        note = (f"reached the theory's call cap ({rec.max_calls} calls > the iteration bound at the "
                "instance's values): a violation of the iteration claim")
    elif rec.status == BUDGET:
        note = "ended by the wall-clock guard (budget): no verdict on this run"
    return Observation(obs, bound, obs / bound if bound > 0 else math.inf, bool(holds),
                       quantity.vacuous(rec, bound), inside,
                       claim.empirical_constant(obs, rec.values), rec.spec,
                       note or ("" if rec.status == "converged" else f"run status {rec.status}"),
                       observed_run=rec.status != MONITOR_STATUS, budget_ended=rec.status == BUDGET)


def instance_group(spec: dict) -> str:
    """The group a Theorem 1/2 instance is tested in: its adversary for the Δ-inexact family;
    its landscape family for the exact family (Theorem 2 is about the exact oracle: every
    adversary there has budget Δ = 0 and answers ∇F(w), which the certifying layer confirms, so
    a split by adversary would test one oracle G times and divide the runs, hence the power, by G)."""
    if spec.get("family") == "exact_pgd":
        return f"exact oracle on {spec['landscape']}"
    return adversary_name(spec)


def per_adversary(observations: list[Observation], group_of=None) -> dict[str, GroupRow]:
    """Per adversary (by name, in order of first appearance; ``group_of(spec)`` for another
    grouping): instances inside the hypotheses, non-vacuous ones, violations and the worst
    observed/bound."""
    group_of = group_of or adversary_name
    groups: dict[str, list[Observation]] = {}
    for o in observations:
        groups.setdefault(group_of(o.spec), []).append(o)
    return {name: _row([o for o in group if o.in_hypotheses]) for name, group in groups.items()}


def _row(checked: list[Observation]) -> GroupRow:
    return GroupRow(instances=len(checked),
                    nonvacuous_instances=sum(not o.vacuous for o in checked),
                    violations=sum(not o.holds for o in checked),
                    worst_ratio=max((o.ratio for o in checked), default=None))


def verdict(claim: Claim, observations: list[Observation], errors: list[InstanceError],
            failure_probability: float, *, details: dict | None = None,
            group_of=None) -> ClaimResult:
    """Aggregate the observations of one claim into its :class:`ClaimResult` (without timing).

    ``errors`` are the crashed instances (from :func:`byzpgd.experiments.loop.split`). Runs the
    descent monitor stopped (``observed_run`` False) have no output: they are *not observed* for
    this claim (``details['not_observed']``), neither failures nor outside the hypotheses; the
    monitor's own claim, ``monitor.descent``, is the one they fail.
    Probabilistic claims hold for every Δ-inexact oracle, so they are tested per adversary (per
    group of ``group_of``) and pooled: G + 1 exact binomial tests at ``failure_probability``,
    each at ALPHA_BINOMIAL/(G + 1) (Bonferroni: the claim's false-alarm rate stays below
    ALPHA_BINOMIAL); the claim is violated when any rejects. Its power,
    ``detectable_failure_rate``, is that of its weakest group (see :func:`group_tests`)."""
    not_observed = sum(not o.observed_run for o in observations)
    budget_ended = sum(o.budget_ended for o in observations if o.observed_run)
    observations = [o for o in observations if o.observed_run and not o.budget_ended]
    if not_observed:
        details = {**(details or {}), "not_observed": not_observed}
    if budget_ended:   # runs the wall-clock guard ended: no verdict, and the claim cannot hold
        details = {**(details or {}), "budget_ended": budget_ended}
    checked = [o for o in observations if o.in_hypotheses]
    nonvac = [o for o in checked if not o.vacuous]
    bad = [o for o in checked if not o.holds]
    rows = per_adversary(observations, group_of)
    binomial, power, excess = None, None, None
    if claim.kind == "probabilistic":
        rows, binomial, power = group_tests(nonvac, rows, failure_probability, group_of)
        violated = binomial.rejects or any(r.extra["rejects"] for r in rows.values() if r.extra)
        excess = worst_excess(rows)
    else:
        violated = bool(bad)
    worst_violation = None
    if bad:
        w = max(bad, key=lambda o: o.ratio)
        worst_violation = Violation(w.observed, w.bound, w.ratio, w.note,
                                    f"byzpgd replay {claim.id} '{spec_json(w.spec)}'",
                                    {"vacuous": w.vacuous, "in_hypotheses": w.in_hypotheses,
                                     "empirical_constant": w.empirical_constant})
    # a run without a verdict (budget) means the claim cannot hold: 'inconclusive' unless violated
    return ClaimResult.build(
        claim, violated=violated, min_nonvacuous=math.inf if budget_ended else MIN_NONVACUOUS,
        instances=len(checked), nonvacuous_instances=len(nonvac),
        outside_hypotheses=len(observations) - len(checked), violations=len(bad),
        errors=len(errors),
        worst_ratio=max((o.ratio for o in checked), default=None),
        empirical_constant=max((o.empirical_constant for o in checked), default=None),
        claim_constant=claim.constant, binomial=binomial, detectable_failure_rate=power,
        detectable_excess=excess, adversaries=rows,
        worst_violation=worst_violation,
        replay=worst_violation.replay if worst_violation else None,
        error_examples=tuple(e.as_example(spec_json(e.spec)) for e in errors[:3]),
        details=details or {})


def group_tests(nonvac: list[Observation], rows: dict[str, GroupRow], delta: float,
                group_of=None) -> tuple[dict[str, GroupRow], BinomialTest, float | None]:
    """Per-group and pooled exact binomial tests of the failures among the non-vacuous runs
    (Bonferroni over G + 1 tests). Each row's ``extra`` gets failures, trials, p_value,
    reject_at (the smallest failure count that rejects), rejects and detectable_failure_rate
    (the smallest true failure rate detected with probability 0.8). Returns the rows, the
    pooled test (at the corrected level) and the weakest group's detectable failure rate."""
    group_of = group_of or adversary_name
    alpha = ALPHA_BINOMIAL / (len(rows) + 1)
    out, powers = {}, []
    for name, row in rows.items():
        members = [o for o in nonvac if group_of(o.spec) == name]
        if not members:
            out[name] = row
            continue
        k, n = sum(not o.holds for o in members), len(members)
        test = BinomialTest.of(k, n, delta, alpha)
        reject_at = rejection_count([delta] * n, alpha)
        power = detectable_failure_rate(n, reject_at)
        powers.append(1.0 if power is None else power)
        out[name] = replace(row, extra={"failures": k, "trials": n, "p_value": test.p_value,
                                        "reject_at": reject_at, "rejects": test.rejects,
                                        "detectable_failure_rate": power})
    pooled = BinomialTest.of(sum(not o.holds for o in nonvac), len(nonvac), delta, alpha)
    return _with_excess(out, delta), pooled, (max(powers) if powers else None)


def _with_excess(rows: dict[str, GroupRow], delta: float) -> dict[str, GroupRow]:
    """Each tested row's ``extra`` with its relative power (:mod:`byzpgd.properties.power`, a
    failure bound δ is a count with one attempt): ``detectable_excess`` within the claim's
    decision (its G + 1 tests at the same corrected level), ``detectable_excess_alone`` of its
    own test."""
    tested = {n: r for n, r in rows.items() if r.extra}
    decision = decide([CountGroup.of(n, [delta] * r.extra["trials"], [1] * r.extra["trials"],
                                     r.extra["failures"]) for n, r in tested.items()],
                      ALPHA_BINOMIAL, n_tests=len(rows) + 1)
    return {n: (replace(r, extra={**r.extra,
                                  "detectable_excess": decision.groups[n].decision,
                                  "detectable_excess_alone": decision.groups[n].alone})
                if n in tested else r) for n, r in rows.items()}


def worst_excess(rows: dict[str, GroupRow]) -> float | None:
    """The claim's detectable excess: the largest of its tested groups' (inf counts: a group
    without power is the weakest, never dropped); None when no group was tested."""
    values = [r.extra["detectable_excess"] for r in rows.values()
              if r.extra and r.extra.get("detectable_excess") is not None]
    return max(values) if values else None
