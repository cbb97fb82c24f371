"""The audit's graded verdict: **pass**, **suboptimal** or **fail**, each with its reasons.

Notation: for a setting s of the battery (:mod:`.battery`), Δ_user(s) is the audited rule's worst
empirical Δ over the attacks (per repetition the sup over the attacks, then the mean over the
repetitions), Δ_ref(s) the smallest of the reference aggregators' same quantity on the same data,
LB(s) = α/√n + √(d/(nm)) the statistical lower bound (σ = 1, docs/paper.md §7.2).

**fail** — the rule is broken — when any of:

1. an error-level finding (an exception, timeout, crash, input mutation, wrong shape, non-finite
   output, a sandbox limit, ...: :mod:`.sandbox`). Except: a non-finite output or an exception
   that only ever happened on Byzantine rows of NaN/±Inf (battery.NONFINITE_INPUT: not vectors
   of R^d, outside the paper's model) is a note (:func:`confined_to_nonfinite_input`);
2. *breakdown*: at an attacked setting (α > 0), Δ_user(s) = inf or
   Δ_user(s) > BREAKDOWN · Δ_ref(s) + SLACK · LB(s), BREAKDOWN = 10. A robust rule's error under
   attack stays within a constant of the references' (Krum, which keeps one worker's vector, is
   measured at most 4.9× on the quick profile, seeds 0–9); a non-robust one is dragged by the
   attack's scale (the plain mean: inf under 1e308 rows, 26–60× under the line-searched ALIE,
   950–1970× under the worst-case search; quick, seed 0);
3. *bias*: at an honest setting (α = 0) the rule's mean error over the repetitions is
   significantly non-zero (:func:`~.battery.bias_test`, sign-flip test, p < BIAS_LEVEL / K over
   the K honest settings, BIAS_LEVEL = 0.001) **and** larger than Δ_ref(s): a bias of that size
   does not shrink with m while the references' error does, so the rule is wrong even without
   attack;
4. ByzantinePGD's Theorem 1 is violated end to end on an instance inside the theorem's
   hypotheses, or an end-to-end instance ended in an error (:mod:`.end_to_end`). Instances
   outside the hypotheses *could not be checked*: they are reported apart (a note), never a fail.

**suboptimal** — robust but not at the rate — when it does not fail and any of:

5. *constant*: at some setting Δ_user(s) > FACTOR · Δ_ref(s) + SLACK · LB(s), FACTOR = 3;
6. *slope*: along a graded sweep (the m sweep at α = 0, the n sweeps; :mod:`.rates_fit`) the
   fitted log-log slope of Δ_user is above half the lower bound's local slope (−1/4 for the
   −1/2 rate): the error does not shrink like the rate (a selection rule such as Krum keeps one
   worker's vector and its error does not shrink like 1/√m).

**pass** otherwise: robust under every attack, unbiased, within FACTOR of the best reference at
every setting and at the rates in n and m.

Why these numbers: FACTOR = 3 leaves room for the constants by which rate-optimal rules differ
(the paper's three references are within 2× of one another on the quick and ci profiles, the
geometric median within 1.05× of the best); SLACK (a tenth of the lower bound) only keeps the
comparison meaningful where every reference is near zero; BREAKDOWN = 10 is above every bounded
rule measured (docs/audit.md) and far below every non-robust one.

Error rates. Each slope decision reports the probability of the other outcome under its fitted
sampling distribution (t tail beyond the threshold, :mod:`.rates_fit`); a bias fail has a false
alarm probability below BIAS_LEVEL for an unbiased rule (the sign-flip test is exact); the
constant and breakdown checks compare rules on identical data. The grade's ``error_probability``
is the largest of these for the decisions that made the verdict (docs/audit.md: measured
agreement over seeds 0–9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .battery import NONFINITE_INPUT

FACTOR = 3.0
SLACK = 0.1
BREAKDOWN = 10.0
BIAS_LEVEL = 1e-3
BIAS_FACTOR = 1.0
VERDICTS = ("pass", "suboptimal", "fail")
CONFINABLE = ("non_finite_output", "exception")


def confined_to_nonfinite_input(results: list[dict], end_to_end: dict | None) -> bool:
    """True when every failure of the rule in the battery (an infinite Δ or a failed call) came
    from an attack whose Byzantine rows are not in R^d (NaN, ±Inf: battery.NONFINITE_INPUT) and no
    end-to-end instance ended in an error."""
    for r in results:
        if r["attack"] == "worst" or r["attack"] in NONFINITE_INPUT:
            continue
        if r.get("error") or not math.isfinite(r["delta_empirical"]):
            return False
    return not (end_to_end or {}).get("errors")


def threshold(best_reference: float | None, lower_bound: float, factor: float = FACTOR,
              slack: float = SLACK) -> float:
    """factor · best reference's Δ + slack · lower bound (inf without a reference)."""
    if best_reference is None:
        return math.inf
    return factor * best_reference + slack * lower_bound


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}" if math.isfinite(x) else str(x)


@dataclass(frozen=True)
class Reason:
    """One reason of the verdict: ``kind`` ('finding:KIND', 'breakdown', 'bias', 'end_to_end',
    'delta_exceeds_reference', 'slope'), ``grade`` ('fail' or 'suboptimal': the verdict it
    implies), ``message`` (one sentence with the numbers), ``details`` (the numbers)."""

    kind: str
    grade: str
    message: str
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "grade": self.grade, "message": self.message, **self.details}


@dataclass(frozen=True)
class Grade:
    """The verdict (one of :data:`VERDICTS`), its ``reasons`` (fail reasons first), ``notes``
    (what was reported but does not count, e.g. end-to-end instances that could not be checked),
    ``error_probability`` (module docstring; None when no statistical decision was made) and
    ``decisions`` (each statistical decision: what, outcome, error probability)."""

    verdict: str
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...] = ()
    error_probability: float | None = None
    decisions: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": [r.to_dict() for r in self.reasons],
                "notes": list(self.notes), "error_probability": self.error_probability,
                "decisions": list(self.decisions)}


def _setting_text(r: dict) -> str:
    txt = f"m = {r['m']}, n = {r['n']}, d = {r['d']}, f = {r['f']} (alpha = {r['alpha']:.3g}"
    if r.get("honest"):
        txt += f", no attack, rule built for f = {r.get('f_rule')}"
    return txt + ")"


def _delta_reason(r: dict, results: list[dict], thr: float, mult: float, slack: float, kind: str,
                  grade_: str) -> Reason:
    best = r["best_reference"]
    best_d = r["delta_reference"].get(best)
    cause = f" (the aggregator failed: {r['error']})" if r.get("error") else ""
    over = {x["attack"]: x["delta_empirical"] for x in results
            if x["setting"] == r["setting"] and x["attack"] != "worst" and x["delta_empirical"] > thr}
    also = ""
    n_att = sum(1 for x in results if x["setting"] == r["setting"] and x["attack"] != "worst")
    if len(over) == n_att and n_att > 1 and all(not math.isfinite(v) for v in over.values()):
        also = f"; every attack ({n_att}) gives inf"
    elif len(over) > 1:
        also = f"; {len(over)} attacks exceed it: " + ", ".join(f"{a} {_fmt(v)}" for a, v in over.items())
    what = "breakdown: " if kind == "breakdown" else ""
    msg = (f"{what}setting {_setting_text(r)}: Delta = {_fmt(r['delta_empirical'])} under "
           f"{'no attack' if r.get('honest') else 'attack ' + repr(r['worst_attack'])}{cause} > {mult:g} x "
           f"{_fmt(best_d)} (best reference {best}, its worst attack "
           f"'{(r.get('reference_worst_attack') or {}).get(best)}') + {slack:g} x lower bound "
           f"{_fmt(r['lower_bound'])} = {_fmt(thr)}{also}")
    details = {"attack": r["worst_attack"], "setting": r["setting"], "m": r["m"], "n": r["n"], "d": r["d"],
               "f": r["f"], "alpha": r["alpha"], "delta_empirical": r["delta_empirical"],
               "best_reference": best, "best_reference_delta": best_d, "threshold": thr,
               "factor": mult, "lower_bound": r["lower_bound"], "attacks_exceeding": over}
    return Reason(kind, grade_, msg, details)


def grade(results: list[dict], end_to_end: dict | None, findings: list[dict], *, slopes: dict | None = None,
          bias: list[dict] | None = None, factor: float = FACTOR, slack: float = SLACK,
          breakdown: float = BREAKDOWN, bias_level: float = BIAS_LEVEL) -> Grade:
    """The graded verdict (module docstring). ``results``: the battery's rows (the 'worst' rows get
    'threshold', 'within_factor', 'breakdown_threshold' and 'broken' added); ``slopes``: the
    'slopes' of :func:`.rates_fit.rate_summary` (dicts); ``bias``: the battery's bias entries."""
    if not (isinstance(factor, int | float) and factor >= 1):
        raise ValueError(f"factor must be >= 1, got {factor!r}")
    if not (isinstance(slack, int | float) and slack >= 0):
        raise ValueError(f"slack must be >= 0, got {slack!r}")
    if not (isinstance(breakdown, int | float) and breakdown >= factor):
        raise ValueError(f"breakdown must be >= factor = {factor}, got {breakdown!r}")
    fails: list[Reason] = []
    subs: list[Reason] = []
    notes: list[str] = []
    decisions: list[dict] = []
    # 1. findings (a NaN output or an exception only ever on NaN/±Inf rows is outside the paper's
    #    model, where Byzantine vectors are in R^d: a note, not a fail)
    confined = confined_to_nonfinite_input(results, end_to_end) if results else False
    for fnd in findings:
        if fnd.get("severity") == "error" and confined and fnd["kind"] in CONFINABLE:
            attacks = sorted({a for r in results if r["attack"] == "worst"
                              for a in r.get("nonfinite_input_failed", [])})
            notes.append(f"{fnd['kind']} ({fnd['count']} call(s)) only on Byzantine rows of NaN/±Inf "
                         f"(attacks {', '.join(attacks) or 'none'}), which are outside the paper's model "
                         "(Byzantine vectors in R^d) and not graded: validate the input before aggregating "
                         f"(e.g. drop non-finite rows). {fnd['message']}")
            continue
        if fnd.get("severity") == "error":
            fails.append(Reason(f"finding:{fnd['kind']}", "fail", f"{fnd['kind']} ({fnd['count']} call(s)): "
                                f"{fnd['message']}", {"context": fnd.get("context", {})}))
    # 2. breakdown and 5. constant
    for r in results:
        if r["attack"] != "worst":
            continue
        best_d = r["delta_reference"].get(r["best_reference"]) if r["best_reference"] else None
        thr = threshold(best_d, r["lower_bound"], factor, slack)
        thr_b = threshold(best_d, r["lower_bound"], breakdown, slack)
        r["threshold"], r["breakdown_threshold"] = thr, thr_b
        r["within_factor"] = bool(r["delta_empirical"] <= thr)
        r["broken"] = bool(not r.get("honest") and not r["delta_empirical"] <= thr_b)
        if r["broken"]:
            fails.append(_delta_reason(r, results, thr_b, breakdown, slack, "breakdown", "fail"))
        elif not r["within_factor"]:
            subs.append(_delta_reason(r, results, thr, factor, slack, "delta_exceeds_reference",
                                      "suboptimal"))
    # 3. bias
    worst = {r["setting"]: r for r in results if r["attack"] == "worst"}
    entries = [b for b in (bias or []) if (b.get("tests") or {}).get("user")]
    for b in entries:
        t = b["tests"]["user"]
        row = worst.get(b["setting"])
        ref = None
        if row is not None and row["best_reference"]:
            ref = row["delta_reference"].get(row["best_reference"])
        level = bias_level / len(entries)
        significant = t["p_value"] < level
        large = ref is not None and t["bias"] > BIAS_FACTOR * ref
        decisions.append({"decision": f"bias at m = {b['m']}, n = {b['n']}", "outcome": significant and large,
                          "p_value": t["p_value"], "level": level,
                          "error_probability": level if significant and large else None})
        if significant and large:
            fails.append(Reason(
                "bias", "fail",
                f"biased without attack: at m = {b['m']}, n = {b['n']}, d = {b['d']} (alpha = 0, rule built "
                f"for f = {b['f_rule']}) the mean error over {t['reps']} data sets has norm "
                f"{_fmt(t['bias'])} > {BIAS_FACTOR:g} x the best reference's Delta {_fmt(ref)} (sign-flip "
                f"test p = {t['p_value']:.2g} < {level:.2g}): an error that does not shrink with m",
                {"setting": b["setting"], "m": b["m"], "n": b["n"], "bias": t["bias"],
                 "p_value": t["p_value"], "level": level, "best_reference_delta": ref}))
    # 4. end to end
    if end_to_end is not None:
        if not end_to_end.get("holds", False):
            for msg in end_to_end.get("reasons") or ["ByzantinePGD's guarantee was not established"]:
                fails.append(Reason("end_to_end", "fail", msg))
        for msg in end_to_end.get("notes") or []:
            notes.append(msg)
    # 6. slopes
    for sweep, e in (slopes or {}).items():
        if not e.get("graded"):
            continue
        u = (e.get("fits") or {}).get("user") or {}
        if e.get("consistent") is None:
            if u.get("infinite"):
                continue            # an infinite Delta: breakdown or a finding already says so
            notes.append(f"slope in {e['variable']} ({sweep}) not fitted: fewer than two finite points")
            continue
        decisions.append({"decision": f"slope in {e['variable']} ({sweep}) <= {e['threshold']:.3g}",
                          "outcome": bool(e["consistent"]), "slope": u.get("slope"), "ci": u.get("ci"),
                          "error_probability": e.get("error_probability")})
        if not e["consistent"]:
            ci = u.get("ci")
            ci_txt = f" ({100 * u.get('level', 0.95):.0f}% CI [{ci[0]:.3g}, {ci[1]:.3g}])" if ci else ""
            theory = e.get("theory") or {}
            subs.append(Reason(
                "slope", "suboptimal",
                f"Delta does not shrink at the rate in {e['variable']} ({sweep}): fitted slope "
                f"{u['slope']:.3g}{ci_txt} > {e['threshold']:.3g} (half the lower bound's "
                f"{_fmt(theory.get('lower_bound'))}; median's rate {_fmt(theory.get('median'))}, "
                f"iterative filtering's {_fmt(theory.get('iterative_filtering'))}); probability that "
                f"the decision is wrong: {_fmt(e.get('error_probability'))}",
                {"sweep": sweep, "variable": e["variable"], "slope": u["slope"], "ci": ci,
                 "threshold": e["threshold"], "theory": theory,
                 "error_probability": e.get("error_probability")}))
    reasons = tuple(fails + subs)
    verdict = "fail" if fails else ("suboptimal" if subs else "pass")
    probs = [d["error_probability"] for d in decisions if d.get("error_probability") is not None]
    return Grade(verdict, reasons, tuple(notes), max(probs) if probs else None, tuple(decisions))


def decide(results: list[dict], end_to_end: dict | None, findings: list[dict], *,
           factor: float = FACTOR, slack: float = SLACK, slopes: dict | None = None,
           bias: list[dict] | None = None, breakdown: float = BREAKDOWN) -> tuple[str, list[dict]]:
    """(verdict, reasons as dicts): :func:`grade` in the report's form."""
    g = grade(results, end_to_end, findings, slopes=slopes, bias=bias, factor=factor, slack=slack,
              breakdown=breakdown)
    return g.verdict, [r.to_dict() for r in g.reasons]
