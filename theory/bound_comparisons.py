"""SymPy comparisons of the theorems' bounds with other bounds, behind the claims
``parameters.exact_vs_jin`` (Theorem 2 against Jin et al. 2017, docs/paper.md §5, §7.3, §9),
``parameters.upper_vs_lower`` (upper bounds never below the lower bounds, §4, §5, §6, §7) and
``parameters.aggregator_rates`` (the §6 rates: exponents, S5's sample complexities, optimality
regimes), with the prover of :mod:`byzpgd.theory.prover`.

Each ``check_*`` function returns a :class:`~byzpgd.theory.prover.Derivation` and takes the
formulas it compares as parameters (defaults: the project's), so a wrong variant must come out
disproved.
"""

from __future__ import annotations

import itertools

import sympy as sp

from . import rates as rates_mod
from .claims import get
from .claims.theorems import LAMBDA_CONSTANT_BPGD, LAMBDA_SHAPE_BPGD
from .lower_bounds import GRAD_LOWER, LAMBDA_LOWER
from .parameters import EXACT_PGD_PROVED
from .prover import (
    Derivation,
    SubCheck,
    elasticity,
    guard,
    prove_exponent,
    prove_identity,
    prove_limit,
    prove_nonneg,
    prove_ratio_ge_one,
    solve_ratio_le,
    u,
    v,
)
from .symbols import L_F, Delta, T, d, delta, eps, gap, rho_F

# --------------------------------------------------------------------------------------------
# 5. exact-oracle theorem versus Jin et al. 2017 (docs/paper.md §9)
# --------------------------------------------------------------------------------------------
JIN_ITERATIONS = L_F * gap / eps**2 * sp.log(d * L_F * gap / (eps**2 * delta)) ** 4
JIN_ACCURACY = sp.sqrt(rho_F * eps)
# Theorem 2's bounds, from the claims exact_pgd.iterations (T_th of the proved variant) and
# exact_pgd.lambda_min (docs/paper.md §7.3)
THM2_ITERATIONS = get("exact_pgd.iterations").bound_expr.subs(T, EXACT_PGD_PROVED["T_th"])
THM2_LAMBDA = get("exact_pgd.lambda_min").bound_expr
POSTER_LAMBDA = 60 * sp.sqrt(rho_F * eps) * sp.log(8 * rho_F * d * gap / (delta * eps**2))


def check_exact_vs_jin(iterations=THM2_ITERATIONS, accuracy=THM2_LAMBDA,
                       poster_accuracy=POSTER_LAMBDA, t_th=EXACT_PGD_PROVED["T_th"]) -> Derivation:
    """Theorem 2 (Δ = 0) against Jin et al. 2017 Theorem 3: the same ε^{-2} order of iterations
    (Jin: ℓ(f_0−f*)/ε²·log⁴(·)), the same √(ρε) second-order accuracy up to logarithms, the same
    ε^{-1/2} escape time (docs/paper.md §5, §7.3, §9)."""
    res = Derivation("exact_vs_jin", "docs/paper.md §5, §7.3, §9")
    S = res.subchecks
    for name, expr in (("theorem2", iterations), ("jin2017", JIN_ITERATIONS)):
        S.append(prove_limit(elasticity(expr, eps), eps, 0, f"iterations_order_{name}",
                             f"{name} iteration bound ~ epsilon^-2 (log-log slope -> -2 as eps -> 0+)",
                             expected=-2))
    S.append(prove_limit(iterations / (L_F * gap / eps**2), eps, 0, "iterations_same_constant_order",
                         "Theorem 2's bound / (L_F (F_0-F*)/eps^2) has a finite positive limit",
                         positive_finite=True))
    for name, expr in (("theorem2", accuracy), ("poster", poster_accuracy), ("jin2017", JIN_ACCURACY)):
        S.append(prove_limit(elasticity(expr, eps), eps, 0, f"accuracy_order_{name}",
                             f"{name} second-order accuracy ~ eps^(1/2) up to logs", expected=sp.S.Half))
    for name, expr in (("theorem2", accuracy), ("poster", poster_accuracy)):
        S.append(prove_limit(expr / JIN_ACCURACY / sp.log(1 / eps), eps, 0, f"accuracy_polylog_{name}",
                             f"{name} accuracy / sqrt(rho eps) = O(log(1/eps)) (finite positive limit)",
                             positive_finite=True))
    S.append(prove_exponent(t_th, eps, -sp.S.Half, "escape_time_order",
                            "T_th ~ eps^(-1/2), like Jin's t_thres = (chi/c^2) l/sqrt(rho eps)"))
    return res


# --------------------------------------------------------------------------------------------
# 6. upper bounds are never below lower bounds
# --------------------------------------------------------------------------------------------
def _monomial_dominates(ratio) -> bool:
    """ratio (a monomial) >= 1 for all n, m >= 1... : no n, m dependence, d exponent >= 0
    (d >= 1), α exponent <= 0 (α <= 1/2 < 1)."""
    try:
        e = rates_mod.monomial_exponents(ratio)
    except ValueError:
        return False
    coeff = sp.simplify(ratio.subs({s: 1 for s in rates_mod.VARS}))
    return (e["n"] == 0 and e["m"] == 0 and e["d"] >= 0 and e["alpha"] <= 0
            and coeff.is_number and coeff >= 1)


RAYS = tuple(itertools.product((0, 1), (0, 1), (0, -1, -2), (0, 1)))


def order_wise_ge(upper: sp.Expr, lower: sp.Expr, name: str, statement: str) -> SubCheck:
    """upper >= c·lower for all n, m >= 1, 0 < α <= 1/2, d >= 1 (order-wise). Proof: every term
    of ``lower`` is dominated by a term of ``upper`` (the ratio is a monomial α^a d^b with
    a <= 0 <= b and coefficient >= 1), so upper >= lower with c = 1. Disproof: a ray
    (n, m, α, d) = (N^i, N^j, N^k/4, N^l) along which upper/lower -> 0 as N -> oo."""
    def run():
        ut, lt = rates_mod.terms(upper), rates_mod.terms(lower)
        pairs = []
        for lo in lt:
            dom = next((up for up in ut if _monomial_dominates(sp.simplify(up / lo))), None)
            if dom is None:
                break
            pairs.append(f"{sp.sstr(lo)} <= {sp.sstr(dom)}")
        else:
            return SubCheck(name, statement, "proved", "term-wise domination (c = 1)", "; ".join(pairs))
        N = sp.Symbol("N", positive=True)
        n_, m_, a_, d_ = rates_mod.VARS
        for i, j, k, l in RAYS:
            sub = {n_: N**i, m_: N**j, a_: N**k / 4, d_: N**l}
            lim = sp.limit(sp.simplify((upper / lower).subs(sub)), N, sp.oo)
            if lim == 0:
                return SubCheck(name, statement, "disproved", "ray limit",
                                f"upper/lower -> 0 along (n, m, alpha, d) = "
                                f"(N^{i}, N^{j}, N^{k}/4, N^{l})", {"ray": [i, j, k, l]})
        return SubCheck(name, statement, "undecided", "", "no term-wise domination, no ray found")
    return guard(name, statement, run)


def check_upper_vs_lower(grad_bound=4 * Delta, grad_lower=GRAD_LOWER,
                         lambda_bound=LAMBDA_CONSTANT_BPGD * LAMBDA_SHAPE_BPGD,
                         lambda_lower=LAMBDA_LOWER, rates=None,
                         lower_rate=rates_mod.LOWER_BOUND) -> Derivation:
    """Upper bounds are never below the lower bounds: 4Δ >= Δ/2 (Theorem 1 vs Observation 2),
    Theorem 1's λ_min bound >= √(ρ_FΔ)/2 for Δ <= 1 and d >= 1, and every aggregator rate of
    docs/paper.md §6 >= the statistical lower bound α/√n + √(d/(nm)) order-wise (§7.2)."""
    res = Derivation("upper_vs_lower", "docs/paper.md §4, §5 (Observation 2, 3), §6, §7")
    res.subchecks.append(prove_nonneg(grad_bound - grad_lower, "grad_norm",
                                      f"first order: {sp.sstr(grad_bound)} >= {sp.sstr(grad_lower)}"))
    ratio = sp.simplify(lambda_bound / lambda_lower).subs({Delta: 1 / (1 + u), d: 1 + v})
    res.subchecks.append(prove_ratio_ge_one(ratio, "lambda_min",
                                            "second order: Theorem 1's lambda_min bound >= "
                                            "sqrt(rho_F Delta)/2 for all Delta <= 1, d >= 1"))
    for name, expr in (rates_mod.RATES if rates is None else rates).items():
        res.subchecks.append(order_wise_ge(expr, lower_rate, f"rate_{name}",
                                           f"{name} rate {sp.sstr(expr)} >= lower bound "
                                           f"{sp.sstr(lower_rate)} order-wise"))
    return res


# --------------------------------------------------------------------------------------------
# 7. aggregator rates: exponents, S5 inversion, optimality regimes (docs/paper.md §6)
# --------------------------------------------------------------------------------------------
def check_aggregator_rates(rates=None, expected=None, s5=None) -> Derivation:
    """The rates of docs/paper.md §6 as SymPy expressions: their exponents in n, m, α, d extracted
    symbolically and compared with the table, each rate re-derived from S5's sample complexity
    (n = T·Δ² solved term by term), and the optimality regimes of the discussion."""
    rates = rates_mod.RATES if rates is None else rates
    expected = rates_mod.EXPECTED_EXPONENTS if expected is None else expected
    s5 = rates_mod.S5_SAMPLE_COMPLEXITY if s5 is None else s5
    res = Derivation("aggregator_rates", "docs/paper.md §6")
    S = res.subchecks
    n_, m_, a_, d_ = rates_mod.VARS
    D = rates_mod.S5_DELTA
    for name, expr in list(rates.items()) + [("lower_bound", rates_mod.LOWER_BOUND)]:
        def exps(name=name, expr=expr):
            got = rates_mod.term_exponents(expr)
            want = sorted(expected[name], key=rates_mod._key)
            ok = len(got) == len(want) and all(
                all(sp.simplify(sp.sympify(a[k]) - sp.sympify(b[k])) == 0 for k in a)
                for a, b in zip(got, want, strict=True))
            return SubCheck(f"exponents_{name}", f"{name}: term exponents (n, m, alpha, d) as in the table",
                            "proved" if ok else "disproved", "symbolic elasticities",
                            "; ".join(", ".join(f"{k} {sp.sstr(x)}" for k, x in e.items()) for e in got))
        S.append(guard(f"exponents_{name}", name, exps))
        res.data[f"exponents_{name}"] = [{k: sp.sstr(x) for k, x in e.items()}
                                         for e in rates_mod.term_exponents(expr)]
    for name, expr in rates.items():
        if name not in s5:
            continue

        def inv(name=name, expr=expr):
            inverted = []
            for term in rates_mod.terms(expr):
                sol = [s for s in sp.solve(sp.Eq(term, D), n_) if s.is_positive]
                inverted.append(sol[0] / D**2 if len(sol) == 1 else None)
            want = rates_mod.terms(s5[name])
            ok = None not in inverted and len(inverted) == len(want) and all(
                any(sp.simplify(a - b) == 0 for b in want) for a in inverted)
            return SubCheck(f"s5_inversion_{name}", f"{name}: solving each term Delta = t(n) for n "
                            "and dividing by Delta^2 gives S5's per-worker count T",
                            "proved" if ok else "disproved", "solve term-wise",
                            f"T = {sp.sstr(sp.Add(*[x for x in inverted if x is not None]))}; "
                            f"S5: {sp.sstr(s5[name])}")
        S.append(guard(f"s5_inversion_{name}", name, inv))
    if "iterative_filtering" in rates:
        def filt():
            sol = solve_ratio_le(sp.sqrt(a_) / sp.sqrt(n_), sp.sqrt(d_ / (n_ * m_)), a_)
            ok = isinstance(sol, sp.Interval) and sp.simplify(sol.end - d_ / m_) == 0
            return SubCheck("filtering_optimal_regime", "iterative filtering's alpha term is below its "
                            "d term <=> alpha <= d/m (high-dimensional regime)",
                            "proved" if ok else "disproved", "solve_univariate_inequality", sp.sstr(sol))
        S.append(guard("filtering_optimal_regime", "", filt))
    if "trimmed_mean" in rates:
        S.append(prove_identity(rates["trimmed_mean"].subs(d_, 1), rates_mod.LOWER_BOUND.subs(d_, 1),
                                "trimmed_mean_low_dim",
                                "at d = 1 the trimmed-mean rate equals the lower bound"))
    if "median" in rates:
        def med():
            extra = sp.simplify(rates["median"].subs(d_, 1) - rates_mod.LOWER_BOUND.subs(d_, 1))
            sol = solve_ratio_le(extra, 1 / sp.sqrt(n_ * m_), n_)
            ok = isinstance(sol, sp.Interval) and sp.simplify(sol.start - m_) == 0
            return SubCheck("median_low_dim", "at d = 1 the median rate exceeds the lower bound by "
                            f"{sp.sstr(extra)} (skewness term), which is <= 1/sqrt(nm) <=> n >= m",
                            "proved" if ok else "disproved", "solve_univariate_inequality", sp.sstr(sol))
        S.append(guard("median_low_dim", "", med))
    return res
