"""Checks of the end-to-end claims (statements: :mod:`byzpgd.theory.claims.end_to_end`; the run:
:mod:`byzpgd.experiments.end_to_end`): ByzantinePGD on the pipeline workers → worker-level saddle
attack → GradAGG, for each of the paper's three aggregators, against Theorem 1 with Δ = the
pipeline's measured empirical Δ (docs/paper.md §6 corollary, §4).

Sampler (:func:`specs`): max(24, examples(profile)/4) seeded instances, the aggregators in turn.
Observation (:func:`observe`): ‖∇F(w̃)‖ <= 4Δ (vacuous when the start already satisfies it; a run
stopped by its call cap has no output and fails it) and calls <= 2(F_0 − F*)L_F Q/(3Δ²) (vacuous
when the bound is at or above the safety stop), Q from Theorem 1 at the instance's values. The call
cap is that bound's own count (experiments.end_to_end.call_cap: a run reaching it, status
``iteration_cap``, violates the iteration claim); a run the safety stop or the wall-clock guard
ended (``budget``) has no verdict and leaves the claim unable to hold. Unless ``--complete``, a
claim stops drawing instances once its verdict cannot change (properties.early).
Hypotheses: the run stayed in the certified ball, r <= R, and the oracle was Δ-inexact on every
visited point (:attr:`EndToEndRecord.outside_hypotheses`); instances outside are counted apart.
Check (:func:`e2e_check`): deterministic claims, zero tolerance beyond ROUNDING_RTOL.
``end_to_end.grad_norm_independent``: the run is given Δ measured on points it did not choose
(:func:`byzpgd.experiments.end_to_end.independent_run`), the visited points are not a hypothesis,
and the failures are tested per aggregator and pooled (exact binomial, Bonferroni).

Result: ``adversaries`` has one row per *aggregator* (every instance has the same attack, the
saddle trap); ``details``: 'grouping' (says so), 'Delta_range' [min, max] of the measured Δ,
'lambda_min_bound_vacuous' (instances where Theorem 1's λ_min bound is >= L_F, true of every
L_F-smooth function: at every statistically realisable Δ here, with ‖w*‖ = 0.1 and Δ ≈ 1e-4 it
is ≈ 10^3 L_F, so λ_min is not checked as a claim), 'escaped_saddle_region' (outputs with
λ_min(∇²F(w̃)) > half the saddle's λ_min), 'escapes_total' (escape rounds over all runs).
"""

from __future__ import annotations

import functools
import math

from ...algorithms.aggregators import PAPER_AGGREGATORS
from ...experiments import end_to_end as e2e
from ...experiments.budget import BUDGET, FAILURE_PROBABILITY, ITERATION_CAP, budget
from ...experiments.loop import run_instances, split
from ...seeding import instance_rng
from ...theory.claims import get
from ..checks import Observation, verdict
from ..early import observed_stop, stop_rule
from ..profiles import examples
from ..registry import register_check, register_replay
from ..result import ROUNDING_RTOL, ClaimResult
from ..runner import instance_seconds, pool_chunks

CLAIMS = ("end_to_end.grad_norm", "end_to_end.iterations", "end_to_end.grad_norm_independent")
INDEPENDENT = "end_to_end.grad_norm_independent"   # Δ measured before the run, never raised
MIN_INSTANCES = 32


def specs(profile: str, seed: int, claim_id: str | None = None) -> list[dict]:
    """The instances of ``profile``: instance i's seed from instance_rng(seed, 'end_to_end', i),
    aggregators in turn (the independent-Δ claim has its own count, COUNTS[INDEPENDENT])."""
    k = examples(profile, INDEPENDENT) if claim_id == INDEPENDENT else max(MIN_INSTANCES,
                                                                           examples(profile) // 4)
    base = [instance_rng(seed, "end_to_end", i).integers(0, 2**31) for i in range(k)]
    return [{"seed": int(s), "aggregator": PAPER_AGGREGATORS[i % len(PAPER_AGGREGATORS)]}
            for i, s in enumerate(base)]


def observe(claim_id: str, rec: e2e.EndToEndRecord, constant: float | None = None) -> Observation:
    """The observation of ``claim_id`` on one run (module docstring); ``constant`` replaces the
    paper's constant (able-to-fail tests)."""
    claim = get(claim_id)
    bound = claim.bound(rec.values, constant)
    obs = rec.observed(claim.observed)
    holds = rec.finished(claim.observed) and obs <= bound * (1 + ROUNDING_RTOL)
    note = rec.outside_hypotheses
    if rec.status == ITERATION_CAP:
        note = note or ("reached Theorem 1's call count at the instance's values: a violation of "
                        "the iteration claim, no output")
    elif rec.status == BUDGET:
        note = "ended by a safety stop or the wall-clock guard (budget): no verdict on this run"
    return Observation(obs, bound, obs / bound if bound > 0 else math.inf, bool(holds),
                       rec.vacuous(claim.observed, bound), not rec.outside_hypotheses,
                       claim.empirical_constant(obs, rec.values), rec.spec, note,
                       budget_ended=rec.status == BUDGET)


def run(instances: list[dict], algorithm=None, progress=None, independent: bool = False,
        stop=None, executor=None) -> tuple:
    """The runs of ``instances`` (:func:`byzpgd.experiments.loop.run_instances` on ``executor``;
    ``stop`` its early-decision rule)."""
    return tuple(run_instances(instances, functools.partial(e2e.run_instance, algorithm=algorithm,
                                                            independent=independent),
                               executor, progress=progress, stop=stop))


def e2e_check(claim_id: str, profile: str = "ci", seed: int = 0, progress=None, *, algorithm=None,
              constant: float | None = None, n: int | None = None) -> ClaimResult:
    """The check of ``claim_id``; ``algorithm`` replaces ByzantinePGD, ``constant`` the claim's
    constant, ``n`` limits the instances (able-to-fail tests). Nothing is cached between checks:
    code changed in between (a test's monkeypatch, the fault campaign) is always what runs."""
    instances = specs(profile, seed, claim_id)[: n or None]
    rule = stop_rule(get(claim_id).kind, instances, _aggregator, FAILURE_PROBABILITY)
    # the plain check runs on the shared pool when one is set (its instances are one-run tasks)
    pool, _, shared = pool_chunks(len(instances), None) if algorithm is None else (None, 0, False)
    results = run(instances, algorithm, independent=claim_id == INDEPENDENT, executor=pool,
                  stop=observed_stop(rule, instances, lambda _spec, rec: observe(claim_id, rec, constant)))
    records, errors = split(results)
    if progress is not None:
        progress(len(results), len(results))
    observations = [observe(claim_id, r, constant) for r in records]
    early = {} if rule is None else rule.details()
    return verdict(get(claim_id), observations, errors, FAILURE_PROBABILITY,
                   details={**_details(records), "budget": budget("end_to_end"), **early,
                            **(instance_seconds(results) if shared else {})},
                   group_of=_aggregator)


def _aggregator(spec: dict) -> str:
    """The test group of an instance: its aggregator (every instance has the same attack)."""
    return spec["aggregator"]


def _details(records: list[e2e.EndToEndRecord]) -> dict:
    deltas = [r.Delta for r in records]
    return {"grouping": "aggregator (every instance has the same attack: " + e2e.ATTACK + ")",
            "Delta_range": [min(deltas, default=None), max(deltas, default=None)],
            "lambda_min_bound_vacuous": sum(r.lambda_bound >= r.L_F for r in records),
            "escaped_saddle_region": sum(r.lambda_min > r.saddle_lambda / 2 for r in records),
            "escapes_total": sum(r.escapes for r in records)}


def replay(claim_id: str, spec: dict) -> dict:
    """Re-run one instance of ``claim_id`` (``byzpgd replay``)."""
    rec = e2e.run_instance(spec, independent=claim_id == INDEPENDENT)
    o = observe(claim_id, rec)
    return {"claim": claim_id, "observed": o.observed, "bound": o.bound, "holds": o.holds,
            "vacuous": o.vacuous, "in_hypotheses": o.in_hypotheses, "Delta": rec.Delta}


def _check_of(claim_id: str):
    def check(profile: str, seed: int, progress=None) -> ClaimResult:
        return e2e_check(claim_id, profile, seed, progress)
    return check


for _cid in CLAIMS:
    register_check(_cid, shares_pool=True)(_check_of(_cid))
    register_replay(_cid)(functools.partial(replay, _cid))
