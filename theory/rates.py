"""Statistical rates of the robust aggregators and the statistical lower bound as SymPy
expressions, with symbolic exponent extraction (docs/paper.md §6 and §7.2).

Δ achieved by each GradAGG, uniformly over W, with high probability (Õ hides logarithms and
constants; docs/paper.md §6, CONFIRMED-INDIRECT from S5 by inverting its sample complexities):

- coordinate-wise median:     α√d/√n + d/√(nm) + √d/n
- β-trimmed mean (α <= β):    αd/√n + d/√(nm)
- iterative filtering:        √α/√n + √(d/(nm))
- lower bound (any algorithm, Gaussian location model, docs/paper.md §7.2):  α/√n + √(d/(nm))

All in units of the per-sample gradient scale σ (σ = 1 here; multiply by σ for the Gaussian
location model N(μ, σ²I)). S5 states them as per-worker gradient counts T = n·Õ(1/Δ²):
median T = α²d/Δ⁴ + d²/(Δ⁴m) + √d/Δ³, trimmed mean T = α²d²/Δ⁴ + d²/(Δ⁴m),
iterative filtering T = α/Δ⁴ + d/(Δ⁴m).

The aggregation issue's rate tests use :func:`rate`, :func:`term_exponents` and
:func:`dominant_exponents`; :mod:`byzpgd.theory.bound_comparisons` proves, term by term, that
every rate here is at least the lower bound order-wise and that it inverts S5's counts.

The median's bias term √d/n comes from the skewness of the gradient noise: :func:`skewed_rate`
writes it S·√d/n (S = absolute skewness) so that a symmetric-noise model can set S = 0
(:func:`symmetric_rate`); :func:`exponent` gives the log-log slope of a rate in one variable in
a regime, the exponent the aggregator rate claims compare fitted slopes with (docs/paper.md §6).
The d/√(nm) terms of median and trimmed mean contain the √d of a union bound over a covering of
W (docs/paper.md §6): an error measured at finitely many points can only show √(d/(nm)).
"""

from __future__ import annotations

import sympy as sp

from .symbols import d

n = sp.Symbol("n", positive=True)          # samples per worker
m = sp.Symbol("m", positive=True)          # workers
alpha = sp.Symbol("alpha", positive=True)  # Byzantine fraction
sigma = sp.Symbol("sigma", positive=True)  # per-sample gradient scale (Gaussian location: std)
S = sp.Symbol("S", positive=True)          # absolute skewness of the gradient noise (median's bias)
VARS = (n, m, alpha, d)
SYMBOLS = {v.name: v for v in VARS}

RATES: dict[str, sp.Expr] = {
    "median": alpha * sp.sqrt(d) / sp.sqrt(n) + d / sp.sqrt(n * m) + sp.sqrt(d) / n,
    "trimmed_mean": alpha * d / sp.sqrt(n) + d / sp.sqrt(n * m),
    "iterative_filtering": sp.sqrt(alpha) / sp.sqrt(n) + sp.sqrt(d / (n * m)),
}
LOWER_BOUND: sp.Expr = alpha / sp.sqrt(n) + sp.sqrt(d / (n * m))

# S5's per-worker stochastic-gradient counts T (Δ written as `Delta_`): n = T·Δ² (docs/paper.md §6).
_D = sp.Symbol("Delta_", positive=True)
S5_SAMPLE_COMPLEXITY: dict[str, sp.Expr] = {
    "median": alpha**2 * d / _D**4 + d**2 / (_D**4 * m) + sp.sqrt(d) / _D**3,
    "trimmed_mean": alpha**2 * d**2 / _D**4 + d**2 / (_D**4 * m),
    "iterative_filtering": alpha / _D**4 + d / (_D**4 * m),
}
S5_DELTA = _D

# The exponents the table of docs/paper.md §6 states, term by term (n, m, alpha, d).
EXPECTED_EXPONENTS: dict[str, list[dict]] = {
    "median": [{"n": -sp.S.Half, "m": 0, "alpha": 1, "d": sp.S.Half},
               {"n": -sp.S.Half, "m": -sp.S.Half, "alpha": 0, "d": 1},
               {"n": -1, "m": 0, "alpha": 0, "d": sp.S.Half}],
    "trimmed_mean": [{"n": -sp.S.Half, "m": 0, "alpha": 1, "d": 1},
                     {"n": -sp.S.Half, "m": -sp.S.Half, "alpha": 0, "d": 1}],
    "iterative_filtering": [{"n": -sp.S.Half, "m": 0, "alpha": sp.S.Half, "d": 0},
                            {"n": -sp.S.Half, "m": -sp.S.Half, "alpha": 0, "d": sp.S.Half}],
    "lower_bound": [{"n": -sp.S.Half, "m": 0, "alpha": 1, "d": 0},
                    {"n": -sp.S.Half, "m": -sp.S.Half, "alpha": 0, "d": sp.S.Half}],
}


def rate(name: str) -> sp.Expr:
    """The rate of aggregator ``name`` ('median', 'trimmed_mean', 'iterative_filtering') or
    the statistical lower bound ('lower_bound')."""
    if name == "lower_bound":
        return LOWER_BOUND
    if name not in RATES:
        raise KeyError(f"unknown rate {name!r}; known: {sorted(RATES) + ['lower_bound']}")
    return RATES[name]


def terms(expr: sp.Expr) -> list[sp.Expr]:
    """The additive terms of a rate, each a monomial in (n, m, α, d)."""
    return list(sp.Add.make_args(sp.expand(sp.powsimp(expr, force=True))))


def monomial_exponents(term: sp.Expr, variables=VARS) -> dict[str, sp.Expr]:
    """Exponent of each variable in a monomial, as the log-derivative x·∂_x log(term)
    (exact, symbolic); raises ValueError if the term is not a monomial in ``variables``."""
    log_t = sp.expand_log(sp.log(term), force=True)
    out = {}
    for v in variables:
        e = sp.simplify(v * sp.diff(log_t, v))
        if e.free_symbols:
            raise ValueError(f"term {term} is not a monomial in {v} (elasticity {e})")
        out[v.name] = e
    return out


def term_exponents(expr_or_name) -> list[dict[str, sp.Expr]]:
    """Per-term exponents of a rate in (n, m, α, d), in a canonical order (sorted by the
    exponent tuple) so that they can be compared with :data:`EXPECTED_EXPONENTS`."""
    expr = rate(expr_or_name) if isinstance(expr_or_name, str) else expr_or_name
    exps = [monomial_exponents(t) for t in terms(expr)]
    return sorted(exps, key=_key)


def _key(e: dict) -> tuple:
    return tuple(float(e[k]) for k in ("n", "m", "alpha", "d"))


def dominant_exponents(name: str, vary: str) -> dict[str, sp.Expr]:
    """Exponents of the term of rate ``name`` that dominates as ``vary`` ('n', 'm', 'alpha',
    'd') grows with the others fixed, e.g. ``dominant_exponents('median', 'n')`` is the
    slowest-decaying term in n: the log-log slope a large-n sweep should show."""
    if vary not in ("n", "m", "alpha", "d"):
        raise ValueError(f"vary must be one of n, m, alpha, d, got {vary!r}")
    return max(term_exponents(name), key=lambda e: float(e[vary]))


def rate_value(name: str, *, n: float, m: float, alpha: float, d: float, sigma: float = 1.0) -> float:
    """Numeric value of σ·rate(name) (no hidden constants or logarithms)."""
    expr = rate(name)
    f = sp.lambdify(VARS, expr, "math")
    return float(sigma * f(n, m, alpha, d))


def skewed_rate(name: str) -> sp.Expr:
    """:func:`rate` with the median's bias term √d/n written S·√d/n, S the absolute skewness of
    the gradient noise (docs/paper.md §6); the other rates have no skewness term."""
    expr = rate(name)
    if name == "median":
        expr = expr - sp.sqrt(d) / n + S * sp.sqrt(d) / n
    return expr


def symmetric_rate(name: str) -> sp.Expr:
    """The rate for symmetric gradient noise (S = 0), e.g. the Gaussian location model:
    median α√d/√n + d/√(nm), trimmed mean αd/√n + d/√(nm), filtering √α/√n + √(d/(nm))."""
    return skewed_rate(name).subs(S, 0)


def exponent(expr: sp.Expr, var: str, regime: dict | None = None) -> sp.Expr:
    """The log-log slope of ``expr`` in ``var`` ('n', 'm', 'alpha', 'd') as var grows, after
    substituting ``regime`` (e.g. {'alpha': 0, 'S': 0}): the largest exponent of var among the
    terms that contain it (0 if none does). For α: the exponent of the α term."""
    v = SYMBOLS[var]
    e = sp.expand(expr.subs(_substitutions(regime or {})))
    exps = [sp.simplify(v * sp.diff(sp.log(t), v)) for t in sp.Add.make_args(e) if t.has(v)]
    return max(exps) if exps else sp.Integer(0)


def evaluate(expr: sp.Expr, **values: float) -> float:
    """``expr`` at ``values`` (keys: 'n', 'm', 'alpha', 'd', 'S', 'sigma')."""
    return float(expr.subs(_substitutions(values)))


def _substitutions(values: dict) -> dict:
    known = {**SYMBOLS, "S": S, "sigma": sigma}
    return {known.get(k, sp.Symbol(k, positive=True)): v for k, v in values.items()}
