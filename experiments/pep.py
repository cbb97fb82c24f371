"""Performance estimation (PEP) of ByzantinePGD's gradient phase with a Δ-inexact oracle, and the
cache of solved points it writes (``theory/data/pep_cache.json``, read by :mod:`byzpgd.theory.pep_cache`).

The PEP (Drori–Teboulle 2014; Taylor–Hendrickx–Glineur 2017), encoded with PEPit (optional extra
``byzpgd[pep]``, solved by cvxpy's bundled CLARABEL):

- f ∈ ``SmoothFunction(L)``: the exact interpolation conditions of L-smooth nonconvex functions
  (Taylor–Hendrickx–Glineur 2017, Thm 3.10) between every pair of points (``relaxation='full'``),
  or only between consecutive iterates (``relaxation='consecutive'``: fewer constraints, so a
  relaxation whose value is still a valid upper bound; it matched the full PEP wherever compared,
  and the cache records both at small N);
- N steps ``inexact_gradient_step(x, f, gamma=1/L, epsilon=Δ, notion='absolute')``:
  x_{k+1} = x_k − d_k/L with ‖d_k − ∇f(x_k)‖² <= Δ² (Definition 1 of docs/paper.md §1, η = 1/L of §3);
- "f(x_0) − inf f <= D" through the necessary condition f(x_0) − f(x_i) + ‖∇f(x_i)‖²/(2L) <= D at
  every iterate (valid since f(x − ∇f(x)/L) <= f(x) − ‖∇f(x)‖²/(2L)): the PEP is a relaxation of
  the true problem and its value a certified upper bound;
- metric ``'grad'``: min_{0<=i<=N} ‖∇f(x_i)‖² (its square root is W of
  :mod:`byzpgd.theory.gd_phase`); metric ``'oracle'``: min_{0<=i<N} ‖d_i‖² — above (3Δ)² exactly
  when N steps can all pass ByzantinePGD's test ‖ĝ‖ > ε = 3Δ, so the certified worst-case number
  of large-gradient steps of one phase is the largest such N (:func:`certified_steps`).

Values are returned as norms (square roots of the PEP values). The dual value is used (an upper
bound up to the solver's accuracy, about 1e-7 relative for CLARABEL here).

Regenerate the cache (a few minutes on one core)::

    .venv/bin/python -m byzpgd.experiments.pep --write

Reports and ``byzpgd verify`` read the cache through :func:`byzpgd.theory.pep_cache.load_cache`
and never need PEPit.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict
from pathlib import Path

from ..jsonsafe import sanitize
from ..theory import gd_phase
from ..theory.pep_cache import (  # noqa: F401
    CACHE_FORMAT,
    METRICS,
    REGENERATE,
    RELAXATIONS,
    PepCache,
    PepCacheError,
    PepPoint,
    StepsPoint,
    cache_from_json,
    default_cache_path,
    load_cache,
)

SOLVER = "CLARABEL"


class PepUnavailable(ImportError):
    """PEPit (extra byzpgd[pep]) is not installed."""


# --- the PEP ---------------------------------------------------------------------------------
def _pepit():
    try:
        import PEPit  # noqa: F401
        from PEPit import PEP
        from PEPit.functions import SmoothFunction
        from PEPit.primitive_steps import inexact_gradient_step
    except ImportError as exc:   # pragma: no cover - depends on the environment
        raise PepUnavailable("PEPit is not installed: pip install 'byzpgd[pep]'") from exc
    return PEP, SmoothFunction, inexact_gradient_step


def _consecutive_class(SmoothFunction):
    class ConsecutiveSmoothFunction(SmoothFunction):
        """SmoothFunction whose interpolation conditions are imposed only between points created
        one after the other (the iterates x_k, x_{k+1}): a relaxation of the full class."""

        def add_class_constraints(self):
            pts = self.list_of_points
            for i in range(len(pts) - 1):
                for a, b in ((pts[i], pts[i + 1]), (pts[i + 1], pts[i])):
                    con = self.set_smoothness_i_j(*a, *b)
                    con.set_name(f"IC_consecutive_{i}")
                    self.list_of_class_constraints.append(con)
    return ConsecutiveSmoothFunction


def _validate(metric, N, Delta, L, D, relaxation):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if relaxation not in RELAXATIONS:
        raise ValueError(f"relaxation must be one of {RELAXATIONS}, got {relaxation!r}")
    gd_phase._check(N, Delta, L, D)
    if metric == "oracle" and N < 1:
        raise ValueError("metric 'oracle' needs N >= 1 (no oracle answer is constrained at N = 0)")


def solve_gd_phase(N: int, Delta: float, L: float = 1.0, D: float = 1.0, *, metric: str = "grad",
                   relaxation: str = "full", solver: str = SOLVER) -> PepPoint:
    """Solve the PEP of N inexact gradient steps (module docstring) and return its certified value
    (a norm). Needs PEPit (:class:`PepUnavailable` otherwise)."""
    _validate(metric, N, Delta, L, D, relaxation)
    PEP, SmoothFunction, inexact_gradient_step = _pepit()
    t0 = time.perf_counter()
    problem = PEP()
    cls = SmoothFunction if relaxation == "full" else _consecutive_class(SmoothFunction)
    f = problem.declare_function(cls, L=float(L))
    x = problem.set_initial_point()
    _, f0 = f.oracle(x)
    grads, values, directions = [], [], []
    for _ in range(int(N)):
        x_next, d, fx = inexact_gradient_step(x, f, gamma=1.0 / L, epsilon=float(Delta), notion="absolute")
        g, _ = f.oracle(x)
        grads.append(g)
        values.append(fx)
        directions.append(d)
        x = x_next
    g, fx = f.oracle(x)
    grads.append(g)
    values.append(fx)
    for gi, fi in zip(grads, values, strict=True):
        problem.set_initial_condition(f0 - fi + gi**2 / (2 * L) <= D)
    for m in (grads if metric == "grad" else directions):
        problem.set_performance_metric(m**2)
    value = problem.solve(wrapper="cvxpy", solver=solver, verbose=0)
    prob = getattr(getattr(problem, "wrapper", None), "prob", None)
    status = str(prob.status) if prob is not None else "unknown"
    return PepPoint(metric, int(N), float(Delta), float(L), float(D), relaxation,
                    math.sqrt(max(0.0, float(value))), status, round(time.perf_counter() - t0, 3))


def certified_steps(Delta: float, L: float = 1.0, D: float = 1.0, *, relaxation: str = "consecutive",
                    solver: str = SOLVER, log=None) -> tuple[StepsPoint, list[PepPoint]]:
    """The certified worst-case number of large-gradient steps (:class:`StepsPoint`), by
    bisection on N over the 'oracle' PEP (its value decreases in N); also the points solved.
    A PEP value above 3Δ at N = ⌈2LD/(3Δ²)⌉ + 1 is a finding (W > B) and raises."""
    bound = gd_phase.steps_bound(Delta, L, D)
    threshold = 3.0 * Delta
    solved: dict[int, PepPoint] = {}

    def value(n):
        if n == 0:
            return math.inf
        if n not in solved:
            solved[n] = solve_gd_phase(n, Delta, L, D, metric="oracle", relaxation=relaxation, solver=solver)
            if log:
                log(f"  oracle PEP N={n} Delta={Delta} L={L} D={D}: {solved[n].value:.9g} "
                    f"(3 Delta = {threshold:g}, {solved[n].seconds:.1f} s)")
        return solved[n].value

    # bracket from a guess (about 0.62 of the bound: the ratio observed for Delta in [0.1, 0.3]),
    # then walk: the PEP value does not increase with N (more steps, more constraints, a min over
    # more terms), so value(lo) > 3Δ >= value(lo + 1) pins the worst case down with few solves.
    lo = max(0, min(math.floor(0.62 * bound), math.ceil(bound)))
    step = 1
    if value(lo) > threshold:
        hi = lo + 1
        while value(hi) > threshold:
            lo, hi = hi, min(hi + step, math.ceil(bound) + 1)
            if lo == hi:
                raise RuntimeError(f"W > B: {hi} steps can all pass the test at Delta={Delta} "
                                   f"(bound {bound:.4g})")
            step *= 2
    else:
        hi = lo
        while lo > 0 and value(lo) <= threshold:
            hi, lo = lo, max(0, lo - step)
            step *= 2
    while hi - lo > 1:                            # value(lo) > threshold >= value(hi)
        mid = (lo + hi) // 2
        if value(mid) > threshold:
            lo = mid
        else:
            hi = mid
    point = StepsPoint(float(Delta), float(L), float(D), relaxation, lo, value(lo), value(lo + 1), bound)
    return point, [solved[n] for n in sorted(solved)]


# --- the cache -------------------------------------------------------------------------------
# Points solved by --write: the hierarchy points of the claims, a small grid and off-grid points,
# and the consecutive relaxation beside the full PEP at small N (its validation).
GRAD_POINTS_FULL = tuple(
    [(n, dl, 1.0, 1.0) for n in (1, 2, 3, 5, 8, 10) for dl in (0.0, 0.1, 0.3)]
    + [(4, 0.05, 2.0, 0.5), (6, 0.2, 0.5, 3.0), (20, 0.1, 1.0, 1.0), (10, 0.2, 1.0, 1.0),
       (20, 0.05, 2.0, 0.5), (5, 0.2, 4.0, 0.25),
       # scale-invariance pairs: same N and L D/Delta^2 as (5, 0.2, 4, 0.25) and (10, 0.2, 1, 1)
       (5, 0.2, 1.0, 1.0), (10, 0.1, 1.0, 0.25), (3, 0.05, 1.0, 0.25),
       # the regime 2 L D < Delta^2 (W = sqrt(2 L D)) and its boundary
       (1, 0.5, 0.25, 0.25), (3, 1.0, 1.0, 0.25), (4, 0.5, 0.5, 0.25)])
GRAD_POINTS_CONSECUTIVE = ((5, 0.1, 1.0, 1.0), (10, 0.3, 1.0, 1.0), (10, 0.2, 1.0, 1.0),
                           (20, 0.1, 1.0, 1.0), (40, 0.1, 1.0, 1.0))
ORACLE_POINTS_FULL = ((3, 0.1, 1.0, 1.0), (5, 0.1, 1.0, 1.0), (10, 0.2, 1.0, 1.0), (12, 0.2, 1.0, 1.0))
STEPS_POINTS = ((0.3, 1.0, 1.0), (0.25, 1.0, 1.0), (0.2, 1.0, 1.0), (0.15, 1.0, 1.0), (0.1, 1.0, 1.0),
                (0.2, 2.0, 0.5), (0.3, 0.5, 2.0))


def _versions() -> dict:
    out = {"python": platform.python_version(), "solver": SOLVER}
    for mod in ("PEPit", "cvxpy", "clarabel"):
        try:
            from importlib.metadata import version
            out[mod] = version(mod)
        except Exception:   # pragma: no cover
            out[mod] = None
    return out


def build_cache(log=print, previous: PepCache | None = None) -> PepCache:
    """Solve every point of the cache (module constants above); with ``previous``, only the grad
    and oracle points it does not hold yet (its step counts are kept when their point is listed)."""
    have = {p.key(): p for p in previous.points} if previous is not None else {}
    points = []
    for rel, grid in (("full", GRAD_POINTS_FULL), ("consecutive", GRAD_POINTS_CONSECUTIVE)):
        for n, dl, L, D in grid:
            key = ("grad", n, float(dl), float(L), float(D), rel)
            if key in have:
                points.append(have[key])
                continue
            p = solve_gd_phase(n, dl, L, D, metric="grad", relaxation=rel)
            log(f"grad {rel} N={n} Delta={dl} L={L} D={D}: {p.value:.9g} "
                f"(W = {gd_phase.w_value(n, dl, L, D):.9g}, {p.seconds:.1f} s)")
            points.append(p)
    for n, dl, L, D in ORACLE_POINTS_FULL:
        key = ("oracle", n, float(dl), float(L), float(D), "full")
        points.append(have.get(key) or solve_gd_phase(n, dl, L, D, metric="oracle", relaxation="full"))
        log(f"oracle full N={n} Delta={dl}: {points[-1].value:.9g}")
    steps = []
    kept = {(s_.Delta, s_.L, s_.D): s_ for s_ in previous.steps} if previous is not None else {}
    for dl, L, D in STEPS_POINTS:
        if (float(dl), float(L), float(D)) in kept:
            steps.append(kept[(float(dl), float(L), float(D))])
            points.extend(p for p in previous.points if p.metric == "oracle" and p.relaxation == "consecutive"
                          and (p.Delta, p.L, p.D) == (float(dl), float(L), float(D)))
            continue
        sp_, solved = certified_steps(dl, L, D, relaxation="consecutive", log=log)
        log(f"steps Delta={dl} L={L} D={D}: {sp_.steps} (bound {sp_.bound:.4g})")
        steps.append(sp_)
        points.extend(solved)
    if previous is not None and previous.meta.get("PEPit") != _versions().get("PEPit"):
        raise RuntimeError("the previous cache was solved with another PEPit version: regenerate it all")
    meta = {"format": CACHE_FORMAT, "command": REGENERATE, **_versions(),
            "generated": time.strftime("%Y-%m-%d"),
            "model": "SmoothFunction(L) (or its consecutive-only relaxation), N inexact_gradient_step "
                     "(gamma = 1/L, epsilon = Delta, absolute), f(x0) - f_i + |g_i|^2/(2L) <= D at "
                     "every iterate"}
    return PepCache(meta, tuple(points), tuple(steps))


def cache_to_json(cache: PepCache) -> dict:
    return sanitize({"meta": cache.meta, "points": [asdict(p) for p in cache.points],
                     "steps": [asdict(s) for s in cache.steps]})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m byzpgd.experiments.pep", description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="solve every point and write the cache")
    ap.add_argument("--missing", action="store_true",
                    help="with --write: keep the points the current cache holds, solve only the others")
    ap.add_argument("--out", default=None, help="cache file (default: theory/data/pep_cache.json)")
    args = ap.parse_args(argv)
    if not args.write:
        ap.print_help()
        return 0
    out = Path(args.out) if args.out else default_cache_path()
    cache = build_cache(previous=load_cache(out) if args.missing and out.exists() else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(cache_to_json(cache), indent=1, allow_nan=False) + "\n")
    tmp.replace(out)
    print(f"wrote {out} ({len(cache.points)} points, {len(cache.steps)} step counts)")
    return 0


if __name__ == "__main__":   # pragma: no cover
    raise SystemExit(main())
