"""The audit report: DIR/audit.json (machine-readable), DIR/audit.md (summary) and DIR/audit.html
(self-contained: inline CSS, plots as base64 PNG data URIs drawn with matplotlib's Agg canvas,
Jinja2 template with autoescaping).

The three texts are rendered first, then staged to temporary siblings and moved in place
(:func:`byzpgd.reports.json_report.stage` / ``commit``): an interrupted write leaves whole
files. A plot that cannot be drawn is replaced by the reason; the rest is still written.

Plots (worst Δ over the attacks): Δ against m (at α = 0 and at α_max) and Δ against n (at f_max
and at α = 0) and α, the audited aggregator (min–max over the repetitions as error bars, its
fitted log-log line dotted) beside the references and the statistical lower bound (dashed); an
infinite Δ is drawn as a red triangle at the top of the panel. Tables: reasons and notes,
findings, worst Δ per setting, Δ per attack × setting, the slope fits with their intervals
against the rates' local slopes, empirical constants, the bias test, the end-to-end runs.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

from jinja2 import Environment
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..jsonsafe import dumps, sanitize
from .json_report import commit, environment, stage
from .style import BASE_CSS

FILES = ("audit.json", "audit.md", "audit.html")
# the battery's sweeps and their variable (= byzpgd.audit.rates_fit.SWEEP_VARIABLE; reports import
# no audit module: tests/test_audit.py checks the two agree)
SWEEP_VARIABLE = {"alpha": "alpha", "n": "n", "m": "m", "m_honest": "m", "n_honest": "n"}
REF_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def fmt(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return f"{x:.{digits}g}"
    return str(x)


def _num(x) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, int | float):
        return float(x)
    if isinstance(x, str) and x in ("inf", "-inf", "nan"):
        return float(x)
    return None


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------
def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def sweep_rows(report: dict, sweep: str, attack: str = "worst") -> list[dict]:
    """The rows of ``attack`` (default: the worst over the attacks) on the settings of ``sweep``
    (a key of battery.SWEEPS), sorted by the sweep's variable."""
    ids = {s["id"] for s in report.get("settings", []) if sweep in s.get("sweeps", [])}
    var = SWEEP_VARIABLE.get(sweep, sweep)
    rows = [r for r in report.get("results", []) if r.get("setting") in ids and r["attack"] == attack]
    if var == "alpha":
        rows = [r for r in rows if r["alpha"] > 0]
    return sorted(rows, key=lambda r: r[var])


def _reps(r: dict, who: str) -> list[float]:
    vals = r.get("delta_reps") if who == "audited" else (r.get("delta_reference_reps") or {}).get(who)
    return [v for v in (_num(x) for x in (vals or [])) if v is not None and math.isfinite(v) and v > 0]


def _panel(ax, report: dict, sweep: str, title: str):
    """Worst Δ along one sweep: the audited rule (black, min–max over the repetitions as error
    bars, its fitted line dotted), the references and the lower bound (dashed)."""
    rows = sweep_rows(report, sweep)
    var = SWEEP_VARIABLE[sweep]
    if not rows:
        ax.set_title(f"{title}: no settings", fontsize=9)
        return
    xs = [r[var] for r in rows]
    series = [("audited", "black", "o")] + [(ref, REF_COLORS[j % len(REF_COLORS)], ".")
                                            for j, ref in enumerate(report.get("references", []))]
    finite_all = []
    for name, color, marker in series:
        ys = [_num(r["delta_empirical"] if name == "audited" else (r.get("delta_reference") or {}).get(name))
              for r in rows]
        pts = [(x, y, r) for x, y, r in zip(xs, ys, rows, strict=True)
               if y is not None and math.isfinite(y) and y > 0]
        finite_all += [p[1] for p in pts]
        if pts:
            lo = [p[1] - min(_reps(p[2], name) or [p[1]]) for p in pts]
            hi = [max(_reps(p[2], name) or [p[1]]) - p[1] for p in pts]
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[lo, hi], color=color, marker=marker,
                        lw=1.4 if name == "audited" else 1.0, ms=4, capsize=2, label=name)
        infs = [x for x, y in zip(xs, ys, strict=True) if y is not None and math.isinf(y)]
        if infs and name == "audited":
            top = max(finite_all) * 3 if finite_all else 1.0
            ax.plot(infs, [top] * len(infs), ls="none", marker="^", color="#cf222e", ms=7,
                    label="audited: inf")
    ax.plot(xs, [_num(r["lower_bound"]) for r in rows], color="gray", ls="--", lw=1, label="lower bound")
    entry = ((report.get("rates") or {}).get("slopes") or {}).get(sweep) or {}
    fit = (entry.get("fits") or {}).get("user") or {}
    if fit.get("slope") is not None and fit.get("constant"):
        ax.plot(xs, [fit["constant"] * x ** fit["slope"] for x in xs], color="black", ls=":", lw=1,
                label=f"fit: slope {fit['slope']:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([fmt(x, 2) for x in xs])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(var, fontsize=8)
    ax.set_ylabel("worst empirical Delta", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="best")


def sweep_plot(report: dict, panels: list[tuple[str, str]], title: str) -> str | None:
    """One row of :func:`_panel` s; None when no panel has settings."""
    if not any(sweep_rows(report, sw) for sw, _ in panels):
        return None
    fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    for k, (sw, t) in enumerate(panels):
        _panel(fig.add_subplot(1, len(panels), k + 1), report, sw, t)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


PLOTS = (
    ("Delta against m", [("m_honest", "m sweep, alpha = 0 (no attack)"), ("m", "m sweep, alpha = alpha_max")],
     "Delta against m: audited (black; bars: min-max over repetitions; dotted: fit), references, "
     "lower bound (dashed)"),
    ("Delta against n and alpha", [("n", "n sweep, f = f_max"), ("n_honest", "n sweep, alpha = 0"),
                                   ("alpha", "alpha sweep, n = n0")],
     "Delta against n and alpha (worst over the attacks)"),
)


def plots(report: dict) -> list[dict]:
    """[{'title', 'uri' or 'error'}]: Δ against m, and against n and α (:data:`PLOTS`)."""
    out = []
    for title, panels, suptitle in PLOTS:
        try:
            uri = sweep_plot(report, panels, suptitle)
            out.append({"title": title, "uri": uri} if uri else
                       {"title": title, "error": "no settings in these sweeps"})
        except Exception as exc:  # a figure must never cost the report
            out.append({"title": title, "error": f"{type(exc).__name__}: {exc}"})
    return out


# ---------------------------------------------------------------------------------------------
# tables shared by Markdown and HTML
# ---------------------------------------------------------------------------------------------
def worst_table(report: dict) -> tuple[list[str], list[list[str]]]:
    refs = report.get("references", [])
    head = ["m", "n", "f", "alpha", "sweeps", "Delta (audited)", "its worst attack",
            *[f"Delta {r}" for r in refs], "best reference", "ratio", "threshold", "lower bound",
            "within factor", "broken"]
    rows = []
    for r in report.get("results", []):
        if r["attack"] != "worst":
            continue
        f_txt = fmt(r["f"]) + (f" (rule f = {r.get('f_rule')})" if r.get("honest") else "")
        rows.append([fmt(r["m"]), fmt(r["n"]), f_txt,
                     fmt(r["alpha"], 3), ", ".join(r.get("sweeps") or []), fmt(_num(r["delta_empirical"])),
                     r.get("worst_attack", ""), *[fmt(_num(r["delta_reference"].get(x))) for x in refs],
                     fmt(r.get("best_reference")), fmt(_num(r.get("ratio_to_best_reference")), 3),
                     fmt(_num(r.get("threshold"))), fmt(_num(r["lower_bound"])), fmt(r.get("within_factor")),
                     fmt(r.get("broken"))])
    return head, rows


def attack_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Attacks × settings: the audited Δ and, in brackets, its ratio to the best reference."""
    sets = report.get("settings", [])
    head = ["attack", *[f"m={s['m']}, n={s['n']}, f={s['f']}" for s in sets]]
    cells: dict[str, dict[int, str]] = {}
    for r in report.get("results", []):
        ratio = _num(r.get("ratio_to_best_reference"))
        txt = fmt(_num(r["delta_empirical"]), 3) + (f" ({fmt(ratio, 2)}x)" if ratio is not None else "")
        if r.get("error"):
            txt += f" [{r['error']}]"
        cells.setdefault(r["attack"], {})[r["setting"]] = txt
    order = [a for a in [*report.get("attacks", []), "worst"] if a in cells]
    rows = [[a, *[cells[a].get(s["id"], "—") for s in sets]] for a in order]
    return head, rows


def e2e_table(report: dict) -> tuple[list[str], list[list[str]]]:
    e2e = report.get("end_to_end") or {}
    head = ["seed", "Delta", "|grad F(w~)|", "4 Delta", "calls", "call bound", "escapes", "status",
            "in hypotheses", "holds", "note"]
    rows = []
    for r in e2e.get("records", []):
        if "error" in r or "skipped" in r:
            rows.append([fmt(r["seed"]), *["—"] * 9, r.get("error") or r.get("skipped")])
            continue
        rows.append([fmt(r["seed"]), fmt(_num(r["Delta"])), fmt(_num(r["grad_norm"]["observed"])),
                     fmt(_num(r["grad_norm"]["bound"])), fmt(r["calls"]),
                     fmt(_num(r["iterations"]["bound"])), fmt(r["escapes"]), r["status"],
                     fmt(r["in_hypotheses"]), fmt(r["holds"]), ""])
    return head, rows


def constants_table(report: dict) -> tuple[list[str], list[list[str]]]:
    rates = (report.get("rates") or {}).get("empirical_constants") or {}
    names = sorted({k for v in rates.values() for k in v})
    head = ["aggregator", *[f"max Delta / rate_{n}" for n in names]]
    rows = [[("audited" if who == "user" else who), *[fmt(_num(v.get(n)), 3) for n in names]]
            for who, v in rates.items()]
    return head, rows


def _slope_txt(fit: dict | None) -> str:
    if not fit:
        return "—"
    if fit.get("slope") is None:
        return "inf" if fit.get("infinite") else "—"
    ci = fit.get("ci")
    return f"{fit['slope']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def slopes_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Per sweep: the audited rule's fitted slope [CI], the references', the rates' local slopes,
    the decision (graded sweeps)."""
    slopes = (report.get("rates") or {}).get("slopes") or {}
    refs = report.get("references", [])
    head = ["sweep", "values", "audited slope [CI]", *[f"{r} [CI]" for r in refs],
            "rates: median / trimmed mean / it. filtering / lower bound", "graded: threshold",
            "consistent", "P(wrong decision)"]
    rows = []
    for sweep, e in slopes.items():
        if not isinstance(e, dict) or "fits" not in e:
            continue
        th = e.get("theory") or {}
        theory = " / ".join(fmt(_num(th.get(k)), 3) for k in ("median", "trimmed_mean", "iterative_filtering",
                                                               "lower_bound"))
        values = ", ".join(fmt(_num(v), 3) for v in e.get("values", []))
        rows.append([f"{sweep} ({e.get('variable')})", values,
                     _slope_txt(e["fits"].get("user")), *[_slope_txt(e["fits"].get(r)) for r in refs], theory,
                     fmt(_num(e.get("threshold")), 3) if e.get("graded") else "not graded",
                     fmt(e.get("consistent")) if e.get("graded") else "—",
                     fmt(_num(e.get("error_probability")), 2) if e.get("graded") else "—"])
    return head, rows


def bias_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Honest settings: the norm of the mean error over the repetitions and its sign-flip p-value,
    audited and references."""
    refs = report.get("references", [])
    head = ["m", "n", "repetitions", "audited: bias (p)", *[f"{r}: bias (p)" for r in refs]]
    rows = []
    for b in report.get("bias") or []:
        tests = b.get("tests") or {}

        def cell(t):
            return "—" if not t else f"{fmt(_num(t.get('bias')), 3)} ({fmt(_num(t.get('p_value')), 2)})"
        rows.append([fmt(b.get("m")), fmt(b.get("n")), fmt(b.get("reps")), cell(tests.get("user")),
                     *[cell(tests.get(r)) for r in refs]])
    return head, rows


def _md_table(head, rows) -> str:
    def esc(c):
        return str(c).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(esc(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
def render_markdown(report: dict) -> str:
    agg = report.get("aggregator", {})
    crit = report.get("criterion", {})
    e2e = report.get("end_to_end") or {}
    out = [f"# byzpgd audit of `{agg.get('target')}`: **{str(report.get('verdict')).upper()}**", ""]
    out += [f"- aggregator: `{agg.get('target')}` ({agg.get('description') or 'not loaded'}), "
            f"input {agg.get('input_kind')}",
            f"- profile `{report.get('profile')}`, seed {report.get('seed')}, f_max = {report.get('f_max')} "
            f"(alpha_max = {fmt(_num(report.get('alpha_max')), 3)}), call time limit "
            f"{fmt(_num(report.get('call_timeout')))} s, {fmt(_num(report.get('seconds')), 3)} s",
            f"- criterion: {crit.get('statement', '')}",
            f"- references: {', '.join(report.get('references', []))}; lower bound "
            f"{(report.get('lower_bound') or {}).get('formula', '')}",
            f"- model: {report.get('model', '')}", ""]
    if report.get("command"):
        out += [f"Reproduce: `{report['command']}`", ""]
    out += ["## Reasons", ""]
    reasons = report.get("reasons") or []
    out += ([f"- **{r['kind']}** ({r.get('grade', report.get('verdict'))}): {r['message']}" for r in reasons]
            if reasons else ["None: the audit passed."])
    grade = report.get("grade") or {}
    if grade.get("error_probability") is not None:
        out += ["", f"Largest error probability of the statistical decisions behind the verdict: "
                    f"{fmt(_num(grade['error_probability']), 2)}."]
    notes = report.get("notes") or []
    if notes:
        out += ["", "Notes (reported, not counted):", ""] + [f"- {n}" for n in notes]
    out += ["", "## Findings", ""]
    findings = report.get("findings") or []
    if findings:
        out.append(_md_table(["kind", "severity", "count", "first seen", "message"],
                             [[f["kind"], f["severity"], f["count"], _context(f.get("context")), f["message"]]
                              for f in findings]))
    else:
        out.append("None: no exception, timeout, input mutation, wrong shape/dtype or non-finite output.")
    out += ["", "## Worst empirical Delta per setting", "", _md_table(*worst_table(report)), "",
            "## Per attack (audited Delta, ratio to the best reference under the same attack)", "",
            _md_table(*attack_table(report)), "", "## Against the paper's rates", "",
            "Log-log slopes of the worst Delta along each sweep, with their confidence intervals "
            "(repetitions on independent data), next to the local slopes of the paper's rates and of "
            "the lower bound on the same grid:", "",
            _md_table(*slopes_table(report)), "",
            "Empirical constants (largest worst-Delta / O~-rate over the settings):", "",
            _md_table(*constants_table(report)), "",
            "Bias without attack (norm of the mean error over the repetitions; sign-flip p-value):", "",
            _md_table(*bias_table(report)), "",
            f"_{(report.get('rates') or {}).get('note', '')}_", "",
            "## ByzantinePGD end to end (saddle-point attack, Theorem 1 with the measured Delta)", ""]
    if e2e:
        st = e2e.get("setting", {})
        out += [f"{e2e.get('instances')} instance(s) ({st.get('landscape')}, d = {st.get('d')}, "
                f"m = {st.get('m')}, n = {st.get('n')}, f = {st.get('f')}; {st.get('attack')}): "
                f"{e2e.get('inside_hypotheses')} inside the hypotheses, {e2e.get('violations')} "
                f"violation(s), {e2e.get('errors')} error(s); "
                f"guarantee {'holds' if e2e.get('holds') else 'NOT established'}.", "",
                _md_table(*e2e_table(report))]
    else:
        out.append("Not run.")
    out += ["", "Plots (Delta against m, against n and alpha, with the fitted slopes) are in audit.html.", ""]
    return "\n".join(out)


def _context(ctx) -> str:
    if not ctx:
        return ""
    keys = ("phase", "attack", "n", "f", "instance", "seed")
    return ", ".join(f"{k} {ctx[k]}" for k in keys if k in ctx)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>byzpgd audit: {{ agg.target }} ({{ verdict }})</title>
<style>
{{ base_css }}
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #cf222e; font-weight: 700; }
.suboptimal { color: #9a6700; font-weight: 700; }
img { max-width: 100%; border: 1px solid #d0d7de; }
</style>
</head>
<body>
<h1>byzpgd audit of <code>{{ agg.target }}</code>:
<span class="{{ verdict }}">{{ verdict | upper }}</span></h1>
<table>
<tr><th>aggregator</th><td><code>{{ agg.target }}</code> ({{ agg.description or "not loaded" }}),
input {{ agg.input_kind }}</td></tr>
<tr><th>profile / seed</th><td>{{ r.profile }} / {{ r.seed }}</td></tr>
<tr><th>Byzantine workers</th><td>f_max = {{ r.f_max }} (alpha_max = {{ fmt(r.alpha_max) }})</td></tr>
<tr><th>criterion</th><td>{{ r.criterion.statement if r.criterion else "" }}</td></tr>
<tr><th>references</th><td>{{ r.references | join(", ") }}</td></tr>
<tr><th>lower bound</th><td>{{ r.lower_bound.formula if r.lower_bound else "" }}</td></tr>
<tr><th>model</th><td>{{ r.model }}</td></tr>
<tr><th>call time limit</th><td>{{ fmt(r.call_timeout) }} s</td></tr>
<tr><th>run time</th><td>{{ fmt(r.seconds) }} s</td></tr>
{% if r.command %}<tr><th>reproduce</th><td><code>{{ r.command }}</code></td></tr>{% endif %}
</table>

<h2>Reasons</h2>
{% if r.reasons %}<ul>{% for x in r.reasons %}<li><b>{{ x.kind }}</b> ({{ x.grade or verdict }}):
{{ x.message }}</li>{% endfor %}</ul>
{% else %}<p>None: the audit passed.</p>{% endif %}
{% if r.grade and r.grade.error_probability is not none %}<p>Largest error probability of the statistical
decisions behind the verdict: {{ fmt(r.grade.error_probability) }}.</p>{% endif %}
{% if r.notes %}<p>Notes (reported, not counted):</p><ul>{% for n in r.notes %}<li>{{ n }}</li>{% endfor %}
</ul>{% endif %}

<h2>Findings</h2>
{% if r.findings %}
<table><tr><th>kind</th><th>severity</th><th>count</th><th>first seen</th><th>message</th></tr>
{% for f in r.findings %}<tr><td>{{ f.kind }}</td><td>{{ f.severity }}</td><td>{{ f.count }}</td>
<td>{{ context(f.context) }}</td><td>{{ f.message }}</td></tr>{% endfor %}
</table>
{% else %}<p>None: no exception, timeout, input mutation, wrong shape/dtype or non-finite output.</p>
{% endif %}

<h2>Plots</h2>
{% for p in plots %}
<figure><figcaption><b>{{ p.title }}</b></figcaption>
{% if p.uri %}<img src="{{ p.uri }}" alt="{{ p.title }}">{% else %}<p>Not drawn: {{ p.error }}</p>{% endif %}
</figure>
{% endfor %}

{% for t in tables %}
<h2>{{ t.title }}</h2>
{% if t.note %}<p>{{ t.note }}</p>{% endif %}
<table><tr>{% for h in t.head %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in t.rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endfor %}
</body>
</html>
"""


def render_html(report: dict) -> str:
    env = Environment(autoescape=True)
    tmpl = env.from_string(TEMPLATE)
    e2e = report.get("end_to_end") or {}
    tables = [
        {"title": "Worst empirical Delta per setting", "note": "", **_ht(worst_table(report))},
        {"title": "Per attack", "note": "Audited Delta at each setting and, in brackets, its ratio to the "
                                        "best reference under the same attack.", **_ht(attack_table(report))},
        {"title": "Against the paper's rates: log-log slopes of the worst Delta, with confidence intervals",
         "note": (report.get("rates") or {}).get("note", ""), **_ht(slopes_table(report))},
        {"title": "Against the paper's rates: empirical constants",
         "note": "Largest worst-Delta / O~-rate over the settings.", **_ht(constants_table(report))},
        {"title": "Bias without attack",
         "note": "Norm of the mean error over the repetitions at the probe points, and the sign-flip "
                 "test's p-value (H0: no bias).", **_ht(bias_table(report))},
        {"title": "ByzantinePGD end to end (saddle-point attack, Theorem 1 with the measured Delta)",
         "note": (f"{e2e.get('inside_hypotheses')} of {e2e.get('instances')} instance(s) inside the "
                  f"hypotheses; {e2e.get('violations')} violation(s), {e2e.get('errors')} error(s); "
                  f"guarantee {'holds' if e2e.get('holds') else 'NOT established'}." if e2e else "Not run."),
         **_ht(e2e_table(report))},
    ]
    return tmpl.render(base_css=BASE_CSS, r=report, agg=report.get("aggregator", {}),
                       verdict=str(report.get("verdict")),
                       plots=plots(report), tables=tables, fmt=lambda x: fmt(_num(x) if not isinstance(x, int)
                                                                              else x),
                       context=_context)


def _ht(t):
    return {"head": t[0], "rows": t[1]}


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def finalize(report: dict) -> dict:
    """Strict-JSON copy of the report with the environment (package versions) added."""
    rep = sanitize(report)
    rep.setdefault("environment", environment())
    return rep


def render_all(report: dict) -> dict[str, str]:
    rep = finalize(report)
    return {"audit.json": dumps(rep) + "\n", "audit.md": render_markdown(rep), "audit.html": render_html(rep)}


def write_audit(out_dir, report: dict) -> list[Path]:
    """Write DIR/audit.json, audit.md and audit.html (module docstring); returns the paths."""
    out = Path(out_dir)
    texts = render_all(report)
    out.mkdir(parents=True, exist_ok=True)
    staged = {}
    try:
        for name, text in texts.items():
            staged[name] = stage(out / name, text)
        for name in texts:
            commit(staged.pop(name), out / name)
    finally:
        for tmp in staged.values():
            Path(tmp).unlink(missing_ok=True)
    return [out / name for name in texts]
