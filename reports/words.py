"""What each number of a verification report means, in words: shared by report.md
(:mod:`byzpgd.reports.markdown`), report.html (:mod:`byzpgd.reports.html`) and the terminal
summary of ``byzpgd verify`` (:mod:`byzpgd.cli`).

- A *failure* is one instance (for a rate claim: one sweep) on which a claim's check failed
  (``ClaimResult.violations``). A deterministic or construction claim is violated by one; a
  probabilistic claim ("with probability >= 1 − δ") allows failures: they are counted against δ
  by the exact binomial test, and only the test's rejection makes the claim violated. A claim is
  *listed as a problem* (violated, errored, inconclusive) only by its status.
- A *worst ratio* is the largest observed/bound; ∞ means that on some instance the ratio divides
  by zero (:data:`INFINITE_RATIO_NOTE`), and "—" that no instance gave one.
- A rate fit is *one-sided*: the rate is an upper bound, so a fit holds when its slope is at most
  the theory's slope plus the tolerance (properties/suites/aggregation.py), never "within
  tolerance" both ways.
"""

from __future__ import annotations

import math
from numbers import Real

from ..properties.result import ClaimResult, Fit

DASH = "—"
INFINITY = "∞"
INFINITE_RATIO_NOTE = (
    "A worst ratio of ∞ means that on some instance the ratio divides by zero: the bound there is 0 "
    "(or, for mechanism.descent, whose ratio is the required over the achieved decrease of F, a step "
    "achieved no decrease while the bound held up to rounding); it is not by itself a failure: the "
    "status comes from the claim's own check.")
FAILURES_NOTE = (
    "failures = instances (for a rate claim: sweeps) on which the check failed. A deterministic or "
    "construction claim is violated by one. A probabilistic claim holds with probability >= 1 − δ, so "
    "it allows failures: they are counted against δ by the exact binomial test, and only the test's "
    "rejection makes the claim violated.")
FIT_NOTE = ("Each fit is one-sided: the rate is an upper bound, so the fit holds when fitted slope <= "
            "theory slope + tolerance (a faster decrease or a slower growth than the theory's is "
            "allowed).")


def ratio_text(x, digits: int = 3) -> str:
    """A ratio as text: '—' for none (or NaN: no instance gave one), '∞' for +inf, else the number."""
    if x is None or isinstance(x, bool) or not isinstance(x, Real) or math.isnan(float(x)):
        return DASH
    x = float(x)
    if math.isinf(x):
        return INFINITY if x > 0 else "−" + INFINITY
    return f"{x:.{digits}g}" if x != 0 else "0"


def has_infinite_ratio(claims) -> bool:
    """Whether any claim (or one of its groups) shows a ratio of ∞."""
    def inf(x) -> bool:
        return isinstance(x, Real) and not isinstance(x, bool) and math.isinf(float(x))
    return any(inf(c.worst_ratio) or any(inf(r.worst_ratio) for r in c.adversaries.values())
               for c in claims)


def is_problem(c: ClaimResult) -> bool:
    """Listed under 'Violations and errors': the claim is violated, errored or inconclusive (its
    status, not its per-instance failures)."""
    return c.status != "holds"


def failures_within_bound(c: ClaimResult) -> bool:
    """A claim that holds although some instances failed (a probabilistic claim within its δ)."""
    return c.status == "holds" and c.violations > 0


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def failures_text(c: ClaimResult) -> str:
    """'0 failures', '15 failures of 30 instances, within its failure probability δ = 0.1 (…)', or,
    for a violated claim, '3 violations'."""
    unit = "sweep" if c.kind == "rate" else "instance"
    if c.status == "holds":
        text = plural(c.violations, "failure")
        if c.violations and c.binomial is not None:
            b = c.binomial
            text += (f" of {plural(b.trials, unit)}, within its failure probability δ = {b.delta:.3g} "
                     f"(exact binomial test p = {b.p_value:.3g}, rejected only below {b.reject_below:.3g})")
        return text
    return plural(c.violations, "violation" if c.status == "violated" else "failure")


def counts_text(c: ClaimResult) -> str:
    """The counts of one claim for a progress line, e.g. '30 instances, 30 non-vacuous, 15 failures
    (within its δ), worst ratio 2.83' or '…, 3 violations, worst ratio ∞'."""
    if c.status == "holds":
        fails = plural(c.violations, "failure") + (" (within its δ)" if c.violations else "")
    else:
        fails = plural(c.violations, "violation" if c.status == "violated" else "failure")
    return (f"{c.instances} instances, {c.nonvacuous_instances} non-vacuous, {fails}, "
            f"worst ratio {ratio_text(c.worst_ratio)}")


def summary_text(summary: dict[str, int]) -> str:
    """'34 hold, 1 violated, 0 errors, 0 inconclusive' for a report's status counts."""
    words = {"holds": ("holds", "hold"), "error": ("error", "errors")}
    parts = []
    for status, n in summary.items():
        one, many = words.get(status, (status, status))
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def fit_check(fit: Fit) -> str:
    """The one-sided check of a fit, e.g. 'slope 0.517 <= 1 + 0.2: holds (one-sided)'."""
    if fit.expected is None or fit.tolerance is None:
        return "no theory slope: not checked"
    allowed = fit.expected + fit.tolerance
    ok = fit.slope <= allowed           # NaN fails
    return (f"slope {ratio_text(fit.slope)} {'<=' if ok else '>'} {ratio_text(fit.expected)} + "
            f"{ratio_text(fit.tolerance)}: {'holds' if ok else 'fails'} (one-sided)")
