"""Checks of the mechanism claims (statements in :mod:`byzpgd.theory.claims.mechanism`, runs in
:mod:`byzpgd.experiments.mechanism`, bounds in :mod:`byzpgd.theory.mechanism`).

- ``mechanism.descent`` (deterministic): on every step of every run,
  F(w⁺) − F(w) + ‖ĝ‖²/(2L) <= Δ‖ĝ‖/L + rounding (docs/paper.md §8.1). Instances start on the
  direction of curvature L_F of a cosine saddle, so a step size off by a factor either way shows.
  An instance is vacuous when no step had ‖ĝ‖ > 2Δ (then the lemma promises no decrease).
- ``mechanism.escape`` / ``mechanism.exact_escape`` (probabilistic, per round): runs start at
  the saddle of a cosine saddle whose curvature γ is solved (from the theory's parameters at the
  instance's values) so that the per-round failure bound p_round (docs/paper.md §8.3,
  :func:`byzpgd.theory.mechanism.round_failure_bound`) is a drawn target in [0.3, 0.9]: one
  round fails often, so every parameter matters. Each run is observed up to its first escape
  (:func:`byzpgd.experiments.mechanism.run_escape_rounds`); F, its failed rounds before the
  first escape (:func:`failed_rounds`: Q, the theory's, when it is trapped, has no output, or
  escapes less than R − r from the saddle), has under the bound a law dominated by the
  geometric law truncated at Q. The F are summed per adversary and tested against the exact law
  of the sum (:mod:`byzpgd.properties.power`: convolution, no sampling): G adversary tests and
  the pooled one, each at ALPHA_BINOMIAL / (G + 1); the claim is violated when any rejects.
  ``detectable_excess`` is the smallest factor c such that rounds failing with probability
  c·p_round in one adversary's runs are rejected with probability 0.8 by that decision.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.optimize import brentq

from ...experiments import mechanism as exp
from ...experiments.batched import BATCH_SIZE
from ...experiments.budget import FAILURE_PROBABILITY, INSTANCE_SECONDS
from ...experiments.loop import Batched, InstanceError, run_in_chunks, run_instances, split
from ...jsonsafe import spec_json
from ...oracles.adversaries import NAMES as ADVERSARY_NAMES
from ...oracles.adversaries import sample_adversary
from ...seeding import instance_rng
from ...theory import mechanism as mech
from ...theory.claims import get
from ...theory.parameters import CALIBRATED_FACTORS, byzantine_pgd_parameters, evaluate, exact_pgd_parameters
from ..checks import Observation, per_adversary, verdict
from ..early import observed_stop, stop_rule
from ..power import CountGroup, decide
from ..profiles import examples
from ..registry import register_check, register_claim
from ..result import (
    ALPHA_BINOMIAL,
    ROUNDING_RTOL,
    ClaimResult,
    GroupRow,
    Violation,
)
from ..runner import BATCHED
from ..strategies import NumpySource

DESCENT, ESCAPE, EXACT_ESCAPE = "mechanism.descent", "mechanism.escape", "mechanism.exact_escape"
CANDIDATE = "mechanism.candidate_cost"
RADIUS = "mechanism.perturbation_radius"
CANDIDATE_FAMILIES = ("paper", "calibrated", "exact")
EXACT_ADVERSARY = "exact"


# --- samplers -------------------------------------------------------------------------------
def descent_spec(src, family: str, adversary: str | None) -> dict:
    d = src.integer(2, 6)
    spec = {"family": family, "dim": d, "a": [1.0] + [src.uniform(0.3, 1.0) for _ in range(d - 2)],
            "gamma": src.uniform(0.3, 0.9), "rho": src.log_uniform(0.5, 2.0),
            "landscape_seed": src.seed(), "start_t": src.log_uniform(0.05, 1.0),
            "start_seed": src.seed(), "run_seed": src.seed()}
    if family == "exact_pgd":
        return {**spec, "Delta": 0.0, "epsilon": src.log_uniform(1e-4, 1e-2)}
    return {**spec, "Delta": src.log_uniform(1e-4, 1e-2), "adversary": sample_adversary(src, adversary)}


def _byz_geometry(gamma, kappa, Delta, d):
    """ρ and s with R/s = κ, where R = c_R Δ^{2/5} d^{1/5} ρ^{-1/2} (calibrated factors)."""
    R1 = evaluate("byzantine_pgd", Delta=Delta, rho=1.0, dim=d, factors=CALIBRATED_FACTORS)["R"]
    rho = (kappa * gamma / R1) ** 2
    return rho, gamma / rho


def _exact_geometry(gamma, kappa, eps):
    """ρ and s with R/s = κ, R = √(ε/ρ): ρ = κ²γ²/ε."""
    rho = kappa**2 * gamma**2 / eps
    return rho, gamma / rho


def escape_values(spec: dict) -> dict:
    """The theory's parameters and bounds at the instance's values (never from the run)."""
    gamma, s, d = spec["gamma"], spec["s"], spec["dim"]
    rho, gap = gamma / s, 2.0 * gamma * s**2             # F(c) − F* of the cosine saddle
    if spec["family"] == "exact_pgd":
        p = exact_pgd_parameters(spec["epsilon"], 1.0, rho, d, FAILURE_PROBABILITY, gap)
        raw_q, delta_ = 1.0, 0.0
    else:
        delta_ = spec["Delta"]
        p = byzantine_pgd_parameters(delta_, 1.0, rho, d, FAILURE_PROBABILITY, gap,
                                     CALIBRATED_FACTORS)
        raw_q = evaluate("byzantine_pgd", Delta=delta_, L=1.0, rho=rho, dim=d,
                         delta=FAILURE_PROBABILITY, f_gap=gap, factors=CALIBRATED_FACTORS)["Q"]
    kw = dict(Delta=delta_, gamma=gamma, s=s, eta=p["eta"], T_th=p["T_th"], r=p["r"], R=p["R"], dim=d)
    pr = mech.round_failure_bound_any_reading(**kw)      # the claims' bound: every open reading
    return {**p, "rho": rho, "gap": gap, "raw_Q": raw_q, "p_round": pr,
            "p_round_candidate": mech.round_failure_bound(**kw), "bound": mech.trapped_bound(pr, p["Q"])}


def _solve_gamma(spec_wo_gamma: dict, kappa: float, target: float) -> tuple[float, float]:
    """γ in (1e-5, 0.95) with p_round(γ) = target (p_round decreases in γ); the nearest end
    when out of reach. Returns (γ, s)."""
    def geometry(g):
        if spec_wo_gamma["family"] == "exact_pgd":
            return _exact_geometry(g, kappa, spec_wo_gamma["epsilon"])
        return _byz_geometry(g, kappa, spec_wo_gamma["Delta"], spec_wo_gamma["dim"])

    def excess(log_g):
        g = math.exp(log_g)
        s = geometry(g)[1]
        return escape_values({**spec_wo_gamma, "gamma": g, "s": s})["p_round"] - target
    lo, hi = math.log(1e-5), math.log(0.95)
    if excess(lo) * excess(hi) > 0:
        log_g = lo if abs(excess(lo)) < abs(excess(hi)) else hi
    else:
        log_g = brentq(excess, lo, hi, xtol=1e-10)
    g = math.exp(log_g)
    return g, geometry(g)[1]


def escape_spec(src, family: str, adversary: str | None) -> dict:
    d = src.integer(2, 5)
    spec = {"family": family, "dim": d, "a_seed": src.seed(), "landscape_seed": src.seed(),
            "run_seed": src.seed()}
    if family == "exact_pgd":
        spec.update(Delta=0.0, epsilon=src.log_uniform(1e-4, 1e-2))
        kappa, target = src.uniform(0.025, 0.04), src.uniform(0.3, 0.9)
    else:
        spec.update(Delta=src.log_uniform(1e-5, 1e-3), adversary=sample_adversary(src, adversary))
        kappa, target = src.uniform(0.04, 0.1), src.uniform(0.3, 0.9)
    gamma, s = _solve_gamma(spec, kappa, target)
    return {**spec, "gamma": gamma, "s": s, "target_p_round": target}


def specs(claim_id: str, n: int, seed: int) -> list[dict]:
    """``n`` instances; instance i depends only on (seed, claim id, i); adversaries in turn."""
    make = escape_spec if claim_id != DESCENT else descent_spec
    out = []
    for i in range(n):
        src = NumpySource(instance_rng(seed, claim_id, i))
        if claim_id == EXACT_ESCAPE or (claim_id == DESCENT and i % (len(ADVERSARY_NAMES) + 1) == 0):
            out.append(make(src, "exact_pgd", None))
        else:
            out.append(make(src, "byzantine_pgd", ADVERSARY_NAMES[i % len(ADVERSARY_NAMES)]))
    return out


def adversary_of(spec: dict) -> str:
    return spec["adversary"]["name"] if "adversary" in spec else EXACT_ADVERSARY


# --- descent --------------------------------------------------------------------------------
def observe_descent(spec: dict, steps: exp.Steps) -> Observation:
    with np.errstate(all="ignore"):        # a diverging run has inf/NaN values: a violation
        return _observe_descent(spec, steps)


def _observe_descent(spec: dict, steps: exp.Steps) -> Observation:
    delta_ = spec["Delta"]
    excess = steps.f_after - steps.f_before + steps.g_norm**2 / (2 * steps.L)
    bound = delta_ * steps.g_norm / steps.L
    tol = ROUNDING_RTOL * (np.abs(steps.f_before) + np.abs(steps.f_after) + steps.g_norm**2 / steps.L)
    informative = steps.g_norm > 2 * delta_
    required = mech.descent_required(steps.g_norm, delta_, steps.L)
    actual = steps.f_before - steps.f_after
    ratio = np.where(actual > 0, required / np.where(actual > 0, actual, 1.0), np.inf)
    ratio = np.where(informative, ratio, 0.0)
    bad = ~(excess <= bound + tol)                  # NaN counts as a violation
    finite = steps.status != "nonfinite"
    k = int(np.argmax(ratio)) if ratio.size else 0
    emp = (float(np.max(excess[informative] / bound[informative]))
           if delta_ > 0 and informative.any() else 0.0)
    return Observation(
        observed=float(excess[k]) if excess.size else 0.0,
        bound=float(bound[k] + tol[k]) if bound.size else 0.0,
        ratio=float(ratio[k]) if ratio.size else 0.0,
        holds=bool(finite and not bad.any()), vacuous=bool(not informative.any()),
        in_hypotheses=True, empirical_constant=max(0.0, emp), spec=spec,
        note=(f"run status {steps.status}" if not finite else
              f"{int(bad.sum())} of {bad.size} steps short of the §8.1 decrease" if bad.any() else ""))


def check_descent(profile: str, seed: int, progress=None, *, executor=None,
                  n: int | None = None) -> ClaimResult:
    claim = get(DESCENT)
    t0 = time.perf_counter()
    sp_ = specs(DESCENT, n or examples(profile, DESCENT), seed)
    rule = stop_rule(claim.kind, sp_, adversary_of, 0.0)
    results = run_in_chunks(sp_, Batched(exp.run_descent_batch), BATCH_SIZE, executor, progress,
                            stop=observed_stop(rule, sp_, observe_descent))
    runs, errors = split(results)
    ok_specs = [s for s, r in zip(sp_, results, strict=False) if not isinstance(r, InstanceError)]
    obs = [observe_descent(s, r) for s, r in zip(ok_specs, runs, strict=True)]
    return verdict(claim, obs, errors, 0.0, group_of=adversary_of,
                   details={"budget": {"oracle_calls": exp.DESCENT_CALLS,
                                       "seconds": INSTANCE_SECONDS},
                            **(rule.details() if rule is not None else {})}).with_seconds(
        time.perf_counter() - t0)


# --- escape ---------------------------------------------------------------------------------
def escape_call_cap(spec: dict) -> int:
    """1 + Q·T_th calls (every round at the saddle) plus 2·T_th + 10 beyond, with the theory's Q
    and T_th: a run that escaped in some round is then at distance >= R from the saddle, moving
    away, when the cap stops it."""
    v = escape_values(spec)
    return int(1 + (v["Q"] + 2) * v["T_th"] + 10)


STOP_FACTOR = 20.0   # a run at distance 20 R from the saddle has left it (R's faults are <= 10×)


def failed_rounds(spec: dict, run: exp.EscapeRounds) -> tuple[int, str]:
    """F, the failed rounds at the saddle before the first escape, as the theory's algorithm
    would count them (0..Q, Q the theory's): rounds − 1 when the run escaped in its rounds-th
    round to a point at least R − r from the saddle (theory's r, R: the escaped point of either
    reading of the escape test, docs/paper.md §3); Q when it returned without escaping, escaped
    only after Q rounds, made an escape that did not take it R − r away, or ended without output
    (non-finite, a budget). A note says why when F = Q."""
    v = escape_values(spec)
    Q = int(v["Q"])
    if run.escaped:
        if not run.escape_distance >= v["R"] - v["r"]:          # NaN counts as not escaped
            return Q, (f"escape to distance {run.escape_distance:.3g} < R - r = "
                       f"{v['R'] - v['r']:.3g} from the saddle (theory's R, r)")
        if run.rounds - 1 >= Q:
            return Q, f"first escape in round {run.rounds}, after the theory's Q = {Q} rounds"
        return run.rounds - 1, ""
    if run.status == "converged":
        return Q, f"returned the saddle after {run.rounds} failed rounds (theory's Q = {Q})"
    return Q, f"run status {run.status} after {run.rounds} rounds (no output: every round failed)"


def observe_escape_rounds(spec: dict, run: exp.EscapeRounds) -> tuple[Observation, float, int]:
    """The observation of one run: observed F (failed rounds), ``bound`` p_round (the per-round
    bound), ratio F / E[F] under the bound (E[F] = Σ_{k=1..Q} p^k), holds = the run escaped
    within the theory's Q rounds. Returns it with p_round and Q (the run's count law)."""
    v = escape_values(spec)
    q_ok = spec["family"] == "exact_pgd" or v["raw_Q"] > 1     # Theorem 2 has Q = 1
    inside = v["r"] <= v["R"] < spec["s"] and q_ok and v["p_round"] < 1
    F, note = failed_rounds(spec, run)
    p, Q = v["p_round"], int(v["Q"])
    mean = sum(p**k for k in range(1, Q + 1))
    if not inside:
        note = "outside: r > R, R >= s, Q's formula <= 1, or p_round = 1"
    obs = Observation(observed=float(F), bound=p, ratio=F / mean if mean > 0 else math.inf,
                      holds=F < Q, vacuous=False, in_hypotheses=bool(inside),
                      empirical_constant=0.0, spec=spec, note=note)
    return obs, p, Q


def escape_rounds_batch(sp_: list[dict]) -> list:
    """:func:`byzpgd.experiments.mechanism.run_escape_rounds` for many specs as batched trials
    (:func:`byzpgd.algorithms.engine.batched_perturbed_gd`): each trial stops at its first escape
    (:class:`~byzpgd.experiments.batched.BatchedFirstEscapeObserver`, either reading of the escape
    test), so the trial's round counter holds the rounds started at the saddle (as one at a time;
    an adversary without a batched form runs one at a time). A spec that cannot be built gets the
    InstanceError it would get one at a time."""
    from ...algorithms.engine import batched_perturbed_gd
    from ...experiments import batched as eb

    out: list = [None] * len(sp_)
    built, groups = {}, {}
    for i, spec in enumerate(sp_):
        try:
            land = exp.escape_landscape(spec)
            oracle = exp._oracle(spec, land)
            gap = land.value(np.zeros(land.dim)) - land.f_star
            if spec["family"] == "exact_pgd":
                params = eb.exact_params(spec["epsilon"], land.L, land.rho, land.dim,
                                         FAILURE_PROBABILITY, gap)
            else:
                params = eb.byz_params(oracle.delta, land.L, land.rho, land.dim, FAILURE_PROBABILITY, gap,
                                       CALIBRATED_FACTORS)
            cap = escape_call_cap(spec)
        except Exception as exc:
            out[i] = InstanceError(spec, f"{type(exc).__name__}: {exc}", "")
            continue
        built[i] = (land, oracle, params, cap)
        groups.setdefault((spec["family"], eb.oracle_kind(oracle.oracle) is not None), []).append(i)
    for members in groups.values():
        for lo in range(0, len(members), BATCH_SIZE):
            chunk = members[lo:lo + BATCH_SIZE]
            _escape_rounds_chunk(sp_, chunk, built, out, batched_perturbed_gd, eb)
    return out


def _escape_rounds_chunk(sp_, chunk, built, out, batched_perturbed_gd, eb):
    lands = [built[i][0] for i in chunk]
    try:
        blands = eb.batch_landscapes(lands) if len(chunk) > 1 else None
        badv = eb.batch_adversaries([built[i][1].oracle for i in chunk], blands) if blands else None
    except ValueError:
        badv = None
    if badv is None:
        for i in chunk:
            try:
                out[i] = exp.run_escape_rounds(sp_[i], built[i][3])
            except Exception as exc:
                out[i] = InstanceError(sp_[i], f"{type(exc).__name__}: {exc}", "")
        return
    d = blands.dim
    observer = eb.BatchedFirstEscapeObserver(eb.BatchedCertifiedOracle(badv), np.zeros((len(chunk), d)))
    res = batched_perturbed_gd(observer, np.zeros((len(chunk), d)), [built[i][2] for i in chunk],
                               [np.random.default_rng(sp_[i]["run_seed"]) for i in chunk],
                               max_oracle_calls=np.array([built[i][3] for i in chunk]),
                               max_seconds=INSTANCE_SECONDS, dims=blands.dims)
    for j, i in enumerate(chunk):
        r = res[j]
        if r.status == "error":
            out[i] = InstanceError(sp_[i], res.errors[j], "batched run")
            continue
        escaped = r.status == "escaped"
        out[i] = exp.EscapeRounds(int(r.escape_rounds), escaped,
                                  float(observer.escape_distance[j]) if escaped else math.nan,
                                  r.status, int(r.grad_oracle_calls))


def check_escape(claim_id: str, profile: str, seed: int, progress=None, *,
                 executor=None, n: int | None = None, batched: bool | None = None) -> ClaimResult:
    """The per-round escape test (module docstring). ``batched`` (default: ``runner.BATCHED``,
    default True, as every command runs) runs the runs as batched trials (:func:`escape_rounds_batch`);
    the details then say ``trials: 'batched'``."""
    claim = get(claim_id)
    t0 = time.perf_counter()
    batched = BATCHED.get() if batched is None else bool(batched)
    sp_ = specs(claim_id, n or examples(profile, claim_id), seed)
    if batched:
        results = run_in_chunks(sp_, Batched(escape_rounds_batch), BATCH_SIZE, executor, progress)
    else:
        results = run_instances(sp_, run_escape_rounds_capped, executor, progress)
    runs, errors = split(results)
    ok_specs = [s for s, r in zip(sp_, results, strict=True) if not isinstance(r, InstanceError)]
    triples = [observe_escape_rounds(s, r) for s, r in zip(ok_specs, runs, strict=True)]
    obs = [o for o, _, _ in triples]
    rows = per_adversary(obs, adversary_of)
    members = {name: [(o, p, q) for o, p, q in triples if o.in_hypotheses and adversary_of(o.spec) == name]
               for name in rows}
    decision = decide([CountGroup.of(name, [p for _, p, _ in m], [q for _, _, q in m],
                                     sum(int(o.observed) for o, _, _ in m))
                       for name, m in members.items()], ALPHA_BINOMIAL)
    tests = {}
    for name, gp in decision.groups.items():
        tests[name] = {"failed_rounds": gp.observed, "trials": gp.trials,
                       "trapped": sum(not o.holds for o, _, _ in members[name]),
                       "expected_failed_rounds": float(sum(sum(p**k for k in range(1, q + 1))
                                                           for _, p, q in members[name])),
                       "p_value": gp.p_value, "reject_at": gp.reject_at, "rejects": gp.rejects,
                       "detectable_excess": gp.decision, "detectable_excess_alone": gp.alone}
        r = rows[name]
        rows[name] = GroupRow(r.instances, r.nonvacuous_instances, r.violations, r.worst_ratio, tests[name])
    inside = [o for o in obs if o.in_hypotheses]
    all_probs = [p for o, p, _ in triples if o.in_hypotheses]
    worst = max((o for o in inside if o.observed > 0), key=lambda o: o.ratio, default=None)
    wv = None if worst is None else Violation(
        worst.observed, worst.bound, worst.ratio, worst.note or f"{int(worst.observed)} failed rounds",
        f"byzpgd replay {claim_id} '{spec_json(worst.spec)}'")
    res = ClaimResult.build(
        claim, violated=decision.violated, instances=len(inside), nonvacuous_instances=len(inside),
        outside_hypotheses=len(obs) - len(inside), violations=sum(not o.holds for o in inside),
        errors=len(errors), worst_ratio=max((o.ratio for o in inside), default=None),
        empirical_constant=None, claim_constant=None,
        binomial=None,          # not a binomial test: the pooled count test is details['pooled']
        adversaries=rows, worst_violation=wv if decision.violated else None,
        replay=wv.replay if wv and decision.violated else None,
        detectable_excess=decision.detectable_excess,
        error_examples=tuple(e.as_example() for e in errors[:3]),
        details={"test": ("failed perturbation rounds at the saddle before the first escape, summed "
                          "per adversary, against the exact law of the per-round bounds (each round "
                          "fails with probability <= p_round given the past: a geometric law "
                          f"truncated at the theory's Q); {len(decision.groups)} adversary tests + "
                          f"the pooled test, Bonferroni over {len(decision.groups) + 1} (reject "
                          f"below {decision.alpha:.3g}); the claim is violated when any rejects"),
                 "reading": ("p_round is the largest of the bounds of the readings docs/paper.md §3 "
                             "leaves open (theory.mechanism.round_failure_bound_any_reading: the "
                             "w~ + xi reading's); the candidate reading's is p_round_candidate"),
                 "pooled": {"failed_rounds": decision.pooled_observed, "trials": len(all_probs),
                            "mean_p_round": float(np.mean(all_probs)) if all_probs else None,
                            "p_value": decision.pooled_p_value, "reject_below": decision.alpha,
                            "reject_at": decision.pooled_reject_at, "rejects": decision.pooled_rejects},
                 "per_adversary": tests, "detectable_excess": decision.detectable_excess,
                 "budget": {"oracle_calls": "1 + (Q + 2) T_th + 10 (theory's Q, T_th)",
                            "seconds": INSTANCE_SECONDS},
                 **({"trials": "batched"} if batched else {})})
    return res.with_seconds(time.perf_counter() - t0)


def run_escape_rounds_capped(spec: dict) -> exp.EscapeRounds:
    """The run up to its first escape, under the call cap of :func:`escape_call_cap`."""
    return exp.run_escape_rounds(spec, escape_call_cap(spec))


# --- the cost of certifying a candidate -------------------------------------------------------
def candidate_spec(src, kind: str, adversary: str | None) -> dict:
    spec = {"dim": src.integer(2, 6), "rho": src.log_uniform(0.5, 2.0),
            "landscape_seed": src.seed(), "f_gap": src.log_uniform(0.1, 10.0),
            "run_seed": src.seed()}
    if kind == "exact":
        return {**spec, "family": "exact_pgd", "Delta": 0.0, "epsilon": src.log_uniform(1e-4, 1e-2)}
    lo, hi = (5e-15, 3e-14) if kind == "paper" else (1e-4, 3e-3)
    return {**spec, "family": "byzantine_pgd", "factors": kind, "Delta": src.log_uniform(lo, hi),
            "adversary": sample_adversary(src, adversary)}


def candidate_values(spec: dict) -> dict:
    """Q and T_th (and r, R) from the theory at the instance's values."""
    rho, d, gap = spec["rho"], spec["dim"], spec["f_gap"]
    if spec["family"] == "exact_pgd":
        return exact_pgd_parameters(spec["epsilon"], 1.0, rho, d, FAILURE_PROBABILITY, gap)
    factors = CALIBRATED_FACTORS if spec["factors"] == "calibrated" else None
    return byzantine_pgd_parameters(spec["Delta"], 1.0, rho, d, FAILURE_PROBABILITY, gap, factors)


def run_candidate_capped(spec: dict) -> exp.CandidateRun:
    v = candidate_values(spec)
    return exp.run_candidate(spec, int(2 * (1 + v["Q"] * v["T_th"]) + 100))


def observe_candidate(spec: dict, run: exp.CandidateRun) -> Observation:
    v = candidate_values(spec)
    expected = 1 + v["Q"] * v["T_th"]
    mu = run.min_curvature
    inside = mu > 0 and v["r"] + spec["Delta"] / mu < v["R"]
    holds = run.status == "converged" and run.calls == expected and run.moved == 0.0
    note = "" if holds else (f"status {run.status}, {run.calls} calls (theory: 1 + Q T_th = "
                             f"{expected}), output {run.moved:.3g} from the start")
    return Observation(float(run.calls), float(expected), run.calls / expected, bool(holds),
                       False, bool(inside), run.calls / expected, spec,
                       note if inside else "outside: r + Delta/mu >= R")


def observe_radius(spec: dict, run: exp.CandidateRun) -> Observation:
    """Every round's start within r of its candidate (r: the theory's), up to rounding."""
    r = candidate_values(spec)["r"]
    tol = r * (1 + 1e-12) + 4 * np.finfo(np.float64).eps * run.candidate_norm
    ratio = run.max_start_distance / r if r > 0 else math.inf
    holds = run.max_start_distance <= tol
    note = "" if holds else (f"a round started {run.max_start_distance:.6g} from its candidate, "
                             f"beyond r = {r:.6g} (the theory's)")
    return Observation(run.max_start_distance, r, ratio, bool(holds), run.starts == 0, True, ratio,
                       spec, note if run.starts else "no perturbation round seen",
                       budget_ended=run.status == "max_seconds")


def _check_at_minimum(claim_id: str, observe, budget_note: str):
    """The check of a claim observed on runs started at a strict local minimum
    (:func:`candidate_spec`: the three families in turn, the adversaries in turn)."""
    def check(profile: str, seed: int, progress=None, *, executor=None,
              n: int | None = None) -> ClaimResult:
        t0 = time.perf_counter()
        n = n or examples(profile, claim_id)
        sp_ = []
        for i in range(n):
            kind = CANDIDATE_FAMILIES[i % 3]
            adversary = ADVERSARY_NAMES[(i // 3) % len(ADVERSARY_NAMES)]
            sp_.append(candidate_spec(NumpySource(instance_rng(seed, claim_id, i)), kind, adversary))
        rule = stop_rule(get(claim_id).kind, sp_, adversary_of, 0.0)
        results = run_instances(sp_, run_candidate_capped, executor, progress,
                                stop=observed_stop(rule, sp_, observe))
        runs, errors = split(results)
        ok_specs = [s for s, r in zip(sp_, results, strict=False) if not isinstance(r, InstanceError)]
        obs = [observe(s, r) for s, r in zip(ok_specs, runs, strict=True)]
        return verdict(get(claim_id), obs, errors, 0.0, group_of=adversary_of,
                       details={"budget": {"oracle_calls": budget_note, "seconds": INSTANCE_SECONDS},
                                **(rule.details() if rule is not None else {})}).with_seconds(
            time.perf_counter() - t0)
    check.__name__ = check.__qualname__ = "check_" + claim_id.split(".")[-1]
    return check


CANDIDATE_BUDGET = "2 (1 + Q T_th) + 100 (theory's Q, T_th)"
check_candidate = _check_at_minimum(CANDIDATE, observe_candidate, CANDIDATE_BUDGET)
check_radius = _check_at_minimum(RADIUS, observe_radius, CANDIDATE_BUDGET)


register_check(DESCENT)(check_descent)
register_check(CANDIDATE)(check_candidate)
register_check(RADIUS)(check_radius)
for _cid in (ESCAPE, EXACT_ESCAPE):
    register_claim(_cid, check_escape)
