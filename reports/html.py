"""report.html: a self-contained page (inline CSS, figures as data: URIs; nothing is fetched
when it is viewed) with the summary table, three figures and every claim in full.

Figures: (a) tightness per claim (and per adversary where entries break it down), (b) the
Δ-rate fits the rate-kind entries carry (the section says so plainly when there are none),
(c) an escape illustration computed at report time (ByzantinePGD against robust GD from the
strict saddle of a 2-D CosineSaddle; parameters printed next to it). A figure that cannot be
drawn is replaced by the reason; the rest of the report is still written.

The template is an inline Jinja2 string rendered with autoescaping: every value from the report
is escaped.
"""

from __future__ import annotations

import functools
import json
import traceback

from jinja2 import Environment
from markupsafe import Markup, escape

from . import plots
from .markdown import (
    DASH,
    KNOWN_KEYS,
    STATUS_MARK,
    adversary_table,
    as_records,
    constants,
    errors_of,
    fmt,
    rate_table,
    replays,
)

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>byzpgd verification report: profile {{ report.profile }}, seed {{ report.seed }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1em 2em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
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
<tr><th>profile</th><td>{{ report.profile }}</td></tr>
<tr><th>seed</th><td>{{ report.seed }}</td></tr>
{% if report.command %}
<tr><th>command</th><td><code>{{ report.command }}</code></td></tr>
{% endif %}
<tr><th>summary</th><td>{{ claims|length }} claim(s):
{% for k, v in summary.items() %}
  <span class="status-{{ k }}">{{ v }} {{ k }}</span>{{ "," if not loop.last }}
{% endfor %}
</td></tr>
{% if report.adversaries %}
<tr><th>adversaries</th><td>{{ show(report.adversaries) }}</td></tr>
{% endif %}
{% if report.seconds is not none %}
<tr><th>total time</th><td>{{ fmt(report.seconds) }} s</td></tr>
{% endif %}
{% for k, v in top_extra %}
<tr><th>{{ k }}</th><td>{{ show(v) }}</td></tr>
{% endfor %}
</table>

<h2 id="summary">Summary</h2>
<table>
<tr><th>claim</th><th>kind</th><th>provenance</th><th>status</th><th>instances</th>
<th>non-vacuous</th><th>violations</th><th>worst ratio</th><th>constant (empirical / paper)</th>
<th>seconds</th></tr>
{% for c in claims %}
<tr><td><a href="#claim-{{ loop.index }}"><code>{{ c.get('id', '?') }}</code></a></td>
<td>{{ fmt(c.get('kind')) }}</td>
<td>{{ fmt(c.get('provenance')) }}</td>
<td class="status-{{ c.get('status') }}">{{ fmt(c.get('status')) }}</td>
<td class="num">{{ fmt(c.get('instances')) }}</td>
<td class="num">{{ fmt(c.get('nonvacuous_instances')) }}</td>
<td class="num">{{ fmt(c.get('violations')) }}</td>
<td class="num">{{ fmt(c.get('worst_ratio')) }}</td>
<td class="num">{{ constants(c) }}</td>
<td class="num">{{ fmt(c.get('seconds')) }}</td></tr>
{% endfor %}
</table>
<p class="note">worst ratio = largest observed/bound over the checked instances (&le; 1: the bound
held on every instance; &le; 0: it held with a sign margin). The empirical constant is the smallest
constant in place of the paper's that would still hold on every instance.</p>

<h2 id="tightness">Tightness per claim</h2>
{% if figures.tightness.uri %}
<figure><img alt="worst observed/bound per claim" src="{{ figures.tightness.uri }}">
<figcaption>Worst observed/bound per claim{% if adv_rows %} and, marked &#8627;, per adversary{% endif %};
the dashed line is the bound (ratio 1). Colours: claim status. Ratios &le; 0 are drawn at the left
edge (&#9664;), infinite ones at the right edge (&#9654;); the printed value is exact.</figcaption>
</figure>
{% else %}
<p class="missing">No tightness plot: {{ figures.tightness.why }}</p>
{% endif %}
{% if adv_rows %}
<h3>Per adversary</h3>
{{ table(adv_cols, adv_rows) }}
{% endif %}

<h2 id="rates">&Delta;-rate fits</h2>
{% if figures.rates.uri %}
<figure><img alt="log-log rate fits" src="{{ figures.rates.uri }}">
<figcaption>Points of the rate-kind entries on log-log axes with the fitted line (its origin is
stated in the legend: the entry's own slope/constant, or a least-squares fit computed by the
report) and, dotted, the theory's slope where the entry states it.</figcaption></figure>
{% else %}
<p class="missing">{{ figures.rates.why }}</p>
{% endif %}
{% if rate_rows %}
{{ table(rate_cols, rate_rows) }}
{% endif %}

<h2 id="escape">Escape trajectories (illustration)</h2>
{% if figures.escape.uri %}
<figure><img alt="ByzantinePGD and robust GD from a strict saddle" src="{{ figures.escape.uri }}">
<figcaption>Not part of the verification: a small deterministic run computed when this report was
written. {{ escape_caption }}</figcaption></figure>
{% if escape_rows %}
<table><tr><th>run</th><th>status</th><th>oracle calls</th><th>escapes</th>
<th>&#8214;&nabla;F(w&#771;)&#8214;</th><th>&lambda;<sub>min</sub>(&nabla;&sup2;F(w&#771;))</th>
<th>parameters</th></tr>
{% for r in escape_rows %}
<tr><td>{{ r.name }}</td><td>{{ r.status }}</td><td class="num">{{ r.calls }}</td>
<td class="num">{{ r.escapes }}</td><td class="num">{{ fmt(r.grad_norm) }}</td>
<td class="num">{{ fmt(r.lambda_min) }}</td><td><code>{{ r.params }}</code></td></tr>
{% endfor %}
</table>
{% endif %}
{% else %}
<p class="missing">No escape illustration: {{ figures.escape.why }}</p>
{% endif %}

<h2 id="claims">Claims</h2>
{% for c in claims %}
{% set i = loop.index0 %}
<section class="claim{{ ' bad' if c.get('status') != 'holds' }}" id="claim-{{ loop.index }}">
<h3><code>{{ c.get('id', '?') }}</code> &mdash;
<span class="status-{{ c.get('status') }}">{{ fmt(c.get('status')) }}</span></h3>
<table class="kv">
<tr><th>statement</th><td>{{ fmt(c.get('statement')) }}</td></tr>
<tr><th>bound (formula)</th><td><code>{{ fmt(c.get('formula')) }}</code></td></tr>
<tr><th>source</th><td>{{ fmt(c.get('source')) }}</td></tr>
<tr><th>provenance</th><td>{{ fmt(c.get('provenance')) }}</td></tr>
<tr><th>kind</th><td>{{ fmt(c.get('kind')) }}</td></tr>
<tr><th>instances</th><td>{{ fmt(c.get('instances')) }} checked,
  {{ fmt(c.get('nonvacuous_instances')) }} non-vacuous
  {%- if 'outside_hypotheses' in c %}, {{ fmt(c.get('outside_hypotheses')) }} outside the hypotheses
  {%- endif %}</td></tr>
<tr><th>violations / errors</th>
<td>{{ fmt(c.get('violations')) }} / {{ fmt(c.get('errors', errs[i]|length)) }}</td></tr>
<tr><th>worst ratio</th><td>{{ fmt(c.get('worst_ratio'), 6) }}</td></tr>
<tr><th>empirical / paper constant</th><td>{{ constants(c) }}</td></tr>
<tr><th>seconds</th><td>{{ fmt(c.get('seconds')) }}</td></tr>
{% if c.get('binomial') is mapping %}
{% set b = c.get('binomial') %}
<tr><th>binomial test</th><td>{{ fmt(b.get('failures')) }} failures / {{ fmt(b.get('trials')) }}
trials, &delta; = {{ fmt(b.get('delta')) }}, p = {{ fmt(b.get('p_value')) }}
(rejected below {{ fmt(b.get('reject_below')) }})</td></tr>
{% endif %}
{% if c.get('adversaries') %}
<tr><th>adversaries</th><td>{{ value(c.get('adversaries'), 'adversary') }}</td></tr>
{% endif %}
{% if c.get('worst_violation') is mapping %}
<tr><th>worst violation</th><td><pre>{{ pretty(c.get('worst_violation')) }}</pre></td></tr>
{% endif %}
{% if c.get('notes') %}
<tr><th>notes</th><td>{{ fmt(c.get('notes')) }}</td></tr>
{% endif %}
<tr><th>replay</th><td>
{% for cmd in reps[i] %}
<pre>{{ cmd }}</pre>
{% else %}
{{ dash }}
{% endfor %}
</td></tr>
<tr><th>errors</th><td>
{% for e in errs[i] %}
<p><code>{{ e.get('error', '') }}</code></p>
{% if e.get('spec') %}<p>spec: <code>{{ show(e.get('spec')) }}</code></p>{% endif %}
{% if e.get('traceback') %}
<details><summary>traceback</summary><pre>{{ e.get('traceback') }}</pre></details>
{% endif %}
{% else %}
{{ dash }}
{% endfor %}
</td></tr>
{% for k, v in extras[i] %}
<tr><th>{{ k }}</th><td>{{ value(v, k) }}</td></tr>
{% endfor %}
</table>
</section>
{% endfor %}

<h2 id="environment">Environment</h2>
<table class="kv">
{% for k, v in env.items() %}
<tr><th>{{ k }}</th><td>{{ show_env(v) }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)
TOP_KEYS = ("profile", "seed", "command", "environment", "summary", "adversaries", "claims", "seconds")


def pretty(x) -> str:
    return json.dumps(x, indent=2, ensure_ascii=False, default=str)


def show(x) -> str:
    """One-line text of any value (lists of names joined by commas)."""
    if isinstance(x, list) and all(isinstance(v, (str, int, float)) for v in x):
        return ", ".join(fmt(v) for v in x)
    return fmt(x)


_CELL = _ENV.from_string(
    "<table>{% if cols %}<tr>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr>{% endif %}"
    "{% for r in rows %}<tr>{% for x in r %}<td{{ ' class=num' if num(x) }}>{{ fmt(x) }}</td>{% endfor %}"
    "</tr>{% endfor %}</table>")
_VALUE = _ENV.from_string(
    "{% if scalar %}{{ fmt(v) }}{% else %}<details{{ ' open' if text|length < 400 }}><summary>"
    "{{ summary }}</summary><pre>{{ text }}</pre></details>{% endif %}")


def table(cols, rows) -> Markup:
    """An HTML table (escaped) of rows of JSON values."""
    return Markup(_CELL.render(cols=cols, rows=rows, fmt=fmt,
                               num=lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)))


def value(v, name: str = "name") -> Markup:
    """Any JSON value as HTML: a table when it is a dict/list of flat records, a short list of
    names inline, a scalar as text, anything else as pretty JSON (escaped, collapsible)."""
    rec = as_records(v, name)
    if rec is not None:
        return table(*rec)
    if isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
        return Markup(escape(show(v)))
    scalar = not isinstance(v, (dict, list))
    return Markup(_VALUE.render(v=v, scalar=scalar, text="" if scalar else pretty(v),
                                summary=f"{len(v)} item(s)" if not scalar else "", fmt=fmt))


def show_env(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {fmt(x)}" for k, x in v.items())
    return show(v)


def _figure(fn, *args) -> dict:
    try:
        uri = fn(*args)
    except Exception as exc:  # a figure that fails must not cost the whole report
        return {"uri": None, "why": f"the figure could not be drawn ({type(exc).__name__}: {exc})",
                "trace": traceback.format_exc(limit=3)}
    return {"uri": uri, "why": None}


@functools.lru_cache(maxsize=1)
def _escape_section() -> tuple[dict, str, list[dict]]:
    """The escape figure, caption and table (deterministic: computed once per process)."""
    try:
        ill = plots.escape_illustration()
    except Exception as exc:
        return ({"uri": None, "why": f"the run failed ({type(exc).__name__}: {exc})"}, "", [])
    p = ill["params"]
    lam = next((c[2] for c in ill["critical_points"] if "saddle" in c[1]), None)
    caption = (f"Landscape: CosineSaddle.random({p['dim']}, numpy.random.default_rng({p['landscape_seed']})) "
               f"(L_F = {fmt(ill['L_F'])}, ρ_F = {fmt(ill['rho_F'])}, strict saddle at 0 with λ_min = "
               f"{fmt(lam)}). Both runs start at "
               f"the saddle w = 0 with CertifiedOracle(RandomDirectionOracle(land, Δ = {p['Delta']:g}, "
               f"default_rng({p['oracle_seed']}))), an error of norm exactly Δ in a random direction. "
               f"ByzantinePGD: Theorem 1's parameters for δ = {p['delta']}, perturbations from "
               f"default_rng({p['run_seed']}). Robust GD: η = 1/L_F, ε = 3Δ, no perturbation: its first "
               f"aggregated gradient has norm Δ < ε, so it stops at the saddle. Left: queried points on "
               f"contour lines of F. Right: distance of each query from the saddle.")
    rows = [{"name": name, "status": r["status"], "calls": r["calls"], "escapes": r["escapes"],
             "grad_norm": r["grad_norm"], "lambda_min": r["lambda_min"],
             "params": ", ".join(f"{k}={fmt(v)}" for k, v in r["params"].items())}
            for name, r in ill["runs"].items()]
    return _figure(plots.escape_plot, ill), caption, rows


def render_html(report: dict, *, escape_illustration: bool = True) -> str:
    """The HTML report. ``escape_illustration=False`` skips the run-time illustration (the
    section then says so)."""
    claims = [c for c in report.get("claims", []) if isinstance(c, dict)]
    fits = plots.rate_fits(claims)
    rate_cols, rate_rows = rate_table(claims)
    if fits:
        rates_fig = _figure(plots.rate_fit_plot, fits)
    elif any(c.get("kind") == "rate" for c in claims):
        rates_fig = {"uri": None, "why": "The rate-kind claims in this report carry no fitted points "
                                         "(x/y sweep data), so there is nothing to plot."}
    else:
        rates_fig = {"uri": None, "why": "This report contains no rate-kind claim with fitted points: "
                                         "no Δ-rate fit to plot."}
    if escape_illustration:
        escape_fig, escape_caption, escape_rows = _escape_section()
    else:
        escape_fig, escape_caption, escape_rows = ({"uri": None, "why": "skipped for this report."}, "", [])
    figures = {"tightness": _figure(plots.tightness_plot, claims) if claims
               else {"uri": None, "why": "the report has no claims."},
               "rates": rates_fig, "escape": escape_fig}
    if figures["tightness"]["uri"] is None and claims and figures["tightness"]["why"] is None:
        figures["tightness"]["why"] = "no claim has a ratio."
    adv_cols, adv_rows = adversary_table(claims)
    env = report.get("environment") if isinstance(report.get("environment"), dict) else {}
    return _TEMPLATE.render(
        report=report, claims=claims, summary=report.get("summary") or {}, figures=figures,
        adv_cols=adv_cols, adv_rows=adv_rows, table=table, value=value,
        rate_cols=rate_cols, rate_rows=rate_rows,
        escape_caption=escape_caption, escape_rows=escape_rows,
        reps=[replays(c) for c in claims], errs=[errors_of(c) for c in claims],
        extras=[[(k, v) for k, v in c.items() if k not in KNOWN_KEYS] for c in claims],
        top_extra=[(k, v) for k, v in report.items() if k not in TOP_KEYS], env=env,
        fmt=fmt, constants=constants, show_env=show_env, pretty=pretty, show=show, dash=DASH,
        status_mark=STATUS_MARK)
