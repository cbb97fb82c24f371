"""Reports say what each number means (issue 23, item 4): report.md and report.html rendered from a
real quick check of a few claims contain no Python repr ('None', a dict repr), call the failures of
a probabilistic claim that holds "failures" and list them apart from the violations, explain an
infinite ratio where it appears, and say that rate fits are one-sided. Each check is shown to fail
on a renderer variant that prints the old words.

The claims: mechanism.exact_escape (probabilistic; its quick run has per-instance failures and
holds), mechanism.descent (deterministic), aggregator.median.rate (a one-sided rate fit whose d
slope is far below the theory's and holds), parameters.exponents (symbolic: no ratio, None in the
result). The quick descent run's worst ratio is finite; the ci profile's is ∞ (issue 23), so the
∞ case replaces that one field of the real result.
"""

from __future__ import annotations

import argparse
import dataclasses
import html as htmllib
import math
import re

import pytest

from byzpgd import cli
from byzpgd.properties.registry import claim_ids, run_check
from byzpgd.reports import html, markdown, words
from byzpgd.reports.model import Report

CLAIMS = ("mechanism.exact_escape", "mechanism.descent", "aggregator.median.rate", "parameters.exponents")
PROBABILISTIC, DESCENT, RATE, SYMBOLIC = CLAIMS


@pytest.fixture(scope="module")
def results():
    claim_ids()
    out = {cid: run_check(cid, "quick", 0) for cid in CLAIMS}
    # the premises of the checks below, from the real runs
    assert out[PROBABILISTIC].status == "holds" and out[PROBABILISTIC].violations > 0
    assert out[SYMBOLIC].worst_ratio is None
    d = out[RATE].fits["d"]
    assert out[RATE].status == "holds" and d.slope < d.expected - d.tolerance   # holds only one-sided
    return out


def report_of(results: dict, infinite_descent: bool = True) -> Report:
    claims = [results[c] for c in CLAIMS]
    if infinite_descent:
        claims = [dataclasses.replace(c, worst_ratio=math.inf) if c.id == DESCENT else c for c in claims]
    return Report("quick", 0, "byzpgd verify --profile quick --claims " + ",".join(CLAIMS) + " --out DIR",
                  claims, {"python": "3", "packages": {"byzpgd": "0"}}, 1.0)


def render(report: Report) -> tuple[str, str]:
    return markdown.render_markdown(report), html.render_html(report, escape_illustration=False)


def _section(md: str, title: str) -> str:
    """The Markdown section under '## title' (to the next '## ')."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", md, flags=re.M | re.S)
    return m.group(1) if m else ""


def _html_claim_section(page: str, claim_id: str) -> str:
    m = re.search(rf'<section class="claim[^"]*" id="claim-\d+">\s*<h3><code>{re.escape(claim_id)}</code>'
                  r"(.*?)</section>", page, flags=re.S)
    assert m, claim_id
    return m.group(1)


def word_problems(md: str, page: str, report: Report) -> list[str]:
    """Every way the two reports fail to say what their numbers mean (empty: none)."""
    found = []
    page = htmllib.unescape(page)
    cells = {"report.md": [ln for ln in md.splitlines() if ln.startswith("|")],
             "report.html": re.findall(r"<td[^>]*>([^<]*)</td>", page)}   # the values (leaf cells)
    for name, text in (("report.md", md), ("report.html", page)):
        if re.search(r"\bNone\b", text):
            found.append(f"{name}: 'None'")
        if "{'" in text:
            found.append(f"{name}: a dict repr")
        if any(re.search(r"\b(inf|nan)\b", cell) for cell in cells[name]):
            found.append(f"{name}: a Python float repr (inf/nan) in a table")
        if words.FIT_NOTE not in text:
            found.append(f"{name}: the fits are not said to be one-sided")
    holding = [c for c in report.claims if c.status == "holds"]
    problems = _section(md, "Violations and errors")
    for c in holding:
        lines = [ln for ln in md.splitlines() if f"`{c.id}`" in ln]
        if any("violation" in ln.lower() for ln in lines):
            found.append(f"report.md: 'violation' on a line of {c.id}, which holds")
        if f"`{c.id}`" in problems:
            found.append(f"report.md: {c.id} holds but is listed under 'Violations and errors'")
        if "violation" in _html_claim_section(page, c.id).lower():
            found.append(f"report.html: 'violation' in the section of {c.id}, which holds")
    for c in holding:
        if c.violations and f"`{c.id}` holds: {c.violations} failures" not in md:
            found.append(f"report.md: the failures of {c.id} are not counted against its bound")
    rate = next(c for c in report.claims if c.id == RATE)
    d = rate.fits["d"]
    one_sided = f"slope {words.ratio_text(d.slope)} <= {words.ratio_text(d.expected)} + " \
                f"{words.ratio_text(d.tolerance)}: holds (one-sided)"
    for name, text in (("report.md", md), ("report.html", page)):
        if one_sided not in text:
            found.append(f"{name}: the d fit's one-sided check is not stated ({one_sided!r})")
    if words.has_infinite_ratio(report.claims):
        descent_row = next(ln for ln in md.splitlines() if ln.startswith(f"| `{DESCENT}`"))
        if "∞" not in descent_row:
            found.append("report.md: the infinite ratio is not shown as ∞")
        for name, text in (("report.md", md), ("report.html", page)):
            if words.INFINITE_RATIO_NOTE not in text:
                found.append(f"{name}: the infinite ratio is not explained")
    return found


def test_reports_say_what_each_number_means(results):
    report = report_of(results)
    md, page = render(report)
    assert word_problems(md, page, report) == []
    # the header counts the statuses in words, and they match the claims
    assert f"{len(CLAIMS)} claim(s): {len(CLAIMS)} hold, 0 violated, 0 errors, 0 inconclusive." in md


# --- each check catches a renderer that prints the old words ---------------------------------------
def _old_needs_attention(c):
    return c.status != "holds" or c.violations > 0


def _old_failures_text(c):
    return f"{c.violations} violation(s)"


VARIANTS = {
    # per-instance failures of a probabilistic claim listed (and worded) as violations
    "violations": [(markdown, "needs_attention", _old_needs_attention),
                   (html, "needs_attention", _old_needs_attention),
                   (markdown, "failures_text", _old_failures_text),
                   (html, "failures_text", _old_failures_text)],
    # ratios printed by str(): 'None', 'inf'
    "repr ratios": [(markdown, "ratio_text", lambda x, digits=3: str(x)),
                    (html, "ratio_text", lambda x, digits=3: str(x))],
    # the status counts as a dict
    "dict summary": [(markdown, "summary_text", str)],
    # the fits without their one-sided check
    "two-sided silence": [(markdown, "FIT_NOTE", "Log-log slope fits."),
                          (html, "FIT_NOTE", "Log-log slope fits."),
                          (markdown, "fit_check", lambda fit: "within tolerance")],
    # an ∞ ratio without its explanation
    "unexplained inf": [(markdown, "INFINITE_RATIO_NOTE", ""), (html, "INFINITE_RATIO_NOTE", "")],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_renderer_with_the_old_words_is_caught(results, monkeypatch, variant):
    for module, name, value in VARIANTS[variant]:
        monkeypatch.setattr(module, name, value)
    report = report_of(results)
    md, page = render(report)
    assert word_problems(md, page, report) != []


# --- the terminal and the command line ------------------------------------------------------------
def test_terminal_words(results):
    held = words.counts_text(results[PROBABILISTIC])
    assert "failures (within its δ)" in held and "violation" not in held
    assert words.counts_text(results[SYMBOLIC]).endswith("worst ratio —")
    violated = dataclasses.replace(results[DESCENT], status="violated", violations=3, worst_ratio=math.inf)
    assert words.counts_text(violated).endswith("3 violations, worst ratio ∞")
    assert words.summary_text({"holds": 34, "violated": 1, "error": 0, "inconclusive": 0}) == \
        "34 hold, 1 violated, 0 errors, 0 inconclusive"
    assert cli.fmt_ratio(None) == "—" and cli.fmt_ratio(math.inf) == "∞" and cli.fmt_ratio(0.51884) == "0.519"
    assert cli.fmt_ratio(math.nan) == "—"


def _custom_typed_options(parser: argparse.ArgumentParser):
    """(subcommand, option, type function) for every option whose type is a function of ours."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for action in p._actions:
            t = action.type
            if callable(t) and getattr(t, "__module__", "").startswith("byzpgd") and action.option_strings:
                yield name, action.option_strings[-1], t


def _leaked_names(parser: argparse.ArgumentParser, capsys) -> list[str]:
    leaks = []
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command, option, fn in _custom_typed_options(parser):
        for bad in ("not-a-value", "-7"):
            sub_parser = commands[command]
            with pytest.raises(SystemExit):
                sub_parser.parse_args([option, bad])
            err = capsys.readouterr().err
            line = next((ln for ln in err.splitlines() if f"argument {option}" in ln), "")
            if re.search(r"invalid \S+ value", line) and fn.__name__.startswith("_"):
                leaks.append(f"{command} {option}: {line}")
    return leaks


def test_no_private_function_name_in_argument_errors(capsys):
    parser = cli.build_parser()
    assert list(_custom_typed_options(parser))        # there are such options to check
    assert _leaked_names(parser, capsys) == []


def test_a_leaking_type_function_is_caught(capsys):
    parser = cli.build_parser()

    def _nonneg_int(text):                             # the old type function of verify --seed
        v = int(text)
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
        return v
    _nonneg_int.__module__ = "byzpgd.cli"
    verify = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["verify"]
    next(a for a in verify._actions if "--seed" in a.option_strings).type = _nonneg_int
    assert any("_nonneg_int" in leak for leak in _leaked_names(parser, capsys))
