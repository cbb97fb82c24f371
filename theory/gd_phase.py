"""The gradient phase of ByzantinePGD with a Δ-inexact oracle: its certified worst case
(statements only; the PEP that certifies it is :mod:`byzpgd.experiments.pep`, its solved points
:mod:`byzpgd.theory.pep_cache`).

Model (docs/paper.md §3 Algorithm 1 with η = 1/L_F, §8.1): f is L-smooth (not necessarily
convex), f(x_0) − inf f <= D, and the phase takes N steps x_{k+1} = x_k − d_k/L with a
Δ-inexact oracle, ‖d_k − ∇f(x_k)‖ <= Δ (Definition 1, §1).

Closed form (OWN; found with PEPit 0.5.1 and reproduced by the cache of experiments/pep.py):

    W(N, Δ, L, D) = [NΔ + √(N²Δ² + (3N+2)(NΔ² + 4LD))] / (3N + 2)

is the supremum over such f and oracles of min_{0<=i<=N} ‖∇f(x_i)‖ when 2LD >= Δ² (κ = LD/Δ² >= 1/2;
then W >= Δ, since q(Δ) = 2Δ² − 4LD <= 0). When 2LD < Δ² the supremum is √(2LD): every gradient
at x_0 is at most √(2LD) < Δ, so the oracle may answer 0 and the iterates never move (found by
Hypothesis against the construction, confirmed by the PEP; the cache holds points of both
regimes). :func:`w_value` and :data:`W_PIECEWISE` cover both. Equivalently, for 2LD >= Δ², W is the
largest root of q(G) = (3N+2)G² − 2NΔG − (NΔ² + 4LD), which is the budget equation of the
construction that attains it (:mod:`byzpgd.oracles.adversaries.pep_worst`): a 1-D f with
f′(x_k) = G at every iterate, a tent of slope ±L between consecutive iterates, the oracle
under-reporting by Δ (d = G − Δ, step s = (G − Δ)/L), so each step decreases f by
(3G + Δ)(G − Δ)/(4L), and a last descent of G²/(2L) after x_N:

    N (3G + Δ)(G − Δ)/(4L) + G²/(2L) = D   <=>   q(G) = 0.

Special cases: Δ = 0 gives 4LD/(3N+2) for the squared norm; N = 0 gives √(2LD); N → ∞ gives Δ.
The value depends on (N, Δ, L, D) only through N and κ = LD/Δ² (W/Δ = φ(N, κ)): scale
invariance, a metamorphic property.

The bound the theory gives for the same quantity (B) is the descent lemma with an inexact
gradient (§8.1): f(x_{k+1}) <= f(x_k) − (‖∇f(x_k)‖² − Δ²)/(2L), so
min_{i<N} ‖∇f(x_i)‖² <= 2LD/N + Δ² (and 2LD at N = 0).

Two more quantities of the gradient phase carry the hierarchy B ≥ W ≥ O in the reports:
- the output gradient of ByzantinePGD (claim byzantine_pgd.grad_norm): B = 4Δ (ε = 3Δ plus Δ);
  W = 4Δ exactly, by the ratio-1 example ∇F(w) = 4Δ·u, ĝ = 3Δ·u (‖ĝ − ∇F‖ = Δ, the stopping
  test ‖ĝ‖ <= 3Δ fires): no PEP is needed;
- the number of large-gradient steps before the stopping test ‖ĝ‖ <= 3Δ first fires
  (claim byzantine_pgd.iterations, whose bound is Q times this one): B = 2LD/(3Δ²) (§8.1: each
  such step decreases F by >= 3Δ²/(2L)); W is certified by the PEP (no closed form here).

Steps to reach min ‖∇f‖ <= cΔ (c > 1) in the worst case: N*(c) = ⌈(4LD − 2c²Δ²)/((3c+1)(c−1)Δ²)⌉,
from q(cΔ) >= 0.
"""

from __future__ import annotations

import math

import sympy as sp

from .prover import Derivation, SubCheck, guard, prove_identity, prove_limit, prove_nonneg
from .symbols import L_F, Delta, gap

N = sp.Symbol("N", positive=True)                 # number of gradient steps
G = sp.Symbol("G", positive=True)                 # a gradient-norm level
c = sp.Symbol("c", positive=True)                 # target accuracy in units of Δ
kappa = sp.Symbol("kappa", positive=True)         # κ = L D / Δ²
s_scale = sp.Symbol("s", positive=True)           # a scale factor

SOURCE = "docs/paper.md §3 (Algorithm 1, eta = 1/L_F), §8.1 (descent lemma); closed form OWN (PEP)"

# --- statements ------------------------------------------------------------------------------
W_EXPR = (N * Delta + sp.sqrt(N**2 * Delta**2 + (3 * N + 2) * (N * Delta**2 + 4 * L_F * gap))) / (3 * N + 2)
"""W(N, Δ, L, D) for 2LD >= Δ²: the certified worst case of min_{0<=i<=N} ‖∇f(x_i)‖ (module docstring)."""

W_PIECEWISE = sp.Piecewise((W_EXPR, 2 * L_F * gap >= Delta**2), (sp.sqrt(2 * L_F * gap), True))
"""W in both regimes: the closed form for 2LD >= Δ², √(2LD) below."""

Q_EXPR = (3 * N + 2) * G**2 - 2 * N * Delta * G - (N * Delta**2 + 4 * L_F * gap)
"""q(G): W is its largest root."""

STEP_DECREASE = (3 * G + Delta) * (G - Delta) / (4 * L_F)
"""Decrease of f over one step of the construction (tent of slope ±L, d = G − Δ)."""

FINAL_DECREASE = G**2 / (2 * L_F)
"""Decrease of f after the last iterate (f′ falls from G to 0 with slope L)."""

DESCENT_BOUND_SQ = 2 * L_F * gap / N + Delta**2
"""B²: the descent lemma's bound on min_{i<N} ‖∇f(x_i)‖² (§8.1), N >= 1."""

STEPS_BOUND = 2 * L_F * gap / (3 * Delta**2)
"""The theory's bound on the large-gradient steps of one gradient phase (§8.1, §4)."""

GRAD_NORM_BOUND = 4 * Delta
"""Theorem 1's bound on ‖∇F(w̃)‖ at termination; also its certified worst case (ratio-1 example)."""

STEPS_FOR_ACCURACY = (4 * L_F * gap - 2 * c**2 * Delta**2) / ((3 * c + 1) * (c - 1) * Delta**2)
"""N*(c) before the ceiling: the fewest steps after which W <= cΔ (c > 1)."""


def w_value(n: int, delta: float, L: float, D: float) -> float:
    """W(N, Δ, L, D) in float64, both regimes (see the module docstring)."""
    n, delta, L, D = _check(n, delta, L, D)
    if 2 * L * D < delta * delta:
        return math.sqrt(2 * L * D)
    return (n * delta + math.sqrt(n * n * delta * delta + (3 * n + 2) * (n * delta * delta + 4 * L * D))) \
        / (3 * n + 2)


def descent_bound(n: int, delta: float, L: float, D: float) -> float:
    """B(N, Δ, L, D) = √(2LD/N + Δ²) for N >= 1, √(2LD) for N = 0 (the theory's bound on
    min ‖∇f(x_i)‖ over the first N steps, §8.1)."""
    n, delta, L, D = _check(n, delta, L, D)
    if n == 0:
        return math.sqrt(2 * L * D)
    return math.sqrt(2 * L * D / n + delta * delta)


def steps_bound(delta: float, L: float, D: float) -> float:
    """2LD/(3Δ²): the theory's bound on the large-gradient steps of one gradient phase."""
    _, delta, L, D = _check(0, delta, L, D)
    if delta <= 0:
        raise ValueError("delta must be > 0 for the step bound")
    return 2 * L * D / (3 * delta * delta)


def steps_for_accuracy(c_: float, delta: float, L: float, D: float) -> int:
    """N*(c) = ⌈(4LD − 2c²Δ²)/((3c+1)(c−1)Δ²)⌉ (at least 0): the worst-case number of steps after
    which min ‖∇f(x_i)‖ <= cΔ is guaranteed (c > 1, Δ > 0)."""
    _, delta, L, D = _check(0, delta, L, D)
    if not (c_ > 1 and delta > 0):
        raise ValueError(f"need c > 1 and delta > 0, got c={c_}, delta={delta}")
    return max(0, math.ceil((4 * L * D - 2 * c_**2 * delta**2) / ((3 * c_ + 1) * (c_ - 1) * delta**2)))


def construction_step(g: float, delta: float, L: float) -> tuple[float, float]:
    """(step length s, decrease of f) of one step of the construction at level G = g."""
    return (g - delta) / L, (3 * g + delta) * (g - delta) / (4 * L)


def _check(n, delta, L, D):
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"N must be an integer >= 0, got {n!r}")
    for name, val, pos in (("delta", delta, False), ("L", L, True), ("D", D, True)):
        if not (isinstance(val, int | float) and math.isfinite(val) and (val > 0 if pos else val >= 0)):
            raise ValueError(f"{name} must be finite and {'> 0' if pos else '>= 0'}, got {val!r}")
    return int(n), float(delta), float(L), float(D)


# --- the derivation of the claim parameters.gd_phase_worst_case ------------------------------
def check_pep_agreement(points, rtol: float, w_expr: sp.Expr | None = None) -> SubCheck:
    """The closed form against solved PEP values: ``points`` is an iterable of
    (N, Δ, L, D, value) with value the PEP's certified sup of min ‖∇f(x_i)‖; proved when every
    |W − value| <= rtol·W (W evaluated by SymPy with 30 digits), disproved otherwise (the worst
    point is the counterexample)."""
    name = "closed form = PEP"
    statement = f"|W(N, Delta, L, D) - PEP value| <= {rtol:g} W at every solved point"

    def run():
        pts = list(points)
        if not pts:
            return SubCheck(name, statement, "undecided", evidence="no solved PEP point given")
        worst, worst_pt = 0.0, None
        for n, dl, L, D, value in pts:
            values = {N: n, Delta: sp.nsimplify(dl), L_F: sp.nsimplify(L), gap: sp.nsimplify(D)}
            w = float((W_PIECEWISE if w_expr is None else w_expr).subs(values).evalf(30))
            rel = abs(w - value) / w
            if rel >= worst:
                worst, worst_pt = rel, {"N": n, "Delta": dl, "L": L, "D": D, "pep": value, "W": w}
        ev = f"{len(pts)} points, largest relative difference {worst:.3g} at {worst_pt}"
        if worst <= rtol:
            return SubCheck(name, statement, "proved", "evaluation at every solved point", ev)
        return SubCheck(name, statement, "disproved", "evaluation", ev, worst_pt)
    return guard(name, statement, run)


def derivation(pep_points=(), rtol: float = 1e-3, w_expr: sp.Expr | None = None) -> Derivation:
    """The sub-checks of ``parameters.gd_phase_worst_case``: W is the root of the construction's
    budget equation, its limits, its scale invariance, W <= B, N*(c), and W against the solved
    PEP points. ``w_expr`` replaces W (the able-to-fail tests pass a wrong constant)."""
    W = W_EXPR if w_expr is None else w_expr
    der = Derivation("parameters.gd_phase_worst_case", SOURCE)
    add = der.subchecks.append
    add(prove_identity(sp.expand(Q_EXPR.subs(G, W)), sp.Integer(0), "W is a root of q",
                       "q(W) = (3N+2)W^2 - 2N Delta W - (N Delta^2 + 4 L D) = 0"))
    add(prove_identity(N * STEP_DECREASE + FINAL_DECREASE - gap, Q_EXPR / (4 * L_F), "construction budget",
                       "N (3G+Delta)(G-Delta)/(4L) + G^2/(2L) - D = q(G)/(4L): the construction "
                       "spends exactly D at G = W"))
    add(prove_identity(sp.expand(Q_EXPR.subs(G, Delta)), 2 * Delta**2 - 4 * L_F * gap, "regime",
                       "q(Delta) = 2 Delta^2 - 4 L D: W >= Delta (the construction's d = W - Delta >= 0) "
                       "iff 2 L D >= Delta^2"))
    add(prove_nonneg((DESCENT_BOUND_SQ - 2 * L_F * gap).subs(Delta, sp.sqrt(2 * L_F * gap * (1 + s_scale))),
                     "W <= B (2LD < Delta^2)", "sqrt(2LD) <= sqrt(2LD/N + Delta^2) when 2LD <= Delta^2"))
    add(prove_identity(W.subs(Delta, 0)**2, 4 * L_F * gap / (3 * N + 2), "Delta = 0",
                       "W(N, 0, L, D)^2 = 4LD/(3N+2)"))
    add(prove_identity(W.subs(N, 0)**2, 2 * L_F * gap, "N = 0", "W(0, Delta, L, D)^2 = 2LD"))
    add(prove_limit(W, N, sp.oo, "N -> oo", "W -> Delta as N -> oo", expected=Delta))
    add(prove_identity(W.subs({Delta: s_scale * Delta, gap: s_scale**2 * gap}, simultaneous=True),
                       s_scale * W, "scale (Delta, D)", "W(N, s Delta, L, s^2 D) = s W(N, Delta, L, D)"))
    add(prove_identity(W.subs({L_F: s_scale * L_F, gap: gap / s_scale}, simultaneous=True), W,
                       "scale (L, D)", "W(N, Delta, s L, D/s) = W(N, Delta, L, D)"))
    add(prove_identity(W.subs(gap, kappa * Delta**2 / L_F) / Delta,
                       W_EXPR.subs({Delta: 1, L_F: 1, gap: kappa}), "only N and LD/Delta^2",
                       "W/Delta = W(N, 1, 1, kappa) with kappa = L D/Delta^2"))
    # W <= B for N >= 1: W is the largest root of q (leading coefficient > 0), so W <= B iff
    # q(B) >= 0 and B >= the vertex NΔ/(3N+2); q(B) = 2(A - NΔB) with A = LD + 2LD/N + (N+1)Δ²,
    # and A >= 0, A² - N²Δ²B² >= 0 (polynomial, nonnegative coefficients after expansion).
    n1 = 1 + s_scale                                          # N = 1 + s encodes N >= 1
    B = sp.sqrt(DESCENT_BOUND_SQ)
    qB = sp.expand(Q_EXPR.subs(G, B))
    A = L_F * gap + 2 * L_F * gap / N + (N + 1) * Delta**2
    add(prove_identity(qB, 2 * (A - N * Delta * B), "q(B) form", "q(B) = 2 (A - N Delta B)"))
    add(prove_nonneg((A**2 - N**2 * Delta**2 * DESCENT_BOUND_SQ).subs(N, n1), "W <= B",
                     "A^2 - N^2 Delta^2 B^2 >= 0 for N >= 1, so q(B) >= 0 and W <= B = "
                     "sqrt(2LD/N + Delta^2)"))
    add(prove_nonneg((DESCENT_BOUND_SQ - (N * Delta / (3 * N + 2))**2).subs(N, n1), "B above the vertex",
                     "B^2 >= (N Delta/(3N+2))^2, so B >= N Delta/(3N+2) (B is right of q's vertex)"))
    if w_expr is not None:   # a replaced W must itself satisfy W <= B; check it on a grid
        ratio = (W**2 - DESCENT_BOUND_SQ).subs(N, n1)
        add(prove_nonneg(-ratio, "replaced W <= B", "W^2 <= 2LD/N + Delta^2 for N >= 1"))
    nstar = STEPS_FOR_ACCURACY
    add(prove_identity(sp.expand(Q_EXPR.subs({G: c * Delta, N: nstar})), sp.Integer(0), "N*(c)",
                       "q(c Delta) = 0 at N = N*(c): after N*(c) steps W <= c Delta"))
    der.subchecks.extend(consecutive_certificate())
    add(guard("grad-norm example", "the ratio-1 example attains ||grad F(w~)|| = 4 Delta",
              lambda: _ratio_one_example()))
    if pep_points:
        add(check_pep_agreement(pep_points, rtol, w_expr))
    der.data = {"W": sp.sstr(W), "B_squared": sp.sstr(DESCENT_BOUND_SQ), "steps_bound": sp.sstr(STEPS_BOUND),
                "steps_for_accuracy": sp.sstr(STEPS_FOR_ACCURACY)}
    return der


def consecutive_certificate() -> list[SubCheck]:
    """The dual certificate behind W, using smoothness between consecutive iterates only (why the
    consecutive-only relaxation of the PEP loses nothing).

    The interpolation inequality of L-smooth functions (Taylor–Hendrickx–Glineur 2017, Thm 3.10)
    between x_k and x_{k+1} = x_k − d_k/L, with a = ∇f(x_k), b = ∇f(x_{k+1}), d_k = a − e, reads
    4L(f_k − f_{k+1}) >= Φ := −‖d_k‖² + 2⟨a + b, d_k⟩ + ‖a − b‖², and Φ = 2‖a‖² + ‖b‖² − ‖e‖² − 2⟨b, e⟩
    (an identity). With ‖a‖, ‖b‖ >= G >= Δ >= ‖e‖ and ⟨b, e⟩ <= ‖b‖‖e‖ (Cauchy–Schwarz),
    Φ − (3G + Δ)(G − Δ) >= 2(A² − G²) + (B − G)(B + G − 2Δ) + (Δ − E)(Δ + E + 2B) >= 0
    (A = ‖a‖, B = ‖b‖, E = ‖e‖: three nonnegative terms, the certificate's multipliers). Summed over
    the N steps with the budget f_0 − f_N + ‖∇f(x_N)‖²/(2L) <= D this gives
    N(3G + Δ)(G − Δ)/(4L) + G²/(2L) <= D, i.e. q(G) <= 0 and G <= W (identity 'construction
    budget'); and if G < Δ then G < Δ <= W (2LD >= Δ²)."""
    va = sp.Matrix(sp.symbols("a1:4", real=True))
    vb = sp.Matrix(sp.symbols("b1:4", real=True))
    ve = sp.Matrix(sp.symbols("e1:4", real=True))
    d = va - ve
    phi = -d.dot(d) + 2 * (va + vb).dot(d) + (va - vb).dot(va - vb)
    rhs = 2 * va.dot(va) + vb.dot(vb) - ve.dot(ve) - 2 * vb.dot(ve)
    out = [prove_identity(sp.expand(phi), sp.expand(rhs), "certificate: interpolation identity",
                          "-|a-e|^2 + 2<a+b, a-e> + |a-b|^2 = 2|a|^2 + |b|^2 - |e|^2 - 2<b,e> "
                          "(vectors in R^3: an identity of the Gram entries)")]
    A, B, E = sp.symbols("A B E", nonnegative=True)
    lhs = 2 * A**2 + B**2 - E**2 - 2 * B * E - (3 * G + Delta) * (G - Delta)
    terms = (2 * (A**2 - G**2), (B - G) * (B + G - 2 * Delta), (Delta - E) * (Delta + E + 2 * B))
    out.append(prove_identity(lhs, sum(terms), "certificate: decomposition",
                              "2A^2 + B^2 - E^2 - 2BE - (3G+Delta)(G-Delta) = 2(A^2-G^2) "
                              "+ (B-G)(B+G-2 Delta) + (Delta-E)(Delta+E+2B)"))
    al, be, ga, ep = sp.symbols("alpha beta gamma epsilon_e", positive=True)
    # A = G + alpha, B = G + beta, G = Delta + gamma, Delta = E + epsilon_e (boundaries by continuity)
    sub = {A: G + al, B: G + be}
    for i, t in enumerate(terms):
        expr = t.subs(sub).subs(G, Delta + ga).subs(Delta, E + ep).subs(E, sp.Symbol("E_", positive=True))
        out.append(prove_nonneg(sp.expand(expr), f"certificate: term {i + 1} >= 0",
                                f"{sp.sstr(t)} >= 0 for A, B >= G >= Delta >= E"))
    return out


def _ratio_one_example() -> SubCheck:
    """∇F = 4Δu and ĝ = 3Δu (u a unit vector): ‖ĝ − ∇F‖ = Δ (Δ-inexact), ‖ĝ‖ = 3Δ <= ε (the
    stopping test fires), ‖∇F‖ = 4Δ = the bound: the ratio is 1 and W = B."""
    grad, ghat = 4 * Delta, 3 * Delta
    ok = (sp.simplify(sp.Abs(ghat - grad) - Delta) == 0 and sp.simplify(ghat - 3 * Delta) == 0
          and sp.simplify(grad / GRAD_NORM_BOUND - 1) == 0)
    name, st = "grad-norm example", "the ratio-1 example attains ||grad F(w~)|| = 4 Delta"
    return SubCheck(name, st, "proved" if ok else "disproved", "exact evaluation",
                    "|3 Delta - 4 Delta| = Delta, 3 Delta <= 3 Delta, 4 Delta / (4 Delta) = 1")
