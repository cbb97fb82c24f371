"""Checks of the construction claims ``lower_bound.*`` (docs/paper.md §7; statements in
:mod:`byzpgd.theory.claims.lower_bounds`, constructions in :mod:`byzpgd.theory.lower_bounds`,
runs in :mod:`byzpgd.experiments.lower_bounds`).

- ``lower_bound.first_order`` / ``lower_bound.second_order`` (§7.1): the SymPy checks of the
  random-phase family, then every algorithm of ``ALGORITHM_RUNNERS`` run through the θ-free
  shared oracle; per run, deterministic checks (the constructed member makes the output violate
  the guarantee; the shared oracle is Δ-inexact for every member used; the member is
  ρ-Hessian-Lipschitz around w̃; for first order the F_± pair gives max_± ‖∇F_±‖ >= Δ) and, per
  algorithm, the exact binomial test of the success count (‖∇F_θ(w̃)‖ <= Δ/2, resp. λ_min >=
  −√(ρΔ)/2, at a uniform θ) against the claimed success probability 1/3 (resp. 2/3): rejected
  when P[Binomial(N, 1/3) >= successes] < ALPHA_BINOMIAL (= P[Binomial(N, 2/3) <= failures]).
- ``lower_bound.statistical`` (§7.2): every aggregator of the registry on the coupled worlds
  A, B (Huber shift, θ = c α σ/√n) and the Bayesian world C. Rejected when the aggregator
  succeeds too often: P[Binomial(2N, 1/2) >= s_A + s_B] < ALPHA_BINOMIAL with s_W the successes
  (error < θ/2) in world W (Hoeffding 1956: a sum of independent Bernoullis with mean >= N has a
  lower tail below Binomial(2N, 1/2)'s for failures <= N − 1; the test is not applied above), or
  P[Binomial(N, 1/2) >= s_C] < ALPHA_BINOMIAL (successes: error < r in world C).

The binomial tests count, as ``BinomialTest.failures``, the instances where the *claim's* event
happened: the algorithm or aggregator succeeded. Per-algorithm (per-aggregator) rows are in
``ClaimResult.adversaries``; ``details`` holds the symbolic sub-checks, the deterministic
problems and the constants. Every random choice comes from
``byzpgd.seeding.instance_rng(seed, "<claim id>/<algorithm>" or "<claim id>/worlds", i, stream)``.
"""

from __future__ import annotations

import functools
import math
from collections import Counter

import numpy as np

from ...experiments import lower_bounds as exp
from ...experiments.budget import budget
from ...experiments.loop import InstanceError, run_instances
from ...jsonsafe import sanitize, spec_json
from ...theory import lower_bounds as lb
from ...theory.claims import get
from ..profiles import examples
from ..registry import register_check
from ..result import MIN_NONVACUOUS, ROUNDING_RTOL, BinomialTest, ClaimResult, GroupRow

HL_RTOL = 1e-6        # finite-difference slack of the observed Hessian-Lipschitz ratio
COUPLING_ATOL = 1e-12  # densities: the Byzantine law's negativity and the two worlds' gap
DENSITY_GRID = (-8.0, 12.0, 401)      # first coordinate in units of τ


# ---------------------------------------------------------------------------------------------
# helpers shared by the three checks
# ---------------------------------------------------------------------------------------------
def _required_nonvacuous(total: int, smallest_group: int, symbolic) -> int:
    """The non-vacuous count the status rule asks for: each group (algorithm, aggregator) needs
    MIN_NONVACUOUS runs, not only the total, and a symbolic sub-check SymPy could not decide
    leaves the claim inconclusive whatever the runs (then one more than the total)."""
    undecided = any(s.status == "undecided" for s in symbolic)
    return total if smallest_group >= MIN_NONVACUOUS and not undecided else total + 1


def _examples(errors: list[InstanceError]) -> tuple[dict, ...]:
    return tuple(e.as_example(spec_json(e.spec)) for e in errors[:3])


def _symbolic_errors(symbolic) -> list[dict]:
    return [{"error": s.evidence, "subcheck": s.name} for s in symbolic if s.status == "error"]


# ---------------------------------------------------------------------------------------------
# §7.1: the optimization lower bound
# ---------------------------------------------------------------------------------------------
def trial_problems(trial: exp.OptTrial, order: str) -> list[str]:
    """The deterministic part of the construction, on one run: what is wrong, if anything."""
    problems = []
    if not (trial.constructed_first_fail if order == "first" else trial.constructed_second_fail):
        problems.append("the constructed member does not make the output violate the guarantee")
    if trial.max_oracle_error_ratio > 1 + ROUNDING_RTOL:
        problems.append(f"shared oracle error {trial.max_oracle_error_ratio:.6g} Delta > Delta")
    if trial.hessian_lipschitz_ratio > 1 + HL_RTOL:
        problems.append(f"member Hessian-Lipschitz ratio {trial.hessian_lipschitz_ratio:.6g} > rho")
    if order == "first" and trial.pm_max_grad < 1 - ROUNDING_RTOL:
        problems.append(f"F_+- pair: max gradient {trial.pm_max_grad:.6g} Delta < Delta")
    return problems


def _algorithm_row(trials: list[exp.OptTrial], order: str, p_fail: float,
                   problems: int) -> tuple[GroupRow, BinomialTest]:
    """One algorithm's failures at a uniform θ, the binomial test of its successes, and its
    violations (runs with a deterministic problem, plus one if the test rejects)."""
    k = sum(t.first_order_fail if order == "first" else t.second_order_fail for t in trials)
    test = BinomialTest.of(len(trials) - k, len(trials), 1 - p_fail)
    freq = k / len(trials) if trials else None
    row = GroupRow(len(trials), len(trials), problems + int(test.rejects),
                   (p_fail / freq if freq else math.inf) if freq is not None else None,
                   {"failures": k, "frequency": freq, "predicted": p_fail, "p_value": test.p_value})
    return row, test


def optimization_check(claim_id: str, order: str, profile: str = "ci", seed: int = 0, progress=None, *,
                       family: lb.CosineFamily = exp.PAPER_FAMILY, runners=None, n=None,
                       executor=None) -> ClaimResult:
    """The check of lower_bound.first_order (``order='first'``) or .second_order; ``family`` and
    ``runners`` (name -> runner) can be replaced by wrong variants (able-to-fail tests)."""
    claim = get(claim_id)
    p_fail = float(lb.FIRST_ORDER_FAILURE if order == "first" else lb.SECOND_ORDER_FAILURE)
    runners = dict(exp.ALGORITHM_RUNNERS if runners is None else runners)
    count = n or examples(profile, claim_id)
    symbolic = lb.family_symbolic_checks(family)
    specs = [s for name in runners for s in exp.optimization_specs(f"{claim_id}/{name}", name, count, seed)]
    results = run_instances(specs, functools.partial(exp.optimization_trial, runners=runners, family=family),
                            executor, progress)
    errors = [r for r in results if isinstance(r, InstanceError)]
    ran = [(s, r.value) for s, r in zip(specs, results, strict=True) if not isinstance(r, InstanceError)]
    deterministic = [{"algorithm": t.algorithm, "instance": s["index"], "spec": s, "problems": pr}
                     for s, t in ran if (pr := trial_problems(t, order))]
    rows, tests = {}, {}
    for name in runners:
        rows[name], tests[name] = _algorithm_row([t for _, t in ran if t.algorithm == name], order, p_fail,
                                                 sum(v["algorithm"] == name for v in deterministic))
    status_of = Counter(s.status for s in symbolic)
    rejected = [a for a, tst in tests.items() if tst.rejects]
    freqs = [r.extra["frequency"] for r in rows.values() if r.extra["frequency"] is not None]
    total = len(ran)
    return ClaimResult.build(
        claim, violated=bool(status_of["disproved"] or deterministic or rejected),
        min_nonvacuous=_required_nonvacuous(total, min((r.instances for r in rows.values()), default=0),
                                             symbolic),
        instances=total, nonvacuous_instances=total, outside_hypotheses=0,
        violations=len(deterministic) + status_of["disproved"] + len(rejected),
        errors=len(errors) + status_of["error"],
        worst_ratio=max((r.worst_ratio for r in rows.values() if r.worst_ratio is not None), default=None),
        empirical_constant=1 - min(freqs) if freqs else None, claim_constant=claim.constant,
        binomial=min(tests.values(), key=lambda t: t.p_value) if tests else None,
        adversaries=rows, error_examples=_examples(errors) + tuple(_symbolic_errors(symbolic)),
        details=sanitize({"budget": budget("lower_bounds"),
                          "groups": "algorithm", "symbolic": symbolic, "deterministic": deterministic[:3],
                          "binomial_rejected": rejected}))


# ---------------------------------------------------------------------------------------------
# §7.2: the statistical lower bound
# ---------------------------------------------------------------------------------------------
def instance_constants(worlds: exp.Worlds) -> dict:
    """The constants one instance achieves: c_alpha = (θ/2)/(σα/√n), c_d = r/(σ√(d/(nm))) and
    c' = min(c_alpha, c_d)/2, and whether its coupling is a valid one (Q_W >= 0, the two worlds'
    message laws equal): docs/paper.md §7.2."""
    inst, coup = worlds.instance, worlds.coupling
    grid = np.linspace(*DENSITY_GRID)
    _, _, _, qa, qb = coup.densities(grid)
    min_q, gap = float(min(qa.min(), qb.min())), coup.mixture_gap(grid)
    c_alpha = (worlds.theta / 2) / (inst.sigma * inst.alpha / math.sqrt(inst.n))
    c_d = worlds.thr_C / (inst.sigma * math.sqrt(inst.d / (inst.n * inst.m)))
    valid = coup.valid and min_q >= -COUPLING_ATOL and gap <= COUPLING_ATOL
    return {"c_alpha": c_alpha, "c_d": c_d, "c_prime": min(c_alpha, c_d) / 2, "min_q": min_q,
            "mixture_gap": gap, "valid": bool(valid)}


def _aggregator_row(trials: list[exp.StatTrial], worlds: dict[int, exp.Worlds]) -> tuple[GroupRow, dict]:
    """One aggregator's failures (error >= threshold) per world, its two binomial tests (of the
    successes) and the empirical c' (the largest per-world median of error/rate)."""
    ran = [t for t in trials if not t.skipped]
    k = {"A": 0, "B": 0, "C": 0}
    ratios = []
    for t in ran:
        w = worlds[t.index]
        k["A"] += t.err_A >= w.theta / 2
        k["B"] += t.err_B >= w.theta / 2
        k["C"] += t.err_C >= w.thr_C
        rate = w.instance.lower_rate()
        ratios.append((t.err_A / rate, t.err_B / rate, t.err_C / rate))
    T = len(ran)
    K = k["A"] + k["B"]
    shift = BinomialTest.of(2 * T - K, 2 * T, 0.5) if T and K <= T - 1 else \
        BinomialTest(2 * T - K, 2 * T, 0.5, 1.0)
    bayes = BinomialTest.of(T - k["C"], T, 0.5)
    rejected = shift.rejects or bayes.rejects
    extra = {"skipped": len(trials) - T, "failures_A": k["A"], "failures_B": k["B"], "failures_C": k["C"],
             "p_value_shift": shift.p_value, "p_value_bayes": bayes.p_value,
             "empirical_c_prime": float(np.max(np.median(np.array(ratios), axis=0))) if ratios else None}
    worst = [0.5 / max(K / (2 * T), 1e-300), 0.5 / max(k["C"] / T, 1e-300)] if T else []
    row = GroupRow(T, T, int(rejected), max(worst, default=None), extra)
    return row, {"rejected": rejected, "tests": (shift, bayes),
                 "worse_success": 1 - min(max(k["A"], k["B"]), k["C"]) / T if T else None}


def statistical_check(profile: str = "ci", seed: int = 0, progress=None, *, names=None,
                      make_aggregator=None, n=None, claim_id: str = "lower_bound.statistical",
                      executor=None) -> ClaimResult:
    """The check of lower_bound.statistical over every aggregator of the registry (``names``) —
    or over a replaced ``make_aggregator(name, m, f, mu)`` (able-to-fail tests)."""
    claim = get(claim_id)
    count = n or examples(profile, claim_id)
    names = exp.aggregator_names() if names is None else list(names)
    key = f"{claim_id}/worlds"
    specs = exp.statistical_specs(key, names, count, seed)
    results = run_instances(specs, functools.partial(exp.statistical_trial, make_aggregator=make_aggregator),
                            executor, progress)
    errors = [r for r in results if isinstance(r, InstanceError)]
    trials = [r.value for r in results if not isinstance(r, InstanceError)]
    worlds = {i: exp.statistical_worlds(seed, key, i) for i in range(count)}
    consts = {i: instance_constants(w) for i, w in worlds.items()}
    coupling_bad = [{"instance": i, **c} for i, c in consts.items() if not c["valid"]]
    symbolic = lb.tv_symbolic_checks()
    rows, info = {}, {}
    for a in names:
        rows[a], info[a] = _aggregator_row([t for t in trials if t.aggregator == a], worlds)
    tested = [a for a in names if rows[a].instances]
    rejected = [a for a in names if info[a]["rejected"]]
    status_of = Counter(s.status for s in symbolic)
    total = sum(r.instances for r in rows.values())
    c_alpha = [c["c_alpha"] for c in consts.values()]
    c_d = [c["c_d"] for c in consts.values()]
    emps = [rows[a].extra["empirical_c_prime"] for a in tested]
    worse = [info[a]["worse_success"] for a in tested]
    tests = [tst for a in tested for tst in info[a]["tests"]]
    return ClaimResult.build(
        claim, violated=bool(rejected or coupling_bad or status_of["disproved"]),
        min_nonvacuous=_required_nonvacuous(total, min((rows[a].instances for a in tested), default=0),
                                             symbolic),
        instances=total, nonvacuous_instances=total,
        outside_hypotheses=sum(r.extra["skipped"] for r in rows.values()),
        violations=len(rejected) + len(coupling_bad) + status_of["disproved"],
        errors=len(errors) + status_of["error"],
        worst_ratio=max((rows[a].worst_ratio for a in tested), default=None),
        empirical_constant=max(worse) if worse else None, claim_constant=claim.constant,
        binomial=min(tests, key=lambda t: t.p_value) if tests else None,
        adversaries=rows, error_examples=_examples(errors) + tuple(_symbolic_errors(symbolic)),
        details=sanitize({
            "budget": budget("lower_bounds"),
            "groups": "aggregator", "aggregators": names, "rejected": rejected, "coupling": coupling_bad[:3],
            "constants": {"c_theta_min": 2 * min(c_alpha), "c_alpha_term_min": min(c_alpha),
                          "c_d_term_min": min(c_d), "c_prime": min(c["c_prime"] for c in consts.values()),
                          "probability": float(lb.WORLD_FAILURE),
                          "empirical_c_prime_min": min(emps) if emps else None},
            "symbolic": symbolic}))


register_check("lower_bound.first_order")(
    lambda profile, seed, progress: optimization_check("lower_bound.first_order", "first", profile, seed,
                                                       progress))
register_check("lower_bound.second_order")(
    lambda profile, seed, progress: optimization_check("lower_bound.second_order", "second", profile, seed,
                                                       progress))
register_check("lower_bound.statistical")(
    lambda profile, seed, progress: statistical_check(profile, seed, progress))
