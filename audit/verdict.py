"""The audit's graded verdict: **pass**, **suboptimal**, **inconclusive** or **fail**, each with
its reasons. *pass* is positive evidence: every part of it was shown by the data; when the data
cannot show a part, the verdict is *inconclusive*, never pass.

Notation: for a setting s of the battery (:mod:`.battery`), Δ_user(s) is the audited rule's worst
empirical Δ over the attacks (per repetition the sup over the attacks, then the mean over the
repetitions), Δ_ref(s) the smallest of the reference aggregators' same quantity on the same data,
LB(s) = α/√n + √(d/(nm)) the statistical lower bound (σ = 1, docs/paper.md §7.2).

**fail** — the rule is broken — when any of:

1. an error-level finding (an exception, timeout, crash, input mutation, wrong shape, non-finite
   output, a sandbox limit, an attempt to signal the caller, ...: :mod:`.sandbox`);
2. *non-finite input*: f Byzantine rows of NaN, +Inf or −Inf (battery.NONFINITE_INPUT) drive the
   rule to a non-finite output, an exception or a timeout. A server receives IEEE floats, and one
   Byzantine worker turning the aggregate into NaN halts training. With ``assume_finite`` (the
   server drops non-finite rows before aggregating: ``--assume-finite``) this is a note instead,
   and so are findings that only ever happened on such rows (:func:`confined_to_nonfinite_input`).
   Rows of 1e308 are real vectors and always graded (breakdown);
3. *breakdown*: at an attacked setting (α > 0), Δ_user(s) = inf or
   Δ_user(s) > BREAKDOWN · Δ_ref(s) + SLACK · LB(s), BREAKDOWN = 10;
4. *no decrease under attack*: the slope of Δ_user in n under attack at f_max is *refuted*
   (its confidence interval lies above the threshold −1/4, :mod:`.rates_fit`): the references'
   error shrinks like 1/√n, so the ratio to them grows without bound — a breakdown in the limit,
   which a larger n grid shows as (3);
5. *bias*: at an honest setting (α = 0) the rule's mean error over the repetitions is
   significantly non-zero (:func:`~.battery.bias_test`, sign-flip test, p < BIAS_LEVEL / K over
   the K honest settings, BIAS_LEVEL = 0.001) **and** larger than Δ_ref(s);
6. ByzantinePGD's Theorem 1 is violated end to end on an instance inside the theorem's
   hypotheses, or an end-to-end instance ended in an error (:mod:`.end_to_end`).

**inconclusive** — when it does not fail and a part of *pass* was not shown:

7. a graded sweep (the m sweep at α = 0, the n sweeps with and without attack, the α sweep under
   attack; :mod:`.rates_fit`) whose slope interval contains its threshold (the theory's exponent
   + 1/4), or that has no slope: the data cannot tell whether the rule is at the rate.

**suboptimal** — robust, but shown not to be at the rate — when none of the above and any of:

8. *constant*: at some setting Δ_user(s) > FACTOR · Δ_ref(s) + SLACK · LB(s), FACTOR = 3;
9. *slope*: a graded sweep other than (4) is refuted (a selection rule such as Krum keeps one
   worker's vector and its error does not shrink like 1/√m).

**pass** otherwise: no finding, robust under every attack and placement, unbiased, within FACTOR
of the best reference at every setting, and every graded sweep *shown* at the rate.

The verdict is the most severe of its reasons' grades, in the order pass < suboptimal <
inconclusive < fail (:data:`~.result.VERDICTS`): more data can only move an inconclusive verdict
to a definite one, so the quick profile is never more lenient than ci on the same rule
(tests/test_audit_evidence.py).

Why these numbers: FACTOR = 3 leaves room for the constants by which rate-optimal rules differ
(the paper's three references are within 2× of one another on the quick and ci profiles, the
geometric median within 1.05× of the best); SLACK (a tenth of the lower bound) only keeps the
comparison meaningful where every reference is near zero; BREAKDOWN = 10 is above every bounded
rule measured (docs/audit.md) and far below every non-robust one.

Error rates. A shown or refuted slope is wrong with probability at most (1 − level)/2 = 2.5 %
under its fitted sampling distribution (t tail beyond the threshold, :mod:`.rates_fit`; the
decision reports its own); a bias fail has a false-alarm probability below BIAS_LEVEL for an
unbiased rule (the sign-flip test is exact); the constant and breakdown checks compare rules on
identical data. The grade's ``error_probability`` is the largest of these for the decisions that
made the verdict (docs/audit.md: measured agreement over seeds 0–9).
"""

from __future__ import annotations

import math

from .battery import NONFINITE_INPUT
from .rates_fit import GRADED
from .result import VERDICTS, BiasEntry, Decision, EndToEnd, Finding, Grade, Measurement, Reason, SweepSlopes

FACTOR = 3.0
SLACK = 0.1
BREAKDOWN = 10.0
BIAS_LEVEL = 1e-3
BIAS_FACTOR = 1.0
CONFINABLE = ("non_finite_output", "exception", "timeout")
#: the graded sweep whose refutation is a fail (4. of the module docstring); the others' is suboptimal
FAIL_IF_REFUTED = ("n",)
NONFINITE_WORDS = {"nan": "NaN", "inf": "+Inf", "neg_inf": "-Inf"}


def confined_to_nonfinite_input(rows: list[Measurement], end_to_end: EndToEnd | None) -> bool:
    """True when the rule failed under an attack whose Byzantine rows are not in R^d (NaN, ±Inf:
    battery.NONFINITE_INPUT), every failure of the rule in the battery (an infinite Δ or a failed
    call) came from such an attack, and no end-to-end instance ended in an error."""
    if not any(r.nonfinite_input_failed for r in rows if r.attack == "worst"):
        return False
    for r in rows:
        if r.attack == "worst" or _base_attack(r.attack) in NONFINITE_INPUT:
            continue
        if r.error or not math.isfinite(r.delta):
            return False
    return not (end_to_end is not None and end_to_end.errors)


def _base_attack(attack: str) -> str:
    """'nan@last' -> 'nan' (battery attacks may carry their placement after '@')."""
    return attack.split("@", 1)[0]


def threshold(best_reference: float | None, lower_bound: float, factor: float = FACTOR,
              slack: float = SLACK) -> float:
    """factor · best reference's Δ + slack · lower bound (inf without a reference)."""
    if best_reference is None:
        return math.inf
    return factor * best_reference + slack * lower_bound


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}" if math.isfinite(x) else ("infinite" if x > 0 else "-infinite")


def _attack_text(r: Measurement) -> str:
    if r.honest:
        return "no attack"
    att = r.worst_attack or r.attack
    base, _, place = att.partition("@")
    if place:
        return f"attack '{base}' with the Byzantine rows placed '{place}'"
    return f"attack '{base}' (Byzantine rows at random positions, drawn afresh at every call)"


def _delta_reason(r: Measurement, rows: list[Measurement], thr: float, mult: float, slack: float,
                  kind: str, grade_: str) -> Reason:
    best, best_d = r.best_reference, r.best_reference_delta
    cause = f" (the aggregator failed: {r.error})" if r.error else ""
    same = [x for x in rows if x.setting == r.setting and x.attack != "worst"]
    over = {x.attack: x.delta for x in same if x.delta > thr}
    also = ""
    if len(over) == len(same) and len(same) > 1 and all(not math.isfinite(v) for v in over.values()):
        also = f"; every attack ({len(same)}) gives an infinite Delta"
    elif len(over) > 1:
        also = f"; {len(over)} attacks exceed it: " + ", ".join(f"{a} {_fmt(v)}" for a, v in over.items())
    what = "breakdown: " if kind == "breakdown" else ""
    ref_att = r.reference_worst_attack.get(best) if best else None
    ref_txt = ("no reference defined at this setting" if best is None else
               f"best reference {best}" + (f", its worst attack '{ref_att}'" if ref_att else ""))
    msg = (f"{what}setting {r.label()}: Delta = {_fmt(r.delta)} under {_attack_text(r)}{cause} > {mult:g} x "
           f"{_fmt(best_d)} ({ref_txt}) + {slack:g} x lower bound {_fmt(r.lower_bound)} = {_fmt(thr)}{also}")
    details = {"attack": r.worst_attack, "setting": r.setting, "m": r.m, "n": r.n, "d": r.d, "f": r.f,
               "alpha": r.alpha, "delta_empirical": r.delta, "best_reference": best,
               "best_reference_delta": best_d, "threshold": thr, "factor": mult, "lower_bound": r.lower_bound,
               "attacks_exceeding": over}
    return Reason(kind, grade_, msg, details)


def _nonfinite_reasons(rows: list[Measurement], findings: list[Finding], assume_finite: bool,
                       confined: bool) -> tuple[list[Reason], list[str]]:
    """2. of the module docstring: (fail reasons, notes)."""
    broken: dict[str, list[Measurement]] = {}
    for r in rows:
        if r.attack == "worst":
            for a in r.nonfinite_input_failed:
                broken.setdefault(a, []).append(r)
    kinds = sorted({f.kind for f in findings if f.severity == "error" and f.kind in CONFINABLE})
    how = f" ({', '.join(kinds)})" if kinds and confined else ""
    reasons, notes = [], []
    for a, rs in sorted(broken.items()):
        word = NONFINITE_WORDS.get(_base_attack(a), a)
        r = rs[0]
        msg = (f"{r.f} Byzantine row(s) of {word} (attack '{a}') drive the rule to a non-finite output, an "
               f"exception or a timeout{how} at {len(rs)} setting(s), first at {r.label()}: one Byzantine "
               "worker sending IEEE non-finite values halts training")
        if assume_finite:
            notes.append(msg + " (not graded: --assume-finite, the server drops non-finite rows before "
                               "aggregating)")
        else:
            reasons.append(Reason("nonfinite_input", "fail", msg,
                                  {"attack": a, "input": word, "settings": [x.setting for x in rs]}))
    return reasons, notes


def _finding_reasons(rows, findings, end_to_end, assume_finite) -> tuple[list[Reason], list[str], bool]:
    """1. of the module docstring: (fail reasons, notes, confined)."""
    confined = confined_to_nonfinite_input(rows, end_to_end) if rows else False
    reasons, notes = [], []
    for fnd in findings:
        if fnd.severity != "error":
            continue
        if confined and fnd.kind in CONFINABLE:
            if assume_finite:
                notes.append(f"{fnd.kind} ({fnd.count} call(s)) only on Byzantine rows of NaN/±Inf, dropped "
                             f"by the server under --assume-finite: not graded. {fnd.message}")
            continue        # graded as nonfinite_input, which names the input
        msg = f"{fnd.kind} ({fnd.count} call(s)): {fnd.message}"
        reasons.append(Reason(f"finding:{fnd.kind}", "fail", msg, {"context": dict(fnd.context)}))
    return reasons, notes, confined


def _delta_reasons(rows: list[Measurement], factor: float, slack: float, breakdown: float):
    """3. and 8.: (reasons, thresholds by setting)."""
    reasons, thresholds = [], {}
    for r in rows:
        if r.attack != "worst":
            continue
        thr = threshold(r.best_reference_delta, r.lower_bound, factor, slack)
        thr_b = threshold(r.best_reference_delta, r.lower_bound, breakdown, slack)
        thresholds[r.setting] = (thr, thr_b)
        if not r.honest and not r.delta <= thr_b:
            reasons.append(_delta_reason(r, rows, thr_b, breakdown, slack, "breakdown", "fail"))
        elif not r.delta <= thr:
            reasons.append(_delta_reason(r, rows, thr, factor, slack, "delta_exceeds_reference",
                                         "suboptimal"))
    return reasons, thresholds


def _bias_reasons(rows: list[Measurement], bias: list[BiasEntry], bias_level: float):
    """5.: (reasons, decisions)."""
    worst = {r.setting: r for r in rows if r.attack == "worst"}
    entries = [b for b in bias if b.tests.get("user") is not None]
    reasons, decisions = [], []
    for b in entries:
        t = b.tests["user"]
        row = worst.get(b.setting)
        ref = row.best_reference_delta if row is not None else None
        level = bias_level / len(entries)
        significant = t.p_value < level
        large = ref is not None and t.bias > BIAS_FACTOR * ref
        biased = significant and large
        decisions.append(Decision(f"bias at m = {b.m}, n = {b.n}", "biased" if biased else "unbiased",
                                  level if biased else None, p_value=t.p_value, level=level))
        if biased:
            reasons.append(Reason(
                "bias", "fail",
                f"biased without attack: at m = {b.m}, n = {b.n}, d = {b.d} (alpha = 0, rule built for "
                f"f = {b.f_rule}) the mean error over {t.reps} data sets has norm {_fmt(t.bias)} > "
                f"{BIAS_FACTOR:g} x the best reference's Delta {_fmt(ref)} (sign-flip test p = "
                f"{t.p_value:.2g} < {level:.2g}): an error that does not shrink with m",
                {"setting": b.setting, "m": b.m, "n": b.n, "bias": t.bias, "p_value": t.p_value,
                 "level": level, "best_reference_delta": ref}))
    return reasons, decisions


def _slope_text(e: SweepSlopes) -> str:
    u = e.user
    if u is None or u.slope is None:
        return "no slope"
    ci = f" ({100 * u.level:.0f}% CI [{u.ci[0]:.3g}, {u.ci[1]:.3g}])" if u.ci else " (no interval)"
    return f"fitted slope {u.slope:.3g}{ci}"


def _slope_reasons(slopes: dict[str, SweepSlopes], rows: list[Measurement]):
    """4., 7. and 9.: (reasons, decisions, notes)."""
    reasons, decisions, notes = [], [], []
    for sweep in GRADED:
        e = slopes.get(sweep)
        if e is None or not e.graded:
            reasons.append(Reason("not_shown", "inconclusive",
                                  f"the {sweep} sweep was not measured on this profile: its rate cannot be "
                                  "shown", {"sweep": sweep}))
            continue
        u = e.user
        if e.evidence == "missing" and u is not None and u.infinite:
            notes.append(f"slope in {e.variable} ({sweep}) not fitted: an infinite Delta (see breakdown)")
            continue
        what = f"slope in {e.variable} ({sweep}) <= {e.threshold:.3g}"
        decisions.append(Decision(what, e.evidence, e.error_probability,
                                  slope=None if u is None else u.slope, ci=None if u is None else u.ci))
        if e.evidence == "shown":
            continue
        theory = (f"the theory's exponent {_fmt(e.exponent)} + tolerance = {e.threshold:.3g}; median's "
                  f"local slope {_fmt(e.theory.get('median'))}, iterative filtering's "
                  f"{_fmt(e.theory.get('iterative_filtering'))}, lower bound's "
                  f"{_fmt(e.theory.get('lower_bound'))}")
        details = {"sweep": sweep, "variable": e.variable, "slope": None if u is None else u.slope,
                   "ci": None if u is None or u.ci is None else list(u.ci), "threshold": e.threshold,
                   "exponent": e.exponent, "theory": dict(e.theory), "evidence": e.evidence,
                   "error_probability": e.error_probability}
        if e.evidence == "refuted":
            fail = sweep in FAIL_IF_REFUTED
            under = "under attack " if fail else ""
            consequence = (": the references' error shrinks at the rate, so the ratio to them grows without "
                           "bound (a breakdown as n grows)" if fail else "")
            reasons.append(Reason(
                "slope", "fail" if fail else "suboptimal",
                f"Delta {under}does not shrink at the rate in {e.variable} ({sweep}): {_slope_text(e)} lies "
                f"above {theory}{consequence}; probability that the decision is wrong: "
                f"{_fmt(e.error_probability)}", details))
        else:
            reasons.append(Reason(
                "not_shown", "inconclusive",
                f"the rate in {e.variable} ({sweep}) is not shown: {_slope_text(e)} contains the threshold "
                f"({theory}); more data (a larger profile) would decide", details))
    return reasons, decisions, notes


def grade(rows: list[Measurement], end_to_end: EndToEnd | None, findings: list[Finding], *,
          slopes: dict[str, SweepSlopes] | None = None, bias: list[BiasEntry] | None = None,
          assume_finite: bool = False, factor: float = FACTOR, slack: float = SLACK,
          breakdown: float = BREAKDOWN, bias_level: float = BIAS_LEVEL) -> Grade:
    """The graded verdict (module docstring) of the battery's ``rows``, the ``end_to_end`` summary,
    the ``findings``, the ``slopes`` (:func:`.rates_fit.sweep_slopes`) and the ``bias`` tests.
    Nothing is written into the rows: the thresholds each worst row was judged against are in the
    grade's ``thresholds``."""
    if not (isinstance(factor, int | float) and factor >= 1):
        raise ValueError(f"factor must be >= 1, got {factor!r}")
    if not (isinstance(slack, int | float) and slack >= 0):
        raise ValueError(f"slack must be >= 0, got {slack!r}")
    if not (isinstance(breakdown, int | float) and breakdown >= factor):
        raise ValueError(f"breakdown must be >= factor = {factor}, got {breakdown!r}")
    rows = list(rows)
    reasons, notes, confined = _finding_reasons(rows, findings, end_to_end, assume_finite)
    nf_reasons, nf_notes = _nonfinite_reasons(rows, findings, assume_finite, confined)
    reasons += nf_reasons
    notes += nf_notes
    d_reasons, thresholds = _delta_reasons(rows, factor, slack, breakdown)
    reasons += d_reasons
    b_reasons, decisions = _bias_reasons(rows, list(bias or []), bias_level)
    reasons += b_reasons
    if end_to_end is not None:
        if not end_to_end.holds:
            for msg in end_to_end.reasons or ("ByzantinePGD's guarantee was not established",):
                reasons.append(Reason("end_to_end", "fail", msg))
        notes += list(end_to_end.notes)
    if rows:
        s_reasons, s_decisions, s_notes = _slope_reasons(slopes or {}, rows)
        reasons += s_reasons
        decisions += s_decisions
        notes += s_notes
    elif not any(r.grade == "fail" for r in reasons):      # e.g. a load error already says why
        reasons.append(Reason("battery", "fail", "no measurement was made"))
    verdict = max((r.grade for r in reasons), key=VERDICTS.index, default="pass")
    reasons.sort(key=lambda r: -VERDICTS.index(r.grade))
    probs = [d.error_probability for d in decisions if d.error_probability is not None]
    return Grade(verdict, tuple(reasons), tuple(notes), max(probs) if probs else None, tuple(decisions),
                 thresholds)
