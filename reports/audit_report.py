"""The audit report: DIR/audit.json (machine-readable), DIR/audit.md (summary) and DIR/audit.html
(self-contained: inline CSS, plots as base64 PNG data URIs drawn with matplotlib's Agg canvas,
Jinja2 template with autoescaping), rendered from a typed
:class:`~byzpgd.audit.result.AuditResult`: every number comes from one of its fields, none from a
guessed key.

audit.json is ``sanitize(result.to_json())`` (schema 2; :meth:`AuditResult.from_json` reads it
back to an equal object), with this machine's :func:`~.json_report.environment` when the result
carries none. The three texts are rendered first, then staged to temporary siblings and moved in
place (:func:`byzpgd.reports.json_report.stage` / ``commit``): an interrupted write leaves whole
files. A plot that cannot be drawn is replaced by the reason; the rest is still written.

Markdown and HTML render one model (:func:`sections`: titled sections of paragraphs, bullet
lists and tables), so the two say the same thing. Sections: the settings (with the non-finite
input mode), what each verdict word means, the reasons, the statistical decisions, the findings
(their count is the number listed), the plots (HTML), worst Δ per setting (with the thresholds
of the grade), Δ per attack × setting, the slope fits against the paper's rates (exponent,
threshold, interval, evidence: the one-sided check "slope CI upper end <= threshold"), empirical
constants, the bias test, the (f, κ)-robustness estimate beside f/(n − 2f) and the proven upper
bound, and ByzantinePGD end to end.

Plots (worst Δ over the attacks): Δ against m (at α = 0 and at α_max) and Δ against n (at f_max
and at α = 0) and α, the audited aggregator (min–max over the repetitions as error bars, its
fitted log-log line dotted) beside the references and the statistical lower bound (dashed); an
infinite Δ is drawn as a red triangle at the top of the panel.
"""

from __future__ import annotations

import base64
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..audit.result import AuditResult, BiasTest, EndToEnd, KappaSummary, Measurement, SlopeFit, SweepSlopes
from ..jsonsafe import dumps, sanitize
from .json_report import commit, environment, stage
from .style import BASE_CSS

FILES = ("audit.json", "audit.md", "audit.html")
REF_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
DASH = "—"

#: one line per verdict word (audit/verdict.py, docs/audit.md "The verdict")
VERDICT_MEANING = {
    "pass": "every part of the rate was shown by the data: no error finding, robust under every attack and "
            "placement, unbiased, within the factor of the best reference at every setting, and every graded "
            "slope shown at the rate.",
    "suboptimal": "robust, but shown not to be at the rate: the worst Delta is above the factor times the "
                  "best reference's at some setting, or a graded slope is refuted.",
    "inconclusive": "the data of this profile cannot show the rate: run a larger profile (a graded slope's "
                    "interval contains its threshold, or a sweep has no slope).",
    "fail": "the rule is broken: an error finding, a non-finite output on non-finite input, a breakdown "
            "under attack, no decrease in n under attack, a bias without attack, or Theorem 1 violated end "
            "to end.",
}
REASON_WORDS = {
    "nonfinite_input": "non-finite input", "breakdown": "breakdown", "bias": "bias",
    "end_to_end": "end to end", "delta_exceeds_reference": "Delta above the reference",
    "slope": "slope refuted", "not_shown": "rate not shown", "battery": "battery",
}
EVIDENCE_WORDS = {"shown": "shown", "refuted": "refuted", "undetermined": "undetermined",
                  "missing": "no slope"}
SWEEP_WORDS = {"m_honest": "m at alpha = 0 (no attack)", "m": "m at alpha_max", "n": "n at f_max",
               "n_honest": "n at alpha = 0 (no attack)", "alpha": "alpha at (m0, n0)"}
PLACEMENT_WORDS = {"first": "Byzantine rows first", "last": "Byzantine rows last",
                   "interleaved": "Byzantine rows interleaved",
                   "worst_placement": "placement searched against the rule", "random": "random placement"}
E2E_SETTING_WORDS = {"landscape": "", "d": "d =", "m": "m =", "n": "n =", "f": "f =",
                     "norm_w_star": "|w*| =", "attack": "attack"}
#: the end-to-end claims by their short name (EndToEnd.worst_ratio's keys)
RATIO_WORDS = {"grad_norm": "|grad F(w~)| / (4 Delta)", "iterations": "calls / call bound"}
LOWER_BOUND = "alpha/sqrt(n) + sqrt(d/(n m)) (sigma = 1, docs/paper.md §7.2)"


# ---------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------
def fmt(x, digits: int = 4) -> str:
    """A value in words: '—' for None, yes/no for booleans, %g for floats ('inf', '-inf', 'nan'),
    'k v, …' for a mapping and 'a, b' for a sequence (never a Python repr)."""
    if x is None:
        return DASH
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
    if isinstance(x, dict):
        return ", ".join(f"{k} {fmt(v, digits)}" for k, v in x.items()) or DASH
    if isinstance(x, list | tuple | set | frozenset):
        return ", ".join(fmt(v, digits) for v in x) or DASH
    return str(x)


def attack_words(attack: str | None) -> str:
    """'sign_flip@last' -> 'sign_flip (Byzantine rows last)'; 'none' -> 'no attack'."""
    if attack is None:
        return DASH
    if attack == "none":
        return "no attack"
    if attack == "worst":
        return "worst over the attacks"
    base, sep, place = attack.partition("@")
    return f"{base} ({PLACEMENT_WORDS.get(place, place)})" if sep else base


def reason_words(kind: str) -> str:
    """'finding:timeout' -> 'finding (timeout)'; 'not_shown' -> 'rate not shown'."""
    if kind.startswith("finding:"):
        return f"finding ({kind.split(':', 1)[1]})"
    return REASON_WORDS.get(kind, kind.replace("_", " "))


def sweep_words(sweep: str) -> str:
    return SWEEP_WORDS.get(sweep, sweep)


def nonfinite_mode(assume_finite: bool) -> str:
    """Which non-finite input mode the audit used (audit/verdict.py, 2.)."""
    if assume_finite:
        return ("--assume-finite: the server drops non-finite rows before aggregating, so a rule that "
                "Byzantine rows of NaN or +-Inf break gets a note, not a fail (rows of 1e308 are real "
                "vectors and always graded)")
    return ("non-finite Byzantine rows graded as attacks: f rows of NaN, +Inf or -Inf that drive the rule to "
            "a non-finite output, an exception or a timeout make it fail (a server receives IEEE floats)")


def _seconds(x: float | None, missing: str) -> str:
    return missing if x is None else f"{fmt(x, 3)} s"


def _context(ctx: dict) -> str:
    order = ("phase", "attack", "setting", "m", "n", "f", "instance", "seed")
    keys = [k for k in order if k in ctx] + [k for k in ctx if k not in order]
    return ", ".join(f"{k} {fmt(ctx[k])}" for k in keys) or DASH


# ---------------------------------------------------------------------------------------------
# the document model shared by Markdown and HTML
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Para:
    text: str
    strong: bool = False
    kind: str = field(default="para", init=False)


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    strong: frozenset[int] = frozenset()     # indices of the items to emphasise
    kind: str = field(default="bullets", init=False)


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    kind: str = field(default="table", init=False)


@dataclass(frozen=True)
class Plots:
    """Where the HTML report puts the plots (the Markdown says they are in audit.html)."""
    kind: str = field(default="plots", init=False)


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple = field(default_factory=tuple)


def _table(head, rows) -> Table:
    return Table(tuple(head), tuple(tuple(r) for r in rows))


# ---------------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------------
def settings_section(res: AuditResult) -> Section:
    s = res.settings
    items = [f"aggregator: {s.target} ({s.description or 'not loaded'}), input {s.input_kind}",
             f"profile {s.profile}, seed {s.seed}, f_max = {s.f_max} (alpha_max = {fmt(s.alpha_max, 3)}), "
             f"call time limit {_seconds(s.call_timeout, 'none (in process)')}, "
             f"run time {_seconds(res.seconds, 'not recorded')}",
             f"non-finite input: {nonfinite_mode(s.assume_finite)}",
             f"references: {fmt(s.references)}; lower bound {LOWER_BOUND}",
             f"attacks ({len(s.attacks)}): {', '.join(attack_words(a) for a in s.attacks) or DASH}"]
    statement = s.criterion.get("statement")
    if statement:
        items.append(f"criterion: {statement}")
    if s.command:
        items.append(f"reproduce: {s.command}")
    return Section("Settings", (Bullets(tuple(items)),))


def verdict_section(res: AuditResult) -> Section:
    words = tuple(VERDICT_MEANING)
    items = tuple(f"{w}{' (this audit)' if w == res.verdict else ''}: {VERDICT_MEANING[w]}" for w in words)
    return Section("What the verdict means", (Bullets(items, frozenset({words.index(res.verdict)})),))


def reasons_section(res: AuditResult) -> Section:
    g = res.grade
    blocks: list = []
    if g.reasons:
        blocks.append(Bullets(tuple(f"{reason_words(r.kind)} ({r.grade}): {r.message}" for r in g.reasons)))
    else:
        blocks.append(Para("No reason: the audit passed."))
    if g.error_probability is not None:
        blocks.append(Para("Largest error probability of the statistical decisions behind the verdict: "
                           f"{fmt(g.error_probability, 2)}."))
    if g.notes:
        blocks += [Para("Notes (reported, not counted):"), Bullets(tuple(g.notes))]
    return Section(f"Reasons ({len(g.reasons)})", tuple(blocks))


def decisions_section(res: AuditResult) -> Section:
    rows = []
    for x in res.grade.decisions:
        if x.slope is not None:
            stat = f"slope {_slope_ci(x.slope, x.ci)}"
        elif x.p_value is not None:
            stat = f"p = {fmt(x.p_value, 2)} (level {fmt(x.level, 2)})"
        else:
            stat = DASH
        rows.append([x.what, EVIDENCE_WORDS.get(x.outcome, x.outcome), stat, fmt(x.error_probability, 2)])
    if not rows:
        return Section("Statistical decisions", (Para("No statistical decision was made."),))
    return Section("Statistical decisions", (
        Para("Each decision of the grade with the probability that it is wrong (where known)."),
        _table(["decision", "outcome", "statistic", "P(wrong decision)"], rows)))


def findings_section(res: AuditResult) -> Section:
    fs = res.findings
    title = f"Findings ({len(fs)})"
    if not fs:
        return Section(title, (Para("No finding: no exception, timeout, input mutation, wrong shape/dtype or "
                                    "non-finite output."),))
    errors = len(res.error_findings())
    return Section(title, (
        Para(f"{len(fs)} finding(s): {errors} error(s), {len(fs) - errors} warning(s)."),
        _table(["kind", "severity", "calls", "first seen", "message"],
               [[f.kind, f.severity, fmt(f.count), _context(f.context), f.message] for f in fs])))


def _within(res: AuditResult, r: Measurement) -> tuple[str, str, str, str]:
    """(factor threshold, breakdown threshold, within factor, broken) of a worst row, from the grade."""
    thr = res.grade.thresholds.get(r.setting)
    if thr is None:
        return DASH, DASH, DASH, DASH
    broken = "— (no attack)" if r.honest else fmt(not r.delta <= thr[1])
    return fmt(thr[0]), fmt(thr[1]), fmt(r.delta <= thr[0]), broken


def worst_table(res: AuditResult) -> Table:
    refs = res.settings.references
    head = ["m", "n", "f", "alpha", "sweeps", "Delta (audited)", "its worst attack",
            *[f"Delta {r}" for r in refs], "best reference", "ratio", "factor threshold",
            "breakdown threshold", "lower bound", "within factor", "broken", "non-finite input that broke it"]
    rows = []
    for r in res.worst():
        f_txt = fmt(r.f) + (f" (rule built for f = {r.f_rule})" if r.honest else "")
        thr, thr_b, within, broken = _within(res, r)
        rows.append([fmt(r.m), fmt(r.n), f_txt, fmt(r.alpha, 3), ", ".join(sweep_words(w) for w in r.sweeps),
                     fmt(r.delta), attack_words(r.worst_attack) if not r.honest else "no attack",
                     *[fmt(r.delta_reference.get(x)) for x in refs], fmt(r.best_reference),
                     fmt(r.ratio_to_best_reference, 3), thr, thr_b, fmt(r.lower_bound), within, broken,
                     ", ".join(attack_words(a) for a in r.nonfinite_input_failed) or "none"])
    return _table(head, rows)


def _setting_columns(res: AuditResult) -> list[Measurement]:
    """One measurement per setting (its worst row, else its first), in setting order."""
    first: dict[int, Measurement] = {}
    for r in res.measurements:
        if r.setting not in first or r.attack == "worst":
            first[r.setting] = r
    return [first[k] for k in sorted(first)]


def attack_table(res: AuditResult) -> Table:
    """Attacks × settings: the audited Δ and, in brackets, its ratio to the best reference."""
    cols = _setting_columns(res)
    head = ["attack", *[f"m={c.m}, n={c.n}, f={c.f}" + (" (no attack)" if c.honest else "") for c in cols]]
    cells: dict[str, dict[int, str]] = {}
    for r in res.measurements:
        ratio = r.ratio_to_best_reference
        finite = ratio is not None and math.isfinite(ratio)
        txt = fmt(r.delta, 3) + (f" ({fmt(ratio, 2)}x)" if finite else "")
        if r.error:
            txt += f" [{r.error}]"
        cells.setdefault(r.attack, {})[r.setting] = txt
    listed = [a for a in res.settings.attacks if a in cells]
    order = listed + [a for a in cells if a not in listed and a != "worst"] + (["worst"] if "worst" in cells
                                                                               else [])
    return _table(head, [[attack_words(a), *[cells[a].get(c.setting, DASH) for c in cols]] for a in order])


def _slope_ci(slope: float | None, ci: tuple[float, float] | None) -> str:
    if slope is None:
        return "no slope"
    return f"{slope:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci is not None else " (no interval)")


def _fit_text(fit: SlopeFit | None) -> str:
    if fit is None:
        return DASH
    if fit.slope is None and fit.infinite:
        return f"no slope ({fit.infinite} infinite Delta)"
    return _slope_ci(fit.slope, fit.ci)


def _theory_names(res: AuditResult) -> list[str]:
    names: list[str] = []
    for e in res.slopes.values():
        names += [k for k in e.theory if k not in names]
    return names


def slopes_table(res: AuditResult) -> Table:
    """Per sweep: graded or not, the theory's exponent and the threshold, the audited rule's slope
    [CI] and the evidence it gives, the references' slopes, the rates' local slopes."""
    refs = res.settings.references
    theory = _theory_names(res)
    head = ["sweep", "values", "graded", "theory's exponent", "threshold", "audited slope [CI]",
            "evidence", "P(wrong decision)", *[f"{r} slope [CI]" for r in refs],
            *[f"local slope of {t}" for t in theory]]
    rows = []
    for sweep, e in res.slopes.items():
        graded = e.graded
        rows.append([f"{sweep_words(sweep)} ({e.variable})", fmt(list(e.values), 3), fmt(graded),
                     fmt(e.exponent, 3) if graded else DASH, fmt(e.threshold, 3) if graded else DASH,
                     _fit_text(e.user), _evidence(e) if graded else "not graded",
                     fmt(e.error_probability, 2) if graded else DASH,
                     *[_fit_text(e.fits.get(r)) for r in refs], *[fmt(e.theory.get(t), 3) for t in theory]])
    return _table(head, rows)


def _evidence(e: SweepSlopes) -> str:
    return DASH if e.evidence is None else EVIDENCE_WORDS.get(e.evidence, e.evidence)


def _slopes_note(res: AuditResult) -> str:
    levels = sorted({f.level for e in res.slopes.values() for f in e.fits.values()})
    level = "/".join(f"{100 * x:.0f}%" for x in levels) or "the fits'"
    return ("Log-log slopes of the worst Delta along each sweep (OLS over the repetitions, t intervals at "
            f"{level}), beside the local slopes of the paper's rates and of the lower bound on the same "
            "grid. The check is one-sided: a graded sweep shows the rate when the audited slope's "
            "CI upper end <= threshold (the theory's exponent + the tolerance); it is refuted when the CI "
            "lower end > "
            "threshold, undetermined when the CI contains the threshold, and has no slope when fewer than "
            "two finite points were measured or a Delta was infinite.")


def constants_table(res: AuditResult) -> Table:
    names: list[str] = []
    for v in res.constants.values():
        names += [k for k in v if k not in names]
    head = ["aggregator", *[f"max Delta / rate of {n}" for n in names]]
    rows = [[("audited" if who == "user" else who), *[fmt(v.get(n), 3) for n in names]]
            for who, v in res.constants.items()]
    return _table(head, rows)


def _bias_cell(t: BiasTest | None) -> str:
    return DASH if t is None else f"{fmt(t.bias, 3)} (p = {fmt(t.p_value, 2)})"


def bias_table(res: AuditResult) -> Table:
    """Honest settings: the norm of the mean error over the repetitions and its sign-flip p-value,
    audited and references."""
    refs = res.settings.references
    head = ["m", "n", "rule built for f", "repetitions", "audited: bias (p)",
            *[f"{r}: bias (p)" for r in refs]]
    rows = [[fmt(b.m), fmt(b.n), fmt(b.f_rule), fmt(b.reps), _bias_cell(b.tests.get("user")),
             *[_bias_cell(b.tests.get(r)) for r in refs]] for b in res.bias]
    return _table(head, rows)


def rates_section(res: AuditResult) -> Section:
    blocks: list = [Para(_slopes_note(res))]
    blocks.append(slopes_table(res) if res.slopes else Para("No sweep had two values: no slope."))
    blocks += [Para("Empirical constants (largest worst Delta / O~-rate over the settings):"),
               constants_table(res) if res.constants else Para("Not computed."),
               Para("Bias without attack (norm of the mean error over the repetitions at the probe points; "
                    "sign-flip test p-value, H0: no bias):"),
               bias_table(res) if res.bias else Para("No honest setting was tested.")]
    return Section("Against the paper's rates", tuple(blocks))


def kappa_lines(k: KappaSummary | None) -> tuple[list[str], str | None]:
    """(lines, warning) of the (f, κ) section; the warning (κ̂ above the proven bound) or None."""
    if k is None:
        return ["Not estimated in this run."], None
    lines = [f"kappa-hat = {fmt(k.kappa_hat)} at n = {k.n}, f = {k.f}, d = {k.d}: a lower bound on the "
             f"rule's kappa found by adversarial search ({k.evaluations} evaluation(s) of the rule)",
             f"f/(n - 2f) = {fmt(k.lower_bound)}: the kappa no rule can beat (universal lower bound)"]
    if k.upper_bound is None:
        lines.append("proven upper bound: none known for this rule (not one of the standard rules)")
    else:
        lines.append(f"proven upper bound: {fmt(k.upper_bound)} ({k.upper_source or 'source not given'})")
    if k.kappa_hat < k.lower_bound:
        lines.append("kappa-hat is below f/(n - 2f): the search did not reach the universal lower bound, so "
                     "the rule's kappa is at least f/(n - 2f)")
    if k.error:
        lines.append(f"the rule failed during the search: {k.error}")
    warning = None
    if k.exceeds_upper:
        warning = (f"kappa-hat {fmt(k.kappa_hat)} EXCEEDS the rule's proven upper bound {fmt(k.upper_bound)} "
                   f"({k.upper_source or 'source not given'}): the implementation is wrong.")
    elif k.upper_bound is not None:
        lines.append("kappa-hat is within the proven upper bound")
    return lines, warning


def kappa_section(res: AuditResult) -> Section:
    lines, warning = kappa_lines(res.kappa)
    blocks: list = [Para("A rule F is (f, kappa)-robust (Allouah et al., AISTATS 2023, \"Fixing by Mixing\") "
                         "if for every honest subset S of n - f rows, |F(x_1..x_n) - mean_S|^2 <= kappa/|S| "
                         "sum_{i in S} |x_i - mean_S|^2.")]
    if warning:
        blocks.append(Para(warning, strong=True))
    blocks.append(Bullets(tuple(lines)))
    return Section("(f, kappa)-robustness", tuple(blocks))


def _dig(rec: dict, *keys):
    """rec[k1][k2]… or None when a level is missing (end-to-end records are plain dicts)."""
    x = rec
    for k in keys:
        if not isinstance(x, dict) or k not in x:
            return None
        x = x[k]
    return x


def e2e_table(e: EndToEnd) -> Table:
    head = ["seed", "Delta", "|grad F(w~)|", "4 Delta", "calls", "call bound", "escapes", "status",
            "in hypotheses", "holds", "note"]
    rows = []
    for r in e.records:
        note = r.get("error") or r.get("skipped")
        if note is not None:
            rows.append([fmt(r.get("seed")), *[DASH] * 9, fmt(note)])
            continue
        outside = r.get("outside") or ""
        rows.append([fmt(r.get("seed")), fmt(r.get("Delta")), fmt(_dig(r, "grad_norm", "observed")),
                     fmt(_dig(r, "grad_norm", "bound")), fmt(r.get("calls")),
                     fmt(_dig(r, "iterations", "bound")), fmt(r.get("escapes")), fmt(r.get("status")),
                     fmt(r.get("in_hypotheses")), fmt(r.get("holds")),
                     f"outside: {outside}" if outside else ""])
    return _table(head, rows)


def _e2e_setting(setting: dict) -> str:
    parts = [f"{E2E_SETTING_WORDS[k]} {fmt(v)}".strip() if k in E2E_SETTING_WORDS else f"{k} {fmt(v)}"
             for k, v in setting.items()]
    return ", ".join(parts)


def e2e_summary(e: EndToEnd) -> list[str]:
    """What the end-to-end runs show, in sentences."""
    where = f" ({_e2e_setting(e.setting)})" if e.setting else ""
    checked = e.inside_hypotheses
    if checked == 0:
        inside = "no instance was inside Theorem 1's hypotheses"
    elif e.violations == 0:
        inside = (f"{checked} instance(s) inside Theorem 1's hypotheses all satisfied |grad F(w~)| <= "
                  "4 Delta and the call bound")
    else:
        inside = (f"of {checked} instance(s) inside Theorem 1's hypotheses, {checked - e.violations} "
                  f"satisfied |grad F(w~)| <= 4 Delta and the call bound and {e.violations} VIOLATED them")
    why = Counter(str(r.get("outside")) for r in e.records
                  if r.get("in_hypotheses") is False and r.get("outside"))
    why_txt = "; ".join(f"{k}: {v} instance(s)" for k, v in why.items()) or "outside Theorem 1's hypotheses"
    lines = [f"ByzantinePGD with this rule under the saddle-point attack{where}, {e.instances} instance(s) "
             f"with the pipeline's measured Delta: {inside}."]
    if e.could_not_be_checked:
        lines.append(f"{e.could_not_be_checked} could not be checked (why: {why_txt}); they count neither "
                     "for nor against the rule.")
    if e.errors:
        lines.append(f"{e.errors} ended in an error of the rule or the run.")
    if e.skipped:
        lines.append(f"{e.skipped} skipped: the time budget of the end-to-end phase was exhausted.")
    status = {"holds": "Guarantee established on every instance that could be checked.",
              "violated": "Guarantee VIOLATED: Theorem 1 fails with this rule.",
              "error": "Guarantee not established: an instance ended in an error.",
              "unchecked": "The guarantee could not be checked on this profile (not a fail)."}
    lines.append(status.get(e.status, f"Status: {e.status}."))
    ratios = [f"{RATIO_WORDS.get(k, k)} {fmt(v, 3)}" for k, v in e.worst_ratio.items() if v is not None]
    if ratios:
        lines.append(f"Largest observed / bound over the checked instances: {'; '.join(ratios)}.")
    if e.claims:
        lines.append(f"Claims checked: {', '.join(e.claims)}.")
    return lines


def e2e_section(res: AuditResult) -> Section:
    title = "ByzantinePGD end to end (saddle-point attack, Theorem 1 with the measured Delta)"
    e = res.end_to_end
    if e is None:
        return Section(title, (Para("Not run."),))
    blocks: list = [Para(" ".join(e2e_summary(e)), strong=e.status == "violated")]
    if e.records:
        blocks.append(e2e_table(e))
    return Section(title, tuple(blocks))


def sections(res: AuditResult) -> list[Section]:
    """The report's sections, in order (module docstring)."""
    return [settings_section(res), verdict_section(res), reasons_section(res), decisions_section(res),
            findings_section(res), Section("Plots", (Plots(),)),
            Section("Worst empirical Delta per setting", (
                Para("Worst over the attacks (per repetition the sup over the attacks, then the mean); "
                     "the thresholds are the grade's: factor x the best reference's Delta + slack x lower "
                     "bound."),
                worst_table(res))),
            Section("Per attack", (Para("Audited Delta at each setting and, in brackets, its ratio to the "
                                        "best reference under the same attack; a failure of the rule in "
                                        "square brackets."), attack_table(res))),
            rates_section(res), kappa_section(res), e2e_section(res)]


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------
def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _x(r: Measurement, variable: str) -> float:
    """The value of a sweep's variable ('m', 'n' or 'alpha') at a measurement."""
    return {"m": r.m, "n": r.n, "alpha": r.alpha}[variable]


def sweep_rows(res: AuditResult, sweep: str, variable: str, attack: str = "worst") -> list[Measurement]:
    """The rows of ``attack`` (default: the worst over the attacks) on the settings of ``sweep``,
    sorted by the sweep's ``variable`` (α > 0 only for α: a log axis)."""
    rows = res.rows(attack=attack, sweep=sweep)
    if variable == "alpha":
        rows = [r for r in rows if r.alpha > 0]
    return sorted(rows, key=lambda r: _x(r, variable))


def _reps(r: Measurement, who: str) -> list[float]:
    vals = r.delta_reps if who == "audited" else r.delta_reference_reps.get(who, ())
    return [v for v in vals if v is not None and math.isfinite(v) and v > 0]


def _panel(ax, res: AuditResult, sweep: str, variable: str, title: str):
    """Worst Δ along one sweep: the audited rule (black, min–max over the repetitions as error
    bars, its fitted line dotted), the references and the lower bound (dashed)."""
    fit_entry = res.slopes.get(sweep)
    var = fit_entry.variable if fit_entry is not None else variable
    rows = sweep_rows(res, sweep, var)
    if not rows:
        ax.set_title(f"{title}: no settings", fontsize=9)
        return
    xs = [_x(r, var) for r in rows]
    series = [("audited", "black", "o")] + [(ref, REF_COLORS[j % len(REF_COLORS)], ".")
                                            for j, ref in enumerate(res.settings.references)]
    finite_all: list[float] = []
    for name, color, marker in series:
        ys = [r.delta if name == "audited" else r.delta_reference.get(name) for r in rows]
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
    ax.plot(xs, [r.lower_bound for r in rows], color="gray", ls="--", lw=1, label="lower bound")
    fit = fit_entry.user if fit_entry is not None else None
    if fit is not None and fit.slope is not None and fit.constant:
        ax.plot(xs, [fit.constant * x ** fit.slope for x in xs], color="black", ls=":", lw=1,
                label=f"fit: slope {fit.slope:.2f}")
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


#: (title, panels (sweep, its variable when no fit names it, panel title), figure title)
PLOTS = (
    ("Delta against m", [("m_honest", "m", "m sweep, alpha = 0 (no attack)"),
                         ("m", "m", "m sweep, alpha = alpha_max")],
     "Delta against m: audited (black; bars: min-max over repetitions; dotted: fit), references, "
     "lower bound (dashed)"),
    ("Delta against n and alpha", [("n", "n", "n sweep, f = f_max"), ("n_honest", "n", "n sweep, alpha = 0"),
                                   ("alpha", "alpha", "alpha sweep, n = n0")],
     "Delta against n and alpha (worst over the attacks)"),
)


def sweep_plot(res: AuditResult, panels, title: str) -> str | None:
    """One row of :func:`_panel` s; None when no panel has settings."""
    if not any(sweep_rows(res, sw, var) for sw, var, _ in panels):
        return None
    fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
    for k, (sw, var, t) in enumerate(panels):
        _panel(fig.add_subplot(1, len(panels), k + 1), res, sw, var, t)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def plots(res: AuditResult) -> list[dict]:
    """[{'title', 'uri' or 'error'}]: Δ against m, and against n and α (:data:`PLOTS`)."""
    out = []
    for title, panels, suptitle in PLOTS:
        try:
            uri = sweep_plot(res, panels, suptitle)
            out.append({"title": title, "uri": uri} if uri else
                       {"title": title, "error": "no settings in these sweeps"})
        except Exception as exc:  # a figure must never cost the report
            out.append({"title": title, "error": f"{type(exc).__name__}: {exc}"})
    return out


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
def _md_cell(c: str) -> str:
    return str(c).replace("|", "\\|").replace("\n", " ")


def _md_table(t: Table) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in t.head) + " |", "|" + "---|" * len(t.head)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def _md_block(b) -> str:
    if isinstance(b, Para):
        return f"**{b.text}**" if b.strong else b.text
    if isinstance(b, Bullets):
        return "\n".join(f"- **{x}**" if k in b.strong else f"- {x}" for k, x in enumerate(b.items))
    if isinstance(b, Table):
        return _md_table(b)
    if isinstance(b, Plots):
        return "Plots (Delta against m, against n and alpha, with the fitted slopes) are in audit.html."
    raise TypeError(f"unknown block {type(b).__name__}")


def render_markdown(result: AuditResult) -> str:
    out = [f"# byzpgd audit of `{result.target}`: **{result.verdict.upper()}**", ""]
    for s in sections(result):
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            out += [_md_block(b), ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>byzpgd audit: {{ target }} ({{ verdict }})</title>
<style>
{{ base_css }}
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.pass { color: #1a7f37; font-weight: 700; }
.fail { color: #cf222e; font-weight: 700; }
.suboptimal { color: #9a6700; font-weight: 700; }
.inconclusive { color: #8250df; font-weight: 700; }
.warn { color: #cf222e; font-weight: 700; }
img { max-width: 100%; border: 1px solid #d0d7de; }
</style>
</head>
<body>
<h1>byzpgd audit of <code>{{ target }}</code>:
<span class="{{ verdict }}">{{ verdict | upper }}</span></h1>
{% for s in sections %}
<h2>{{ s.title }}</h2>
{% for b in s.blocks %}
{% if b.kind == "para" %}<p{% if b.strong %} class="warn"{% endif %}>{{ b.text }}</p>
{% elif b.kind == "bullets" %}<ul>{% for x in b.items %}<li>{% if loop.index0 in b.strong %}<b>{{ x }}</b>
{%- else %}{{ x }}{% endif %}</li>
{% endfor %}</ul>
{% elif b.kind == "table" %}<table><tr>{% for h in b.head %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in b.rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% elif b.kind == "plots" %}{% for p in plots %}
<figure><figcaption><b>{{ p.title }}</b></figcaption>
{% if p.uri %}<img src="{{ p.uri }}" alt="{{ p.title }}">{% else %}<p>Not drawn: {{ p.error }}</p>{% endif %}
</figure>
{% endfor %}{% endif %}
{% endfor %}
{% endfor %}
</body>
</html>
"""


def render_html(result: AuditResult) -> str:
    tmpl = Environment(autoescape=True).from_string(TEMPLATE)
    return tmpl.render(base_css=BASE_CSS, target=result.target, verdict=result.verdict,
                       sections=sections(result), plots=plots(result))


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def finalize(result: AuditResult) -> AuditResult:
    """``result`` with this machine's environment (package versions) when it carries none."""
    return result if result.environment else result.with_environment(environment())


def audit_json(result: AuditResult) -> str:
    """audit.json's text: ``sanitize(result.to_json())``, strict JSON."""
    return dumps(sanitize(result.to_json())) + "\n"


def render_all(result: AuditResult) -> dict[str, str]:
    """The three texts by file name (:data:`FILES`)."""
    res = finalize(result)
    return {"audit.json": audit_json(res), "audit.md": render_markdown(res), "audit.html": render_html(res)}


def write_audit(out_dir, result: AuditResult) -> list[Path]:
    """Write DIR/audit.json, audit.md and audit.html (module docstring); returns the paths."""
    out = Path(out_dir)
    texts = render_all(result)
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
