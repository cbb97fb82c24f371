"""The audit's verdict.

"pass" iff all of:

1. **Δ within a factor of the best reference, at every setting.** With Δ_user(s) the user's
   worst empirical Δ over the battery's attacks at setting s and Δ_ref(s) = min over the
   reference aggregators of *their* worst Δ over the same attacks on the same data:

       Δ_user(s) <= FACTOR · Δ_ref(s) + SLACK · LB(s),   FACTOR = 3, SLACK = 0.1,

   LB(s) = α/√n + √(d/(nm)) the statistical lower bound (σ = 1). The factor leaves room for the
   constants by which robust rules legitimately differ (on the quick and ci profiles the paper's
   three are within 2× of one another, the geometric median within 1.05× of the best, Krum — which
   keeps one worker's vector and loses the 1/√m — at 1.6–2.9×); a non-robust rule is off by
   orders of magnitude or infinitely (a NaN row). The slack (a tenth of the lower bound) only
   keeps the comparison meaningful where every reference is near zero. The sup over attacks
   (rather than attack by attack) is the empirical Δ of the pipeline, the quantity Theorem 1
   uses; each failing setting is reported with the attack that achieved the user's worst Δ.
2. **ByzantinePGD's guarantee holds** with the user's rule (:mod:`.end_to_end`).
3. **No error-level finding**: an exception, timeout, crash, input mutation, wrong shape or
   non-numeric dtype, or non-finite output, in any phase. (A real dtype other than float64 is a
   warning: the output is cast and the audit continues.)
"""

from __future__ import annotations

import math

FACTOR = 3.0
SLACK = 0.1


def threshold(best_reference: float | None, lower_bound: float, factor: float = FACTOR,
              slack: float = SLACK) -> float:
    if best_reference is None:
        return math.inf
    return factor * best_reference + slack * lower_bound


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}" if math.isfinite(x) else str(x)


def decide(results: list[dict], end_to_end: dict | None, findings: list[dict], *,
           factor: float = FACTOR, slack: float = SLACK) -> tuple[str, list[dict]]:
    """(verdict, reasons): 'pass' or 'fail'; each reason has a kind, a message and its numbers."""
    if not (isinstance(factor, int | float) and factor >= 1):
        raise ValueError(f"factor must be >= 1, got {factor!r}")
    if not (isinstance(slack, int | float) and slack >= 0):
        raise ValueError(f"slack must be >= 0, got {slack!r}")
    reasons = []
    for r in results:
        if r["attack"] != "worst":
            continue
        thr = threshold(r["delta_reference"].get(r["best_reference"]) if r["best_reference"] else None,
                        r["lower_bound"], factor, slack)
        r["threshold"] = thr
        r["within_factor"] = bool(r["delta_empirical"] <= thr)
        if r["within_factor"]:
            continue
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
        reasons.append({
            "kind": "delta_exceeds_reference",
            "attack": r["worst_attack"], "m": r["m"], "n": r["n"], "d": r["d"], "f": r["f"],
            "alpha": r["alpha"], "delta_empirical": r["delta_empirical"], "best_reference": best,
            "best_reference_delta": best_d, "threshold": thr, "lower_bound": r["lower_bound"],
            "attacks_exceeding": over,
            "message": (f"setting m = {r['m']}, n = {r['n']}, d = {r['d']}, f = {r['f']} (alpha = "
                        f"{r['alpha']:.3g}): Delta = {_fmt(r['delta_empirical'])} under attack "
                        f"'{r['worst_attack']}'{cause} > {factor:g} x {_fmt(best_d)} (best reference {best}, "
                        f"its worst attack '{r['reference_worst_attack'].get(best)}') + {slack:g} x lower "
                        f"bound {_fmt(r['lower_bound'])} = {_fmt(thr)}{also}")})
    if end_to_end is not None and not end_to_end.get("holds", False):
        for msg in end_to_end.get("reasons") or ["ByzantinePGD's guarantee was not established"]:
            reasons.append({"kind": "end_to_end", "message": msg})
    found = [{"kind": f"finding:{fnd['kind']}", "message": f"{fnd['kind']} ({fnd['count']} call(s)): "
              f"{fnd['message']}", "context": fnd.get("context", {})}
             for fnd in findings if fnd.get("severity") == "error"]
    reasons = found + reasons       # root causes first
    return ("pass" if not reasons else "fail"), reasons
