"""SymPy derivations that check the parameter formulas of the theorems (docs/paper.md §4, §5, §6, §8,
§9), over all admissible values: symbolic identities, inequalities reduced to manifestly
nonnegative forms, monotonicity arguments, limits and leading terms — never sampling.

Each ``check_*`` function returns a :class:`CheckResult`: a list of :class:`SubCheck` (one
statement each, with its SymPy evidence and status 'proved' | 'disproved' | 'undecided' |
'error'). A check *holds* only when every sub-check is proved. Every check takes the formulas it
verifies as parameters (defaults: the project's formulas), so a wrong variant — a wrong exponent,
constant or oracle error — can be fed in and must come out 'disproved'.

How an inequality ``expr >= 0`` is proved (:func:`prove_nonneg`), first method that succeeds:
1. ``expr`` simplifies to 0;
2. *coefficients*: ``together(expr) = P/Q`` with P and Q polynomials, in generators that SymPy
   knows to be positive (positive symbols, their powers and roots), with nonnegative
   coefficients;
3. SymPy's assumption system decides ``simplify(expr) >= 0`` (or its factored form);
4. *monotone*: one free variable v > 0, ``lim_{v->0+} expr >= 0`` and ``d expr/dv >= 0`` proved
   by 1–3.
If none succeeds, a counterexample is searched on a fixed logarithmic grid of the free symbols
and confirmed with 50-digit evaluation: a confirmed counterexample makes the sub-check
'disproved' (a disproof by evaluation is a proof of falsity); otherwise it is 'undecided', which
makes the check 'inconclusive', never 'holds'.

Hypotheses such as Δ <= 1 or d >= 1 are encoded by substitution with a positive variable
(Δ = 1/(1+u), d = 1+v, u, v > 0); boundary points follow by continuity.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import sympy as sp

from . import rates as rates_mod
from .claims import LAMBDA_SHAPE_BPGD, N_EXACT
from .parameters import BYZANTINE_PGD, EXACT_PGD_PROVED
from .symbols import L_F, Delta, Q, T, d, delta, eps, gap, rho_F

u = sp.Symbol("u", positive=True)        # Δ = 1/(1+u) encodes Δ <= 1
v = sp.Symbol("v", positive=True)        # d = 1+v encodes d >= 1
t = sp.Symbol("t", positive=True)        # slack variable: x = x_0 + t encodes x > x_0
g = sp.Symbol("g", positive=True)        # ‖ĝ‖ or a curvature γ, depending on the check
gamma = sp.Symbol("gamma", positive=True)

GRID = (1e-12, 1e-6, 1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3, 1e6, 1e12)
MAX_GRID_POINTS = 60_000

# Theorem 1's λ_min bound (docs/paper.md §4), its Lemma-8.3 curvature γ' and the lower bound of
# Observation 2 (docs/paper.md §5, §7.1).
LAMBDA_CONSTANT_BPGD = 1900
GAMMA_PRIME = sp.sqrt(rho_F) * Delta ** sp.Rational(2, 5) * d ** sp.Rational(1, 5)
GRAD_LOWER = Delta / 2
LAMBDA_LOWER = sp.sqrt(rho_F * Delta) / 2
TWO_FIFTHS, ONE_FIFTH = sp.Rational(2, 5), sp.Rational(1, 5)
FAKE_BASIN = sp.sqrt(d) * Delta / gamma          # r >~ √dΔ/γ (docs/paper.md §2, §4 check 6)
HALF_REGIME = sp.Integer(2) ** -15 / sp.sqrt(d)  # r <= R/2 boundary
FULL_REGIME = sp.Integer(4) ** -5 / sp.sqrt(d)   # r <= R boundary


# --------------------------------------------------------------------------------------------
# result objects
# --------------------------------------------------------------------------------------------
@dataclass
class SubCheck:
    name: str
    statement: str
    status: str                     # 'proved' | 'disproved' | 'undecided' | 'error'
    method: str = ""
    evidence: str = ""
    counterexample: dict | None = None

    @property
    def proved(self) -> bool:
        return self.status == "proved"


@dataclass
class CheckResult:
    name: str
    source: str
    subchecks: list[SubCheck] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        states = {s.status for s in self.subchecks}
        if not self.subchecks or "error" in states:
            return "error"
        if "disproved" in states:
            return "violated"
        if "undecided" in states:
            return "inconclusive"
        return "holds"

    @property
    def passed(self) -> bool:
        return self.status == "holds"

    def failed(self) -> list[SubCheck]:
        return [s for s in self.subchecks if not s.proved]

    def to_entry(self, paper_constant=None) -> dict:
        """The verdict fields of a symbolic claim (byzpgd.properties.registry)."""
        proved = sum(s.proved for s in self.subchecks)
        bad = [s for s in self.subchecks if s.status == "disproved"]
        entry = {"status": self.status, "instances": proved, "nonvacuous_instances": proved,
                 "outside_hypotheses": 0, "violations": len(bad),
                 "errors": sum(s.status == "error" for s in self.subchecks),
                 "worst_ratio": None, "empirical_constant": None, "paper_constant": paper_constant,
                 "subchecks": [_jsonable(asdict(s)) for s in self.subchecks],
                 "data": _jsonable(self.data)}
        not_proved = self.failed()
        if not_proved:
            entry["error_examples" if self.status == "error" else "worst_violation"] = \
                _jsonable(asdict(not_proved[0]))
        return entry


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool | int | str) or x is None:
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    if isinstance(x, sp.Basic):
        if x.is_number:
            try:
                return float(x)
            except TypeError:
                return sp.sstr(x)
        return sp.sstr(x)
    return str(x)


def _guard(name, statement, fn):
    try:
        return fn()
    except Exception as exc:  # a SymPy failure is reported, never hidden as a proof
        return SubCheck(name, statement, "error", evidence=f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# proof helpers
# --------------------------------------------------------------------------------------------
def _poly_nonneg(expr: sp.Expr, strict: bool = False) -> bool:
    expr = sp.expand(expr)
    if expr.is_number:
        return bool(expr > 0) if strict else bool(expr >= 0)
    try:
        P = sp.Poly(expr)
    except sp.PolynomialError:
        return False
    if not all(gen.is_positive for gen in P.gens):
        return False
    coeffs = P.coeffs()
    if not all(c.is_number and c >= 0 for c in coeffs):
        return False
    return not P.is_zero


def nonneg_by_coefficients(expr: sp.Expr) -> bool:
    """Method 2: together(expr) = P/Q with P, Q polynomials in positive generators and with
    nonnegative coefficients (Q not zero)."""
    num, den = sp.fraction(sp.together(sp.expand(expr)))
    num = sp.expand(num)
    if num == 0:
        return True
    return _poly_nonneg(num) and _poly_nonneg(den, strict=True) if den.is_number else (
        _poly_nonneg(num) and _poly_nonneg(den))


def _assumption_nonneg(expr: sp.Expr) -> bool:
    for form in (expr, sp.simplify(expr), sp.factor(sp.simplify(expr))):
        if form.is_nonnegative:
            return True
    return False


def _direct(expr: sp.Expr) -> str | None:
    """Methods 1–3; returns the method name or None."""
    if sp.simplify(expr) == 0:
        return "simplifies to 0"
    if nonneg_by_coefficients(expr):
        return "nonnegative coefficients in positive generators"
    if _assumption_nonneg(expr):
        return "SymPy assumptions"
    return None


def find_counterexample(expr: sp.Expr, grid=GRID) -> dict | None:
    """A point of the grid where expr < 0, confirmed with 50-digit evaluation (or None)."""
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    if not syms:
        val = sp.N(expr, 50)
        return {} if val.is_real and val < 0 else None
    pts = list(itertools.product(grid, repeat=len(syms)))
    if len(pts) > MAX_GRID_POINTS:
        pts = pts[:: math.ceil(len(pts) / MAX_GRID_POINTS)]
    arr = np.array(pts, dtype=np.float64).T
    try:
        f = sp.lambdify(syms, expr, ["numpy", "scipy"])
        with np.errstate(all="ignore"):
            vals = np.broadcast_to(np.asarray(f(*arr), dtype=np.complex128), (arr.shape[1],))
    except Exception:  # a function without a vectorised form: evaluate point by point
        fm = sp.lambdify(syms, expr, "mpmath")
        vals = np.array([complex(fm(*col)) for col in arr.T[:2000]], dtype=np.complex128)
        arr = arr[:, :2000]
    ok = np.isfinite(vals) & (np.abs(vals.imag) <= 1e-12 * (1 + np.abs(vals.real)))
    cand = np.flatnonzero(ok & (vals.real < 0))
    for i in cand[np.argsort(vals.real[cand])][:20]:
        subs = {s: sp.Float(arr[k, i], 50) for k, s in enumerate(syms)}
        val = sp.N(expr.subs(subs), 50)
        if val.is_real and val < 0:
            return {s.name: float(arr[k, i]) for k, s in enumerate(syms)} | {"value": float(val)}
    return None


def _monotone(expr, depth=2) -> str | None:
    """Method 4 (applied recursively to the derivative, up to ``depth`` levels)."""
    method = _direct(expr)
    if method:
        return method
    syms = list(expr.free_symbols)
    if depth == 0 or len(syms) != 1:
        return None
    (x,) = syms
    at0 = sp.limit(expr, x, 0, "+")
    if not (at0.is_number and at0.is_finite and at0 >= 0):
        return None
    deriv = sp.simplify(sp.diff(expr, x))
    sub = _monotone(deriv, depth - 1)
    if sub is None:
        return None
    return (f"monotone: lim_{x}->0+ = {sp.sstr(at0)} >= 0 and d/d{x} = {sp.sstr(deriv)} >= 0 "
            f"[{sub}]")


def prove_nonneg(expr: sp.Expr, name: str, statement: str) -> SubCheck:
    """Prove ``expr >= 0`` for all positive values of its symbols (see the module docstring)."""
    def run():
        method = _direct(expr)
        if method:
            return SubCheck(name, statement, "proved", method, sp.sstr(sp.simplify(expr)) + " >= 0")
        mono = _monotone(expr)
        if mono:
            return SubCheck(name, statement, "proved", "monotone", mono)
        ce = find_counterexample(expr)
        if ce is not None:
            return SubCheck(name, statement, "disproved", "counterexample",
                            sp.sstr(expr) + " < 0 at the counterexample", ce)
        return SubCheck(name, statement, "undecided", "", sp.sstr(expr))
    return _guard(name, statement, run)


def _identity_counterexample(lhs, rhs, rel=1e-20, grid=(1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3)):
    """A grid point where |lhs - rhs| > rel·(|lhs| + |rhs|) at 50 digits (or None)."""
    syms = sorted((lhs - rhs).free_symbols, key=lambda s: s.name)
    pts = list(itertools.product(grid, repeat=len(syms)))
    for pt in pts[:: max(1, math.ceil(len(pts) / 400))]:
        subs = {s: sp.Rational(x) if x >= 1 else sp.Float(x, 50) for s, x in zip(syms, pt, strict=True)}
        a, b = sp.N(lhs.subs(subs), 50), sp.N(rhs.subs(subs), 50)
        if not (a.is_real and b.is_real):
            continue
        if abs(a - b) > rel * (abs(a) + abs(b)):
            return {s.name: x for s, x in zip(syms, pt, strict=True)} | {"lhs": float(a), "rhs": float(b)}
    return None


def prove_identity(lhs: sp.Expr, rhs: sp.Expr, name: str, statement: str) -> SubCheck:
    """Prove lhs == rhs for all positive values (simplification, with logs expanded)."""
    def run():
        diff = sp.simplify(sp.expand_log(sp.expand(lhs - rhs), force=True))
        if diff == 0:
            return SubCheck(name, statement, "proved", "simplify(lhs - rhs) == 0",
                            f"{sp.sstr(lhs)} == {sp.sstr(rhs)}")
        if diff.is_number:
            return SubCheck(name, statement, "disproved", "constant difference",
                            f"lhs - rhs = {sp.sstr(diff)}", {"difference": float(diff)})
        ce = _identity_counterexample(lhs, rhs)
        if ce is not None:
            return SubCheck(name, statement, "disproved", "counterexample",
                            f"lhs - rhs = {sp.sstr(diff)} != 0", ce)
        return SubCheck(name, statement, "undecided", "", f"lhs - rhs = {sp.sstr(diff)}")
    return _guard(name, statement, run)


def _lower_floor(expr, syms):
    val = expr
    for s in syms:
        val = sp.limit(val, s, 0, "+")
    return sp.simplify(val)


def prove_ratio_ge_one(ratio: sp.Expr, name: str, statement: str) -> SubCheck:
    """Prove ``ratio >= 1`` for a product of factors: factors are grouped by shared symbols;
    each group G is shown >= its limit c_G at 0+ (G − c_G >= 0 by :func:`prove_nonneg`'s
    methods), and prod c_G >= 1 is checked exactly. Disproof: a counterexample to ratio >= 1."""
    def run():
        r = sp.powsimp(sp.simplify(ratio), force=True)
        groups: list[tuple[set, sp.Expr]] = []
        for f in sp.Mul.make_args(r):
            fs = set(f.free_symbols)
            merged = [gp for gp in groups if gp[0] & fs]
            for gp in merged:
                groups.remove(gp)
            groups.append((fs.union(*(gp[0] for gp in merged)) if merged else fs,
                           sp.Mul(f, *(gp[1] for gp in merged))))
        floors, steps = [], []
        for syms, grp in groups:
            if not syms:
                floors.append(grp)
                continue
            c = _lower_floor(grp, sorted(syms, key=lambda s: s.name))
            if not (c.is_number and c.is_finite and c > 0):
                break
            sub = prove_nonneg(grp - c, name, "")
            if not sub.proved:
                break
            floors.append(c)
            steps.append(f"{sp.sstr(grp)} >= {sp.sstr(c)} ({sub.method})")
        else:
            prod = sp.Mul(*floors)
            if sp.N(prod - 1, 50) >= 0:
                return SubCheck(name, statement, "proved", "factor-wise lower bounds",
                                "; ".join(steps) + f"; product of floors {sp.sstr(prod)} "
                                f"= {float(prod):.6g} >= 1")
        ce = find_counterexample(ratio - 1)
        if ce is not None:
            return SubCheck(name, statement, "disproved", "counterexample",
                            f"{sp.sstr(ratio)} < 1", ce)
        return SubCheck(name, statement, "undecided", "", sp.sstr(r))
    return _guard(name, statement, run)


def prove_limit(expr: sp.Expr, x: sp.Symbol, point, name: str, statement: str,
                expected=None, positive_finite: bool = False) -> SubCheck:
    """lim_{x -> point} expr equals ``expected``, or (``positive_finite``) is a finite,
    positive expression of the remaining symbols."""
    def run():
        lim = sp.simplify(sp.limit(expr, x, point, "+" if point == 0 else "-"))
        ev = f"lim_{{{x}->{point}}} {sp.sstr(expr)} = {sp.sstr(lim)}"
        if expected is not None:
            ok = sp.simplify(lim - expected) == 0
        else:
            ok = bool(lim.is_positive) and bool(lim.is_finite)
        if ok:
            return SubCheck(name, statement, "proved", "limit", ev)
        decided = lim.is_number or lim.is_positive is False or lim.is_finite is False
        return SubCheck(name, statement, "disproved" if decided else "undecided", "limit", ev)
    return _guard(name, statement, run)


def elasticity(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """x·∂_x log(expr): the exponent of x in a monomial (its local log-log slope in general)."""
    return sp.simplify(x * sp.diff(sp.expand_log(sp.log(expr), force=True), x))


def _exponent_sub(expr, x, expected, name, statement):
    def run():
        e = elasticity(expr, x)
        if sp.simplify(e - expected) == 0:
            return SubCheck(name, statement, "proved", "elasticity x·d log(f)/dx",
                            f"exponent of {x} in {sp.sstr(expr)} = {sp.sstr(e)}")
        return SubCheck(name, statement, "disproved" if e.is_number else "undecided",
                        "elasticity", f"exponent of {x} = {sp.sstr(e)}, expected {sp.sstr(expected)}")
    return _guard(name, statement, run)


# --------------------------------------------------------------------------------------------
# 1. inexact descent (docs/paper.md §8.1, §4 check 1)
# --------------------------------------------------------------------------------------------
def descent_lower_bound(eta=1 / L_F, oracle_error=Delta) -> sp.Expr:
    """Lemma 8.1: for an L_F-smooth F and ‖ĝ − ∇F‖ <= e, one step w − ηĝ decreases F by at
    least η‖ĝ‖² − ηe‖ĝ‖ − L_Fη²‖ĝ‖²/2 (with g = ‖ĝ‖)."""
    return eta * g**2 - eta * oracle_error * g - L_F * eta**2 * g**2 / 2


def check_inexact_descent(eta=BYZANTINE_PGD["eta"], epsilon=BYZANTINE_PGD["epsilon"],
                          decrease=3 * Delta**2 / (2 * L_F), oracle_error=Delta,
                          iteration_bound=None) -> CheckResult:
    """With η = 1/L_F and ‖ĝ‖ > ε = 3Δ one step decreases F by >= 3Δ²/(2L_F) (docs/paper.md §8.1),
    so there are at most (F_0 − F*)/(3Δ²/(2L_F)) = 2L_F(F_0 − F*)/(3Δ²) such steps: the iteration
    bound of Theorem 1 divided by Q (docs/paper.md §4)."""
    if iteration_bound is None:
        iteration_bound = 2 * gap * L_F * Q / (3 * Delta**2)
    res = CheckResult("inexact_descent", "docs/paper.md §8.1 and §4 check 1")
    D = descent_lower_bound(eta, oracle_error)
    res.subchecks.append(prove_identity(
        descent_lower_bound(1 / L_F, Delta), (g / L_F) * (g / 2 - Delta), "lemma_8.1_form",
        "at eta = 1/L_F, Lemma 8.1's decrease is (||g||/L_F)(||g||/2 - Delta)"))
    res.subchecks.append(prove_nonneg(
        sp.expand(D.subs(g, epsilon + t) - decrease), "decrease_per_step",
        f"for every ||g|| > epsilon = {sp.sstr(epsilon)}: decrease >= {sp.sstr(decrease)}"))
    res.subchecks.append(prove_identity(
        iteration_bound / Q, gap / decrease, "steps_bound",
        "the iteration bound divided by Q equals (F_0 - F*) / (per-step decrease)"))
    res.data["decrease_at_threshold"] = sp.sstr(sp.simplify(D.subs(g, epsilon)))
    return res


# --------------------------------------------------------------------------------------------
# 2. exponents of Δ and d (docs/paper.md §4, Observation 1)
# --------------------------------------------------------------------------------------------
def check_exponents(lambda_shape=LAMBDA_SHAPE_BPGD, iteration_bound=None,
                    q_formula=BYZANTINE_PGD["Q"], lambda_delta_exponent=TWO_FIFTHS,
                    lambda_d_exponent=ONE_FIFTH, iteration_delta_exponent=-2) -> CheckResult:
    """The λ_min bound scales as Δ^{2/5} d^{1/5} (times log(10/Δ)) and the iteration bound as
    Δ^{-2} (times Q = O(log 1/Δ)) (docs/paper.md §4; CONFIRMED-INDIRECT / POSTER)."""
    if iteration_bound is None:
        iteration_bound = 2 * gap * L_F * Q / (3 * Delta**2)
    res = CheckResult("exponents", "docs/paper.md §4 (Theorem 1, Observation 1)")
    core = sp.simplify(lambda_shape / sp.log(10 / Delta))
    res.subchecks.append(_exponent_sub(core, Delta, lambda_delta_exponent, "lambda_Delta_exponent",
                                       f"lambda_min bound / log(10/Delta) ~ Delta^{lambda_delta_exponent}"))
    res.subchecks.append(_exponent_sub(core, d, lambda_d_exponent, "lambda_d_exponent",
                                       f"lambda_min bound ~ d^{lambda_d_exponent}"))
    res.subchecks.append(prove_limit(
        lambda_shape / (Delta**lambda_delta_exponent * sp.log(1 / Delta)), Delta, 0,
        "lambda_leading_term", "leading term as Delta -> 0+: lambda_min bound ~ "
        f"Delta^{lambda_delta_exponent} log(1/Delta) (finite positive limit of the ratio)",
        positive_finite=True))
    res.subchecks.append(_exponent_sub(iteration_bound, Delta, iteration_delta_exponent,
                                       "iterations_Delta_exponent",
                                       f"iteration bound (Q fixed) ~ Delta^{iteration_delta_exponent}"))
    full = iteration_bound.subs(Q, q_formula)
    res.subchecks.append(prove_limit(
        full / (Delta**iteration_delta_exponent * sp.log(1 / Delta)), Delta, 0,
        "iterations_leading_term", "with Q's formula the iteration bound is "
        f"Theta(Delta^{iteration_delta_exponent} log(1/Delta)) as Delta -> 0+",
        positive_finite=True))
    return res


# --------------------------------------------------------------------------------------------
# 3. the six internal consistency checks of docs/paper.md §4
# --------------------------------------------------------------------------------------------
def _rlog(a):
    return sp.log(a)


def check_consistency(params=None, lambda_constant=LAMBDA_CONSTANT_BPGD,
                      lambda_shape=LAMBDA_SHAPE_BPGD, r_constant=4, t_constant=384,
                      q_constant=48) -> CheckResult:
    """The six internal consistency checks of the reconstructed constants (docs/paper.md §4):
    (1) large-gradient step, (2) r = 4√dΔ/γ' and the stuck probability, (3) L_F R²/T_th, Q's
    union bound and the perturbation cost, (4) 4T_thηρ_FR <= 1/96, (5) the log(10/Δ)
    escape-time condition, (6) the exponent balance that forces Δ^{2/5}."""
    p = dict(BYZANTINE_PGD if params is None else params)
    eta, r, R, Tth, Qf = p["eta"], p["r"], p["R"], p["T_th"], p["Q"]
    res = CheckResult("consistency", "docs/paper.md §4, internal consistency checks 1-6")
    S = res.subchecks
    # (1)
    S.append(check_inexact_descent(eta, p["epsilon"]).subchecks[1])
    S[-1].name = "1.large_gradient_step"
    # (2)
    S.append(prove_identity(r, r_constant * sp.sqrt(d) * Delta / GAMMA_PRIME, "2.r_formula",
                            f"r = {r_constant} sqrt(d) Delta / gamma', gamma' = sqrt(rho_F) "
                            "Delta^(2/5) d^(1/5)"))
    mu = 8 * Delta / gamma
    stuck = sp.simplify(mu * sp.sqrt(d) / r)
    S.append(prove_nonneg(sp.Rational(1, 2) - stuck.subs(gamma, 4 * GAMMA_PRIME + t),
                          "2.stuck_probability",
                          "stuck probability per round mu sqrt(d)/r = 8 Delta sqrt(d)/(gamma r) <= 1/2 "
                          "whenever gamma >= 4 gamma'"))
    gamma0 = lambda_constant * lambda_shape
    S.append(prove_ratio_ge_one(sp.simplify(gamma0 / (4 * GAMMA_PRIME)).subs(Delta, 1 / (1 + u)),
                                "2.threshold_above_4gamma'",
                                "for Delta <= 1 the lambda_min threshold gamma_0 is >= 4 gamma', so "
                                "Lemma 8.3's stuck bound 1/2 applies to every candidate violating it"))
    # (3)
    escape_dec = sp.simplify(L_F * R**2 / Tth)
    S.append(prove_identity(escape_dec, t_constant * (sp.sqrt(rho_F) + L_F) * Delta ** sp.Rational(6, 5)
                            * d ** sp.Rational(3, 5) / rho_F, "3.LR2_over_T",
                            f"L_F R^2 / T_th = {t_constant} (sqrt(rho_F)+L_F) Delta^(6/5) d^(3/5) / rho_F"))
    per_escape = q_constant * L_F * Delta ** sp.Rational(6, 5) * d ** sp.Rational(3, 5) / rho_F
    S.append(prove_nonneg(escape_dec / 8 - per_escape, "3.eighth_vs_Q_decrease",
                          f"(1/8) L_F R^2/T_th >= {q_constant} L_F Delta^(6/5) d^(3/5)/rho_F "
                          "(the per-escape decrease inside Q's logarithm)"))
    N = gap / per_escape
    S.append(prove_identity(Qf, 2 * sp.log(N / delta), "3.Q_formula",
                            "Q = 2 log(N/delta), N = (F_0-F*)/(per-escape decrease) bounds the escapes"))
    x = 1 + v
    ratio = sp.simplify((1 / x) / sp.Integer(2) ** (-2 * sp.log(x)))
    S.append(prove_ratio_ge_one(ratio, "3.union_bound",
                                "with Q = 2 log(N/delta) and N/delta >= 1: 2^-Q <= delta/N (union bound "
                                "over N candidates; ratio (delta/N)/2^-Q = (N/delta)^(2 ln 2 - 1))"))
    cost = sp.simplify(L_F * r**2 / 2)
    S.append(prove_nonneg(escape_dec / 8 - cost, "3.perturbation_cost",
                          "perturbation cost L_F r^2/2 <= per-escape decrease (1/8) L_F R^2/T_th"))
    res.data["perturbation_cost"] = sp.sstr(cost)
    # (4)
    hess_drift = sp.simplify(4 * Tth * eta * rho_F * R)
    S.append(prove_nonneg(sp.Rational(1, 96) - hess_drift, "4.hessian_stability",
                          f"4 T_th eta rho_F R = {sp.sstr(hess_drift)} <= 1/96 (Lemma 8.3 needs <= 1/2)"))
    # (5)
    S.append(prove_identity(eta * gamma0 * Tth,
                            sp.Rational(lambda_constant, t_constant) * sp.log(10 / Delta),
                            "5.escape_time_identity",
                            f"eta gamma_0 T_th = ({lambda_constant}/{t_constant}) log(10/Delta)"))
    S.append(prove_identity(4 * R / mu, R * gamma / (2 * Delta), "5.mu",
                            "with mu = 8 Delta/gamma: 4R/mu = R gamma/(2 Delta)"))
    a = sp.Symbol("a", positive=True)
    S.append(prove_identity(sp.diff(sp.log(a * gamma) / gamma, gamma), (1 - sp.log(a * gamma)) / gamma**2,
                            "5.worst_gamma_is_gamma0",
                            "d/dgamma [log(a gamma)/gamma] = (1 - log(a gamma))/gamma^2 <= 0 once "
                            "a gamma >= e: the escape-time condition at gamma_0 covers every "
                            "gamma >= gamma_0"))
    c5 = sp.Rational(lambda_constant, 2 * t_constant)
    ell = sp.Symbol("ell", positive=True)   # ell = log(10/Delta) > 0 for Delta < 10
    X = sp.powsimp(sp.expand_power_base(R * gamma0 / (2 * Delta), force=True)).subs(sp.log(10 / Delta), ell)
    S.append(_exponent_sub(X, d, sp.Rational(2, 5), "5.X_increasing_in_d",
                           "X = R gamma_0/(2 Delta) grows like d^(2/5) (increasing in d)"))
    d_max = ((10 / Delta) ** c5 / sp.simplify(X / d ** sp.Rational(2, 5))) ** sp.Rational(5, 2)
    S.append(prove_identity(X.subs(d, d_max), (10 / Delta) ** c5, "5.d_max",
                            "escape-time condition eta gamma_0 T_th >= 2 log(R gamma_0/(2 Delta)) "
                            f"<=> X <= (10/Delta)^{c5} <=> d <= d_max = {sp.sstr(d_max)}"))
    d_max = d_max.subs(ell, sp.log(10 / Delta))
    X = X.subs(ell, sp.log(10 / Delta))
    res.data["d_max_formula"] = sp.sstr(d_max)
    spec_pt = {L_F: 1, rho_F: 1, Delta: sp.Rational(1, 1000)}
    dm = sp.N(d_max.subs(spec_pt), 30)
    res.data["d_max_at_L1_rho1_Delta1e-3"] = float(dm)
    cond = sp.N(((10 / Delta) ** c5 - X).subs(spec_pt).subs(d, 10**9), 50)
    S.append(SubCheck("5.spec_example", "docs/paper.md §4: at L_F = rho_F = 1, Delta = 1e-3 the "
                      "condition holds at d = 1e9", "proved" if cond >= 0 else "disproved",
                      "exact evaluation (50 digits)",
                      f"(10/Delta)^{c5} - R gamma_0/(2 Delta) = {float(cond):.6g} at d = 1e9; "
                      f"d_max = {float(dm):.4g}"))
    # (6)
    S.extend(check_exponent_balance().subchecks)
    return res


def check_exponent_balance(fake_basin=FAKE_BASIN, hessian_radius=gamma / rho_F,
                           expected_Delta=TWO_FIFTHS, expected_d=ONE_FIFTH) -> CheckResult:
    """Check 6 of docs/paper.md §4: r >~ √dΔ/γ (fake basin), R <~ γ/ρ_F (Hessian stability) and
    L_F r² <~ γR² (escape decrease beats perturbation cost) balance at
    γ ~ (dΔ²ρ_F²L_F)^{1/5} ∝ Δ^{2/5}d^{1/5}, the exponents of γ' and of the λ_min bound."""
    res = CheckResult("exponent_balance", "docs/paper.md §4 check 6")
    balance = sp.Eq(L_F * fake_basin**2, gamma * hessian_radius**2)
    sols = [s for s in sp.solve(balance, gamma) if s.is_positive]
    if len(sols) != 1:
        res.subchecks.append(SubCheck("6.balance", "balance equation has one positive root",
                                      "undecided", evidence=str(sols)))
        return res
    gstar = sols[0]
    res.data["gamma_star"] = sp.sstr(gstar)
    res.subchecks.append(_exponent_sub(gstar, Delta, expected_Delta, "6.balance_Delta",
                                       f"balanced curvature gamma* = {sp.sstr(gstar)} "
                                       f"~ Delta^{expected_Delta}"))
    res.subchecks.append(_exponent_sub(gstar, d, expected_d, "6.balance_d",
                                       f"gamma* ~ d^{expected_d}"))
    for name, expr in (("gamma'", GAMMA_PRIME), ("lambda_min bound", LAMBDA_SHAPE_BPGD / sp.log(10 / Delta))):
        res.subchecks.append(prove_identity(elasticity(expr, Delta), elasticity(gstar, Delta),
                                            f"6.{name}_matches_Delta", f"{name} has gamma*'s Delta exponent"))
        res.subchecks.append(prove_identity(elasticity(expr, d), elasticity(gstar, d),
                                            f"6.{name}_matches_d", f"{name} has gamma*'s d exponent"))
    return res


# --------------------------------------------------------------------------------------------
# 4. regimes: r <= R/2 and non-vacuity of the λ_min guarantee
# --------------------------------------------------------------------------------------------
def solve_ratio_le(lhs, rhs, x, bound=1):
    """Solution set in x > 0 of lhs <= bound·rhs, solved on the simplified ratio lhs/rhs (which
    cancels the symbols the inequality does not depend on)."""
    ratio = sp.simplify(lhs / rhs)
    sol = sp.solve_univariate_inequality(ratio <= bound, x, relational=False)
    if isinstance(sol, sp.Interval) and (sol.start == -sp.oo or sol.start == 0):
        return sp.Interval(0, sol.end, True, sol.right_open)   # x > 0 (a positive symbol)
    return sol


def nonvacuous_threshold(L=L_F, rho=rho_F, dim=d, lambda_constant=LAMBDA_CONSTANT_BPGD) -> sp.Expr:
    """Δ* with λ-bound(Δ*) = L_F: c(√ρ+L)Δ^{2/5}d^{1/5}log(10/Δ) = L ⇔
    Δ* = 10·exp((5/2)·W_{-1}(−2k/5)), k = L/(c(√ρ+L)d^{1/5}10^{2/5}) (Lambert W, branch −1;
    real when 2k/5 <= 1/e). For Δ < Δ* (and Δ <= 10e^{-5/2}) the guarantee is non-vacuous."""
    k = L / (lambda_constant * (sp.sqrt(rho) + L) * dim ** sp.Rational(1, 5) * 10 ** sp.Rational(2, 5))
    return 10 * sp.exp(sp.Rational(5, 2) * sp.LambertW(-2 * k / 5, -1))


def regime_table(dims=(1, 10, 100, 10**4, 10**6), LR=((1, 1), (10, 1), (1, 10))) -> list[dict]:
    """Rows (L_F, ρ_F, d): the largest Δ with r <= R/2, with r <= R, and Δ* of non-vacuity."""
    rows = []
    thr = nonvacuous_threshold()
    for (L, rho), dim in itertools.product(LR, dims):
        rows.append({"L_F": L, "rho_F": rho, "d": dim,
                     "Delta_max_r_le_R_over_2": float(sp.Integer(2) ** -15 / sp.sqrt(dim)),
                     "Delta_max_r_le_R": float(sp.Integer(4) ** -5 / sp.sqrt(dim)),
                     "Delta_star_nonvacuous": float(sp.N(thr.subs({L_F: L, rho_F: rho, d: dim}), 30))})
    return rows


def check_regimes(params=None, lambda_constant=LAMBDA_CONSTANT_BPGD,
                  expected_half=HALF_REGIME, expected_full=FULL_REGIME) -> CheckResult:
    """For which (Δ, d, L_F, ρ_F) r <= R/2 holds (Δ <= 2^{-15}d^{-1/2}, independent of L_F, ρ_F;
    r <= R is Δ <= 4^{-5}d^{-1/2}, the hypothesis of the Theorem 1 claims), and for which the
    λ_min guarantee is non-vacuous (bound < L_F ⇔ Δ < Δ*(d, L_F, ρ_F), Lambert-W formula)."""
    p = dict(BYZANTINE_PGD if params is None else params)
    res = CheckResult("regimes", "docs/paper.md §4 (parameters), §3 (r <= R)")
    S = res.subchecks
    ratio = sp.simplify(p["r"] / p["R"])
    S.append(prove_identity(ratio, 4 * Delta ** sp.Rational(1, 5) * d ** sp.Rational(1, 10), "r_over_R",
                            "r/R = 4 Delta^(1/5) d^(1/10), independent of L_F and rho_F"))
    for name, lhs, rhs, expected in (("r_le_R_over_2", p["r"], p["R"] / 2, expected_half),
                                     ("r_le_R", p["r"], p["R"], expected_full)):
        def one(lhs=lhs, rhs=rhs, expected=expected, name=name):
            sol = solve_ratio_le(lhs, rhs, Delta)
            want = sp.Interval.Lopen(0, expected)
            ok = (isinstance(sol, sp.Interval) and sp.simplify(sol.end - want.end) == 0
                  and sol.start == 0 and not sol.right_open)
            return SubCheck(name, f"{name.replace('_', ' ')} <=> Delta <= {sp.sstr(expected)}",
                            "proved" if ok else "disproved", "solve_univariate_inequality",
                            f"solution set {sp.sstr(sol)}")
        S.append(_guard(name, name, one))
    shape = lambda_constant * LAMBDA_SHAPE_BPGD
    dlog = sp.diff(Delta ** sp.Rational(2, 5) * sp.log(10 / Delta), Delta)
    dsub = sp.simplify(sp.expand_log(dlog.subs(Delta, 10 * sp.exp(-sp.Rational(5, 2)) / (1 + u)), force=True))
    S.append(prove_nonneg(dsub, "lambda_bound_increasing",
                          "the lambda_min bound increases with Delta on (0, 10 e^(-5/2)], so "
                          "non-vacuity (bound < L_F) is an interval 0 < Delta < Delta*"))
    thr = nonvacuous_threshold(lambda_constant=lambda_constant)
    S.append(_guard("Delta_star_formula", "", lambda: _check_lambert(shape, thr, lambda_constant)))
    res.data["Delta_star_formula"] = sp.sstr(thr)
    res.data["table"] = regime_table()
    return res


def _check_lambert(shape, thr, lambda_constant):
    """bound(Δ*) = L_F, using only W·e^W = z for W = W_{-1}(z) (z = the LambertW argument)."""
    (lw,) = thr.atoms(sp.LambertW)
    z = lw.args[0]
    W = sp.Symbol("W", negative=True)
    at = sp.expand_log(shape.subs(Delta, thr.subs(lw, W)), force=True)
    at = sp.simplify(sp.powsimp(sp.expand_power_base(at, force=True), force=True))
    at = sp.simplify(at.subs(sp.exp(W), z / W))
    return prove_identity(at, L_F, "Delta_star_formula",
                            "Delta* = 10 exp((5/2) W_-1(-2k/5)), k = L_F/(c (sqrt(rho_F)+L_F) d^(1/5) "
                            "10^(2/5)), solves bound(Delta*) = L_F (using W e^W = z)")


# --------------------------------------------------------------------------------------------
# 5. exact-oracle theorem versus Jin et al. 2017 (docs/paper.md §9)
# --------------------------------------------------------------------------------------------
JIN_ITERATIONS = L_F * gap / eps**2 * sp.log(d * L_F * gap / (eps**2 * delta)) ** 4
JIN_ACCURACY = sp.sqrt(rho_F * eps)
THM2_ITERATIONS = 2 * L_F * gap / eps**2 + EXACT_PGD_PROVED["T_th"] + 1
THM2_LAMBDA = 8 * sp.sqrt(rho_F * eps) * sp.log(4 * L_F * sp.sqrt(d) * (N_EXACT + 1)
                                                / (delta * sp.sqrt(rho_F * eps)))
POSTER_LAMBDA = 60 * sp.sqrt(rho_F * eps) * sp.log(8 * rho_F * d * gap / (delta * eps**2))


def check_exact_vs_jin(iterations=THM2_ITERATIONS, accuracy=THM2_LAMBDA,
                       poster_accuracy=POSTER_LAMBDA, t_th=EXACT_PGD_PROVED["T_th"]) -> CheckResult:
    """Theorem 2 (Δ = 0) against Jin et al. 2017 Theorem 3: the same ε^{-2} order of iterations
    (Jin: ℓ(f_0−f*)/ε²·log⁴(·)), the same √(ρε) second-order accuracy up to logarithms, the same
    ε^{-1/2} escape time (docs/paper.md §5, §7.3, §9)."""
    res = CheckResult("exact_vs_jin", "docs/paper.md §5, §7.3, §9")
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
    S.append(_exponent_sub(t_th, eps, -sp.S.Half, "escape_time_order",
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
    return _guard(name, statement, run)


def check_upper_vs_lower(grad_bound=4 * Delta, grad_lower=GRAD_LOWER,
                         lambda_bound=LAMBDA_CONSTANT_BPGD * LAMBDA_SHAPE_BPGD,
                         lambda_lower=LAMBDA_LOWER, rates=None,
                         lower_rate=rates_mod.LOWER_BOUND) -> CheckResult:
    """Upper bounds are never below the lower bounds: 4Δ >= Δ/2 (Theorem 1 vs Observation 2),
    Theorem 1's λ_min bound >= √(ρ_FΔ)/2 for Δ <= 1 and d >= 1, and every aggregator rate of
    docs/paper.md §6 >= the statistical lower bound α/√n + √(d/(nm)) order-wise (§7.2)."""
    res = CheckResult("upper_vs_lower", "docs/paper.md §4, §5 (Observation 2, 3), §6, §7")
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
def check_aggregator_rates(rates=None, expected=None, s5=None) -> CheckResult:
    """The rates of docs/paper.md §6 as SymPy expressions: their exponents in n, m, α, d extracted
    symbolically and compared with the table, each rate re-derived from S5's sample complexity
    (n = T·Δ² solved term by term), and the optimality regimes of the discussion."""
    rates = rates_mod.RATES if rates is None else rates
    expected = rates_mod.EXPECTED_EXPONENTS if expected is None else expected
    s5 = rates_mod.S5_SAMPLE_COMPLEXITY if s5 is None else s5
    res = CheckResult("aggregator_rates", "docs/paper.md §6")
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
                            str([{k: sp.sstr(x) for k, x in e.items()} for e in got]))
        S.append(_guard(f"exponents_{name}", name, exps))
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
        S.append(_guard(f"s5_inversion_{name}", name, inv))
    if "iterative_filtering" in rates:
        def filt():
            sol = solve_ratio_le(sp.sqrt(a_) / sp.sqrt(n_), sp.sqrt(d_ / (n_ * m_)), a_)
            ok = isinstance(sol, sp.Interval) and sp.simplify(sol.end - d_ / m_) == 0
            return SubCheck("filtering_optimal_regime", "iterative filtering's alpha term is below its "
                            "d term <=> alpha <= d/m (high-dimensional regime)",
                            "proved" if ok else "disproved", "solve_univariate_inequality", sp.sstr(sol))
        S.append(_guard("filtering_optimal_regime", "", filt))
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
        S.append(_guard("median_low_dim", "", med))
    return res


ALL_CHECKS = {
    "parameters.inexact_descent": check_inexact_descent,
    "parameters.exponents": check_exponents,
    "parameters.consistency": check_consistency,
    "parameters.regimes": check_regimes,
    "parameters.exact_vs_jin": check_exact_vs_jin,
    "parameters.upper_vs_lower": check_upper_vs_lower,
    "parameters.aggregator_rates": check_aggregator_rates,
}

__all__ = ["SubCheck", "CheckResult", "prove_nonneg", "prove_identity", "prove_ratio_ge_one",
           "prove_limit", "elasticity", "order_wise_ge", "ALL_CHECKS", "regime_table",
           "nonvacuous_threshold", "T"] + [f.__name__ for f in ALL_CHECKS.values()]
