"""Checks of the saddle-point attack and the defence (docs/paper.md §2, §4, §9): sampler,
observations, hypotheses and check of the claims stated in :mod:`byzpgd.theory.claims.saddle_attack`
(instances run by :mod:`byzpgd.experiments.saddle_attack`).

- ``saddle_attack.robust_gd_trapped``, ``saddle_attack.jin_pgd_trapped``: observed
  λ_min(∇²F(w̃)) + γ against γ/2 (trapped), exact binomial test at failure probability 0.01
  (reject when P[Binomial(N, 0.01) >= k] < 1e-6). An instance is *vacuous* when the same
  algorithm from the same start and seed with the exact oracle is trapped as well (the adversary
  made no difference: e.g. a start whose gradient is already below the stopping threshold).
- ``saddle_attack.byzantine_pgd_escapes``: observed −λ_min(∇²F(w̃)) against Theorem 1's bound at
  the instance's values, binomial test at δ = FAILURE_PROBABILITY; vacuous when the bound is
  >= L_F; outside the hypotheses when Theorem 1's r > R at the instance's values
  (theory.hypotheses) or the run left the certified ball.

Instances (:func:`attack_instance`): robust GD and Jin's PGD on cosine saddles (3 in 4) or phase
retrieval, Δ log-uniform in [1e-14, 1e-2] (robust GD) or [1e-3, 1e-2] (Jin: ε = 4Δ must keep
Jin's parameters defined), the trap adversary; ByzantinePGD on cosine saddles with Δ where
Theorem 1's λ_min bound is non-vacuous, the trap and target-field adversaries in turn (one
binomial test per adversary). Starts inside the fake basin (experiments.saddle_attack): for the
target field, whose basin has radius about Δ/(2 L_F), the offset along the positive directions
is scaled by Δ/L_F, so that the control (robust GD) is trapped and the instance counts.
Instance i of claim c is drawn from ``instance_rng(seed, c, i)``.

``ClaimResult.details``:
- ``left_saddle_fraction``: fraction of runs whose output has λ_min(w̃) > −γ/2;
- ``control_left_saddle_fraction`` (trapped claims): the same for the exact-oracle control runs;
- ``Delta_range``: [smallest Δ, largest Δ] of the instances.
Per-adversary rows are in ``adversaries``.

Runs (experiments/saddle_attack.py): a ByzantinePGD run the descent monitor stopped is *not
observed* (the kill is ``monitor.descent``'s, properties.checks.verdict); one that reached
Theorem 1's call count at the instance's values (``iteration_cap``) has violated the theorem and
fails the escape claim; one a safety stop or the wall-clock guard ended (``budget``) has no
verdict and leaves the claim unable to hold. Unless ``--complete``, a claim stops drawing
instances once its verdict cannot change (properties.early).
"""

from __future__ import annotations

import time
from functools import partial

from ...experiments.batched import run_attack_batch
from ...experiments.budget import BUDGET, FAILURE_PROBABILITY, ITERATION_CAP, budget
from ...experiments.loop import Batched, InstanceError, run_in_chunks, run_instances
from ...experiments.monitor import STATUS as MONITOR_STATUS
from ...experiments.saddle_attack import AttackRun, run_attack
from ...oracles.adversaries import sample_adversary
from ...seeding import instance_rng
from ...theory.claims import Claim, get
from ...theory.claims.saddle_attack import (
    BYZANTINE_PGD_ESCAPES,
    JIN_PGD_TRAPPED,
    ROBUST_GD_TRAPPED,
    TRAPPED_FAILURE,
)
from ...theory.hypotheses import R_GT_R_NOTE, theorem1_r_le_R
from ..checks import Observation, adversary_name, verdict
from ..early import observed_stop, stop_rule
from ..profiles import examples
from ..registry import register_claim
from ..result import ROUNDING_RTOL, ClaimResult
from ..runner import BATCHED, instance_seconds, pool_chunks
from ..strategies import (
    DELTA_FLOOR,
    NumpySource,
    cosine_saddle,
    largest_nonvacuous,
    phase_retrieval,
)

ALGORITHM_OF = {ROBUST_GD_TRAPPED.id: "robust_gd", JIN_PGD_TRAPPED.id: "jin_pgd",
                BYZANTINE_PGD_ESCAPES.id: "byzantine_pgd"}
LEFT_DOMAIN_NOTE = "the run left the certified ball"
ESCAPE_ADVERSARIES = ("trap", "target_field")   # the escape claim's, in turn (one test per adversary)


# --- sampler ---------------------------------------------------------------------------------------
def attack_instance(src, algorithm: str, adversary: str | None = None) -> dict:
    """An attack instance: landscape, Δ, start offsets inside the fake basin, seeds (module
    docstring)."""
    if algorithm == "byzantine_pgd":
        land = cosine_saddle(src)
        values = {"L_F": land["L"], "rho_F": land["rho"], "d": land["dim"]}
        hi = largest_nonvacuous(BYZANTINE_PGD_ESCAPES.id, {**values, "delta": FAILURE_PROBABILITY},
                                "Delta", DELTA_FLOOR, 1e-12)
        Delta = src.log_uniform(DELTA_FLOOR, max(hi, DELTA_FLOOR))
        names = ESCAPE_ADVERSARIES
    else:
        land = cosine_saddle(src) if src.uniform(0, 1) < 0.75 else phase_retrieval(src)
        lo = 1e-14 if algorithm == "robust_gd" else 1e-3
        Delta = src.log_uniform(lo, 1e-2)
        names = ("trap",)
    # the target field's fake basin (where its error can answer κ(w − target)) has radius about
    # Δ/(2 L_F), so its starts are that close to the saddle along the positive directions too
    p_scale = Delta / land["L"] if adversary == "target_field" else 1.0
    return {"family": "saddle_attack", "algorithm": algorithm, **land, "Delta": Delta,
            "start_p": src.uniform(0.02, 0.3) * p_scale, "start_v": src.uniform(0.0, 1.0),
            "start_seed": src.seed(), "run_seed": src.seed(),
            "adversary": sample_adversary(src, adversary, names)}


def sample_attack_specs(claim_id: str, n: int, seed: int) -> list[dict]:
    """``n`` instances of the claim; instance i depends only on (seed, claim_id, i). The escape
    claim's instances take ESCAPE_ADVERSARIES in turn, so that each per-adversary test gets half."""
    algorithm = ALGORITHM_OF[claim_id]
    turn = ESCAPE_ADVERSARIES if algorithm == "byzantine_pgd" else (None,)
    return [attack_instance(NumpySource(instance_rng(seed, claim_id, i)), algorithm, turn[i % len(turn)])
            for i in range(n)]


# --- observations and hypotheses -----------------------------------------------------------------
def _holds(run: AttackRun, observed: float, bound: float) -> bool:
    """A run that converged with observed <= bound (up to the certificate's λ_min accuracy and
    rounding)."""
    return run.status == "converged" and observed - run.lambda_min_error <= bound * (1 + ROUNDING_RTOL)


def _status_note(run: AttackRun) -> str:
    """Why a run that did not converge has the verdict it has (module docstring)."""
    if run.status == MONITOR_STATUS:
        return "stopped by the descent monitor (a kill of claim monitor.descent): not observed"
    if run.status == ITERATION_CAP:
        return ("reached Theorem 1's call count at the instance's values: a violation of the "
                "theorem on this run")
    if run.status == BUDGET:
        return "ended by a safety stop or the wall-clock guard (budget): no verdict on this run"
    return "" if run.status == "converged" else f"run status {run.status}"


def _observation(claim: Claim, spec: dict, run: AttackRun, obs: float, bound: float, vacuous: bool,
                 inside: bool, note: str) -> Observation:
    return Observation(obs, bound, obs / bound, _holds(run, obs, bound), bool(vacuous), inside,
                       claim.empirical_constant(obs, run.values), spec, _status_note(run) or note,
                       observed_run=run.status != MONITOR_STATUS, budget_ended=run.status == BUDGET)


def observe_trapped(claim: Claim, spec: dict, run: AttackRun) -> Observation:
    """λ_min(w̃) + γ <= γ/2 (trapped); vacuous when the exact-oracle control is trapped too."""
    obs = run.lambda_min + run.gamma
    bound = claim.bound(run.values)
    vacuous = run.control_lambda_min is not None and run.control_lambda_min + run.gamma <= bound
    inside = not run.left_domain
    return _observation(claim, spec, run, obs, bound, vacuous, inside, "" if inside else LEFT_DOMAIN_NOTE)


def escape_hypotheses(run: AttackRun) -> tuple[bool, str]:
    """Inside Theorem 1's hypotheses: r <= R at the instance's values (theory, not the run's
    parameters) and the run stayed in the certified ball."""
    if not theorem1_r_le_R(run.values):
        return False, R_GT_R_NOTE
    if run.left_domain:
        return False, LEFT_DOMAIN_NOTE
    return True, ""


def observe_escape(claim: Claim, spec: dict, run: AttackRun) -> Observation:
    """−λ_min(w̃) <= Theorem 1's bound at the instance's values. Vacuous when the bound is
    >= L_F, or when the control (robust GD under the same adversary, same start and seed) was
    not trapped: only instances where the attack traps plain robust GD show an escape."""
    obs = -run.lambda_min
    bound = claim.bound(run.values)
    inside, note = escape_hypotheses(run)
    control_escaped = bool(run.control_left_saddle)
    vacuous = bound >= run.values["L_F"] or control_escaped
    if control_escaped and inside:
        note = "vacuous: robust GD (the control) left the saddle too"
    return _observation(claim, spec, run, obs, bound, vacuous, inside, note)


def _observe(claim: Claim, spec: dict, run: AttackRun) -> Observation:
    escape = claim.id == BYZANTINE_PGD_ESCAPES.id
    return (observe_escape if escape else observe_trapped)(claim, spec, run)


# --- check ---------------------------------------------------------------------------------------
def _fraction(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _details(specs: list[dict], runs: list[AttackRun], control: bool) -> dict:
    out = {"left_saddle_fraction": _fraction([r.left_saddle for r in runs]),
           "control_left_saddle_fraction": _fraction([r.control_left_saddle for r in runs])}
    if not control:   # the escape claim: both counts, as the control decides what counts
        out["control"] = "robust GD under the same adversary, start and seed"
        out["control_trapped"] = sum(not r.control_left_saddle for r in runs)
        out["escaped_where_control_trapped"] = sum(
            r.left_saddle and not r.control_left_saddle for r in runs)
    out["Delta_range"] = [min(s["Delta"] for s in specs), max(s["Delta"] for s in specs)]
    out["budget"] = budget("saddle_attack")
    return out


def check_attack(claim_id: str, profile: str = "ci", seed: int = 0, *, algorithm=None,
                 n: int | None = None, progress=None, executor=None,
                 batched: bool | None = None) -> ClaimResult:
    """Check one saddle-attack claim on ``n`` instances (default: the profile's count);
    ``algorithm(spec, oracle, w0, rng)`` replaces the algorithm under test (able-to-fail tests).
    ``batched`` (default: ``runner.BATCHED``, True as every command runs) runs the instances
    as batched trials (:func:`byzpgd.experiments.batched.run_attack_batch`, the same runs up to
    rounding), the controls too; an ``algorithm`` runs one at a time."""
    claim = get(claim_id)
    t0 = time.perf_counter()
    specs = sample_attack_specs(claim_id, n or examples(profile, claim_id), seed)
    control = claim_id != BYZANTINE_PGD_ESCAPES.id
    attacked_control = None if control else "robust_gd"
    batched = (BATCHED.get() if batched is None else bool(batched)) and algorithm is None
    failure = TRAPPED_FAILURE if control else FAILURE_PROBABILITY
    rule = stop_rule(claim.kind, specs, adversary_name, failure)
    stop = observed_stop(rule, specs, partial(_observe, claim))
    if batched:
        runner = partial(run_attack_batch, control=control, attacked_control=attacked_control)
        run_on, size, shared = pool_chunks(len(specs), executor)
        results = run_in_chunks(specs, Batched(runner), size, run_on, progress, stop=stop)
    else:
        results = run_instances(specs, partial(run_attack, algorithm=algorithm, control=control,
                                               attacked_control=attacked_control),
                                executor, progress, stop=stop)
    specs = specs[:len(results)]
    done = [(s, r.value) for s, r in zip(specs, results, strict=True) if not isinstance(r, InstanceError)]
    errors = [r for r in results if isinstance(r, InstanceError)]
    observations = [_observe(claim, s, run) for s, run in done]
    details = _details(specs, [run for _, run in done], control)
    if rule is not None:
        details.update(rule.details())
    if batched:
        details["trials"] = "batched"
        if shared:
            details.update(instance_seconds(results))
    result = verdict(claim, observations, errors, failure, details=details)
    return result.with_seconds(time.perf_counter() - t0)


def replay_attack(claim_id: str, spec: dict) -> dict:
    """Re-run one instance (``byzpgd replay``) and report its observation."""
    claim = get(claim_id)
    escape = claim_id == BYZANTINE_PGD_ESCAPES.id
    run = run_attack(spec, control=not escape, attacked_control="robust_gd" if escape else None)
    obs = _observe(claim, spec, run)
    return {"claim": claim_id, "observed": obs.observed, "bound": obs.bound, "holds": obs.holds,
            "vacuous": obs.vacuous, "in_hypotheses": obs.in_hypotheses, "note": obs.note,
            "status": run.status, "lambda_min": run.lambda_min, "gamma": run.gamma,
            "values": run.values}


for _cid in ALGORITHM_OF:
    register_claim(_cid, check_attack, replay_attack, shares_pool=True)
