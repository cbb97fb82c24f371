"""The seeded-fault campaign (``byzpgd faults``): run the claims against every fault of
:mod:`byzpgd.experiments.faults` and write the kill matrix.

For each fault, in a fresh child process: inject the fault, run its claims (cheapest first) and
send back each :class:`ClaimResult`. A fault is

- **killed** when some claim that holds on the unfaulted code (the baseline, run first in the
  same campaign) is 'violated' under the fault: its test rejected on runs that finished or that
  the claim counts as failures. A crash or a timeout is not a kill;
- **errored** when no claim kills it but some claim that holds on the baseline crashed ('error')
  or exceeded its wall-clock budget ('timeout') under it: the harness could not judge, so it is
  neither a kill nor a survivor, and it counts against the catalogue;
- **survived** when every claim still holds or is inconclusive (a missing or blunt claim: sharpen
  the claims, or argue the fault equivalent in the catalogue);
- **equivalent** when it survives and the catalogue argues why no claim can tell it apart;
- **error** when the fault cannot be injected (its injection point does not exist) or the
  campaign itself failed: never counted as a kill or a survivor.

Each claim has a *level* (:func:`claim_level`): **guarantee** (a guarantee the paper or the
proof states, observed on runs: the theorems, the saddle-point attack, the mechanism's escape
and descent steps with the descent monitor, end to end, the rates and lower bounds) or
**conformance** (fidelity to the formulas or to the algorithm's own variants: the candidate's
call count, the end-to-end stopping-rule check, the symbolic parameter checks, the ablations).
The campaign reports the kill rate by guarantee-level claims apart from the one by conformance
checks; with ``all_claims`` (every claim on every fault, the full kill matrix) both are exact,
otherwise (stop at the first kill, cheapest claim first) the guarantee-level rate is a lower
bound.

A *reading* (kind 'reading': a reading of Algorithm 1 the paper leaves open, not a fault) runs
the same way and must come out 'equivalent'; killed, it means a claim stricter than the paper.
``kill_rate`` is killed among killed + survived + errored faults; ``catalogue_kill_rate`` killed
among every fault of the catalogue (readings excluded; errors, errored and argued-equivalent
faults count against it).

Claims that do not hold on the baseline are reported and never count as killers.
By default a fault stops at its first killing claim (``all_claims=True`` runs them all; a claim
over its budget ends the child, and the remaining claims run in a fresh one).
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from ..experiments import faults as fault_mod
from .registry import claim_ids, run_check
from .result import ROUNDING_RTOL, ClaimResult
from .runner import batched_trials

FAULT_STATUSES = ("killed", "survived", "equivalent", "errored", "error")
LEVELS = ("guarantee", "conformance")
# conformance checks: claim id (or prefix ending in '.') -> why it is not a guarantee
CONFORMANCE = {
    "mechanism.candidate_cost": "the call count equals 1 + Q·T_th: fidelity to the formulas of "
                                "Algorithm 1, not a guarantee of the paper",
    "mechanism.perturbation_radius": "every round starts within r of its candidate: fidelity to "
                                     "Algorithm 1's perturbation, not a guarantee of the paper",
    "end_to_end.grad_norm": "holds by construction (Δ raised to the visited sup, runs repeated): "
                            "a check of the stopping rule ‖ĝ‖ <= 3Δ",
    "parameters.": "symbolic checks of the parameter formulas against their derivations",
    "ablation.": "compares the algorithm with its own ablated variants (OWN design claims)",
}
MIN_BUDGET_SECONDS = 60.0     # per claim under a fault: max(this, BUDGET_FACTOR × baseline time)
BUDGET_FACTOR = 10.0


def claim_level(claim_id: str) -> str:
    """'conformance' for the claims of :data:`CONFORMANCE`, 'guarantee' for every other claim."""
    for key in CONFORMANCE:
        if claim_id == key or (key.endswith(".") and claim_id.startswith(key)):
            return "conformance"
    return "guarantee"


@dataclass(frozen=True)
class ClaimOutcome:
    """One claim's verdict under one fault."""

    claim: str
    status: str                   # a ClaimResult status, or 'timeout'
    seconds: float
    replay: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class FaultOutcome:
    id: str
    kind: str
    description: str
    status: str                   # one of FAULT_STATUSES
    killed: bool
    killed_by: tuple[str, ...]
    outcomes: tuple[ClaimOutcome, ...] = ()
    error: str | None = None
    equivalent: str = ""
    seconds: float = 0.0
    errored_by: tuple[str, ...] = ()      # claims that crashed or timed out (never kills)

    @property
    def guarantee_killers(self) -> tuple[str, ...]:
        return tuple(c for c in self.killed_by if claim_level(c) == "guarantee")

    @property
    def conformance_killers(self) -> tuple[str, ...]:
        return tuple(c for c in self.killed_by if claim_level(c) == "conformance")


@dataclass(frozen=True)
class Campaign:
    profile: str
    seed: int
    command: str
    baseline: dict[str, ClaimOutcome]
    faults: tuple[FaultOutcome, ...]
    seconds: float = 0.0
    environment: dict = field(default_factory=dict)
    all_claims: bool = False
    pending: tuple[str, ...] = ()         # faults not run yet (a partial campaign)

    @property
    def partial(self) -> bool:
        return bool(self.pending)

    @staticmethod
    def level(claim_id: str) -> str:
        """The claim's level (:func:`claim_level`), for the writers."""
        return claim_level(claim_id)

    @property
    def summary(self) -> dict[str, int]:
        statuses = [f.status for f in self.faults]
        return {s: statuses.count(s) for s in FAULT_STATUSES}

    @property
    def kill_rate(self) -> float:
        """Killed among the faults that are neither injection errors nor argued equivalent
        (errored faults count as not killed)."""
        judged = [f for f in self.faults if f.kind != "reading"
                  and f.status in ("killed", "survived", "errored")]
        return sum(f.killed for f in judged) / len(judged) if judged else 0.0

    def _faults(self, kinds: Sequence[str] | None = None, prefixes: Sequence[str] = ()) -> list:
        return [f for f in self.faults if f.kind != "reading" and (kinds is None or f.kind in kinds)
                and (not prefixes or f.id.startswith(tuple(prefixes)))]

    def level_kill_rate(self, level: str, kinds: Sequence[str] | None = None,
                        prefixes: Sequence[str] = ()) -> float:
        """Faults (of ``kinds``, ids starting with one of ``prefixes``; readings excluded) killed by
        at least one claim of ``level``, among all of them (errors and equivalents count against)."""
        faults = self._faults(kinds, prefixes)
        attr = "guarantee_killers" if level == "guarantee" else "conformance_killers"
        return sum(bool(getattr(f, attr)) for f in faults) / len(faults) if faults else 0.0

    @property
    def guarantee_kill_rate(self) -> float:
        """Faults killed by a guarantee-level claim, among every fault (readings excluded); a lower
        bound unless ``all_claims``."""
        return self.level_kill_rate("guarantee")

    @property
    def conformance_kill_rate(self) -> float:
        """Faults killed by a conformance check, among every fault (readings excluded)."""
        return self.level_kill_rate("conformance")

    @property
    def parameter_guarantee_kill_rate(self) -> float:
        """The ByzantinePGD and exact-PGD parameter faults killed by a guarantee-level claim."""
        return self.level_kill_rate("guarantee", ("parameter",), ("byzantine_pgd.", "exact_pgd."))

    @property
    def by_kind(self) -> dict[str, dict[str, int]]:
        """Per fault kind: faults, each status, and the faults killed by a guarantee-level claim,
        by a conformance check, and by conformance checks only."""
        out: dict[str, dict[str, int]] = {}
        for f in self.faults:
            row = out.setdefault(f.kind, {"faults": 0, **{s: 0 for s in FAULT_STATUSES},
                                          "killed_by_guarantee": 0, "killed_by_conformance": 0,
                                          "killed_by_conformance_only": 0})
            row["faults"] += 1
            row[f.status] += 1
            row["killed_by_guarantee"] += bool(f.guarantee_killers)
            row["killed_by_conformance"] += bool(f.conformance_killers)
            row["killed_by_conformance_only"] += bool(f.conformance_killers and not f.guarantee_killers)
        return out

    @property
    def catalogue_kill_rate(self) -> float:
        """Killed among every fault run (readings excluded)."""
        faults = [f for f in self.faults if f.kind != "reading"]
        return sum(f.killed for f in faults) / len(faults) if faults else 0.0

    @property
    def readings_killed(self) -> tuple[str, ...]:
        """Readings some claim rejected (each a claim stricter than the paper)."""
        return tuple(f.id for f in self.faults if f.kind == "reading" and f.killed)

    @property
    def ok(self) -> bool:
        """Every fault killed or argued equivalent, and every reading indistinguishable."""
        return (all(f.status in ("killed", "equivalent") for f in self.faults)
                and not self.readings_killed)


def expand_claims(patterns: Sequence[str], known: Sequence[str]) -> list[str]:
    """Claim ids named by ``patterns`` (an id, or a prefix ending in '.'), in pattern order."""
    out: list[str] = []
    for pat in patterns:
        hits = [c for c in known if c.startswith(pat)] if pat.endswith(".") else \
            ([pat] if pat in known else [])
        out += [c for c in hits if c not in out]
    return out


def _rejecting_tests(res: ClaimResult) -> list[str]:
    """The binomial tests of a probabilistic result that reject, in words (each a true statement:
    'k/n failures, p = ... < level')."""
    out = []
    pooled = (res.details or {}).get("pooled") or {}
    level = res.binomial.reject_below if res.binomial is not None else pooled.get("reject_below")
    for name, row in res.adversaries.items():
        x = row.extra or {}
        if x.get("rejects"):
            out.append(f"{name}: {_counts_text(x)}" + _p_text(x.get("p_value"), level))
    b = res.binomial
    if b is not None and b.rejects:
        out.append(f"pooled: {b.failures}/{b.trials} failures, p = {b.p_value:.3g} < {b.reject_below:.3g}")
    elif pooled.get("rejects"):
        out.append(f"pooled: {_counts_text(pooled)}" + _p_text(pooled.get("p_value"), level))
    return out


def _counts_text(x: dict) -> str:
    """'k/n failures' (a binomial test), 'F failed rounds before the first escape in n runs' (the
    per-round escape tests), or 'its test rejects'."""
    if "failures" in x and "trials" in x:
        return f"{x['failures']}/{x['trials']} failures"
    if "failed_rounds" in x and "trials" in x:
        exp = x.get("expected_failed_rounds")
        expected = (f" (at most {exp:.3g} expected under the per-round bound)"
                    if isinstance(exp, float) else "")
        return f"{x['failed_rounds']} failed rounds before the first escape in {x['trials']} runs{expected}"
    return "its test rejects"


def _p_text(p, level) -> str:
    if not isinstance(p, float):
        return ""
    return f", p = {p:.3g}" + (f" < {level:.3g}" if level is not None and p < level else "")


def violation_reason(res: ClaimResult) -> str:
    """Why a 'violated' result is violated, stating only inequalities that hold: the rejecting
    tests of a probabilistic claim; for a deterministic one, 'observed > bound' only when it is
    (a run without output fails whatever its value: its status is given instead)."""
    tests = _rejecting_tests(res)
    if tests:
        return "; ".join(tests[:3]) + (f"; and {len(tests) - 3} more" if len(tests) > 3 else "")
    w = res.worst_violation
    if w is not None:
        if w.observed > w.bound * (1 + ROUNDING_RTOL):
            return f"observed {w.observed:.4g} > bound {w.bound:.4g}" + (f" ({w.note})" if w.note else "")
        return (f"{w.note or 'a failing run'} (reported observed {w.observed:.4g}, bound "
                f"{w.bound:.4g}: the failure is the note's, not the comparison of the two)")
    if res.fits:
        bad = [f"{k}: slope {f.slope:.3g} against {f.expected:.3g} ± {f.tolerance:.3g}"
               for k, f in res.fits.items()
               if f.expected is not None and f.tolerance is not None
               and abs(f.slope - f.expected) > f.tolerance]
        if bad:
            return "; ".join(bad[:3])
    return f"{res.violations} violation(s) among {res.instances} instances"


def _outcome(claim_id: str, res: ClaimResult) -> ClaimOutcome:
    reason = ""
    if res.status == "violated":
        try:
            reason = violation_reason(res)
        except Exception as exc:   # a reason is a courtesy: it never costs the verdict
            reason = f"violated (no reason: {type(exc).__name__}: {exc})"
    elif res.status == "error" and res.error_examples:
        reason = str(res.error_examples[0].get("error", ""))[:300]
    elif res.status == "inconclusive":
        reason = f"{res.nonvacuous_instances} non-vacuous instances" + (
            f" ({res.details['not_observed']} runs stopped by the descent monitor, not observed)"
            if res.details.get("not_observed") else "")
    return ClaimOutcome(claim_id, res.status, res.seconds, res.replay, reason)


def _child(fault: fault_mod.Fault | None, claims: list[str], profile: str, seed: int, out,
           batched: bool = True) -> None:
    """Child process: inject the fault (None: baseline) and run the claims, one message each
    (batched trials unless ``batched`` is False, as :func:`run_campaign`). Signals: SIGINT ignored and
    SIGTERM/SIGHUP at their defaults (the parent ends the child on Ctrl-C or a stop signal; the fork
    copied the CLI's handlers), and the child dies with its parent (byzpgd.stopping)."""
    from ..stopping import worker_init

    worker_init(ignore_sigint=True)
    try:
        claim_ids()   # load every suite first, so every binding of a patched object is seen
        ctx = fault_mod.inject(fault) if fault is not None else _null()
        with ctx, batched_trials(batched):
            out.put(("injected", None))
            for cid in claims:
                out.put(("claim", _outcome(cid, run_check(cid, profile, seed))))
    except fault_mod.InjectionError as exc:
        out.put(("injection_error", str(exc)))
    except Exception as exc:  # the campaign reports a broken run, it never crashes
        out.put(("campaign_error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))
    out.put(("done", None))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _run_in_child(fault, claims, profile, seed, budgets: dict[str, float],
                  stop_when: Callable[[ClaimOutcome], bool], batched: bool = True):
    """Run in a child; returns (outcomes, error). A claim over its budget ends the child and
    is reported as a 'timeout' outcome."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fault, claims, profile, seed, q, batched), daemon=True)
    proc.start()
    outcomes: list[ClaimOutcome] = []
    error = None
    pending = list(claims)
    started = time.monotonic()
    try:
        while True:
            limit = budgets.get(pending[0], MIN_BUDGET_SECONDS) if pending else 30.0
            try:
                kind, payload = q.get(timeout=max(0.1, started + limit - time.monotonic()))
            except queue_mod.Empty:
                if pending:
                    outcomes.append(ClaimOutcome(pending[0], "timeout", limit, None,
                                                 f"exceeded the wall-clock budget of {limit:.0f} s "
                                                 "(a hang or a run far slower than the baseline)"))
                else:
                    error = "the campaign's child did not finish"
                break
            if kind == "claim":
                outcomes.append(payload)
                pending.pop(0)
                started = time.monotonic()
                if stop_when(payload) or not pending:
                    break
            elif kind == "injected":
                started = time.monotonic()
            elif kind in ("injection_error", "campaign_error"):
                error = f"{kind.replace('_', ' ')}: {payload}"
                break
            elif kind == "done":
                break
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    return outcomes, error


def run_baseline(claims: Sequence[str], profile: str, seed: int,
                 batched: bool = True) -> dict[str, ClaimOutcome]:
    """The claims on the unfaulted code (no budget beyond a generous fixed one)."""
    outcomes, error = _run_in_child(None, list(claims), profile, seed,
                                    {c: 3600.0 for c in claims}, lambda o: False, batched)
    if error:
        raise RuntimeError(f"the baseline run failed: {error}")
    return {o.claim: o for o in outcomes}


KILLING = ("violated",)
ERRORED = ("error", "timeout")


def judge(fault: fault_mod.Fault, outcomes: list[ClaimOutcome], error: str | None,
          baseline: dict[str, ClaimOutcome], seconds: float) -> FaultOutcome:
    """The fault's status from its claims' outcomes (module docstring): only a 'violated' claim
    that holds on the baseline kills; a crash or a timeout makes the fault 'errored'."""
    holds = {c for c, o in baseline.items() if o.status == "holds"}
    killers = tuple(o.claim for o in outcomes if o.claim in holds and o.status in KILLING)
    errored = tuple(o.claim for o in outcomes if o.claim in holds and o.status in ERRORED)
    if killers:
        status = "killed"
    elif error:
        status = "error"
    elif errored:
        status = "errored"
    elif fault.equivalent:
        status = "equivalent"
    else:
        status = "survived"
    return FaultOutcome(fault.id, fault.kind, fault.description, status, bool(killers), killers,
                        tuple(outcomes), error, fault.equivalent, round(seconds, 3), errored)


def _stops(all_claims: bool, outcome: ClaimOutcome) -> bool:
    """Whether a fault's run stops after ``outcome`` (its first kill, unless all_claims)."""
    return not all_claims and outcome.status in KILLING


@dataclass(frozen=True)
class _FaultTask:
    """One fault of the campaign, run in a forked child (picklable: an executor may run it in a
    worker process, e.g. a Dask worker; that process must be allowed to fork children)."""

    profile: str
    seed: int
    baseline: dict
    budgets: dict
    all_claims: bool
    batched: bool = True

    def __call__(self, item) -> FaultOutcome:
        fault, matched = item
        claims = [c for c in matched if self.baseline.get(c) and self.baseline[c].status == "holds"]
        claims.sort(key=lambda c: self.baseline[c].seconds)
        t1 = time.perf_counter()
        if not matched:
            outcomes, error = [], "no registered claim matches the fault's claims"
        else:
            try:
                outcomes, error = self._run(fault, claims)
            except AssertionError as exc:   # a daemonic process (a Dask worker's default) cannot fork
                outcomes, error = [], (f"cannot start the fault's child process here ({exc}); start the "
                                       "Dask workers with DASK_DISTRIBUTED__WORKER__DAEMON=False")
        return judge(fault, outcomes, error, self.baseline, time.perf_counter() - t1)

    def _run(self, fault, claims: list[str]) -> tuple[list[ClaimOutcome], str | None]:
        """Run ``claims`` under the fault; a claim over its budget ends the child, and the claims
        after it run in a fresh child (a timeout is not a kill, so it never ends the fault's run)."""
        outcomes: list[ClaimOutcome] = []
        pending = list(claims)
        stop = partial(_stops, self.all_claims)
        while pending:
            got, error = _run_in_child(fault, pending, self.profile, self.seed, self.budgets, stop,
                                       self.batched)
            outcomes += got
            if error or not got or any(stop(o) for o in got) or got[-1].status != "timeout":
                return outcomes, error
            pending = pending[len(got):]
        return outcomes, None


def run_campaign(faults: Sequence[str | fault_mod.Fault], profile: str = "ci", seed: int = 0, *,
                 all_claims: bool = False, command: str = "",
                 progress: Callable[[str], None] | None = None, executor=None,
                 batched: bool = True,
                 on_result: Callable[[Campaign], None] | None = None) -> Campaign:
    """Run the campaign over ``faults`` (catalogue ids or :class:`Fault` objects; see the
    module docstring). ``executor`` (an executor with ``as_completed``, e.g. a Dask one from
    :mod:`byzpgd.scaleout`) runs one task per fault; default: one fault after the other here.
    The baseline runs here either way; the outcomes are in the order of ``faults``.
    ``batched`` (default True): the claims run as ``byzpgd verify`` runs them (batched trials
    for the theorem and escape claims; False: each instance a batch of one). ``on_result`` is
    called after each finished fault with the campaign so far (its ``pending`` faults not yet
    run), e.g. to write partial files that an interruption leaves behind."""
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    known = claim_ids()
    faults = [fault_mod.get_fault(f) if isinstance(f, str) else f for f in faults]
    per_fault = {f.id: expand_claims(f.claims, known) for f in faults}
    union = [c for c in known if any(c in cl for cl in per_fault.values())]
    say(f"baseline: {len(union)} claims without any fault")
    baseline = run_baseline(union, profile, seed, batched)
    bad = [c for c, o in baseline.items() if o.status != "holds"]
    if bad:
        say(f"baseline: {bad} do not hold without a fault; they never count as killers")
    budgets = {c: max(MIN_BUDGET_SECONDS, BUDGET_FACTOR * o.seconds) for c, o in baseline.items()}
    task = _FaultTask(profile, seed, baseline, budgets, all_claims, batched)
    items = [(fault, per_fault[fault.id]) for fault in faults]
    done = enumerate(map(task, items)) if executor is None else executor.as_completed(task, items)
    results: list[FaultOutcome | None] = [None] * len(faults)
    for k, (i, res) in enumerate(done, 1):
        results[i] = res
        fault = faults[i]
        say(f"[{k}/{len(faults)}] {fault.id}: {res.status}"
            + (f" by {', '.join(res.killed_by)}" if res.killed_by else "")
            + (f" (crashed or timed out: {', '.join(res.errored_by)})" if res.errored_by else "")
            + (f" ({res.error})" if res.error and not res.killed else "")
            + f" ({res.seconds:.1f} s)")
        if on_result is not None:
            pending = tuple(f.id for f, r in zip(faults, results, strict=True) if r is None)
            on_result(Campaign(profile, seed, command, baseline,
                               tuple(r for r in results if r is not None),
                               round(time.perf_counter() - t0, 3), all_claims=all_claims,
                               pending=pending))
    return Campaign(profile, seed, command, baseline, tuple(results),
                    round(time.perf_counter() - t0, 3), all_claims=all_claims)
