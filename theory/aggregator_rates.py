"""The Δ-rates of the three GradAGGs of docs/paper.md §6 as SymPy expressions (Õ, constants and
log factors dropped), and the exponent of each swept variable in a regime.

median:              α√d/√n + d/√(nm) + S·√d/n   (S = absolute skewness; 0 for symmetric data)
trimmed mean:        αd/√n + d/√(nm)
iterative filtering: √α/√n + √(d/(nm))
lower bound:         α/√n + √(d/(nm))             (Gaussian location, docs/paper.md §7.2)

The d/√(nm) terms of median and trimmed mean contain the √d of a union bound over a covering of
W (docs/paper.md §6); an error measured at finitely many points can only show √(d/(nm)).
The rates themselves come from :mod:`byzpgd.theory.rates`; this module adds the skewness
factor S of the median's bias term (so a symmetric-noise sweep can set S = 0) and the
exponent-in-a-regime helper the rate checks use.
"""

from __future__ import annotations

import sympy as sp

from .rates import LOWER_BOUND, alpha, d, m, n, rate

__all__ = ["LOWER_BOUND", "RATES", "S", "SYMBOLS", "evaluate", "exponent"]

S = sp.Symbol("S", positive=True)  # absolute skewness of the gradient noise (median's bias term)

RATES = {
    "median": rate("median") - sp.sqrt(d) / n + S * sp.sqrt(d) / n,
    "trimmed_mean": rate("trimmed_mean"),
    "iterative_filtering": rate("iterative_filtering"),
}
SYMBOLS = {"n": n, "m": m, "alpha": alpha, "d": d}


def exponent(expr: sp.Expr, var: str, regime: dict | None = None) -> sp.Rational:
    """The log-log slope of ``expr`` in ``var`` as var → ∞ (α: as the α term dominates), after
    substituting ``regime`` (e.g. {'alpha': 0, 'S': 0}): the largest exponent among the terms
    that contain var."""
    v = SYMBOLS[var]
    subs = {SYMBOLS.get(k, sp.Symbol(k, positive=True)): val for k, val in (regime or {}).items()}
    e = sp.expand(expr.subs(subs))
    exps = [sp.simplify(v * sp.diff(sp.log(t), v)) for t in sp.Add.make_args(e) if t.has(v)]
    if not exps:
        return sp.Integer(0)
    return max(exps)


def evaluate(expr: sp.Expr, **values) -> float:
    subs = {SYMBOLS.get(k, sp.Symbol(k, positive=True)): v for k, v in values.items()}
    return float(expr.subs(subs))
