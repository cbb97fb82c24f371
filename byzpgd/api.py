"""The Python API the command line is built on, in one namespace (the implementation is split by
concern: :mod:`byzpgd._verify` runs claim checks, :mod:`byzpgd._pool` is its process pool,
:mod:`byzpgd._audit_api` runs the aggregator audit and :mod:`byzpgd._rules` sends a rule object
to the audit's sandbox).

- :func:`verify` (also ``byzpgd.verify``) → :class:`VerifyReport`; :func:`select_claims`,
  :func:`verify_command`, :class:`ClaimSelectionError`;
- :func:`audit_aggregator` (also ``byzpgd.audit_aggregator`` and ``byzpgd.audit.audit``) →
  :class:`AuditResult`; :func:`sandbox_target`, :class:`RuleNotAuditable`. ``byzpgd.api.audit``
  is kept as an alias of :func:`audit_aggregator` (``byzpgd.audit`` itself is the audit package,
  not a function).
"""

from __future__ import annotations

from ._audit_api import AUDIT_VERDICTS, AuditFinding, AuditReason, AuditResult, audit_aggregator
from ._rules import RuleNotAuditable, SandboxTarget, sandbox_target
from ._verify import (
    ClaimSelectionError,
    VerifyReport,
    VerifyTimeout,
    select_claims,
    verify,
    verify_command,
)

#: the name :func:`audit_aggregator` had before issue 25 (kept: ``byzpgd.api.audit(rule, ...)``)
audit = audit_aggregator

__all__ = ["verify", "audit_aggregator", "audit", "select_claims", "VerifyReport", "AuditResult",
           "AuditReason", "AuditFinding", "ClaimSelectionError", "RuleNotAuditable", "SandboxTarget",
           "sandbox_target", "verify_command", "VerifyTimeout", "AUDIT_VERDICTS"]
