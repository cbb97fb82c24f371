"""The whole audit as one function: :func:`run_audit` returns the typed
:class:`~.result.AuditResult` (audit.json is its ``to_json``).

Order: validate the arguments (:class:`~.loader.UsageError` on a bad one), start the sandbox
(a bad target is a UsageError too), run the battery, run ByzantinePGD end to end, fit the slopes
against the rates (:mod:`.rates_fit`), estimate the rule's (f, κ)-robustness (:mod:`.kappa`), grade
(:mod:`.verdict`: 'pass', 'suboptimal', 'inconclusive' or 'fail').
The harness never lets the user's code crash it: every failure of the user
code is a finding, and an unexpected error of the harness itself is recorded as a
``harness_error`` finding (the verdict is then 'fail') so that the report is still written.

With an ``executor`` (``byzpgd audit --scheduler ADDRESS`` / ``--workers N``: a
:class:`byzpgd.experiments.executors.DaskExecutor`), the battery's settings and the end-to-end
instances run as tasks on it, each task with its own sandbox for the rule where it runs, and are
merged in order (:mod:`.tasks`): same verdict, reasons, measurements and findings as without it
(timings aside; :mod:`.tasks` lists what differs for a rule that hangs or crashes).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable

from threadpoolctl import threadpool_limits

from ..algorithms.aggregators import AGGREGATORS, PAPER_AGGREGATORS
from ..experiments.executors import ClusterError
from . import battery as bat
from . import tasks as audit_tasks
from .end_to_end import run_end_to_end
from .loader import INPUT_KINDS, UsageError, parse_target
from .rates_fit import TOLERANCE, empirical_constants, sweep_slopes
from .result import AuditResult, AuditSettings, BiasEntry, EndToEnd, Finding, KappaSummary, Measurement
from .sandbox import FindingLog, Sandbox
from .verdict import BIAS_LEVEL, BREAKDOWN, FACTOR, SLACK, grade

E2E_BUDGET_SECONDS = {"quick": 60.0, "ci": 300.0, "deep": 3600.0}


def _harness_error(log: FindingLog, phase: str, exc: BaseException):
    log.context = {"phase": phase}
    log.add("harness_error", f"the audit's {phase} phase stopped: {audit_tasks.describe_error(exc)}")


def validate(target: str, *, f=None, alpha=None, profile="quick", m=None, references=PAPER_AGGREGATORS,
             call_timeout=10.0, input_kind="numpy", factor=FACTOR) -> tuple[dict, int]:
    """(profile config, f_max); raises UsageError naming the bad argument."""
    parse_target(target)
    try:
        cfg = bat.profile_config(profile)
        if m is not None:
            cfg["m"] = m
        f_max = bat.byzantine_count(cfg["m"], f, alpha)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    bad = [r for r in references if r not in AGGREGATORS]
    if bad or not references:
        raise UsageError(f"references must be a non-empty list of {sorted(AGGREGATORS)}, "
                         f"got {list(references)}")
    if not (isinstance(call_timeout, int | float) and math.isfinite(call_timeout) and call_timeout > 0):
        raise UsageError(f"call_timeout must be a positive number of seconds, got {call_timeout!r}")
    if input_kind not in INPUT_KINDS:
        raise UsageError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    if input_kind == "torch" and importlib.util.find_spec("torch") is None:
        raise UsageError("input_kind 'torch' (--torch) needs the torch package, which is not installed")
    if not (isinstance(factor, int | float) and factor >= 1):
        raise UsageError(f"factor must be >= 1, got {factor!r}")
    return cfg, f_max


def run_audit(target: str, *, f: int | None = None, alpha: float | None = None, profile: str = "quick",
              seed: int = 0, m: int | None = None, paths=(), call_timeout: float = 10.0,
              load_timeout: float = 120.0, references=PAPER_AGGREGATORS, input_kind: str = "numpy",
              factor: float = FACTOR, progress: Callable[[str], None] | None = None,
              command: str | None = None, reference_cache: dict | None = None, executor=None,
              assume_finite: bool = False, kappa: bool = True) -> AuditResult:
    """Audit ``target`` (``MODULE:CALLABLE``) and return the report (module docstring): a dict with
    'verdict' ('pass', 'suboptimal' or 'fail'), 'reasons', 'notes', 'findings', the measurements
    and the rate fits. ``reference_cache``: see :func:`.battery.run_battery` (tests, benchmarks;
    not used with an executor). ``executor``: None (this process and one sandbox, the default) or
    an executor with ``as_completed`` that runs the battery and the end-to-end instances as tasks
    (:func:`.tasks.run_tasks`; ``paths`` must exist where they run); a rule the tasks cannot load
    is a UsageError, a cluster that loses a task for good a
    :class:`~byzpgd.experiments.executors.ClusterError`."""
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    references = tuple(references)
    cfg, f_max = validate(target, f=f, alpha=alpha, profile=profile, m=m, references=references,
                          call_timeout=call_timeout, input_kind=input_kind, factor=factor)
    log = FindingLog()
    sandbox = Sandbox(target, paths=paths, call_timeout=call_timeout, load_timeout=load_timeout,
                      input_kind=input_kind, log=log, setting=(cfg["m"], f_max))
    battery = {"settings": [s.to_dict() for s in bat.settings(cfg, f_max)], "results": []}
    e2e = None
    description, stats = None, None
    if executor is not None:
        try:
            rule = audit_tasks.RuleSpec(target, tuple(str(p) for p in paths), float(call_timeout),
                                        float(load_timeout), input_kind, sandbox.limits, (cfg["m"], f_max))
            say(f"battery and end to end as tasks on the executor ({cfg['e2e_instances']} ByzantinePGD "
                "run(s) under the saddle attack)")
            merged = audit_tasks.run_tasks(executor, rule, cfg, f_max, seed, references, log,
                                           e2e_budget=E2E_BUDGET_SECONDS[profile], say=say)
            battery, e2e = merged.battery, merged.end_to_end
            description, stats = merged.description, merged.stats
            say(f"loaded {target}: {description or 'FAILED (see findings)'}; {merged.tasks} task(s) done "
                f"in {time.perf_counter() - t0:.1f} s")
        except (UsageError, ClusterError):
            raise
        except Exception as exc:  # a harness bug must not lose the report
            _harness_error(log, "battery", exc)
        finally:
            sandbox.close()
    else:
        try:
            log.context = {"phase": "load"}
            description = sandbox.start()       # UsageError propagates (exit code 2)
            say(f"loaded {target}: {description or 'FAILED (see findings)'}")
            if description is None:             # a load error: one finding, nothing to measure
                say("the rule did not load: no battery, no end-to-end runs")
            if description is not None:
                with threadpool_limits(limits=1):
                    try:
                        def tick(done, total, row):
                            if done == total or done % max(1, total // 10) == 0:
                                say(f"battery: {done}/{total} (setting m = {row['m']}, n = {row['n']}, "
                                    f"f = {row['f']}, attack {row['attack']}: "
                                    f"Delta = {row['delta_empirical']:.4g})")
                        battery = bat.run_battery(lambda mm, ff: sandbox.aggregator(mm, ff), cfg, f_max, seed,
                                                  references=references, log=log, progress=tick,
                                                  reference_cache=reference_cache)
                    except Exception as exc:  # a harness bug must not lose the report
                        _harness_error(log, "battery", exc)
                    say(f"battery done in {time.perf_counter() - t0:.1f} s; end to end: "
                        f"{cfg['e2e_instances']} ByzantinePGD run(s) under the saddle attack")
                    try:
                        e2e = run_end_to_end(lambda mm, ff: sandbox.aggregator(mm, ff, strict=True),
                                             cfg["e2e_instances"], seed, log=log,
                                             deadline=time.perf_counter() + E2E_BUDGET_SECONDS[profile])
                    except Exception as exc:
                        _harness_error(log, "end_to_end", exc)
        finally:
            sandbox.close()
        description, stats = sandbox.description, dict(sandbox.stats)
    slopes, constants = {}, {}
    try:
        if battery["results"]:
            slopes = sweep_slopes(battery["results"], battery["settings"], references)
            constants = empirical_constants(battery["results"], references)
    except Exception as exc:
        _harness_error(log, "rates", exc)
    kappa_summary, kappa_log = None, FindingLog()
    if kappa and description is not None:
        say("(f, kappa)-robustness: adversarial search for the rule's kappa")
        # its own sandbox and finding log: the kappa phase's findings are reported apart (phase 'kappa'),
        # and its calls under sandbox['kappa_calls']
        ks = Sandbox(target, paths=paths, call_timeout=call_timeout, load_timeout=load_timeout,
                     input_kind=input_kind, log=kappa_log, setting=(cfg["m"], f_max))
        try:
            kappa_log.context = {"phase": "kappa"}
            ks.start()
            with threadpool_limits(limits=1):
                kappa_summary = _kappa(lambda mm, ff: ks.aggregator(mm, ff), cfg, f_max, seed, profile,
                                       registry_name(target))
        except UsageError:
            raise
        except Exception as exc:
            _harness_error(log, "kappa", exc)
        finally:
            ks.close()
        stats = {**(stats if stats is not None else dict(sandbox.stats)), "kappa_calls": ks.stats["calls"]}
    settings = AuditSettings(
        target=target, profile=profile, seed=seed, f_max=f_max, references=references,
        attacks=tuple(bat.BATTERY_ATTACKS), description=description, input_kind=input_kind,
        alpha_max=_alpha_max(battery["settings"], cfg), call_timeout=call_timeout,
        assume_finite=assume_finite,
        profile_config={k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        criterion=criterion(factor), command=command)
    return assemble(settings, battery, e2e, log.findings() + kappa_log.findings(), slopes, constants,
                    kappa_summary, factor=factor,
                    sandbox=stats if stats is not None else dict(sandbox.stats),
                    seconds=round(time.perf_counter() - t0, 3))


def criterion(factor: float = FACTOR) -> dict:
    """The grade's constants and a one-paragraph statement of it (docs/audit.md, "The verdict")."""
    return {"factor": factor, "slack": SLACK, "breakdown": BREAKDOWN, "bias_level": BIAS_LEVEL,
            "slope_tolerance": TOLERANCE,
            "statement": "fail: an error-level finding, a non-finite output/exception/timeout on NaN or "
                         f"+-Inf Byzantine rows (unless --assume-finite), breakdown (worst Delta under "
                         f"attack > {BREAKDOWN:g} x the best reference's + {SLACK:g} x lower bound, or "
                         "infinite), no decrease in n under attack (slope interval above -1/4), a "
                         "significant bias without attack larger than the best reference's Delta, or "
                         "Theorem 1 violated end to end; inconclusive: a graded slope (m at alpha = 0, n "
                         "with and without attack, alpha) whose interval contains its threshold (the "
                         f"theory's exponent + {TOLERANCE:g}); suboptimal: worst Delta > {factor:g} x the "
                         f"best reference's + {SLACK:g} x lower bound at some setting, or a graded slope "
                         "refuted; pass: none of these, every graded slope shown at the rate"}


def _alpha_max(battery_settings: list[dict], cfg: dict) -> float | None:
    s_max = max((s for s in battery_settings if s["m"] == cfg["m"]),
                key=lambda s: (s["f"], s["n"] == cfg["n0"]), default=None)
    return None if s_max is None else s_max["alpha"]


def _kappa(factory, cfg: dict, f_max: int, seed: int, profile: str, name: str | None = None) -> KappaSummary:
    from .kappa import kappa_summary
    return kappa_summary(factory, cfg["m"], f_max, cfg["d"], seed, profile, name=name)


def registry_name(target: str) -> str | None:
    """The registry name (``byzpgd.algorithms.aggregators.AGGREGATORS``) of a target that *is* one of
    the project's own plain aggregators (``byzpgd.algorithms.aggregators:coordinate_median`` ->
    'median'), so that κ̂ is checked against that rule's proven bound; None for any other target."""
    module, _, attr = target.partition(":")
    if not module.startswith("byzpgd.algorithms.aggregators"):
        return None
    for name, factory in AGGREGATORS.items():
        try:
            fn = factory(30, 3)
        except Exception:
            continue
        if getattr(fn, "__name__", None) == attr and getattr(fn, "__module__", "").startswith(
                "byzpgd.algorithms.aggregators"):
            return name
    return None


def assemble(settings: AuditSettings, battery: dict, e2e: dict | None, findings, slopes: dict,
             constants: dict, kappa: KappaSummary | None, *, factor: float = FACTOR,
             sandbox: dict | None = None, seconds: float | None = None) -> AuditResult:
    """The typed :class:`~.result.AuditResult` of the battery's dict rows, the end-to-end summary, the
    findings (sandbox ``Finding`` objects or dicts), the fits and κ̂, graded by :func:`.verdict.grade`."""
    rows = tuple(Measurement.from_row(r) for r in battery["results"])
    found = tuple(Finding.from_dict(fd if isinstance(fd, dict) else fd.to_dict()) for fd in findings)
    bias = tuple(BiasEntry.from_dict(b) for b in battery.get("bias", []))
    end = None if e2e is None else EndToEnd.from_dict(e2e)
    if kappa is not None and kappa.exceeds_upper:
        msg = (f"the rule's empirical kappa {kappa.kappa_hat:.4g} at n = {kappa.n}, f = {kappa.f} exceeds "
               f"its proven upper bound {kappa.upper_bound:.4g} ({kappa.upper_source}): the implementation "
               "is wrong")
        found += (Finding("kappa_above_proven_bound", msg, "error", 1, {"phase": "kappa"}),)
    g = grade(list(rows), end, list(found), slopes=slopes, bias=list(bias),
              assume_finite=settings.assume_finite, factor=factor, slack=SLACK)
    return AuditResult(settings=settings, grade=g, measurements=rows,
                       battery_settings=tuple(battery["settings"]), bias=bias, slopes=dict(slopes),
                       constants=constants, kappa=kappa, end_to_end=end, findings=found,
                       sandbox=dict(sandbox or {}), seconds=seconds)


def audit_in_process(factory: Callable[[int, int], Callable], *, profile: str = "quick", seed: int = 0,
                     f: int | None = None, alpha: float | None = None, references=PAPER_AGGREGATORS,
                     end_to_end: bool = True, reference_cache: dict | None = None,
                     assume_finite: bool = False, kappa: bool = False,
                     target: str = "in-process") -> AuditResult:
    """The audit's battery, rate fits, end-to-end runs and graded verdict for ``factory(m, f) ->
    aggregate``, called **in this process** (no sandbox: for the project's own aggregators, tests
    and benchmarks/audit_seeds.py; a user's rule goes through :func:`run_audit`). The sandbox
    only carries the calls, so on the same inputs the verdict is the same; a non-finite output
    becomes a ``non_finite_output`` finding as in the sandbox, an exception propagates. Returns the
    typed :class:`~.result.AuditResult` (``kappa``: also estimate κ̂, off by default in tests)."""
    import numpy as np
    t0 = time.perf_counter()
    cfg = bat.profile_config(profile)
    f_max = bat.byzantine_count(cfg["m"], f, alpha)
    findings: list[dict] = []

    def checked(m, ff):
        agg = factory(m, ff)

        def call(X):
            out = np.asarray(agg(X), dtype=np.float64)
            if not np.all(np.isfinite(out)):
                if not findings:
                    findings.append({"kind": "non_finite_output", "severity": "error", "count": 0,
                                     "message": "returned a non-finite output on Byzantine input",
                                     "context": {}})
                findings[0]["count"] += 1
            return out
        return call
    with threadpool_limits(limits=1), np.errstate(all="ignore"):
        battery = bat.run_battery(checked, cfg, f_max, seed, references=tuple(references),
                                  reference_cache=reference_cache)
        e2e = run_end_to_end(checked, cfg["e2e_instances"], seed) if end_to_end else None
    references = tuple(references)
    slopes = sweep_slopes(battery["results"], battery["settings"], references)
    constants = empirical_constants(battery["results"], references)
    kappa_summary = _kappa(checked, cfg, f_max, seed, profile) if kappa else None
    settings = AuditSettings(
        target=target, profile=profile, seed=seed, f_max=f_max, references=references,
        attacks=tuple(bat.BATTERY_ATTACKS), alpha_max=_alpha_max(battery["settings"], cfg),
        assume_finite=assume_finite, criterion=criterion(),
        profile_config={k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()})
    return assemble(settings, battery, e2e, findings, slopes, constants, kappa_summary,
                    seconds=round(time.perf_counter() - t0, 3))
