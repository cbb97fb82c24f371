"""``byzpgd audit``: audit a user's robust aggregator against the attack library, a black-box
worst-case search, the reference aggregators, the paper's rates and the statistical lower
bound, and ByzantinePGD end to end (Theorem 1 with the measured Δ).

- :mod:`.loader`: ``MODULE:CALLABLE`` import, class and ByzFL-style adapters, usage errors;
- :mod:`.sandbox`: the user code runs in a separate process with a per-call time limit on
  read-only input; every misbehaviour becomes a :class:`~.sandbox.Finding`;
- :mod:`.battery`: settings (α, n and m sweeps, with and without attack) × attacks × repetitions,
  empirical Δ of the user's rule and of the references, the bias test without attack;
- :mod:`.rates_fit`: log-log slopes with confidence intervals against the paper's rates;
- :mod:`.end_to_end`: ByzantinePGD with the user's rule under the saddle-point attack (d = 10);
- :mod:`.tasks`: the battery's settings and the end-to-end runs as executor tasks, one sandbox
  per task, merged in order (``--scheduler`` / ``--workers``, docs/scale-out.md);
- :mod:`.kappa`: the rule's empirical (f, κ)-robustness by adversarial search;
- :mod:`.verdict`: the graded verdict, pass / suboptimal / inconclusive / fail, with reasons;
- :mod:`.result`: the typed results (``AuditResult`` and its parts, audit.json's schema);
- :mod:`.run`: the whole audit as one function (used by ``byzpgd audit``), and
  :func:`.run.audit_in_process` for the project's own rules (tests, benchmarks).
- :mod:`.optimizer`, :mod:`.optimizer_isolation`, :mod:`.optimizer_result`: ``byzpgd
  audit-optimizer``, the audit of a user's *optimizer* (docs/audit-optimizer.md).

This package imports nothing heavy at import time: the sandbox child imports only
:mod:`.loader` and :mod:`.sandbox`.

From Python, :func:`audit` (``byzpgd.audit.audit(rule, ...)``) is the same function as
:func:`byzpgd.audit_aggregator`. ``byzpgd.audit`` is this package and only this package: it is not
callable (before issue 25, ``byzpgd.audit(rule, ...)`` called the audit through a swapped module
class; write ``byzpgd.audit_aggregator(rule, ...)`` or ``byzpgd.audit.audit(rule, ...)``).
"""

__all__ = ["audit"]


def audit(rule, *args, **kwargs):
    """:func:`byzpgd.audit_aggregator` (same arguments, same :class:`~.result.AuditResult`), under
    the package's name. Imported when called: the sandbox child imports this package too."""
    from .._audit_api import audit_aggregator
    return audit_aggregator(rule, *args, **kwargs)
