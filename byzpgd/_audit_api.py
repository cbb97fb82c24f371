"""``byzpgd.audit_aggregator``: audit an aggregator from Python, as ``byzpgd audit`` does.

``audit_aggregator(rule, f=None, alpha=None, profile="ci", seed=0, ...)`` audits an aggregator
given as ``"MODULE:CALLABLE"`` or as the object itself (a function, a class, an instance with an
``aggregate`` method) and returns an :class:`AuditResult` (``.verdict``, ``.reasons``,
``.findings``, ``.ok``, ``.write(dir)`` = audit.json, audit.md, audit.html as ``byzpgd audit``).
The rule always runs in the audit's sandbox; how an object gets there, and what cannot, is
:mod:`byzpgd._rules` (:func:`~byzpgd._rules.sandbox_target`, :class:`RuleNotAuditable`).
``byzpgd.audit`` is the audit package; ``byzpgd.audit.audit`` is this same function.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import replace

from ._progress_arg import as_progress
from ._rules import SENT_HOW, RuleNotAuditable, SandboxTarget, describe_rule, sandbox_target
from .audit import result as _result
from .progress import Progress

__all__ = ["audit_aggregator", "AuditResult", "AuditReason", "AuditFinding", "RuleNotAuditable",
           "AUDIT_VERDICTS"]

AUDIT_VERDICTS = ("pass", "suboptimal", "fail")


#: the audit's typed results (:mod:`byzpgd.audit.result`): ``audit_aggregator`` returns an AuditResult
AuditResult = _result.AuditResult
AuditReason = _result.Reason
AuditFinding = _result.Finding


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
    return f"byzpgd.audit_aggregator({describe_rule(rule)}, {', '.join(a for a in args if a)})"


def audit_aggregator(rule, f: int | None = None, alpha: float | None = None, profile: str = "ci",
                     seed: int = 0, *, m: int | None = None, paths: Iterable[str] = (),
                     call_timeout: float = 10.0, memory_limit: int = 2048,
                     references: Iterable[str] | None = None, input_kind: str = "numpy",
                     progress: bool | Progress | Callable[[str], None] | None = False, executor=None,
                     assume_finite: bool = False) -> AuditResult:
    """Audit the aggregator ``rule`` (``"MODULE:CALLABLE"``, or a function / class / object with an
    ``aggregate`` method, sent to the sandbox as :mod:`byzpgd._rules` says) at up to ``f`` Byzantine
    workers (or the fraction ``alpha``; default alpha = 0.1) on ``profile`` ('quick', 'ci', 'deep')
    with ``seed``; the same battery, end-to-end runs and verdict as ``byzpgd audit``
    (:func:`byzpgd.audit.run.run_audit`). ``memory_limit``: MiB of address space of the sandbox
    (0 = none). ``progress``: False, True (bar / lines), a Progress, or a ``say(msg)`` callable.
    ``executor``: as for :func:`byzpgd.verify`, an executor with ``as_completed`` (a
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
        bar, own = as_progress(progress, "byzpgd audit", "measurements")
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
    if target.how in SENT_HOW:   # the report names the object, not the temporary module
        named = f"{describe_rule(rule)} (sent to the sandbox {SENT_HOW[target.how]})"
        report = replace(report, settings=replace(report.settings, target=named))
    return report
