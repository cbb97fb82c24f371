"""The tightness hierarchy O <= W <= B of the gradient phase (docs/paper.md §3, §8.1; W from the PEP
cache of :mod:`byzpgd.theory.pep_cache` (solved by :mod:`byzpgd.experiments.pep`), O from
:mod:`byzpgd.experiments.pep_search`, B from :mod:`byzpgd.theory.gd_phase`), and the sub-checks
that read the PEP cache.

Three quantities, each at several parameter points (:data:`POINTS`):

- ``min_grad`` (claim ``parameters.gd_phase_worst_case``): min_{0<=i<=N} ‖∇f(x_i)‖ after N steps;
  B = √(2LD/N + Δ²) (descent lemma), W = the full PEP's value (cached; equal to the closed form),
  O = :func:`~byzpgd.experiments.pep_search.search_min_grad`;
- ``output_grad`` (claim ``byzantine_pgd.grad_norm``): ‖∇F(w̃)‖ at the first candidate; B = 4Δ,
  W = 4Δ (the ratio-1 example, exact), O = :func:`~byzpgd.experiments.pep_search.search_output_grad`;
- ``steps`` (claim ``byzantine_pgd.iterations``, whose bound is Q times this one): large-gradient
  steps before the test ‖ĝ‖ <= 3Δ fires; B = 2LD/(3Δ²), W = the PEP's certified count (cached,
  consecutive-only relaxation: an upper bound), O = :func:`~byzpgd.experiments.pep_search.search_steps`
  (real runs on N-dimensional rotating chains, certified L-smooth interpolants: O <= W is a theorem).

PEPit is never needed here: W comes from the cache shipped as package data.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from ..experiments import pep_search
from ..properties.result import ClaimResult, HierarchyItem
from ..theory import gd_phase, pep_cache
from ..theory.prover import SubCheck, guard

PEP_RTOL = 5e-4        # solver accuracy of the cached PEP values (CLARABEL; worst seen 2.4e-4)
SEARCH_RTOL = 1e-6     # O <= W (1 + rtol): rounding of the real runs and the cached W
RESTARTS = {"quick": 2, "ci": 3, "deep": 6}   # min_grad and steps; x4 for output_grad (cheap runs)

POINTS = {
    "min_grad": ((3, 0.1, 1.0, 1.0), (5, 0.1, 1.0, 1.0), (10, 0.2, 1.0, 1.0), (5, 0.2, 4.0, 0.25)),
    "output_grad": ((0.1, 1.0), (0.01, 2.0), (0.3, 0.5)),
    "steps": ((0.3, 1.0, 1.0), (0.2, 1.0, 1.0), (0.1, 1.0, 1.0), (0.2, 2.0, 0.5)),
}
QUANTITY_CLAIMS = {"min_grad": "parameters.gd_phase_worst_case", "output_grad": "byzantine_pgd.grad_norm",
                   "steps": "byzantine_pgd.iterations"}
CLAIM_QUANTITIES = {v: k for k, v in QUANTITY_CLAIMS.items()}


def items(quantity: str, profile: str = "ci", seed: int = 0, cache: pep_cache.PepCache | None = None,
          search=None) -> list[HierarchyItem]:
    """The hierarchy items of one quantity (module docstring). ``search`` replaces the search
    function (the able-to-fail tests pass a broken one)."""
    cache = pep_cache.load_cache() if cache is None else cache
    restarts = RESTARTS.get(profile, 3)
    out = []
    for i, pt in enumerate(POINTS[quantity]):
        s = seed * 1000 + i
        if quantity == "min_grad":
            n, dl, L, D = pt
            res = (search or pep_search.search_min_grad)(n, dl, L, D, restarts=restarts, seed=s)
            out.append(HierarchyItem(
                {"N": n, "Delta": dl, "L": L, "D": D}, gd_phase.descent_bound(n, dl, L, D),
                cache.grad_value(n, dl, L, D), res.observed, "min_i ||grad f(x_i)|| over N steps",
                f"PEP (full, {cache.meta.get('solver')}; = closed form W)", res.description, PEP_RTOL))
        elif quantity == "output_grad":
            dl, L = pt
            res = (search or pep_search.search_output_grad)(dl, L, restarts=4 * restarts, seed=s)
            out.append(HierarchyItem(
                {"Delta": dl, "L": L}, 4 * dl, 4 * dl, res.observed, "||grad F(w~)|| at termination",
                "exact: ratio-1 example (||grad F|| = 4 Delta, g^ = (3/4) grad F)", res.description,
                SEARCH_RTOL))
        elif quantity == "steps":
            dl, L, D = pt
            sp_ = cache.steps_point(dl, L, D)
            res = (search or pep_search.search_steps)(dl, L, D, restarts=restarts, seed=s)
            out.append(HierarchyItem(
                {"Delta": dl, "L": L, "D": D}, gd_phase.steps_bound(dl, L, D), float(sp_.steps), res.observed,
                "large-gradient steps before ||g^|| <= 3 Delta (iteration bound / Q)",
                f"PEP ({sp_.relaxation}, {cache.meta.get('solver')})", res.description, 0.0))
        else:
            raise ValueError(f"unknown quantity {quantity!r}; known: {list(POINTS)}")
    return out


def for_claim(claim_id: str, profile: str = "ci", seed: int = 0) -> tuple[HierarchyItem, ...]:
    """The hierarchy a claim carries (empty for a claim without a certified worst case)."""
    q = CLAIM_QUANTITIES.get(claim_id)
    return () if q is None else tuple(items(q, profile, seed))


def attach(result: ClaimResult, hierarchy) -> ClaimResult:
    """``result`` carrying ``hierarchy``; a breach of O <= W <= B is a finding: the result becomes
    'violated' (unless it is already an error) and ``details['hierarchy_findings']`` lists the
    breaches. How a theorem check carries the hierarchy of its claim (:func:`for_claim`)."""
    hierarchy = tuple(hierarchy)
    findings = [{"point": h.point, "quantity": h.quantity, "finding": h.finding}
                for h in hierarchy if h.finding]
    if not findings:
        return replace(result, hierarchy=hierarchy)
    status = result.status if result.status == "error" else "violated"
    return replace(result, hierarchy=hierarchy, status=status, violations=result.violations + len(findings),
                   details={**result.details, "hierarchy_findings": findings})


def hierarchy_subchecks(hierarchy) -> list[SubCheck]:
    """One sub-check per item: 'proved' when O <= W <= B holds, 'disproved' (a finding) otherwise."""
    out = []
    for h in hierarchy:
        name = f"hierarchy {h.quantity} at {h.point}"
        st = "O <= W <= B"
        ev = f"B = {h.bound:.6g}, W = {h.certified_worst_case:.6g}, O = {h.observed_worst}"
        out.append(SubCheck(name, st, "disproved" if h.finding else "proved", "evaluation",
                            ev + (f": {h.finding}" if h.finding else ""),
                            {"point": h.point, "finding": h.finding} if h.finding else None))
    return out


def cache_subchecks(cache: pep_cache.PepCache, rtol: float = PEP_RTOL) -> list[SubCheck]:
    """Sub-checks on the cached PEP values: the consecutive-only relaxation equals the full PEP
    where both were solved; scale invariance (value/Δ, and the step counts, depend only on N and
    LD/Δ²); every certified step count <= 2LD/(3Δ²)."""
    return [guard("consecutive = full", "consecutive-only relaxation = full PEP where both are cached",
                  lambda: _consecutive(cache, rtol)),
            guard("scale invariance (PEP)", "PEP value/Delta depends only on N and L D/Delta^2",
                  lambda: _scale(cache, rtol)),
            guard("steps W <= B", "certified step counts <= 2 L D/(3 Delta^2)", lambda: _steps(cache))]


def _consecutive(cache, rtol):
    name, st = "consecutive = full", "consecutive-only relaxation = full PEP where both are cached"
    full = {p.key()[:5]: p.value for p in cache.points if p.relaxation == "full"}
    pairs = [(p, full[p.key()[:5]]) for p in cache.points
             if p.relaxation == "consecutive" and p.key()[:5] in full]
    if not pairs:
        return SubCheck(name, st, "undecided", evidence="no point is cached with both relaxations")
    worst = max(abs(p.value - v) / max(v, 1e-300) for p, v in pairs)
    ev = f"{len(pairs)} pairs, largest relative difference {worst:.3g}"
    return SubCheck(name, st, "proved" if worst <= rtol else "disproved", "cached values", ev)


def _scale(cache, rtol):
    name, st = "scale invariance (PEP)", "PEP value/Delta depends only on N and L D/Delta^2"
    groups: dict = {}
    for p in cache.points:
        if p.Delta > 0:
            key = (p.metric, p.N, p.relaxation, round(p.L * p.D / p.Delta**2, 9))
            groups.setdefault(key, []).append(p.value / p.Delta)
    for s in cache.steps:
        groups.setdefault(("steps", round(s.L * s.D / s.Delta**2, 9)), []).append(float(s.steps))
    pairs = [(k, a, b) for k, vals in groups.items() for a, b in itertools.combinations(vals, 2)]
    if not pairs:
        return SubCheck(name, st, "undecided", evidence="no two cached points share N and L D/Delta^2")
    worst = max(abs(a - b) / max(abs(a), abs(b), 1e-300) for _, a, b in pairs)
    ev = f"{len(pairs)} pairs of cached points, largest relative difference {worst:.3g}"
    return SubCheck(name, st, "proved" if worst <= rtol else "disproved", "cached values", ev)


def _steps(cache):
    name, st = "steps W <= B", "certified step counts <= 2 L D/(3 Delta^2)"
    if not cache.steps:
        return SubCheck(name, st, "undecided", evidence="no step count cached")
    bad = [s for s in cache.steps if s.steps > gd_phase.steps_bound(s.Delta, s.L, s.D)
           or not (s.value_at_steps > 3 * s.Delta >= s.value_above)]
    ev = ", ".join(f"Delta={s.Delta}: {s.steps} <= {s.bound:.4g}" for s in cache.steps)
    return SubCheck(name, st, "disproved" if bad else "proved", "cached values", ev,
                    {"bad": [s.Delta for s in bad]} if bad else None)


def ratio_summary(hierarchy) -> dict:
    """Smallest O/W and largest W/B over the items (for ``details``)."""
    ow = [h.o_over_w for h in hierarchy if h.o_over_w is not None]
    wb = [h.w_over_b for h in hierarchy if h.w_over_b is not None]
    return {"min_o_over_w": min(ow) if ow else None, "max_w_over_b": max(wb) if wb else None,
            "findings": sum(1 for h in hierarchy if h.finding)}


__all__ = ["POINTS", "items", "for_claim", "attach", "hierarchy_subchecks", "cache_subchecks",
           "ratio_summary", "PEP_RTOL", "SEARCH_RTOL"]
