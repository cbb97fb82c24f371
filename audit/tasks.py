"""The audit as executor tasks (``byzpgd audit --scheduler ADDRESS`` / ``--workers N``).

The audit's work is cut into *units*, each a pure function of its own arguments:

- a battery setting (:func:`.battery.measure_setting`: the user's rule and the reference
  aggregators on every attack and repetition of that setting; every random stream is drawn from
  ``[seed, setting id, ...]``);
- an end-to-end instance (:func:`.end_to_end.run_specs` on one spec; seeded by its spec).

:func:`make_tasks` packs the units into about ``TASKS_PER_THREAD`` tasks per worker thread
(longest first into the least loaded task, by a rough cost estimate :func:`unit_cost`; the
packing changes only the balance, never a result), and :func:`run_tasks` sends them through an
executor's ``as_completed`` (:class:`byzpgd.experiments.executors.DaskExecutor`, or any executor
of :mod:`byzpgd.experiments.loop`). Each task (:func:`run_task`) starts its **own**
:class:`~.sandbox.Sandbox` for the rule where it runs (``MODULE:CALLABLE`` must import there; the
``paths`` are passed along and must exist there), runs its units in order and closes the sandbox.

Merging (:func:`run_tasks`), so that the same seed and profile give the same verdict, reasons,
measurements and findings as the local run of :func:`.run.run_audit` (timings aside):

- rows and bias entries in setting order (:func:`.battery.merge`), end-to-end records in
  instance order (:func:`.end_to_end.summarise`);
- findings: every unit logs into a fresh :class:`~.sandbox.FindingLog` (its context set exactly
  as in the local run), and the logs are merged in the local run's order (the load of the first
  task, the settings, the instances, then what the sandboxes found when they closed), each
  finding deduplicated by the FindingLog's key (kind, message with digits ignored), its count
  summed and its context the first occurrence's. So for every per-call finding (exceptions,
  wrong shapes or dtypes, non-finite outputs, input mutations, memory, file system, processes)
  the merged list equals the local one. The ``output`` warning (a rule that prints) is rebuilt
  from every task's totals (:func:`output_message`);
- sandbox statistics: counters summed (the load counted once), the largest call time.

What differs from a local run, by construction: each task's sandbox has its own budget of
``max_timeouts`` timeouts and ``max_crashes`` crashes before it is disabled (locally one budget
for the whole audit), so a rule that hangs or crashes gets larger counts of those findings (the
verdict is 'fail' either way); ``files`` (files left in the working directory) is found per
sandbox; the end-to-end time budget runs from the start of each task's end-to-end part (locally
from the start of the phase); ``reference_cache`` is not used. A rule the workers cannot import is
a :class:`~.loader.UsageError` (exit code 2) saying so.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from . import battery as bat
from . import end_to_end as e2e
from .loader import UsageError
from .sandbox import Finding, FindingLog, Limits, Sandbox

TASKS_PER_THREAD = 2      # each task starts a sandbox (about 1 s): fewer, larger tasks than DaskExecutor.map
# rough cost of a unit in honest measurements (quick profile, coordinate median, this machine: an
# honest setting 0.15 s for 16 measurements, an attacked one about 2 s for 34, an end-to-end
# instance about 0.22 s); only the balance of the tasks depends on it
ATTACK_COST, INSTANCE_COST, WORST_CASE_GRID = 4.0, 25.0, 8
COUNTERS = ("calls", "failed_calls", "timeouts", "crashes", "starts", "memory_errors", "output_bytes")
SETTING, INSTANCE = "setting", "instance"


@dataclass(frozen=True)
class RuleSpec:
    """What a task needs to start the sandbox for the rule (the :class:`~.sandbox.Sandbox`
    arguments): ``target`` MODULE:CALLABLE, ``paths`` import folders (on the worker), the call
    and load time limits, the input kind, the resource ``limits`` and the ``setting`` (m, f) the
    rule is first built for."""

    target: str
    paths: tuple[str, ...]
    call_timeout: float
    load_timeout: float
    input_kind: str
    limits: Limits
    setting: tuple[int, int]


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``kind`` SETTING (``index`` = the setting's id) or INSTANCE (``index`` =
    the instance number, ``spec`` its end-to-end spec)."""

    kind: str
    index: int
    spec: dict | None = None


@dataclass(frozen=True)
class AuditTask:
    """One task: the rule, the profile config ``cfg``, ``f_max``, ``seed``, the ``references``,
    its ``units`` (settings in id order, then instances in order) and ``e2e_budget``, the seconds
    after the start of its end-to-end part after which its instances are skipped."""

    rule: RuleSpec
    cfg: dict
    f_max: int
    seed: int
    references: tuple[str, ...]
    units: tuple[Unit, ...]
    e2e_budget: float


@dataclass
class UnitResult:
    """What a unit gave: ``value`` (SETTING: (rows, bias entry or None) of
    :func:`.battery.measure_setting`; INSTANCE: the record of :func:`.end_to_end.run_specs`;
    None after a harness error), its ``findings`` (dicts of :meth:`Finding.to_dict`, in the
    order logged) and ``harness_error`` (the text of an unexpected exception of the harness)."""

    unit: Unit
    value: object
    findings: list[dict]
    harness_error: str | None = None


@dataclass
class TaskResult:
    """What a task sends back. ``usage_error``: the rule could not be loaded (the message; nothing
    else is set). ``description``, ``isolation``: of the rule's sandbox. ``load_findings``,
    ``load_output``, ``load_stats``: the findings, printed output (``{'calls', 'bytes', 'max',
    'head'}`` or None) and counters of starting the sandbox; ``stats``, ``output``: the counters
    and output of the calls after that (and of closing); ``units``: one
    :class:`UnitResult` per unit, in order; ``close_findings``: found when the sandbox closed."""

    usage_error: str | None = None
    description: str | None = None
    isolation: dict = field(default_factory=dict)
    load_findings: list[dict] = field(default_factory=list)
    load_output: dict | None = None
    load_stats: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    output: dict | None = None
    units: list[UnitResult] = field(default_factory=list)
    close_findings: list[dict] = field(default_factory=list)


@dataclass
class Merged:
    """The audit's measured part from the tasks: ``battery`` ({'settings', 'results', 'bias'},
    results empty after a harness error of a setting), ``end_to_end`` (:func:`.end_to_end.summarise`;
    None after a harness error of an instance), ``description`` and ``stats`` of the rule's
    sandbox, ``tasks`` (how many ran)."""

    battery: dict
    end_to_end: dict | None
    description: str | None
    stats: dict
    tasks: int


# --- the task ---------------------------------------------------------------------------------------
def describe_error(exc: BaseException) -> str:
    """'Type: message at file:line' (the innermost frame) for a harness error."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _output_info(sandbox: Sandbox) -> dict | None:
    # the sandbox keeps its printed-output totals in _output (same package; see Sandbox._collect_output)
    o = getattr(sandbox, "_output", None)
    return None if o is None else {k: o[k] for k in ("calls", "bytes", "max", "head")}


def _counters(stats: dict) -> dict:
    return {k: stats.get(k, 0) for k in COUNTERS}


def run_task(task: AuditTask) -> TaskResult:
    """Run ``task`` where it is (module docstring): start a sandbox for the rule, measure its units
    one after another (each with a fresh FindingLog; numeric libraries single-threaded, as the
    local run), close the sandbox. Never raises for the rule's misbehaviour: findings; a rule that
    does not load is ``usage_error``; an unexpected error of the harness in a unit is that unit's
    ``harness_error``."""
    from threadpoolctl import threadpool_limits

    r = task.rule
    load_log = FindingLog()
    load_log.context = {"phase": "load"}
    sandbox = Sandbox(r.target, paths=r.paths, call_timeout=r.call_timeout, load_timeout=r.load_timeout,
                      input_kind=r.input_kind, log=load_log, setting=r.setting, limits=r.limits)
    out = TaskResult()
    logs: list[FindingLog] = []
    close_log = FindingLog()
    try:
        try:
            out.description = sandbox.start()
        except UsageError as exc:
            return TaskResult(usage_error=str(exc))
        out.isolation = dict(sandbox.isolation)
        out.load_stats = _counters(sandbox.stats)
        out.load_output = _output_info(sandbox)
        sandbox._output = None    # the calls' output is totalled apart (merged by run_tasks)
        plan = {s.id: (s, atts, reps) for s, atts, reps in bat.plan(task.cfg, task.f_max)}
        deadline = None
        with threadpool_limits(limits=1):
            for u in task.units:
                log = FindingLog()
                logs.append(log)
                sandbox.log = log
                try:
                    if u.kind == SETTING:
                        s, atts, reps = plan[u.index]
                        value = bat.measure_setting(lambda mm, ff: sandbox.aggregator(mm, ff), s, atts, reps,
                                                    task.cfg, task.seed, references=task.references, log=log)
                    else:
                        if deadline is None:
                            deadline = time.perf_counter() + task.e2e_budget
                        value = e2e.run_specs(lambda mm, ff: sandbox.aggregator(mm, ff, strict=True),
                                              [u.spec], log=log, deadline=deadline)[0]
                    out.units.append(UnitResult(u, value, []))
                except Exception as exc:   # a harness bug must not lose the other units
                    out.units.append(UnitResult(u, None, [], describe_error(exc)))
        out.stats = {k: v - out.load_stats[k] for k, v in _counters(sandbox.stats).items()}
        out.stats["max_call_seconds"] = sandbox.stats["max_call_seconds"]
    finally:
        if logs:
            close_log.context = dict(logs[-1].context)
        sandbox.log = close_log
        sandbox.close()
    out.output = _output_info(sandbox)
    out.load_findings = [fd.to_dict() for fd in load_log.findings()]
    for ur, lg in zip(out.units, logs, strict=True):
        ur.findings = [fd.to_dict() for fd in lg.findings()]
    out.close_findings = [fd.to_dict() for fd in close_log.findings()]
    return out


# --- packing ----------------------------------------------------------------------------------------
def unit_cost(unit: Unit, plan: dict, cfg: dict) -> float:
    """A rough cost of ``unit`` in honest measurements (the constants above): a setting's
    repetitions times the sum over its attacks (1 without attack, ATTACK_COST per attack, the
    worst-case search restarts x (grid + maxfev) / grid); INSTANCE_COST per end-to-end instance."""
    if unit.kind == INSTANCE:
        return INSTANCE_COST
    _, atts, reps = plan[unit.index]
    worst = cfg["restarts"] * (WORST_CASE_GRID + cfg["maxfev"]) / WORST_CASE_GRID
    per = {bat.HONEST: 1.0, "worst_case": worst}
    return reps * sum(per.get(a, ATTACK_COST) for a in atts)


def make_tasks(rule: RuleSpec, cfg: dict, f_max: int, seed: int, references: tuple[str, ...], threads: int,
               e2e_budget: float, *, end_to_end: bool = True) -> list[AuditTask]:
    """The audit's units (every setting of :func:`.battery.plan`, then the ``cfg['e2e_instances']``
    end-to-end instances unless ``end_to_end`` is False) packed into at most TASKS_PER_THREAD x
    ``threads`` tasks: longest first (:func:`unit_cost`) into the least loaded task; within a task
    the settings in id order, then the instances in order. Every unit is in exactly one task."""
    if not (isinstance(threads, int) and threads >= 1):
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    plan = {s.id: (s, atts, reps) for s, atts, reps in bat.plan(cfg, f_max)}
    units = [Unit(SETTING, sid) for sid in sorted(plan)]
    if end_to_end:
        units += [Unit(INSTANCE, spec["instance"], spec)
                  for spec in e2e.instance_specs(cfg["e2e_instances"], seed)]
    k = max(1, min(len(units), TASKS_PER_THREAD * threads))
    bins: list[list[Unit]] = [[] for _ in range(k)]
    load = [0.0] * k
    for u in sorted(units, key=lambda u: -unit_cost(u, plan, cfg)):   # stable: ties keep unit order
        i = min(range(k), key=lambda j: (load[j], j))
        bins[i].append(u)
        load[i] += unit_cost(u, plan, cfg)
    order = {(u.kind, u.index): n for n, u in enumerate(units)}
    return [AuditTask(rule, dict(cfg), f_max, seed, tuple(references),
                      tuple(sorted(b, key=lambda u: order[(u.kind, u.index)])), float(e2e_budget))
            for b in bins if b]


# --- merging ----------------------------------------------------------------------------------------
def output_message(o: dict) -> str:
    """The ``output`` finding's message for the totals ``o`` (the format of
    :meth:`.sandbox.Sandbox._collect_output`)."""
    return (f"wrote {o['bytes']} bytes to stdout/stderr in {o['calls']} call(s) (at most {o['max']} in "
            f"one; captured, not shown); first lines: {o['head']!r}")


class _FindingMerger:
    """Findings of many logs into ``log`` in the order given (FindingLog's deduplication: counts
    summed, the first occurrence's message and context); the ``output`` findings become one,
    whose totals are added up by :meth:`output` calls."""

    def __init__(self, log: FindingLog):
        self.log, self.out_finding, self.out_head = log, None, None
        self.totals = {"calls": 0, "bytes": 0, "max": 0}

    def add(self, fd: dict, output_info: dict | None = None):
        """Merge ``fd``; ``output_info``: the printed-output totals of the sandbox that logged it."""
        if fd["kind"] == "output":
            if self.out_finding is None:
                self.out_finding = self._add(fd)
                self.out_head = (output_info or {}).get("head", "")
            return
        self._add(fd)

    def _add(self, fd: dict) -> Finding:
        before = len(self.log.findings())
        self.log.context = dict(fd["context"])
        item = self.log.add(fd["kind"], fd["message"], fd["severity"])
        if len(self.log.findings()) > before:
            item.count = fd["count"]
        else:
            item.count += fd["count"] - 1
        return item

    def output(self, info: dict | None):
        if info is not None:
            self.totals = {"calls": self.totals["calls"] + info["calls"],
                           "bytes": self.totals["bytes"] + info["bytes"],
                           "max": max(self.totals["max"], info["max"])}

    def finish(self):
        if self.out_finding is not None:
            self.out_finding.message = output_message({**self.totals, "head": self.out_head})
            self.out_finding.count = self.totals["calls"]


def run_tasks(executor, rule: RuleSpec, cfg: dict, f_max: int, seed: int, references: tuple[str, ...],
              log: FindingLog, *, e2e_budget: float, threads: int | None = None,
              say: Callable[[str], None] | None = None) -> Merged:
    """Run the audit's battery and end-to-end instances as tasks of ``executor`` (anything with
    ``as_completed(fn, items)``) and merge them (module docstring); the findings go into ``log``
    (with harness errors of the tasks as ``harness_error`` findings, as in the local run).
    ``threads``: the executor's worker threads (default: its ``threads()`` or ``jobs``, else 1).
    Raises :class:`~.loader.UsageError` when a task could not load the rule; an exception of the
    executor (e.g. :class:`byzpgd.experiments.executors.ClusterError`) propagates."""
    say = say or (lambda msg: None)
    if threads is None:
        threads = executor.threads() if hasattr(executor, "threads") else int(getattr(executor, "jobs", 1))
    tasks = make_tasks(rule, cfg, f_max, seed, references, max(1, int(threads)), e2e_budget)
    sets = [s for s, _, _ in bat.plan(cfg, f_max)]
    results: list[TaskResult | None] = [None] * len(tasks)
    for done, (i, res) in enumerate(executor.as_completed(run_task, tasks), 1):
        if res.usage_error is not None:
            raise UsageError(f"{res.usage_error} (loading the rule where the audit's tasks run: "
                             f"{rule.target} must be importable there, and the --path folders must exist "
                             f"there: {list(rule.paths)})")
        results[i] = res
        units = tasks[i].units
        say(f"task {done}/{len(tasks)} done: {sum(u.kind == SETTING for u in units)} setting(s), "
            f"{sum(u.kind == INSTANCE for u in units)} end-to-end instance(s)")
    first = results[0]
    by_unit: dict[tuple[str, int], tuple[UnitResult, int]] = {}
    for t, res in enumerate(results):
        for ur in res.units:
            by_unit[(ur.unit.kind, ur.unit.index)] = (ur, t)
    merger = _FindingMerger(log)
    for fd in first.load_findings:
        merger.add(fd, first.load_output)
    merger.output(first.load_output)
    for res in results:
        merger.output(res.output)

    def merge_unit(key) -> UnitResult:
        ur, t = by_unit[key]
        for fd in ur.findings:
            merger.add(fd, results[t].output)
        return ur

    setting_results = [merge_unit((SETTING, s.id)) for s in sets]
    battery = {"settings": [s.to_dict() for s in sets], "results": []}
    errs = [(ur.unit, ur.harness_error) for ur in setting_results if ur.harness_error]
    if errs:
        log.context = {"phase": "battery"}
        log.add("harness_error", f"the audit's battery phase stopped: {errs[0][1]} "
                f"(setting {errs[0][0].index})")
    else:
        battery = bat.merge(sets, [ur.value for ur in setting_results])
    instances = sorted(k for k in by_unit if k[0] == INSTANCE)
    instance_results = [merge_unit(k) for k in instances]
    errs = [(ur.unit, ur.harness_error) for ur in instance_results if ur.harness_error]
    summary = None
    if errs:
        log.context = {"phase": "end_to_end"}
        log.add("harness_error", f"the audit's end_to_end phase stopped: {errs[0][1]} "
                f"(instance {errs[0][0].index})")
    elif instance_results:
        summary = e2e.summarise([ur.value for ur in instance_results])
    for res in results:
        for fd in res.close_findings:
            merger.add(fd, res.output)
    merger.finish()
    stats = dict(first.load_stats)
    for res in results:
        for k in COUNTERS:
            stats[k] += res.stats.get(k, 0)
    stats["max_call_seconds"] = max(res.stats.get("max_call_seconds", 0.0) for res in results)
    stats["limits"] = {"memory_mib": rule.limits.memory_mib, "file_size_mib": rule.limits.file_size_mib,
                       "processes": rule.limits.processes}
    stats["isolation"] = dict(first.isolation)
    return Merged(battery, summary, first.description, stats, len(tasks))

