"""report.md: a summary a person can read in a terminal or a pull request, rendered from a
:class:`~byzpgd.reports.model.Report` and its :class:`~byzpgd.properties.result.ClaimResult`
fields.

A table (one row per claim), the claims that do not hold (violated, errored, inconclusive) with
their replay commands, the holding probabilistic claims whose failures stayed within their δ, the
per-adversary worst cases (``ClaimResult.adversaries``), the rate fits (``ClaimResult.fits``),
the tightness hierarchy O <= W <= B (``ClaimResult.hierarchy``), the names of the
claim-specific ``details`` (their values are in report.html and report.json)
and the environment. What each number means is said in words next to it (:mod:`byzpgd.reports.words`:
failures versus violations, ∞ ratios, one-sided fits).

The formatting helpers (:func:`fmt`, :func:`constants`, :func:`replays`, :func:`worst_adversary`,
:func:`fit_rows`) are shared with the HTML report.
"""

from __future__ import annotations

import json
from numbers import Real

from ..properties.result import ClaimResult
from .model import Report
from .plots import fits_of, number
from .words import (
    FAILURES_NOTE,
    FIT_NOTE,
    INFINITE_RATIO_NOTE,
    failures_text,
    failures_within_bound,
    fit_check,
    has_infinite_ratio,
    is_problem,
    ratio_text,
    summary_text,
)

DASH = "—"
STATUS_MARK = {"holds": "holds", "violated": "**VIOLATED**", "error": "**ERROR**",
               "inconclusive": "*inconclusive*"}
RATIO_NOTE = ("worst ratio = largest observed/bound over the checked instances (<= 1: the bound "
              "held on every instance; <= 0: it held with a sign margin). The empirical constant "
              "is the smallest constant in place of the claim's (the paper's only where the "
              "provenance says so) that would still hold.")
FIT_COLUMNS = ["claim", "fit", "points", "fitted slope", "theory slope", "tolerance",
               "check (one-sided)", "fitted constant"]
HIERARCHY_COLUMNS = ["claim", "quantity", "point", "B (bound)", "W (certified)", "O (observed)", "W/B",
                     "O/W", "W from", "O from", "finding"]
HIERARCHY_NOTE = ("B: the theorem's bound; W: the certified worst case (PEP, or an exact construction); "
                  "O: the worst case the adversarial search found. O <= W <= B is asserted: O > W is a bug "
                  "in the implementation or the certificate's encoding, W > B a wrong theorem or constant. "
                  "W/B is the theorem's tightness, O/W the search's efficiency.")


def fmt(x, digits: int = 3) -> str:
    """Short text for a value: numbers to ``digits`` significant digits, None to '—', ±inf to
    '∞' / '−∞', NaN to 'NaN'."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, Real):
        x = float(x)
        if x == 0:
            return "0"
        if x != x:
            return "NaN"
        if x in (float("inf"), float("-inf")):
            return "∞" if x > 0 else "−∞"
        s = f"{x:.{digits}g}"
        if "e+" in s and abs(x) < 1e6:  # 1900, not 1.9e+03
            s = str(int(float(s)))
        return s
    if isinstance(x, str):
        return x
    return json.dumps(x, default=str)


def constants(c: ClaimResult) -> str:
    """'empirical / claim' constant."""
    if c.empirical_constant is None and c.claim_constant is None:
        return DASH
    return f"{fmt(c.empirical_constant)} / {fmt(c.claim_constant)}"


def replays(c: ClaimResult) -> list[str]:
    """The claim's replay command and its worst violation's, without duplicates."""
    found = [c.replay, c.worst_violation.replay if c.worst_violation else None]
    return list(dict.fromkeys(r for r in found if r))


def needs_attention(c: ClaimResult) -> bool:
    """Listed as a problem: the claim's status (violated, error, inconclusive), never its
    per-instance failures alone (:func:`byzpgd.reports.words.is_problem`)."""
    return is_problem(c)


def worst_adversary(c: ClaimResult) -> tuple[str | None, float | None]:
    """The adversary with the largest worst ratio (NaN rows skipped) and that ratio."""
    ranked = [(number(row.worst_ratio), name) for name, row in c.adversaries.items()
              if row.worst_ratio is not None and not _isnan(number(row.worst_ratio))]
    ratio, name = max(ranked, default=(None, None))
    return name, ratio


def _isnan(x: float) -> bool:
    return x != x


def fit_rows(claims: list[ClaimResult]) -> list[list]:
    """One row per fit (:data:`FIT_COLUMNS`), plus one per rate-kind claim without fits."""
    rows = [[c.id, name, len(fit.points.get("x", [])), fit.slope, fit.expected, fit.tolerance,
             fit_check(fit), fit.constant] for c, name, fit in fits_of(claims)]
    rows += [[c.id, "(no fit in the result)", 0, None, None, None, DASH, None]
             for c in claims if c.kind == "rate" and not c.fits]
    return rows


def point_text(point: dict) -> str:
    """'N=5, Delta=0.1, ...' for a hierarchy point."""
    return ", ".join(f"{k}={fmt(v)}" for k, v in point.items())


def hierarchy_rows(claims: list[ClaimResult]) -> list[list]:
    """One row per hierarchy item of every claim (:data:`HIERARCHY_COLUMNS`), values unformatted."""
    return [[c.id, h.quantity, point_text(h.point), h.bound, h.certified_worst_case, h.observed_worst,
             h.w_over_b, h.o_over_w, h.certificate, h.search, h.finding or "none"]
            for c in claims for h in c.hierarchy]


def _cell(text) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table with padded columns, so that it also lines up in a terminal."""
    cells = [[_cell(h) for h in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(cells[0]), rule] + [line(r) for r in cells[1:]]


def _header(report: Report) -> list[str]:
    lines = ["# byzpgd verification report", "",
             f"Profile **{report.profile}**, seed **{report.seed}**, {len(report.claims)} "
             f"claim(s): " + summary_text(report.summary) + "."]
    if report.partial is not None:
        lines += ["", f"**PARTIAL REPORT** ({report.partial}): {len(report.claims)} claim(s) finished, "
                  f"{len(report.pending)} without a result yet"
                  + (": " + ", ".join(f"`{c}`" for c in report.pending) if report.pending else "") + "."]
    if report.command:
        lines += ["", f"Command: `{report.command}`"]
    if report.adversaries:
        lines += ["", "Adversaries: " + ", ".join(f"`{a}`" for a in report.adversaries)]
    if report.seconds is not None:
        lines += ["", f"Total time: {fmt(report.seconds)} s"]
    return lines


def _summary(claims: list[ClaimResult]) -> list[str]:
    header = ["claim", "kind", "provenance", "status", "instances", "non-vacuous",
              "outside hypotheses", "failures", "worst ratio", "constant (empirical / claim)",
              "seconds"]
    rows = [[f"`{c.id}`", c.kind, c.provenance, STATUS_MARK[c.status], c.instances,
             c.nonvacuous_instances, c.outside_hypotheses, c.violations, ratio_text(c.worst_ratio),
             constants(c), fmt(c.seconds)] for c in claims]
    notes = [FAILURES_NOTE, RATIO_NOTE] + ([INFINITE_RATIO_NOTE] if has_infinite_ratio(claims) else [])
    return ["", "## Claims", "", *_table(header, rows), "", *(x for n in notes for x in (n, ""))][:-1]


def _problem(c: ClaimResult) -> list[str]:
    lines = [f"### `{c.id}`: {c.status}", "",
             f"{failures_text(c)} among {c.instances} instances, {c.errors} error(s)."]
    if c.binomial is not None:
        b = c.binomial
        lines.append(f"Binomial test: {b.failures}/{b.trials} failures, δ = {fmt(b.delta)}, "
                     f"p = {fmt(b.p_value)} (rejected below {fmt(b.reject_below)}).")
    if c.worst_violation is not None:
        wv = c.worst_violation
        lines.append(f"Worst violation: observed {fmt(wv.observed)} > bound {fmt(wv.bound)} "
                     f"(ratio {ratio_text(wv.ratio)})" + (f"; {wv.note}" if wv.note else "") + ".")
    if c.status == "inconclusive":
        lines.append("Too few non-vacuous instances to conclude.")
    for cmd in replays(c):
        lines += ["", "```sh", cmd, "```"]
    for e in c.error_examples:
        lines += ["", f"- error: `{_cell(e.get('error', ''))}`"]
    return [*lines, ""]


def _problems(claims: list[ClaimResult]) -> list[str]:
    bad = [c for c in claims if needs_attention(c)]
    lines = ["", "## Violations and errors", ""]
    if not bad:
        return [*lines, "No claim is violated, errored or inconclusive: every claim holds."]
    return lines + [line for c in bad for line in _problem(c)]


def _within_bound(claims: list[ClaimResult]) -> list[str]:
    """The holding claims with per-instance failures: counted against the claim's δ, not violations."""
    rows = [c for c in claims if failures_within_bound(c)]
    if not rows:
        return []
    lines = ["", "## Failures within a probabilistic bound (these claims hold)", ""]
    for c in rows:
        lines.append(f"- `{c.id}` holds: {failures_text(c)}.")
        if c.worst_violation is not None and c.worst_violation.replay:
            lines += ["", "  The worst failing instance, to look at it:", "", "  ```sh",
                      f"  {c.worst_violation.replay}", "  ```", ""]
    return lines


def _adversaries(claims: list[ClaimResult]) -> list[str]:
    rows = []
    for c in claims:
        if not c.adversaries:
            continue
        name, ratio = worst_adversary(c)
        bad = [a for a, row in c.adversaries.items() if row.violations > 0]
        rows.append([f"`{c.id}`", len(c.adversaries), f"`{name}`" if name else DASH, ratio_text(ratio),
                     ", ".join(f"`{a}`" for a in bad) or "none"])
    if not rows:
        return []
    return ["", "## Per adversary (worst case; the full breakdown is in report.html)", "",
            *_table(["claim", "adversaries", "worst adversary", "its worst ratio",
                     "adversaries with failures"], rows)]


POWER_NOTE = ("Detectable excess c: the smallest factor such that, when one group's runs fail with "
              "probability c × their per-instance bounds (c × δ; c × p_round per perturbation round "
              "for the mechanism escape claims) and the other groups sit at their bounds, the claim's "
              "decision (G + 1 tests, Bonferroni) rejects with probability 0.8; exact, the worst group. "
              "∞: some group cannot reach that power. Detectable failure rate: the smallest uniform "
              "failure rate the weakest group detects (absolute, not against the bound).")


def excess_group(c: ClaimResult) -> str | None:
    """The group whose detectable excess is the claim's (the weakest), if the rows carry it."""
    rows = [(name, row.extra.get("detectable_excess")) for name, row in c.adversaries.items()
            if row.extra and row.extra.get("detectable_excess") is not None]
    return max(rows, key=lambda t: float(t[1]))[0] if rows else None


def power_rows(claims: list[ClaimResult]) -> list[list]:
    """[claim, detectable excess, weakest group, detectable failure rate] per claim with a
    detectable excess."""
    return [[c.id, c.detectable_excess, excess_group(c), c.detectable_failure_rate]
            for c in claims if c.detectable_excess is not None]


def _power(claims: list[ClaimResult]) -> list[str]:
    rows = power_rows(claims)
    if not rows:
        return []
    return ["", "## Power against the bound", "",
            *_table(["claim", "detectable excess", "weakest group", "detectable failure rate"],
                    [[f"`{r[0]}`", fmt(r[1]), f"`{r[2]}`" if r[2] else DASH, fmt(r[3])] for r in rows]),
            "", POWER_NOTE]


def _fits(claims: list[ClaimResult]) -> list[str]:
    rows = fit_rows(claims)
    if not rows:
        return []
    return ["", "## Rate fits (log-log slopes)", "",
            *_table(FIT_COLUMNS, [[f"`{r[0]}`", *(fmt(x) for x in r[1:])] for r in rows]), "", FIT_NOTE]


def _hierarchy(claims: list[ClaimResult]) -> list[str]:
    rows = hierarchy_rows(claims)
    if not rows:
        return []
    return ["", "## Tightness hierarchy (O <= W <= B)", "",
            *_table(HIERARCHY_COLUMNS, [[f"`{r[0]}`", *(fmt(x, 4) for x in r[1:])] for r in rows]),
            "", HIERARCHY_NOTE]


def _details(claims: list[ClaimResult]) -> list[str]:
    rows = [[f"`{c.id}`", ", ".join(f"`{k}`" for k in c.details)] for c in claims if c.details]
    if not rows:
        return []
    return ["", "## Claim-specific details (values in report.html and report.json)", "",
            *_table(["claim", "details"], rows)]


def _environment(env: dict) -> list[str]:
    lines = ["", "## Environment", ""]
    for k, v in env.items():
        if isinstance(v, dict):
            lines.append(f"- {k}: " + ", ".join(f"{name} {fmt(x)}" for name, x in v.items()))
        else:
            lines.append(f"- {k}: {fmt(v)}")
    return lines


def render_markdown(report: Report) -> str:
    """report.md (module docstring)."""
    claims = list(report.claims)
    lines = [*_header(report), *_summary(claims), *_problems(claims), *_within_bound(claims),
             *_adversaries(claims),
             *_power(claims), *_fits(claims), *_hierarchy(claims), *_details(claims),
             *_environment(report.environment)]
    return "\n".join(lines).rstrip() + "\n"
