"""Assertions for a user's own test suite (pytest, unittest, or plain ``assert`` code):

- :func:`assert_claim_holds` ``(claim_id, profile="ci", seed=0)``: the claim check (or every claim a
  pattern such as ``"byzantine_pgd.*"`` selects) holds, exactly as ``byzpgd verify`` would report
  it (:func:`byzpgd.api.verify`);
- :func:`assert_aggregator_passes` ``(rule, f=None, alpha=None, profile="ci", seed=0,
  accept_suboptimal=False)``: the aggregator passes ``byzpgd audit``
  (:func:`byzpgd.api.audit_aggregator`; ``rule`` is ``"MODULE:CALLABLE"`` or the object itself);
- :func:`assert_aggregator_fails`: the opposite, for a rule that must be rejected (a test of the
  audit itself, or of a deliberately naive baseline).

Each raises ``AssertionError`` whose message lists the reasons (the claims that do not hold with
their status, violations, worst ratio and replay command; the audit's reasons and error findings)
and the command that reproduces the run; each returns the report or audit result otherwise, for
further checks. Nothing here needs pytest.

Example (a user's ``tests/test_my_rule.py``, see docs/ci.md)::

    import numpy as np
    from byzpgd.testing import assert_aggregator_passes, assert_claim_holds

    def my_median(X):
        X = np.where(np.isfinite(X), X, np.nan)
        return np.nan_to_num(np.nanmedian(X, axis=0))

    def test_my_median_is_robust():
        assert_aggregator_passes(my_median, f=2, m=11, profile="quick")

    def test_theorem_1_gradient_bound():
        assert_claim_holds("byzantine_pgd.grad_norm", profile="quick")
"""

from __future__ import annotations

from collections.abc import Iterable

from .api import AuditResult, VerifyReport, audit_aggregator, select_claims, verify, verify_command

__all__ = ["assert_claim_holds", "assert_aggregator_passes", "assert_aggregator_fails",
           "claim_failure_message", "audit_failure_message", "assert_optimizer_escapes"]

MAX_LISTED = 12   # reasons / findings listed in a message (the rest are counted)


def _claim_lines(c) -> list[str]:
    lines = [f"  - {c.id}: {c.status} ({c.instances} instances, {c.nonvacuous_instances} non-vacuous, "
             f"{c.violations} violation(s), {c.errors} error(s), worst ratio {c.worst_ratio})"]
    if c.status == "inconclusive":
        lines.append("      too few non-vacuous instances for a verdict on this profile; try a larger one")
    if c.replay:
        lines.append(f"      worst violation, replay: {c.replay}")
    for ex in (c.error_examples or [])[:2]:
        err = str(ex.get("error", ex) if isinstance(ex, dict) else ex).strip().splitlines()
        lines.append(f"      error: {err[-1] if err else '?'}")
    return lines


def claim_failure_message(report: VerifyReport, wanted: str) -> str:
    """The AssertionError message of :func:`assert_claim_holds` for ``report``."""
    bad = report.failed
    head = (f"{len(bad)} of {len(report.claims)} claim(s) selected by {wanted!r} do not hold "
            f"(profile {report.profile}, seed {report.seed}):")
    lines = [head]
    for c in bad[:MAX_LISTED]:
        lines += _claim_lines(c)
    if len(bad) > MAX_LISTED:
        lines.append(f"  ... and {len(bad) - MAX_LISTED} more")
    lines.append(f"reproduce: {report.command}")
    return "\n".join(lines)


def assert_claim_holds(claim_id: str | Iterable[str], profile: str = "ci", seed: int = 0, *,
                       jobs: int = 1, claims_from: str | Iterable[str] = ()) -> VerifyReport:
    """Run the check of ``claim_id`` (an id, a pattern such as ``"exact_pgd.*"``, or a list of them)
    on ``profile`` with ``seed``; raise AssertionError (module docstring) unless every selected
    claim holds. ``claims_from``: files or modules declaring user claims (:mod:`byzpgd.claims`),
    loaded first. Returns the :class:`~byzpgd.api.VerifyReport`."""
    from .properties.user import load_claims_from

    sources = (claims_from,) if isinstance(claims_from, str) else tuple(claims_from)
    for source in sources:
        load_claims_from(source)
    ids = select_claims(claim_id)
    wanted = claim_id if isinstance(claim_id, str) else ",".join(claim_id)
    report = verify(ids, profile, seed, jobs=jobs, progress=False, illustration=False,
                    command=verify_command(ids, profile, seed, claims_arg=wanted, claims_from=sources),
                    claims_from=sources)
    if not report.ok:
        raise AssertionError(claim_failure_message(report, wanted))
    return report


def audit_failure_message(result: AuditResult, expected: str) -> str:
    """The AssertionError message of the aggregator assertions: verdict, reasons, error findings,
    and the reproducing command."""
    s = result.settings
    lines = [f"aggregator {s.target} ({s.description or 'not loaded'}): "
             f"audit verdict {result.verdict!r}, expected {expected} "
             f"(profile {s.profile}, f_max = {s.f_max}, seed {s.seed})"]
    if result.reasons:
        lines.append("reasons:")
        lines += [f"  - {r}" for r in result.reasons[:MAX_LISTED]]
        if len(result.reasons) > MAX_LISTED:
            lines.append(f"  ... and {len(result.reasons) - MAX_LISTED} more")
    errors = [fd for fd in result.findings if fd.severity == "error"]
    if errors:
        lines.append("findings:")
        lines += [f"  - {fd}" for fd in errors[:MAX_LISTED]]
    lines.append(f"reproduce: {result.command}")
    return "\n".join(lines)


def assert_aggregator_passes(rule, f: int | None = None, alpha: float | None = None, profile: str = "ci",
                             seed: int = 0, *, accept_suboptimal: bool = False,
                             **audit_kwargs) -> AuditResult:
    """Audit ``rule`` (:func:`byzpgd.api.audit_aggregator`; ``audit_kwargs``: ``m``, ``paths``,
    ``call_timeout``, ``memory_limit``, ``references``, ``input_kind``) and raise AssertionError
    with the reasons and the reproducing command unless the verdict is 'pass' (or 'suboptimal'
    when ``accept_suboptimal``). Returns the :class:`~byzpgd.api.AuditResult`. A rule that cannot
    be sent to the sandbox raises :class:`byzpgd.api.RuleNotAuditable` (a TypeError), not an
    AssertionError: that is a problem of the test, not of the rule."""
    result = audit_aggregator(rule, f=f, alpha=alpha, profile=profile, seed=seed, **audit_kwargs)
    accepted = ("pass", "suboptimal") if accept_suboptimal else ("pass",)
    if result.verdict not in accepted:
        raise AssertionError(audit_failure_message(result, " or ".join(repr(v) for v in accepted)))
    return result


def assert_aggregator_fails(rule, f: int | None = None, alpha: float | None = None, profile: str = "ci",
                            seed: int = 0, **audit_kwargs) -> AuditResult:
    """Audit ``rule`` and raise AssertionError unless the verdict is 'fail'; returns the result (its
    ``reasons`` say why it failed)."""
    result = audit_aggregator(rule, f=f, alpha=alpha, profile=profile, seed=seed, **audit_kwargs)
    if result.verdict != "fail":
        raise AssertionError(audit_failure_message(result, "'fail'"))
    return result


def assert_optimizer_escapes(fn, profile: str = "quick", seed: int = 0, **audit_kwargs):
    """Audit the optimizer ``fn`` (``fn(oracle, w0, rng, budget) -> point`` or ``"MODULE:CALLABLE"``;
    :func:`byzpgd.audit.optimizer.audit_optimizer`, ``audit_kwargs``: ``time_limit``, ``paths``)
    and raise AssertionError with the verdict, its reasons, the findings and the reproducing
    command unless the verdict is 'second-order' (first-order everywhere and every saddle-point
    attack escaped). Returns the :class:`~byzpgd.audit.optimizer_result.OptimizerAudit`."""
    from .audit.optimizer import audit_optimizer

    audit = audit_optimizer(fn, profile=profile, seed=seed, **audit_kwargs)
    if audit.verdict != "second-order":
        lines = [f"optimizer audit of {audit.target}: verdict {audit.verdict!r}, expected 'second-order'"]
        lines += [f"  - [{r.grade}] {r.message}" for r in audit.reasons[:MAX_LISTED]]
        lines += [f"  finding {f.kind} ({f.count} run(s)): {f.message}" for f in audit.findings[:MAX_LISTED]]
        lines.append(f"reproduce: {audit.command}")
        raise AssertionError("\n".join(lines))
    return audit
