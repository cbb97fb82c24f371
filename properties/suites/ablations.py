"""Checks of the ablations of ByzantinePGD under the saddle-point attack (docs/paper.md §9): sampler,
check and replay of the claims stated in :mod:`byzpgd.theory.claims.ablations` (runs by
:mod:`byzpgd.experiments.ablations`).

- ``ablation.single_round``: Q = 1 perturbation round instead of Q;
- ``ablation.jin_radius``: r at Jin et al.'s scale, √c ε/(χ² L_F) with ε = 4Δ, c = 1;
- ``ablation.large_R``: R a hundred times too large, so the moving-distance test never fires.

Full algorithm: ByzantinePGD with Theorem 1's exponents and the calibrated constant factors
(theory.parameters.CALIBRATED_FACTORS; ``factors`` replaces them). Instances
(:func:`calibration_instance`, shared with ``byzpgd calibrate``): cosine saddles with L_F = 1,
one negative direction of curvature γ ∈ [0.5, 1], half-width s = γ/ρ_F ∈ [1, 4], d ∈ [2, 6],
Δ log-uniform in [1e-2, 1e-1], starts inside the trap's fake basin, the trap adversary; instance
i of claim c is drawn from ``instance_rng(seed, c, i)``.

Verdict (OWN). With k_abl (k_full) the runs of the ablated (full) algorithm that were trapped
(λ_min(w̃) <= −γ/2 or not converged) among N instances, each compared with the 1% rate by the
exact binomial test (properties.result.BinomialTest, ALPHA_BINOMIAL): the claim holds when the
ablated variant is trapped significantly more often than 1% and the full algorithm is not. A
*violation* is a run of a failed half: an escaped ablated run when the ablated test does not
reject, a trapped full run when the full test rejects. Every instance is non-vacuous and inside
the hypotheses. An instance where the descent monitor stopped a run is *not observed* (the kill is
``monitor.descent``'s; ``details['not_observed']``); one where the wall-clock guard ended a run
has no verdict and leaves the claim unable to hold (inconclusive unless violated). Unless
``--complete``, the check stops once the full algorithm's trapped count rejects at every sample
it could still reach (properties.early: the claim is then violated whatever follows).

``ClaimResult.details``:
- ``ablated_trapped``, ``full_trapped``: {count, trials, fraction, p_value_vs_1pct};
- ``factors``: the constant factors (c_r, c_R, c_T, c_Q) of the full algorithm.
``adversaries``: one GroupRow per adversary, with ``extra`` = {ablated_trapped, full_trapped}.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from functools import partial

from ...experiments.ablations import (
    AblationPair,
    CalibrationRun,
    jin_scale_radius,
    large_R,
    run_ablation_batch,
    run_calibration,
    single_round,
)
from ...experiments.batched import BATCH_SIZE
from ...experiments.budget import budget
from ...experiments.loop import Batched, InstanceError, run_in_chunks
from ...jsonsafe import spec_json
from ...oracles.adversaries import sample_adversary
from ...seeding import instance_rng
from ...theory.claims import Claim, get
from ...theory.claims.ablations import FULL_ALLOWED, JIN_RADIUS, LARGE_R, SINGLE_ROUND
from ...theory.parameters import CALIBRATED_FACTORS
from ..checks import Observation
from ..early import observed_stop, stop_rule
from ..power import CountGroup, decide
from ..profiles import examples
from ..registry import register_claim
from ..result import (
    ALPHA_BINOMIAL,
    MIN_NONVACUOUS,
    BinomialTest,
    ClaimResult,
    GroupRow,
    Violation,
    detectable_failure_rate,
    rejection_count,
)
from ..strategies import NumpySource

VARIANT_OF = {SINGLE_ROUND.id: single_round, JIN_RADIUS.id: jin_scale_radius, LARGE_R.id: large_R}
COUNTS_KEY = "ablation"   # properties.profiles.COUNTS entry of the three claims


# --- sampler ---------------------------------------------------------------------------------------
def calibration_instance(src, lo: float = 1e-2, hi: float = 1e-1, adversary: str | None = "trap",
                         names: tuple[str, ...] = ("trap",)) -> dict:
    """An instance of the ablation family (module docstring) with Δ log-uniform in [lo, hi]."""
    return {"family": "calibration", "dim": src.integer(2, 6), "gamma": src.uniform(0.5, 1.0),
            "s": src.uniform(1.0, 4.0), "landscape_seed": src.seed(), "Delta": src.log_uniform(lo, hi),
            "start_v": src.uniform(-0.5, 0.5), "run_seed": src.seed(),
            "adversary": sample_adversary(src, adversary, names)}


def sample_ablation_specs(claim_id: str, n: int, seed: int) -> list[dict]:
    """``n`` instances; instance i depends only on (seed, claim_id, i)."""
    return [calibration_instance(NumpySource(instance_rng(seed, claim_id, i))) for i in range(n)]


# --- verdict ---------------------------------------------------------------------------------------
def _trapped_summary(test: BinomialTest) -> dict:
    return {"count": test.failures, "trials": test.trials,
            "fraction": test.failures / test.trials if test.trials else None,
            "p_value_vs_1pct": test.p_value}


def _violating(pair: AblationPair, ablated_ok: bool, full_ok: bool) -> int:
    """Runs of this instance in a failed half of the claim (module docstring)."""
    return int(not ablated_ok and not pair.ablated.trapped) + int(not full_ok and pair.full.trapped)


def _ratio(claim: Claim, run: CalibrationRun) -> float:
    return run.lambda_min_plus_gamma / claim.bound({"gamma": run.gamma})


def _worst(claim: Claim, done: list[tuple[dict, AblationPair]], full_ok: bool) -> Violation | None:
    """The instance to replay: a trapped full run if the full algorithm failed, else the escaped
    ablated run farthest from the saddle, else (too few instances to reject) the first."""
    if not done:
        return None
    trapped_full = [(s, p.full) for s, p in done if p.full.trapped]
    escaped = [(s, p.ablated) for s, p in done if not p.ablated.trapped]
    if not full_ok and trapped_full:
        (spec, run), note = trapped_full[0], "full algorithm trapped"
    else:
        spec, run = (max(escaped, key=lambda t: _ratio(claim, t[1])) if escaped
                     else (done[0][0], done[0][1].ablated))
        note = "ablated variant not trapped significantly more often than 1%"
    return Violation(run.lambda_min_plus_gamma, claim.bound({"gamma": run.gamma}),
                     _ratio(claim, run), note, f"byzpgd replay {claim.id} '{spec_json(spec)}'")


def _per_adversary(done: list[tuple[dict, AblationPair]], ablated_ok: bool,
                   full_ok: bool) -> dict[str, GroupRow]:
    groups: dict[str, list[AblationPair]] = {}
    for spec, pair in done:
        groups.setdefault(spec["adversary"]["name"], []).append(pair)
    return {name: GroupRow(len(g), len(g), sum(_violating(p, ablated_ok, full_ok) for p in g), None,
                           {"ablated_trapped": sum(p.ablated.trapped for p in g),
                            "full_trapped": sum(p.full.trapped for p in g)})
            for name, g in groups.items()}


def ablation_verdict(claim: Claim, done: list[tuple[dict, AblationPair]],
                     errors: list[InstanceError], factors: dict, extra: dict | None = None) -> ClaimResult:
    """The claim's ClaimResult from the (spec, pair) of the instances that ran (module docstring)."""
    not_observed = sum(not p.observed for _, p in done)
    budget_ended = sum(p.budget_ended for _, p in done if p.observed)
    done = [(s, p) for s, p in done if p.observed and not p.budget_ended]
    extra = {**(extra or {}), **({"not_observed": not_observed} if not_observed else {}),
             **({"budget_ended": budget_ended} if budget_ended else {})}
    N = len(done)
    ablated = BinomialTest.of(sum(p.ablated.trapped for _, p in done), N, FULL_ALLOWED)
    full = BinomialTest.of(sum(p.full.trapped for _, p in done), N, FULL_ALLOWED)
    ablated_ok, full_ok = ablated.rejects, not full.rejects
    # a full algorithm trapped too often is a violation at any N; an ablated variant not shown
    # trapped is one only on the profile's evidence (N >= MIN_NONVACUOUS observed instances):
    # with fewer (e.g. every run stopped by the descent monitor) nothing was shown either way
    violated = not full_ok or (not ablated_ok and N >= MIN_NONVACUOUS)
    worst = _worst(claim, done, full_ok) if violated else None
    return ClaimResult.build(
        claim, violated=violated, min_nonvacuous=math.inf if budget_ended else MIN_NONVACUOUS,
        instances=N, nonvacuous_instances=N, outside_hypotheses=0,
        violations=sum(_violating(p, ablated_ok, full_ok) for _, p in done), errors=len(errors),
        claim_constant=claim.constant, adversaries=_per_adversary(done, ablated_ok, full_ok),
        detectable_failure_rate=detectable_failure_rate(
            N, rejection_count([FULL_ALLOWED] * N, ALPHA_BINOMIAL)),
        detectable_excess=decide([CountGroup.of("full", [FULL_ALLOWED] * N, [1] * N, full.failures)],
                                 ALPHA_BINOMIAL, n_tests=1).detectable_excess,
        worst_violation=worst, replay=worst.replay if worst else None,
        error_examples=tuple(e.as_example(spec_json(e.spec)) for e in errors[:3]),
        details={"ablated_trapped": _trapped_summary(ablated),
                 "full_trapped": _trapped_summary(full), "factors": dict(factors),
                 "power": "pooled over the adversaries (the full algorithm's trapped rate)",
                 "budget": budget("saddle_attack"), **extra})


# --- check -----------------------------------------------------------------------------------------
def check_ablation(claim_id: str, profile: str = "ci", seed: int = 0, *,
                   factors: dict | None = None, n: int | None = None, progress=None,
                   executor=None) -> ClaimResult:
    """Check one ablation claim on ``n`` instances (default: the profile's count), as batched
    trials (:func:`~byzpgd.experiments.ablations.run_ablation_batch`: the ablated runs one batch,
    the full runs another); ``factors`` replaces the calibrated constant factors of the full
    algorithm (able-to-fail tests)."""
    claim = get(claim_id)
    t0 = time.perf_counter()
    factors = dict(CALIBRATED_FACTORS if factors is None else factors)
    specs = sample_ablation_specs(claim_id, n or examples(profile, COUNTS_KEY), seed)
    rule = stop_rule("probabilistic", specs, lambda _spec: "full", FULL_ALLOWED)
    results = run_in_chunks(specs, Batched(partial(run_ablation_batch, factors=factors,
                                                   variant=VARIANT_OF[claim_id])),
                            BATCH_SIZE, executor, progress, stop=observed_stop(rule, specs, _full_half))
    done = [(s, r.value) for s, r in zip(specs, results, strict=False) if not isinstance(r, InstanceError)]
    errors = [r for r in results if isinstance(r, InstanceError)]
    early = {} if rule is None else rule.details()
    return ablation_verdict(claim, done, errors, factors, early).with_seconds(time.perf_counter() - t0)


def _full_half(spec: dict, pair: AblationPair) -> Observation:
    """The full algorithm's half of an instance, as the early-decision rule sees it: a trapped
    full run is a failure at FULL_ALLOWED (module docstring)."""
    trapped = pair.full.trapped
    return Observation(float(trapped), 0.5, 2.0 * trapped, not trapped, False, True, 0.0, spec,
                       observed_run=pair.observed, budget_ended=pair.budget_ended)


def replay_ablation(claim_id: str, spec: dict) -> dict:
    """Re-run one instance (``byzpgd replay``): the ablated and the full run."""
    ablated = run_calibration(spec, CALIBRATED_FACTORS, VARIANT_OF[claim_id])
    full = run_calibration(spec, CALIBRATED_FACTORS)
    return {"claim": claim_id, "holds": ablated.trapped, "ablated": asdict(ablated),
            "full": asdict(full)}


for _cid in VARIANT_OF:
    register_claim(_cid, check_ablation, replay_ablation)
