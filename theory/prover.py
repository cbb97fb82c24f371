"""The SymPy prover behind the symbolic claims: proofs over all admissible values (symbolic
identities, inequalities reduced to manifestly nonnegative forms, monotonicity arguments, limits
and leading terms), never sampling.

Every ``prove_*`` function returns a :class:`SubCheck` (one statement, its SymPy evidence and a
status 'proved' | 'disproved' | 'undecided' | 'error'); a :class:`Derivation` collects the
sub-checks of one claim and the data derived on the way. Only 'proved' counts for a claim;
'undecided' (SymPy could not decide) never counts as a proof, 'disproved' needs a confirmed
counterexample or an exact contradiction.

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
'disproved' (a disproof by evaluation is a proof of falsity); otherwise it is 'undecided'.

Hypotheses such as Δ <= 1 or d >= 1 are encoded by substitution with a positive variable
(Δ = 1/(1+u), d = 1+v with the symbols :data:`u`, :data:`v`); boundary points follow by
continuity (docs/paper.md §4, §10.1).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

u = sp.Symbol("u", positive=True)        # Δ = 1/(1+u) encodes Δ <= 1
v = sp.Symbol("v", positive=True)        # d = 1+v encodes d >= 1
t = sp.Symbol("t", positive=True)        # slack variable: x = x_0 + t encodes x > x_0

GRID = (1e-12, 1e-6, 1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3, 1e6, 1e12)
MAX_GRID_POINTS = 60_000
SUBCHECK_STATUSES = ("proved", "disproved", "undecided", "error")


@dataclass
class SubCheck:
    """One proved (or disproved, undecided, errored) statement with its SymPy evidence."""

    name: str
    statement: str
    status: str                     # one of SUBCHECK_STATUSES
    method: str = ""
    evidence: str = ""
    counterexample: dict | None = None

    def __post_init__(self):
        if self.status not in SUBCHECK_STATUSES:
            raise ValueError(f"status must be one of {SUBCHECK_STATUSES}, got {self.status!r}")

    @property
    def proved(self) -> bool:
        return self.status == "proved"


@dataclass
class Derivation:
    """The sub-checks of one symbolic claim (``name``, from ``source``) and the data derived on
    the way (formulas as strings, numbers: JSON-able)."""

    name: str
    source: str
    subchecks: list[SubCheck] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(s.status == status for s in self.subchecks)

    @property
    def proved(self) -> bool:
        """Every sub-check proved (and there is at least one)."""
        return bool(self.subchecks) and all(s.proved for s in self.subchecks)

    @property
    def disproved(self) -> bool:
        """Some sub-check disproved."""
        return self.count("disproved") > 0

    def failed(self) -> list[SubCheck]:
        return [s for s in self.subchecks if not s.proved]


def guard(name: str, statement: str, fn: Callable[[], SubCheck]) -> SubCheck:
    """``fn()``, with an exception turned into an 'error' sub-check."""
    try:
        return fn()
    except Exception as exc:  # a SymPy failure is reported, never hidden as a proof
        return SubCheck(name, statement, "error", evidence=f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# inequalities
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
    return guard(name, statement, run)


def _lower_floor(expr, syms):
    val = expr
    for s in syms:
        val = sp.limit(val, s, 0, "+")
    return sp.simplify(val)


def _factor_groups(r: sp.Expr) -> list[tuple[set, sp.Expr]]:
    """The factors of the product ``r``, merged into groups that share no symbol."""
    groups: list[tuple[set, sp.Expr]] = []
    for f in sp.Mul.make_args(r):
        fs = set(f.free_symbols)
        merged = [gp for gp in groups if gp[0] & fs]
        for gp in merged:
            groups.remove(gp)
        groups.append((fs.union(*(gp[0] for gp in merged)) if merged else fs,
                       sp.Mul(f, *(gp[1] for gp in merged))))
    return groups


def prove_ratio_ge_one(ratio: sp.Expr, name: str, statement: str) -> SubCheck:
    """Prove ``ratio >= 1`` for a product of factors: factors are grouped by shared symbols;
    each group G is shown >= its limit c_G at 0+ (G − c_G >= 0 by :func:`prove_nonneg`'s
    methods), and prod c_G >= 1 is checked exactly. Disproof: a counterexample to ratio >= 1."""
    def run():
        r = sp.powsimp(sp.simplify(ratio), force=True)
        floors, steps = [], []
        for syms, grp in _factor_groups(r):
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
    return guard(name, statement, run)


# --------------------------------------------------------------------------------------------
# identities, limits, exponents, solution sets
# --------------------------------------------------------------------------------------------
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
    return guard(name, statement, run)


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
    return guard(name, statement, run)


def elasticity(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """x·∂_x log(expr): the exponent of x in a monomial (its local log-log slope in general)."""
    return sp.simplify(x * sp.diff(sp.expand_log(sp.log(expr), force=True), x))


def prove_exponent(expr: sp.Expr, x: sp.Symbol, expected, name: str, statement: str) -> SubCheck:
    """The exponent of ``x`` in ``expr`` (its elasticity) equals ``expected``."""
    def run():
        e = elasticity(expr, x)
        if sp.simplify(e - expected) == 0:
            return SubCheck(name, statement, "proved", "elasticity x·d log(f)/dx",
                            f"exponent of {x} in {sp.sstr(expr)} = {sp.sstr(e)}")
        return SubCheck(name, statement, "disproved" if e.is_number else "undecided",
                        "elasticity", f"exponent of {x} = {sp.sstr(e)}, expected {sp.sstr(expected)}")
    return guard(name, statement, run)


def solve_ratio_le(lhs, rhs, x, bound=1):
    """Solution set in x > 0 of lhs <= bound·rhs, solved on the simplified ratio lhs/rhs (which
    cancels the symbols the inequality does not depend on)."""
    ratio = sp.simplify(lhs / rhs)
    sol = sp.solve_univariate_inequality(ratio <= bound, x, relational=False)
    if isinstance(sol, sp.Interval) and (sol.start == -sp.oo or sol.start == 0):
        return sp.Interval(0, sol.end, True, sol.right_open)   # x > 0 (a positive symbol)
    return sol
