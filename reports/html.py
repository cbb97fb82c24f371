"""report.html: a self-contained page (inline CSS, figures as data: URIs; nothing is fetched
when it is viewed) with the summary table, three figures and every claim in full, rendered from a
:class:`~byzpgd.reports.model.Report` and its :class:`~byzpgd.properties.result.ClaimResult`
fields.

A table shows the tightness hierarchy O <= W <= B of the claims that carry one
(``ClaimResult.hierarchy``), also in each claim's section.

Figures: (a) tightness per claim and per adversary (``worst_ratio``, ``adversaries``), (b) the
rate fits (``fits``; the section says so plainly when there are none), (c) the escape
illustration ``Report.illustration`` when the report carries one (computed by
:func:`byzpgd.experiments.figures.escape_illustration`; drawn by
:func:`byzpgd.reports.plots.escape_plot`). A figure that cannot be drawn is replaced by the
reason; the rest of the report is still written.

The template is an inline Jinja2 string rendered with autoescaping: every value from the report
is escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jinja2 import Environment
from markupsafe import Markup, escape

from ..properties.result import ClaimResult
from . import plots
from .markdown import (
    DASH,
    FIT_COLUMNS,
    HIERARCHY_COLUMNS,
    HIERARCHY_NOTE,
    POWER_NOTE,
    RATIO_NOTE,
    constants,
    excess_group,
    fit_rows,
    fmt,
    hierarchy_rows,
    needs_attention,
    replays,
)
from .model import Report
from .style import BASE_CSS
from .words import (
    FAILURES_NOTE,
    FIT_NOTE,
    INFINITE_RATIO_NOTE,
    failures_text,
    failures_within_bound,
    has_infinite_ratio,
    ratio_text,
)

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>byzpgd verification report: profile {{ report.profile }}, seed {{ report.seed }}</title>
<style>
{{ base_css }}
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.status-holds { color: #1a7f37; font-weight: 600; }
.status-violated, .status-error { color: #cf222e; font-weight: 700; }
.status-inconclusive { color: #9a6700; font-weight: 600; }
.claim { border: 1px solid #d0d7de; border-radius: 6px; padding: .3em 1em 1em; margin: 1em 0; }
.claim.bad { border-color: #cf222e; }
table.kv th { width: 14em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { font-size: 0.9em; color: #59636e; }
.note { color: #59636e; }
.missing { color: #9a6700; }
</style>
</head>
<body>
<h1>byzpgd verification report</h1>
<p>Claims of Yin, Chen, Ramchandran, Bartlett, <em>Defending Against Saddle Point Attack in
Byzantine-Robust Distributed Learning</em> (ICML 2019), checked on generated instances.</p>
<table class="kv">
{% if report.partial is not none %}
<tr><th>PARTIAL REPORT</th><td class="status-inconclusive">{{ report.partial }}: {{ claims|length }} claim(s)
finished, {{ report.pending|length }} without a result yet
{%- if report.pending %}: {{ report.pending|join(", ") }}{% endif %}</td></tr>
{% endif %}
<tr><th>profile</th><td>{{ report.profile }}</td></tr>
<tr><th>seed</th><td>{{ report.seed }}</td></tr>
{% if report.command %}
<tr><th>command</th><td><code>{{ report.command }}</code></td></tr>
{% endif %}
<tr><th>summary</th><td>{{ claims|length }} claim(s):
{% for k, v in report.summary.items() %}
  <span class="status-{{ k }}">{{ v }} {{ k }}</span>{{ "," if not loop.last }}
{% endfor %}
</td></tr>
{% if report.adversaries %}
<tr><th>adversaries</th><td>{{ report.adversaries|join(", ") }}</td></tr>
{% endif %}
{% if report.seconds is not none %}
<tr><th>total time</th><td>{{ fmt(report.seconds) }} s</td></tr>
{% endif %}
{% for k, v in report.extra.items() %}
<tr><th>{{ k }}</th><td>{{ value(v, k) }}</td></tr>
{% endfor %}
</table>

<h2 id="summary">Summary</h2>
<table>
<tr><th>claim</th><th>kind</th><th>provenance</th><th>status</th><th>instances</th>
<th>non-vacuous</th><th>outside hypotheses</th><th>failures</th><th>worst ratio</th>
<th>constant (empirical / claim)</th><th>seconds</th></tr>
{% for c in claims %}
<tr><td><a href="#claim-{{ loop.index }}"><code>{{ c.id }}</code></a></td>
<td>{{ c.kind }}</td>
<td>{{ c.provenance }}</td>
<td class="status-{{ c.status }}">{{ c.status }}</td>
<td class="num">{{ c.instances }}</td>
<td class="num">{{ c.nonvacuous_instances }}</td>
<td class="num">{{ c.outside_hypotheses }}</td>
<td class="num">{{ c.violations }}</td>
<td class="num">{{ ratio_text(c.worst_ratio) }}</td>
<td class="num">{{ constants(c) }}</td>
<td class="num">{{ fmt(c.seconds) }}</td></tr>
{% endfor %}
</table>
<p class="note">{{ failures_note }}</p>
<p class="note">{{ ratio_note }}</p>
{% if infinite_ratio %}
<p class="note">{{ infinite_ratio_note }}</p>
{% endif %}
{% if problems %}
<h2 id="problems">Violations and errors</h2>
<ul>
{% for c in problems %}
<li><a href="#claim-{{ claims.index(c) + 1 }}"><code>{{ c.id }}</code></a>:
<span class="status-{{ c.status }}">{{ c.status }}</span>
({{ failures_text(c) }}, {{ c.errors }} error(s))</li>
{% endfor %}
</ul>
{% endif %}
{% if within_bound %}
<h2 id="within-bound">Failures within a probabilistic bound (these claims hold)</h2>
<ul>
{% for c in within_bound %}
<li><a href="#claim-{{ claims.index(c) + 1 }}"><code>{{ c.id }}</code></a> holds: {{ failures_text(c) }}.</li>
{% endfor %}
</ul>
{% endif %}

<h2 id="tightness">Tightness per claim</h2>
{% if figures.tightness.uri %}
<figure><img alt="worst observed/bound per claim" src="{{ figures.tightness.uri }}">
<figcaption>Worst observed/bound per claim and, small markers, per adversary; the dashed line is
the bound (ratio 1). Colours: claim status. Ratios &le; 0 are drawn at the left edge (&#9664;),
infinite ones at the right edge (&#9654;); the printed value is exact.</figcaption>
</figure>
{% else %}
<p class="missing">No tightness plot: {{ figures.tightness.why }}</p>
{% endif %}
{% if adversary_rows %}
<h3>Per adversary</h3>
{{ table(adversary_cols, adversary_rows) }}
{% endif %}

{% if hierarchy_rows %}
<h2 id="hierarchy">Tightness hierarchy (O &le; W &le; B)</h2>
{{ table(hierarchy_cols, hierarchy_rows) }}
<p class="note">{{ hierarchy_note }}</p>
{% endif %}

<h2 id="rates">&Delta;-rate fits</h2>
{% if figures.rates.uri %}
<figure><img alt="log-log rate fits" src="{{ figures.rates.uri }}">
<figcaption>The points of each fit on log-log axes, the fitted line y = C&middot;x<sup>s</sup>
(slope and constant as the check fitted them) and, dotted, a line of the theory's slope through
the fitted line's middle.</figcaption></figure>
{% else %}
<p class="missing">{{ figures.rates.why }}</p>
{% endif %}
{% if fit_rows %}
{{ table(fit_cols, fit_rows) }}
<p class="note">{{ fit_note }}</p>
{% endif %}

<h2 id="escape">Escape trajectories (illustration)</h2>
{% if figures.escape.uri %}
<figure><img alt="ByzantinePGD and robust GD from a strict saddle" src="{{ figures.escape.uri }}">
<figcaption>Not part of the verification: a small deterministic run. {{ escape.description }}
Left: queried points on contour lines of F. Right: distance of each query from the
saddle.</figcaption></figure>
<table><tr><th>run</th><th>status</th><th>oracle calls</th><th>escapes</th>
<th>&#8214;&nabla;F(w&#771;)&#8214;</th><th>&lambda;<sub>min</sub>(&nabla;&sup2;F(w&#771;))</th>
<th>parameters</th></tr>
{% for r in [escape.byzantine_pgd, escape.robust_gd] %}
<tr><td>{{ r.name }}</td><td>{{ r.status }}</td><td class="num">{{ r.calls }}</td>
<td class="num">{{ r.escapes }}</td><td class="num">{{ fmt(r.grad_norm) }}</td>
<td class="num">{{ fmt(r.lambda_min) }}</td>
<td><code>{{ params_text(r.params) }}</code></td></tr>
{% endfor %}
</table>
{% else %}
<p class="missing">No escape illustration: {{ figures.escape.why }}</p>
{% endif %}

<h2 id="claims">Claims</h2>
{% for c in claims %}
<section class="claim{{ ' bad' if attention(c) }}" id="claim-{{ loop.index }}">
<h3><code>{{ c.id }}</code> &mdash; <span class="status-{{ c.status }}">{{ c.status }}</span></h3>
<table class="kv">
<tr><th>statement</th><td>{{ c.statement }}</td></tr>
<tr><th>bound (formula)</th><td><code>{{ c.formula }}</code></td></tr>
<tr><th>source</th><td>{{ c.source }}</td></tr>
<tr><th>provenance</th><td>{{ c.provenance }}</td></tr>
<tr><th>kind</th><td>{{ c.kind }}</td></tr>
<tr><th>instances</th><td>{{ c.instances }} checked, {{ c.nonvacuous_instances }} non-vacuous,
{{ c.outside_hypotheses }} outside the hypotheses</td></tr>
<tr><th>{{ "violations" if c.status == "violated" else "failures" }}</th><td>{{ failures_text(c) }}</td></tr>
<tr><th>errors</th><td>{{ c.errors }}</td></tr>
<tr><th>worst ratio</th><td>{{ ratio_text(c.worst_ratio, 6) }}</td></tr>
<tr><th>empirical / claim constant ({{ c.provenance }})</th><td>{{ constants(c) }}</td></tr>
<tr><th>seconds</th><td>{{ fmt(c.seconds) }}</td></tr>
{% if c.binomial %}
{% set b = c.binomial %}
<tr><th>binomial test</th><td>{{ b.failures }} failures / {{ b.trials }} trials,
&delta; = {{ fmt(b.delta) }}, p = {{ fmt(b.p_value) }} (rejected below {{ fmt(b.reject_below) }})</td></tr>
{% endif %}
{% if c.detectable_excess is not none %}
<tr><th>detectable excess</th><td>{{ fmt(c.detectable_excess) }} &times; the bounds
(weakest group: {{ excess_group(c) or dash }}; detectable failure rate {{ fmt(c.detectable_failure_rate) }})
<p class="note">{{ power_note }}</p></td></tr>
{% endif %}
{% if c.adversaries %}
<tr><th>adversaries</th><td>{{ table(*group_table(c)) }}</td></tr>
{% endif %}
{% if c.hierarchy %}
<tr><th>hierarchy (O &le; W &le; B)</th><td>{{ table(hierarchy_cols[1:], hierarchy_table(c)) }}</td></tr>
{% endif %}
{% if c.fits %}
<tr><th>fits</th><td>{{ table(fit_cols[1:], fit_table(c)) }}</td></tr>
{% endif %}
{% if c.worst_violation %}
{% set wv = c.worst_violation %}
<tr><th>{{ "worst violation" if c.status == "violated" else "worst failing instance" }}</th>
<td>observed {{ fmt(wv.observed, 6) }} &gt; bound {{ fmt(wv.bound, 6) }}
(ratio {{ ratio_text(wv.ratio, 6) }}){{ "; " ~ wv.note if wv.note }}
{% if wv.extra %}<br>{{ value(wv.extra, "field") }}{% endif %}</td></tr>
{% endif %}
<tr><th>replay</th><td>
{% for cmd in replays(c) %}
<pre>{{ cmd }}</pre>
{% else %}
{{ dash }}
{% endfor %}
</td></tr>
<tr><th>errors</th><td>
{% for e in c.error_examples %}
<p><code>{{ e.get('error', '') }}</code></p>
{% if e.get('spec') %}<p>spec: <code>{{ fmt(e.get('spec')) }}</code></p>{% endif %}
{% if e.get('traceback') %}
<details><summary>traceback</summary><pre>{{ e.get('traceback') }}</pre></details>
{% endif %}
{% else %}
{{ dash }}
{% endfor %}
</td></tr>
{% for k, v in c.details.items() %}
<tr><th>{{ k }}</th><td>{{ value(v, k) }}</td></tr>
{% endfor %}
</table>
</section>
{% endfor %}

<h2 id="environment">Environment</h2>
<table class="kv">
{% for k, v in report.environment.items() %}
<tr><th>{{ k }}</th><td>{{ show_env(v) }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)
_CELL = _ENV.from_string(
    "<table>{% if cols %}<tr>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr>{% endif %}"
    "{% for r in rows %}<tr>{% for x in r %}<td{{ ' class=num' if num(x) }}>{{ fmt(x) }}</td>{% endfor %}"
    "</tr>{% endfor %}</table>")
_VALUE = _ENV.from_string(
    "{% if scalar %}{{ fmt(v) }}{% else %}<details{{ ' open' if text|length < 400 }}><summary>"
    "{{ summary }}</summary><pre>{{ text }}</pre></details>{% endif %}")
GROUP_COLUMNS = ["instances", "non-vacuous", "failures", "worst ratio"]


@dataclass(frozen=True)
class FigureSlot:
    """A drawn figure (``uri``) or the reason there is none (``why``)."""

    uri: str | None = None
    why: str | None = None


def table(cols, rows) -> Markup:
    """An HTML table (escaped) of rows of plain values."""
    return Markup(_CELL.render(cols=cols, rows=rows, fmt=fmt,
                               num=lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)))


def _scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def records(value, key_name: str) -> tuple[list[str], list[list]] | None:
    """(columns, rows) when ``value`` is a table: a dict of flat dicts (the key becomes the first
    column) or a list of flat dicts; None otherwise."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        items = [({key_name: k}, v) for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [({}, v) for v in value]
    else:
        return None
    if not all(_scalar(x) for _, v in items for x in v.values()):
        return None
    keys = list(dict.fromkeys(k for _, v in items for k in v))
    cols = ([key_name] if items[0][0] else []) + keys
    return cols, [[*first.values(), *(v.get(k) for k in keys)] for first, v in items]


def value(v, name: str) -> Markup:
    """A JSON value of ``details`` as HTML: a table when it is a dict/list of flat records, a
    list of scalars inline, a scalar as text, anything else as pretty JSON (escaped,
    collapsible)."""
    rec = records(v, name)
    if rec is not None:
        return table(*rec)
    if isinstance(v, list) and all(_scalar(x) for x in v):
        return Markup(escape(", ".join(fmt(x) for x in v)))
    scalar = not isinstance(v, (dict, list))
    text = "" if scalar else json.dumps(v, indent=2, ensure_ascii=False, default=str)
    return Markup(_VALUE.render(v=v, scalar=scalar, text=text,
                                summary="" if scalar else f"{len(v)} item(s)", fmt=fmt))


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in params.items())


def show_env(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {fmt(x)}" for k, x in v.items())
    return fmt(v)


def _extra_keys(c: ClaimResult) -> list[str]:
    return list(dict.fromkeys(k for row in c.adversaries.values() for k, v in row.extra.items()
                              if _scalar(v)))


def group_table(c: ClaimResult) -> tuple[list[str], list[list]]:
    """The claim's ``adversaries`` rows (GroupRow fields, then the scalar ``extra`` fields)."""
    extra = _extra_keys(c)
    rows = [[name, row.instances, row.nonvacuous_instances, row.violations, row.worst_ratio,
             *(row.extra.get(k) for k in extra)] for name, row in c.adversaries.items()]
    return ["adversary", *GROUP_COLUMNS, *extra], rows


def adversary_table(claims: list[ClaimResult]) -> tuple[list[str], list[list]]:
    """One row per (claim, adversary): the GroupRow fields (extras are in the claim sections)."""
    rows = [[c.id, name, row.instances, row.nonvacuous_instances, row.violations, row.worst_ratio]
            for c in claims for name, row in c.adversaries.items()]
    return ["claim", "adversary", *GROUP_COLUMNS], rows


def fit_table(c: ClaimResult) -> list[list]:
    """The claim's fits as rows of :data:`FIT_COLUMNS` without the claim column."""
    return [row[1:] for row in fit_rows([c])]


def _figure(fn, *args) -> FigureSlot:
    try:
        uri = fn(*args)
    except Exception as exc:  # a figure that fails must not cost the whole report
        return FigureSlot(why=f"the figure could not be drawn ({type(exc).__name__}: {exc})")
    return FigureSlot(uri=uri)


def _rates_figure(claims: list[ClaimResult]) -> FigureSlot:
    slot = _figure(plots.rate_fit_plot, claims)
    if slot.uri is not None or slot.why is not None:
        return slot
    if any(c.kind == "rate" for c in claims):
        return FigureSlot(why="The rate-kind claims in this report carry no fit with points, so "
                              "there is nothing to plot.")
    return FigureSlot(why="This report contains no rate-kind claim with fitted points: no "
                          "Δ-rate fit to plot.")


def _escape_figure(report: Report, wanted: bool) -> FigureSlot:
    if not wanted:
        return FigureSlot(why="skipped for this report.")
    if report.illustration is None:
        return FigureSlot(why="this report carries no illustration data.")
    return _figure(plots.escape_plot, report.illustration)


def render_html(report: Report, *, escape_illustration: bool = True) -> str:
    """The HTML report. ``escape_illustration=False`` leaves out the escape illustration even
    when the report carries one (the section then says so)."""
    claims = list(report.claims)
    if report.partial is not None:   # rewritten after each claim: the figures wait for the end
        later = FigureSlot(why=f"partial report ({report.partial}): figures are drawn when the run ends.")
        figures = {"tightness": later, "rates": later, "escape": later}
    else:
        tightness = (_figure(plots.tightness_plot, claims) if claims
                     else FigureSlot(why="the report has no claims."))
        figures = {"tightness": tightness, "rates": _rates_figure(claims),
                   "escape": _escape_figure(report, escape_illustration)}
    adversary_cols, adversary_rows = adversary_table(claims)
    return _TEMPLATE.render(
        base_css=BASE_CSS, report=report, claims=claims, figures=figures, escape=report.illustration,
        adversary_cols=adversary_cols, adversary_rows=adversary_rows,
        fit_cols=FIT_COLUMNS, fit_rows=fit_rows(claims), fit_table=fit_table,
        hierarchy_cols=HIERARCHY_COLUMNS, hierarchy_rows=hierarchy_rows(claims),
        hierarchy_note=HIERARCHY_NOTE,
        hierarchy_table=lambda c: [row[1:] for row in hierarchy_rows([c])],
        group_table=group_table, table=table, value=value, fmt=fmt, constants=constants,
        replays=replays, attention=needs_attention, show_env=show_env, params_text=params_text,
        ratio_text=ratio_text, failures_text=failures_text, failures_note=FAILURES_NOTE, fit_note=FIT_NOTE,
        infinite_ratio=has_infinite_ratio(claims), infinite_ratio_note=INFINITE_RATIO_NOTE,
        problems=[c for c in claims if needs_attention(c)],
        within_bound=[c for c in claims if failures_within_bound(c)],
        dash=DASH, excess_group=excess_group, power_note=POWER_NOTE,
        ratio_note=RATIO_NOTE)
