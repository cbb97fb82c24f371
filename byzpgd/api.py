"""The Python API the command line is built on: :func:`verify` and :func:`audit`.

``byzpgd.verify(claims=None, profile="ci", seed=0, jobs=1, progress=False)`` runs the claim checks
exactly as ``byzpgd verify`` does (:func:`byzpgd.properties.registry.run_check` per claim) and
returns a :class:`VerifyReport` (a :class:`byzpgd.reports.model.Report`: ``.claims`` are typed
:class:`~byzpgd.properties.result.ClaimResult` objects with ``.id``, ``.status`` and every report
field; ``.ok``; ``.write(dir)`` writes report.json, report.md and report.html as the CLI does).
``claims`` are ids or shell-style patterns (``byzantine_pgd.*``), see :func:`select_claims`.

``byzpgd.audit(rule, f=None, alpha=None, profile="ci", seed=0, ...)`` audits an aggregator given
as ``"MODULE:CALLABLE"`` or as the object itself (a function, a class, an instance with an
``aggregate`` method) and returns an :class:`AuditResult` (``.verdict``, ``.reasons``,
``.findings``, ``.ok``, ``.write(dir)`` = audit.json, audit.md, audit.html as ``byzpgd audit``).
The rule always runs in the audit's sandbox (a separate, contained process, see
:mod:`byzpgd.audit.sandbox`), which loads it by ``MODULE:CALLABLE``; an object is sent there
(:func:`sandbox_target`):

1. by import path, when ``obj.__module__ : obj.__qualname__`` imports back to the very same object
   (the folder the module was imported from is added to the sandbox's import path);
2. otherwise by value, into a private temporary folder with a small loader module that becomes
   the target: with ``cloudpickle`` if it is installed (it sends lambdas, closures and classes
   defined in ``__main__`` or inside functions); else a plain function (a lambda, a function
   defined inside another, one from ``__main__``) as its code object, defaults, closure values and
   the globals it uses (its module's, when that module can be imported; else the modules it uses
   by name and other values pickled); and any other object by stdlib :mod:`pickle` (an instance
   of an importable class, e.g. with parameters).

What cannot be sent (an instance of a class defined inside a function or in ``__main__`` without
cloudpickle, an object holding a lock or an open file, a closure over such a value ...) raises
:class:`RuleNotAuditable`, saying why and what to do.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import marshal
import os
import pickle
import pickletools
import shlex
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .audit import result as _result
from .progress import Progress
from .reports.model import Report

__all__ = ["verify", "audit", "select_claims", "VerifyReport", "AuditResult", "AuditReason",
           "AuditFinding", "ClaimSelectionError", "RuleNotAuditable", "sandbox_target",
           "verify_command", "AUDIT_VERDICTS"]

AUDIT_VERDICTS = ("pass", "suboptimal", "fail")


# =================================================================================================
# claim selection
# =================================================================================================
class ClaimSelectionError(ValueError):
    """An id or pattern of ``claims`` matches no registered claim (a usage error)."""


def _patterns(claims) -> list[str]:
    if isinstance(claims, str):
        items = claims.split(",")
    else:
        try:
            items = list(claims)
        except TypeError:
            raise ClaimSelectionError(f"claims must be ids or patterns (a string or a list of strings), "
                                      f"got {type(claims).__name__}") from None
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ClaimSelectionError(f"claims must be strings, got {item!r}")
        if item.strip():
            out.append(item.strip())
    if not out:
        raise ClaimSelectionError("claims is empty: give ids or patterns, or None for every claim")
    return out


def select_claims(claims: str | Iterable[str] | None = None, known: list[str] | None = None) -> list[str]:
    """The claim ids ``claims`` selects, in the order given (each pattern's matches in registry order,
    no id twice). ``claims``: None (every registered claim), a comma-separated string, or a list of
    ids and shell-style patterns (``*``, ``?``, ``[...]``: ``byzantine_pgd.*``). An id or pattern
    that matches nothing raises :class:`ClaimSelectionError` naming it."""
    if known is None:
        from .properties.registry import claim_ids
        known = claim_ids()
    if claims is None:
        return list(known)
    out: list[str] = []
    unmatched = []
    for pat in _patterns(claims):
        hits = [c for c in known if fnmatch.fnmatchcase(c, pat)]
        if not hits:
            unmatched.append(pat)
        out.extend(h for h in hits if h not in out)
    if unmatched:
        kind = "id(s) or pattern(s)" if any(ch in "".join(unmatched) for ch in "*?[") else "id(s)"
        raise ClaimSelectionError(f"unknown claim {kind} {unmatched}: no registered claim matches; "
                                  "see 'byzpgd claims'")
    return out


# =================================================================================================
# verify
# =================================================================================================
@dataclass(frozen=True)
class VerifyReport(Report):
    """The verification report (:class:`byzpgd.reports.model.Report`: fields ``profile``, ``seed``,
    ``command``, ``claims`` (list of ClaimResult), ``environment``, ``seconds``, ``extra``,
    ``illustration``; ``ok`` and ``summary``), plus :meth:`write`, lookup by claim id and
    ``draw_illustration`` (whether :meth:`write` computes the escape illustration of report.html
    when the report has none: it is drawn only when a report is written)."""

    draw_illustration: bool = field(default=True, repr=False, compare=False)

    def write(self, out_dir, *, escape_illustration: bool = True,
              say: Callable[[str], None] | None = None) -> list[Path]:
        """Write DIR/report.json, report.md and report.html (the files of ``byzpgd verify --out
        DIR``, as one atomic set: either the three new files or the previous ones); returns the
        paths. ``say``: where a failure to compute the illustration is reported."""
        from .reports import write_all

        report = self
        if escape_illustration and self.draw_illustration and self.illustration is None:
            report = replace(self, illustration=_illustration(say or (lambda msg: None)))
        return write_all(Path(out_dir), report, escape_illustration=escape_illustration)

    def __getitem__(self, claim_id: str):
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"no claim {claim_id!r} in this report; it has {[c.id for c in self.claims]}")

    @property
    def failed(self) -> list:
        """The claims that do not hold (violated, error or inconclusive)."""
        return [c for c in self.claims if not c.ok]

    @classmethod
    def of(cls, report: Report, draw_illustration: bool = True) -> VerifyReport:
        return cls(**{f.name: getattr(report, f.name) for f in fields(Report)},
                   draw_illustration=draw_illustration)


def verify_command(ids: list[str] | None, profile: str, seed: int, out: str | os.PathLike = "DIR",
                   claims_arg: str | None = None, batched: bool = False, complete: bool = False,
                   max_seconds: float | None = None) -> str:
    """The ``byzpgd verify`` command that reproduces a run (``claims_arg`` as the user wrote it, else
    the ids joined by commas; none for every claim)."""
    sel = claims_arg if claims_arg is not None else (",".join(ids) if ids is not None else None)
    return shlex.join(["byzpgd", "verify", "--profile", profile, "--seed", str(seed),
                       *(["--claims", sel] if sel else []), *(["--batched"] if batched else []),
                       *(["--complete"] if complete else []),
                       *(["--max-seconds", f"{max_seconds:g}"] if max_seconds is not None else []),
                       "--out", str(out)])


class _InstanceNote:
    """run_check's progress(done, total) → the bar's note ('claim: done/total instances')."""

    def __init__(self, bar: Progress | None, claim_id: str):
        self.bar, self.claim_id = bar, claim_id

    def __call__(self, done, total):
        if self.bar is not None:
            self.bar.set(self.bar.done, note=f"{self.claim_id}: {done}/{total} instances")


def _check_one(task):
    from .properties.early import complete_instances
    from .properties.registry import run_check
    from .properties.runner import batched_trials
    claim_id, profile, seed, batched, complete = task
    with batched_trials(batched), complete_instances(complete):
        return run_check(claim_id, profile, seed)


def _worker_init():
    """Pool workers: Ctrl-C is the parent's to handle (it ends them); SIGTERM/SIGHUP at their
    defaults (so the pool's terminate() ends a worker even though the fork copied the CLI's
    handlers); and a worker dies with its parent, even a SIGKILLed one (byzpgd.stopping)."""
    from .stopping import worker_init
    worker_init(ignore_sigint=True)


def fmt_ratio(x) -> str:
    """A worst ratio for a progress line (:func:`byzpgd.reports.words.ratio_text`: '—' when there is
    none, '∞' when infinite)."""
    from .reports.words import ratio_text
    return ratio_text(x)


def claim_line(k: int, total: int, result) -> str:
    """'[k/total] id: status (instances, non-vacuous, violations, worst ratio, seconds)', and,
    for a claim decided early (:mod:`byzpgd.properties.early`), after how many instances."""
    early = (result.details or {}).get("early_decision")
    decided = "" if not early else (f"; decided after {early['instances_run']}/"
                                    f"{early['instances_planned']} instances: {early['reason']}")
    from .reports.words import counts_text
    return (f"[{k}/{total}] {result.id}: {result.status} ({counts_text(result)}, "
            f"{result.seconds:.1f} s{decided})")


class VerifyTimeout(Exception):
    """``max_seconds`` of a verify ran out (:func:`verify` returns the partial report)."""


def _end_pool(pool) -> None:
    """End a process pool's workers now instead of waiting for their checks (the processes are
    taken before shutdown, which forgets them); one that ignores SIGTERM for 5 s is killed."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)


def _run_checks(ids: list[str], profile: str, seed: int, jobs: int, bar: Progress | None,
                executor=None, batched: bool = False, *, complete: bool = False,
                deadline: float | None = None, on_result: Callable[[dict], None] | None = None) -> dict:
    """The results by claim id, as they finish. ``on_result(results)`` after each one (the
    partial report). ``deadline`` (time.monotonic()): past it, :class:`VerifyTimeout` (the
    workers are ended; ``results`` so far are on the exception's ``results``); the checks then
    run in worker processes even with ``jobs`` = 1, so a claim still running can be stopped.
    With a Dask ``executor`` the deadline is looked at between claims only."""
    from .properties.early import complete_instances
    from .properties.registry import run_check
    from .properties.runner import batched_trials

    results: dict = {}

    def done(k, result):
        results[result.id] = result
        if bar is not None:
            bar.say(claim_line(k, len(ids), result))
            if result.replay:
                bar.say(f"    replay: {result.replay}")
            bar.set(k, note=f"{result.id}: {result.status}")
        if on_result is not None:
            on_result(results)

    def timed_out() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def timeout():
        exc = VerifyTimeout(f"max_seconds ran out with {len(ids) - len(results)} claim(s) unfinished")
        exc.results = results
        return exc

    if executor is not None:   # a Dask cluster (byzpgd.scaleout): one task per claim
        tasks = [(cid, profile, seed, batched, complete) for cid in ids]
        for k, (_, result) in enumerate(executor.as_completed(_check_one, tasks), 1):
            done(k, result)
            if timed_out() and k < len(ids):
                raise timeout()
        return results
    if jobs == 1 and deadline is None:
        for k, cid in enumerate(ids, 1):
            if bar is not None:
                bar.set(k - 1, note=f"{cid}: running")
            with batched_trials(batched), complete_instances(complete):
                done(k, run_check(cid, profile, seed, progress=_InstanceNote(bar, cid)))
        return results
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init)
    try:
        futures = {pool.submit(_check_one, (cid, profile, seed, batched, complete)): cid for cid in ids}
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            for k, fut in enumerate(as_completed(futures, timeout=remaining), 1):
                done(k, fut.result())
                if timed_out() and k < len(ids):
                    raise timeout()
        except FuturesTimeout:
            raise timeout() from None
    except BaseException:
        # Ctrl-C, SIGTERM/SIGHUP (byzpgd.stopping), max_seconds or any error: end the workers now
        _end_pool(pool)
        raise
    pool.shutdown(wait=True)
    return results


def _illustration(say):
    from .experiments.figures import escape_illustration

    try:
        return escape_illustration()
    except Exception as exc:  # a figure never costs the report
        say(f"no escape illustration: {type(exc).__name__}: {exc}")
        return None


def _as_progress(progress, desc: str, unit: str) -> tuple[Progress | None, bool]:
    """(the Progress to report to, whether this call owns it)."""
    if isinstance(progress, Progress):
        return progress, False
    if progress is True:
        return Progress(desc, unit=unit), True
    if progress in (None, False):
        return None, False
    raise TypeError(f"progress must be True, False, None or a byzpgd.progress.Progress, got {progress!r}")


def verify(claims: str | Iterable[str] | None = None, profile: str = "ci", seed: int = 0, *, jobs: int = 1,
           progress: bool | Progress | None = False, illustration: bool = True,
           command: str | None = None, executor=None, batched: bool = False, complete: bool = False,
           max_seconds: float | None = None,
           on_partial: Callable[[VerifyReport], None] | None = None) -> VerifyReport:
    """Check the claims ``claims`` (ids or patterns, :func:`select_claims`; None = all) on
    ``profile`` ('quick', 'ci' or 'deep') with ``seed``, in ``jobs`` processes, and return the
    :class:`VerifyReport` (module docstring). The result of each claim is exactly the one ``byzpgd
    verify`` reports for the same profile and seed (both call
    :func:`byzpgd.properties.registry.run_check`).

    ``progress``: False (silent, the default), True (a bar on a terminal, periodic lines otherwise)
    or a :class:`byzpgd.progress.Progress`. ``illustration``: draw the escape figure of report.html
    when the report is written (:meth:`VerifyReport.write`). ``command``: the command recorded in
    the report (default: the ``byzpgd verify`` command that reproduces the run). ``executor``: an
    executor with ``as_completed`` (a :class:`byzpgd.experiments.executors.DaskExecutor`, see
    :mod:`byzpgd.scaleout`) that runs one task per claim instead of ``jobs`` local processes; the
    results are the same. ``batched``: the theorem and escape claims run their instances as batched trials
    (:func:`byzpgd.properties.runner.check_claim`; the same statuses and counts, values equal up
    to rounding; the fault campaign injects into the one-at-a-time loop, the default).
    ``complete``: every claim runs every instance of the profile (default: a claim stops drawing
    instances once its verdict cannot change, :mod:`byzpgd.properties.early`).
    ``max_seconds``: the whole run's wall-clock limit; when it runs out the claims still running are
    ended and the report returned is partial (``partial == 'max_seconds'``, the unfinished claims in
    ``pending``). ``on_partial(report)`` is called after each finished claim with the partial report
    so far (``partial == 'running'``): ``byzpgd verify`` writes it. Raises
    :class:`ClaimSelectionError` or ValueError for bad arguments, before any check runs."""
    from .properties.profiles import PROFILES
    from .reports.json_report import build_report

    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, int | float)
                                    or not 0 < max_seconds < float("inf")):
        raise ValueError(f"max_seconds must be a finite number > 0, got {max_seconds!r}")
    ids = select_claims(claims)
    bar, own = _as_progress(progress, "byzpgd verify", "claims")
    t0 = time.perf_counter()
    command = command or verify_command(None if claims is None else ids, profile, seed, batched=bool(batched),
                                        complete=bool(complete), max_seconds=max_seconds)

    def make(results: dict, partial: str | None) -> VerifyReport:
        done = [c for c in ids if c in results]
        report = build_report(profile, seed, [results[c] for c in done], command,
                              seconds=time.perf_counter() - t0)
        pending = tuple(c for c in ids if c not in results)
        return VerifyReport.of(replace(report, partial=partial, pending=pending if partial else ()),
                               draw_illustration=illustration and partial is None)

    on_result = None if on_partial is None else (lambda results: on_partial(make(results, "running")))
    deadline = None if max_seconds is None else time.monotonic() + float(max_seconds)
    try:
        if bar is not None:
            bar.set(0, total=len(ids))
        try:
            results = _run_checks(ids, profile, seed, jobs, bar, executor, bool(batched),
                                  complete=bool(complete), deadline=deadline, on_result=on_result)
        except VerifyTimeout as exc:
            return make(exc.results, "max_seconds")
        return make(results, None)
    finally:
        if own:
            bar.close()


# =================================================================================================
# audit
# =================================================================================================
class RuleNotAuditable(TypeError):
    """The rule cannot be sent to the audit's sandbox process (the message says why and what to do)."""


#: the audit's typed results (:mod:`byzpgd.audit.result`): ``byzpgd.audit`` returns an AuditResult
AuditResult = _result.AuditResult
AuditReason = _result.Reason
AuditFinding = _result.Finding


@dataclass(frozen=True)
class SandboxTarget:
    """How a rule reaches the sandbox: ``target`` (``MODULE:CALLABLE``), ``paths`` (extra import
    folders), ``how`` ('target' / 'import' / 'pickle' / 'cloudpickle' / 'value'), ``tmpdir`` (the temporary
    folder of a pickled rule, removed by :meth:`cleanup`)."""

    target: str
    paths: tuple[str, ...] = ()
    how: str = "target"
    tmpdir: str | None = None

    def cleanup(self) -> None:
        if self.tmpdir is not None:
            import shutil
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _module_root(module) -> str | None:
    """The sys.path folder ``module`` was imported from (None for builtins / namespace oddities)."""
    path = getattr(module, "__file__", None)
    if not path:
        return None
    p = Path(path).resolve()
    depth = module.__name__.count(".") + 1
    if p.stem == "__init__":
        depth += 1
    root = p
    for _ in range(depth):
        root = root.parent
    return str(root)


def _import_path(obj) -> tuple[str, str] | None:
    """(MODULE:QUALNAME, the module's root folder) if that imports back to ``obj`` itself."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not (isinstance(module_name, str) and isinstance(qualname, str)) or module_name == "__main__":
        return None
    if "<" in qualname or not all(p.isidentifier() for p in qualname.split(".")):
        return None
    if not all(p.isidentifier() for p in module_name.split(".")):
        return None
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except Exception:
            return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    if found is not obj:
        return None
    return f"{module_name}:{qualname}", _module_root(module) or ""


def _pickler():
    try:
        import cloudpickle  # optional: sends lambdas, closures and __main__ objects by value
        return cloudpickle, "cloudpickle"
    except ImportError:
        return pickle, "pickle"


def _main_references(data: bytes) -> list[str]:
    """Names a stdlib pickle looks up in ``__main__`` (which the sandbox cannot import)."""
    out, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "GLOBAL" and isinstance(arg, str) and arg.startswith("__main__ "):
            out.append(arg.split(" ", 1)[1])
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2 and strings[-2] == "__main__":
            out.append(strings[-1])
    return out


def _describe_obj(obj) -> str:
    name = getattr(obj, "__qualname__", None) or f"{type(obj).__qualname__} instance"
    return f"{name} (from {getattr(obj, '__module__', None) or type(obj).__module__})"


_HOW = {"pickle": "by pickle", "cloudpickle": "by cloudpickle", "value": "by value: its code, defaults, "
        "closure and globals"}
_ADVICE = ("define it at module level in an importable module (then it is audited by import path), "
           "install cloudpickle (which sends such objects by value), or pass 'MODULE:CALLABLE'")


def sandbox_target(rule, paths=()) -> SandboxTarget:
    """How ``rule`` is sent to the sandbox (module docstring); raises :class:`RuleNotAuditable`."""
    paths = tuple(str(Path(p).resolve()) for p in paths)
    if isinstance(rule, str):
        return SandboxTarget(rule, paths, "target")
    if not (callable(rule) or callable(getattr(rule, "aggregate", None))):
        raise RuleNotAuditable(f"the rule must be a callable, an object with an 'aggregate' method or a "
                               f"'MODULE:CALLABLE' string, got {type(rule).__name__}")
    found = _import_path(rule)
    if found is not None:
        target, root = found
        return SandboxTarget(target, tuple(dict.fromkeys((*paths, *([root] if root else [])))), "import")
    lib, how = _pickler()
    what = _describe_obj(rule)
    if how == "pickle" and isinstance(rule, types.FunctionType):
        data, loader = _function_by_value(rule, what), _FUNCTION_LOADER
        how = "value"
    else:
        data, loader = _pickled(rule, lib, how, what), _PICKLE_LOADER.format(lib=lib.__name__)
    tmpdir = tempfile.mkdtemp(prefix="byzpgd-rule-")
    name = f"_byzpgd_rule_{uuid.uuid4().hex[:12]}"
    Path(tmpdir, f"{name}.pkl").write_bytes(data)
    Path(tmpdir, f"{name}.py").write_text(
        f'"""Generated by byzpgd.audit: loads the rule {what} ({how})."""\n' + loader, encoding="utf-8")
    os.chmod(tmpdir, 0o755)   # readable by the sandbox (same user; it only reads)
    # the object may refer to the caller's modules by name: the sandbox gets the caller's import
    # path (the folders only; nothing else of the environment)
    here = [str(Path(p).resolve()) for p in sys.path if p and os.path.isdir(p)]
    return SandboxTarget(f"{name}:rule", tuple(dict.fromkeys((tmpdir, *paths, *here))), how, tmpdir)


_PICKLE_LOADER = """import {lib} as _lib
with open(__file__[:-3] + '.pkl', 'rb') as _fh:
    rule = _lib.load(_fh)
"""

_FUNCTION_LOADER = """import importlib as _il
import marshal as _marshal
import pickle as _pickle
import types as _types

with open(__file__[:-3] + '.pkl', 'rb') as _fh:
    _p = _pickle.load(_fh)
if _p["module"] is not None:
    _g = _il.import_module(_p["module"]).__dict__
else:
    _g = {"__builtins__": __builtins__, "__name__": "byzpgd_rule"}
    for _k, (_kind, _v) in _p["globals"].items():
        _g[_k] = _il.import_module(_v) if _kind == "module" else _v
rule = _types.FunctionType(_marshal.loads(_p["code"]), _g, _p["name"], _p["defaults"],
                           tuple(_types.CellType(_c) for _c in _p["closure"]) or None)
rule.__kwdefaults__ = _p["kwdefaults"]
rule.__qualname__ = _p["qualname"]
"""


def _pickled(rule, lib, how: str, what: str) -> bytes:
    try:
        data = lib.dumps(rule, protocol=4)
    except Exception as exc:
        cls = rule if isinstance(rule, type) else type(rule)
        if _import_path(cls) is None:
            why = (f"its class {cls.__qualname__} cannot be imported by name (a class defined inside a "
                   "function or created dynamically), so pickle cannot rebuild it there")
        elif "<locals>" in str(exc) or "<lambda>" in str(exc) or "local object" in str(exc):
            why = ("it holds a lambda, a closure or a class defined inside a function, which pickle sends "
                   f"by reference to a name that does not exist outside that function ({exc})")
        else:
            why = f"it cannot be pickled ({type(exc).__name__}: {exc})"
        raise RuleNotAuditable(f"cannot audit {what}: the rule runs in a separate sandbox process and "
                               f"{why}. To audit it, {_ADVICE}.") from exc
    if how == "pickle":
        main_refs = _main_references(data)
        if main_refs:
            raise RuleNotAuditable(f"cannot audit {what}: it refers to {main_refs} defined in __main__ (a "
                                   "script or an interactive session), which the sandbox process cannot "
                                   f"import. To audit it, {_ADVICE}.")
    return data


def _global_names(code) -> set[str]:
    """Names a code object (and the code objects nested in it) may look up as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _function_by_value(fn, what: str) -> bytes:
    """A plain function (a lambda, a function defined inside another, one from ``__main__``) as its
    code object (marshal: the sandbox runs the same interpreter), defaults and closure values
    (pickled), and its globals: the module's own when that module can be imported, else the names
    it uses (modules by name, other values pickled)."""
    module = getattr(fn, "__module__", None)
    mod = sys.modules.get(module) if module else None
    importable = (module not in (None, "__main__") and mod is not None and _module_root(mod) is not None)
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:
            raise RuleNotAuditable(f"cannot audit {what}: its closure has a variable that is not set yet. "
                                   f"To audit it, {_ADVICE}.") from None
    glob = {}
    if not importable:
        for name in sorted(_global_names(fn.__code__)):
            if name in fn.__globals__:
                v = fn.__globals__[name]
                glob[name] = ("module", v.__name__) if isinstance(v, types.ModuleType) else ("value", v)
    payload = {"code": marshal.dumps(fn.__code__), "name": fn.__name__, "qualname": fn.__qualname__,
               "module": module if importable else None, "defaults": fn.__defaults__,
               "kwdefaults": fn.__kwdefaults__, "closure": cells, "globals": glob}
    try:
        data = pickle.dumps(payload, protocol=4)
    except Exception as exc:
        raise RuleNotAuditable(f"cannot audit {what}: it is sent by value (its code), but a value it uses "
                               f"(a default, a closure variable or a global) cannot be pickled "
                               f"({type(exc).__name__}: {exc}). To audit it, {_ADVICE}.") from exc
    if not importable and _main_references(data):
        raise RuleNotAuditable(f"cannot audit {what}: it uses {_main_references(data)} defined in __main__, "
                               f"which the sandbox process cannot import. To audit it, {_ADVICE}.")
    return data


def _audit_command(target: SandboxTarget, rule, *, f, alpha, m, profile, seed, call_timeout,
                   memory_limit, references, input_kind) -> str:
    if target.how in ("target", "import"):
        parts = ["byzpgd", "audit", target.target]
        if f is not None:
            parts += ["--f", str(f)]
        if alpha is not None:
            parts += ["--alpha", repr(alpha)]
        if m is not None:
            parts += ["--m", str(m)]
        parts += ["--profile", profile, "--seed", str(seed), "--call-timeout", f"{call_timeout:g}",
                  "--memory-limit", str(memory_limit)]
        for p in target.paths:
            parts += ["--path", p]
        if references is not None:
            parts += ["--references", ",".join(references)]
        if input_kind == "torch":
            parts.append("--torch")
        return shlex.join([*parts, "--out", "DIR"])
    args = [f"f={f!r}" if f is not None else None, f"alpha={alpha!r}" if alpha is not None else None,
            f"m={m!r}" if m is not None else None, f"profile={profile!r}", f"seed={seed!r}"]
    return f"byzpgd.audit({_describe_obj(rule)}, {', '.join(a for a in args if a)})"


def audit(rule, f: int | None = None, alpha: float | None = None, profile: str = "ci", seed: int = 0, *,
          m: int | None = None, paths: Iterable[str] = (), call_timeout: float = 10.0,
          memory_limit: int = 2048, references: Iterable[str] | None = None, input_kind: str = "numpy",
          progress: bool | Progress | Callable[[str], None] | None = False, executor=None,
          assume_finite: bool = False) -> AuditResult:
    """Audit the aggregator ``rule`` (``"MODULE:CALLABLE"``, or a function / class / object with an
    ``aggregate`` method, sent to the sandbox as the module docstring says) at up to ``f`` Byzantine
    workers (or the fraction ``alpha``; default alpha = 0.1) on ``profile`` ('quick', 'ci', 'deep')
    with ``seed``; the same battery, end-to-end runs and verdict as ``byzpgd audit``
    (:func:`byzpgd.audit.run.run_audit`). ``memory_limit``: MiB of address space of the sandbox
    (0 = none). ``progress``: False, True (bar / lines), a Progress, or a ``say(msg)`` callable.
    ``executor``: as for :func:`verify`, an executor with ``as_completed`` (a
    :class:`byzpgd.experiments.executors.DaskExecutor`, see :mod:`byzpgd.scaleout`) that runs the
    battery's settings and the end-to-end runs as tasks, each with its own sandbox for the rule
    where it runs (the rule and ``paths`` must be importable there); the report is the same
    (timings aside). Default: this process and one sandbox. ``assume_finite``: as ``--assume-finite``
    (the server drops non-finite rows: a rule NaN/±Inf rows break gets a note, not a fail).

    Returns the typed :class:`byzpgd.audit.result.AuditResult`. Raises :class:`RuleNotAuditable` when
    the object cannot be sent to the sandbox and
    ``byzpgd.audit.loader.UsageError`` (a ValueError) for bad arguments or a target that does not
    load."""
    from .audit.run import run_audit
    from .audit.sandbox import Limits, default_limits

    if f is not None and alpha is not None:
        from .audit.loader import UsageError
        raise UsageError("give f or alpha, not both")
    target = sandbox_target(rule, paths)
    refs = None if references is None else tuple(references)
    command = _audit_command(target, rule, f=f, alpha=alpha, m=m, profile=profile, seed=seed,
                             call_timeout=call_timeout, memory_limit=memory_limit, references=refs,
                             input_kind=input_kind)
    if callable(progress) and not isinstance(progress, Progress):
        bar, own, say = None, False, progress
    else:
        bar, own = _as_progress(progress, "byzpgd audit", "measurements")
        say = bar.messages() if bar is not None else None
    kwargs = {} if refs is None else {"references": refs}
    try:
        with default_limits(Limits(memory_mib=int(memory_limit))):
            report = run_audit(target.target, f=f, alpha=alpha, profile=profile, seed=seed, m=m,
                               paths=list(target.paths), call_timeout=call_timeout, input_kind=input_kind,
                               progress=say, command=command, executor=executor,
                               assume_finite=assume_finite, **kwargs)
    finally:
        target.cleanup()
        if own:
            bar.close()
    if target.how in _HOW:   # the report names the object, not the temporary module
        named = f"{_describe_obj(rule)} (sent to the sandbox {_HOW[target.how]})"
        report = replace(report, settings=replace(report.settings, target=named))
    return report
