"""The gradient phase's certified worst case (theory/gd_phase.py), its exact constructions
(oracles/adversaries/pep_worst.py), the adversarial search (experiments/pep_search.py), the claim
parameters.gd_phase_worst_case and the hierarchy O <= W <= B in the reports. No PEPit needed
(tests/test_pep.py solves PEPs live)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from byzpgd.algorithms import robust_gd
from byzpgd.experiments import pep_search
from byzpgd.oracles.adversaries import CONSTRUCTIONS, NAMES, make_adversary
from byzpgd.oracles.adversaries.pep_worst import Parabola, PiecewiseSlope1D, tent_chain
from byzpgd.oracles.inexact import CertifiedOracle
from byzpgd.properties import hierarchy as hier
from byzpgd.properties.result import ClaimResult, HierarchyItem
from byzpgd.properties.suites.parameters import check_gd_phase
from byzpgd.reports.html import render_html
from byzpgd.reports.json_report import build_report
from byzpgd.reports.markdown import render_markdown
from byzpgd.theory import gd_phase, pep_cache
from byzpgd.theory.claims import get

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "parameters.gd_phase_worst_case",
)

CACHE = pep_cache.load_cache()
GRADS = [(p.N, p.Delta, p.L, p.D, p.value) for p in CACHE.points
         if p.metric == "grad" and p.relaxation == "full"]


# --- the closed form ----------------------------------------------------------------------------
def test_derivation_proves_every_subcheck_against_the_cached_pep_values():
    der = gd_phase.derivation(GRADS, rtol=hier.PEP_RTOL)
    assert der.proved, [(s.name, s.status, s.evidence) for s in der.failed()]
    assert any(s.name == "closed form = PEP" for s in der.subchecks)


@pytest.mark.parametrize("wrong", [gd_phase.W_EXPR * sp.Rational(1001, 1000),
                                   gd_phase.W_EXPR.subs(3 * gd_phase.N + 2, 3 * gd_phase.N + 1)])
def test_a_subtly_wrong_closed_form_is_disproved(wrong):
    der = gd_phase.derivation(GRADS, rtol=hier.PEP_RTOL, w_expr=wrong)
    assert der.disproved
    assert "closed form = PEP" in [s.name for s in der.subchecks if s.status == "disproved"]


def test_consecutive_certificate_is_proved_and_a_wrong_decrease_is_not():
    subs = gd_phase.consecutive_certificate()
    assert len(subs) == 5 and all(s.proved for s in subs), [(s.name, s.status) for s in subs]
    # the per-step decrease of the certificate is tight: with 3G + 2 Delta in place of 3G + Delta the
    # decomposition identity fails
    A, B, E, G, D_ = sp.symbols("A B E G Delta", positive=True)
    wrong = 2 * A**2 + B**2 - E**2 - 2 * B * E - (3 * G + 2 * D_) * (G - D_)
    terms = 2 * (A**2 - G**2) + (B - G) * (B + G - 2 * D_) + (D_ - E) * (D_ + E + 2 * B)
    assert sp.expand(wrong - terms) != 0


def test_closed_form_special_cases_and_steps_for_accuracy():
    assert gd_phase.w_value(0, 0.3, 2.0, 1.5) == pytest.approx(math.sqrt(2 * 2.0 * 1.5))
    assert gd_phase.w_value(7, 0.0, 1.0, 1.0) ** 2 == pytest.approx(4 / 23)
    assert gd_phase.w_value(10**9, 0.2, 1.0, 1.0) == pytest.approx(0.2, rel=1e-4)
    n = gd_phase.steps_for_accuracy(4, 0.1, 1.0, 1.0)
    assert n == 10                                     # the study's value (c = 4, Delta = .1)
    assert gd_phase.w_value(n, 0.1, 1, 1) <= 0.4 < gd_phase.w_value(n - 1, 0.1, 1, 1)
    for args in [(-1, 0.1, 1, 1), (2, -0.1, 1, 1), (2, 0.1, 0, 1), (2.5, 0.1, 1, 1), (2, math.nan, 1, 1)]:
        with pytest.raises(ValueError):
            gd_phase.w_value(*args)


@settings(deadline=None, max_examples=60)
@given(n=st.integers(0, 200), delta=st.floats(1e-3, 10), L=st.floats(1e-2, 1e2), D=st.floats(1e-2, 1e2),
       s=st.floats(1e-2, 1e2))
def test_scale_invariance_of_the_closed_form(n, delta, L, D, s):
    """Metamorphic: W depends only on N and L D/Delta^2 (W/Delta is fixed by them)."""
    w = gd_phase.w_value(n, delta, L, D)
    assert gd_phase.w_value(n, s * delta, L, s * s * D) == pytest.approx(s * w, rel=1e-12)
    assert gd_phase.w_value(n, delta, s * L, D / s) == pytest.approx(w, rel=1e-12)
    kappa = L * D / delta**2
    assert gd_phase.w_value(n, 1.0, 1.0, kappa) * delta == pytest.approx(w, rel=1e-12)
    if n >= 1:
        assert w <= gd_phase.descent_bound(n, delta, L, D) * (1 + 1e-12)


# --- the exact constructions --------------------------------------------------------------------
def _run_chain(n, delta, L, D):
    land, xs = tent_chain(n, delta, L, D)
    oracle = CertifiedOracle(make_adversary({"name": "pep_under_report"}, land, delta))
    res = robust_gd(oracle, np.array([0.0]), eta=1.0 / L, epsilon=1e-300, max_oracle_calls=n + 1, trace=True)
    return land, xs, res


@settings(deadline=None, max_examples=25)
@given(n=st.integers(1, 12), delta=st.floats(0.01, 0.5), L=st.floats(0.25, 4), D=st.floats(0.25, 4))
@example(n=5, delta=0.1, L=1.0, D=1.0)          # the study's point: W = 0.51839...
@example(n=1, delta=0.5, L=0.5, D=0.26)           # near 2LD = Delta^2, the boundary of the regime (W = Delta)
def test_tent_chain_attains_w_on_a_real_run(n, delta, L, D):
    if 2 * L * D <= delta**2 * (1 + 1e-9):   # W = sqrt(2LD): the oracle answers 0 (test_small_budget_regime)
        return
    land, xs, res = _run_chain(n, delta, L, D)
    w = gd_phase.w_value(n, delta, L, D)
    assert land.value(np.array([0.0])) - land.f_star == pytest.approx(D, rel=1e-9)
    assert land.L <= L * (1 + 1e-9)                               # f is L-smooth
    pts = res.trace["points"][:, 0]
    assert np.allclose(pts, xs, rtol=1e-9, atol=1e-12)
    assert float(np.min(np.abs(land.grad(pts)))) == pytest.approx(w, rel=1e-9)


def test_small_budget_regime():
    """2LD < Delta^2: W = sqrt(2LD), attained without moving (the oracle may answer 0). Found by
    Hypothesis against the closed form at n=1, delta=0.5, L=D=0.25 (the closed form gave 0.43)."""
    assert gd_phase.w_value(1, 0.5, 0.25, 0.25) == pytest.approx(math.sqrt(0.125))
    assert CACHE.grad_value(1, 0.5, 0.25, 0.25) == pytest.approx(math.sqrt(0.125), rel=hier.PEP_RTOL)
    w_formula = (0.5 + math.sqrt(0.25 + 5 * (0.25 + 0.25))) / 5
    assert w_formula > CACHE.grad_value(1, 0.5, 0.25, 0.25) * 1.2      # the closed form alone is wrong here


@pytest.mark.parametrize("delta,L,dim", [(0.1, 1.0, 1), (0.01, 2.0, 3), (0.3, 0.5, 5)])
def test_ratio_one_example(delta, L, dim):
    land = Parabola(dim, L)
    u = np.ones(dim) / math.sqrt(dim)
    oracle = CertifiedOracle(make_adversary({"name": "pep_ratio_one"}, land, delta))
    res = robust_gd(oracle, 4 * delta / L * u)
    assert res.status == "converged" and res.grad_oracle_calls == 1
    assert np.linalg.norm(land.grad(res.w)) / (4 * delta) == pytest.approx(1.0, abs=1e-12)


def test_constructions_are_not_in_the_default_adversary_set():
    assert not set(CONSTRUCTIONS) & set(NAMES)
    assert set(CONSTRUCTIONS) == {"pep_under_report", "pep_scripted", "pep_scripted_vectors", "pep_ratio_one"}
    with pytest.raises(ValueError, match="unknown adversary"):
        make_adversary({"name": "pep_nonsense"}, Parabola(), 0.1)


def test_piecewise_slope_rejects_bad_input_and_reports_unbounded_functions():
    with pytest.raises(ValueError):
        PiecewiseSlope1D([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        PiecewiseSlope1D([0.0, 1.0], [0.0, 1.0], L=0.5)             # L below the steepest slope
    assert PiecewiseSlope1D([0.0, 1.0], [1.0, 2.0]).f_star == -math.inf


# --- the search ---------------------------------------------------------------------------------
def test_search_reaches_095_of_w_on_the_gradient_phase():
    res = pep_search.search_min_grad(3, 0.1, 1.0, 1.0, restarts=2, seed=0)
    w = CACHE.grad_value(3, 0.1, 1.0, 1.0)
    assert 0.95 * w <= res.observed <= w * (1 + hier.PEP_RTOL)
    out = pep_search.search_output_grad(0.1, 1.0, restarts=4, seed=0)
    assert 0.95 * 0.4 <= out.observed <= 0.4 * (1 + 1e-9)


def test_search_is_deterministic_in_its_seed():
    a = pep_search.search_output_grad(0.2, 1.0, restarts=2, seed=3)
    b = pep_search.search_output_grad(0.2, 1.0, restarts=2, seed=3)
    assert a == b


# --- the claim and the hierarchy ----------------------------------------------------------------
def _stub(value_factor):
    def search(*args, restarts, seed):
        return pep_search.SearchResult("stub", {}, value_factor * 4 * args[0], description="stub")
    return search


def test_claim_holds_and_carries_the_hierarchy():
    r = check_gd_phase("quick", 0, quantities=("output_grad",), search=_stub(0.99))
    assert r.status == "holds", r.details["failed"]
    assert len(r.hierarchy) == 3 and all(h.finding is None for h in r.hierarchy)
    assert r.hierarchy[0].o_over_w == pytest.approx(0.99)
    assert get("parameters.gd_phase_worst_case").kind == "symbolic"


def test_o_above_w_is_a_finding():
    r = check_gd_phase("quick", 0, quantities=("output_grad",), search=_stub(1.01))
    assert r.status == "violated"
    assert all(h.finding and h.finding.startswith("O > W") for h in r.hierarchy)


def test_w_above_b_is_a_finding():
    steps = tuple(dataclasses.replace(s, steps=math.ceil(s.bound) + 1) for s in CACHE.steps)
    cache = dataclasses.replace(CACHE, steps=steps)
    r = check_gd_phase("quick", 0, cache=cache, quantities=("steps",),
                       search=lambda *a, restarts, seed: pep_search.SearchResult("stub", {}, 1.0))
    assert r.status == "violated"
    assert any((h.finding or "").startswith("W > B") for h in r.hierarchy)
    assert "steps W <= B" in r.details["failed"]


def test_a_wrong_cached_value_is_caught():
    points = tuple(dataclasses.replace(p, value=p.value * 1.01) if (p.metric, p.N) == ("grad", 5) else p
                   for p in CACHE.points)
    r = check_gd_phase("quick", 0, cache=dataclasses.replace(CACHE, points=points), quantities=())
    assert r.status == "violated" and "closed form = PEP" in r.details["failed"]


def test_broken_scale_invariance_in_the_cache_is_caught():
    steps = tuple(dataclasses.replace(s, steps=s.steps + 1) if (s.L, s.D) == (2.0, 0.5) else s
                  for s in CACHE.steps)
    subs = {s.name: s for s in hier.cache_subchecks(dataclasses.replace(CACHE, steps=steps))}
    assert subs["scale invariance (PEP)"].status == "disproved"
    assert all(s.status == "proved" for s in hier.cache_subchecks(CACHE))


def test_attach_turns_a_breach_into_a_violation():
    base = ClaimResult("byzantine_pgd.grad_norm", "s", "src", "POSTER", "deterministic", "f", "holds",
                       instances=50, nonvacuous_instances=50)
    good = hier.attach(base, [HierarchyItem({"Delta": 0.1}, 0.4, 0.4, 0.39)])
    assert good.status == "holds" and len(good.hierarchy) == 1 and good.violations == 0
    bad = hier.attach(base, [HierarchyItem({"Delta": 0.1}, 0.4, 0.4, 0.41)])
    assert bad.status == "violated" and bad.violations == 1
    assert bad.details["hierarchy_findings"][0]["finding"].startswith("O > W")
    assert hier.for_claim("exact_pgd.grad_norm") == ()


def test_hierarchy_item_findings_and_json_round_trip():
    ok = HierarchyItem({"N": 1}, 2.0, 1.0, 0.5)
    assert ok.finding is None and ok.w_over_b == 0.5 and ok.o_over_w == 0.5
    assert HierarchyItem({}, 1.0, 1.0 + 1e-3, None).finding.startswith("W > B")
    assert HierarchyItem({}, 1.0, 0.5, 0.6).finding.startswith("O > W")
    assert HierarchyItem({}, 1.0, math.nan, None).finding is not None       # NaN is a breach
    c = ClaimResult("x.y", "s", "src", "OWN", "symbolic", "f", "holds", hierarchy=(ok,))
    doc = c.to_json()
    assert set(doc["hierarchy"][0]) >= {"point", "bound", "certified_worst_case", "observed_worst"}
    assert ClaimResult.from_json(doc) == c
    assert "hierarchy" not in dataclasses.replace(c, hierarchy=()).to_json()


def test_reports_render_the_hierarchy():
    item = HierarchyItem({"N": 5, "Delta": 0.1}, 0.64, 0.518, 0.5179, "min grad", "PEP", "Nelder-Mead")
    bad = HierarchyItem({"Delta": 0.2}, 1.0, 1.2, None, "steps", "PEP", "none")
    c = ClaimResult("x.y", "s", "src", "OWN", "symbolic", "f", "holds", hierarchy=(item, bad))
    report = build_report("quick", 0, [c], "byzpgd verify")
    md = render_markdown(report)
    assert "## Tightness hierarchy (O <= W <= B)" in md and "N=5, Delta=0.1" in md
    assert "W > B" in md and "0.9998" in md                    # O/W of the first item, 4 digits
    html = render_html(report, escape_illustration=False)
    assert "Tightness hierarchy" in html and "min grad" in html
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["claims"][0]["hierarchy"][1]["finding"].startswith("W > B")


def test_malformed_cache_gives_a_clear_error(tmp_path):
    for text in ("not json", json.dumps({"meta": {"format": 99}}),
                 json.dumps({"meta": {"format": 1}, "points": [{"metric": "grad"}], "steps": []}),
                 json.dumps({"meta": {"format": 1}, "points": [{**dataclasses.asdict(CACHE.points[0]),
                                                                 "value": -1.0}], "steps": []})):
        path = tmp_path / "c.json"
        path.write_text(text)
        with pytest.raises(pep_cache.PepCacheError):
            pep_cache.load_cache(path)
    with pytest.raises(pep_cache.PepCacheError):
        pep_cache.load_cache(tmp_path / "missing.json")
    with pytest.raises(KeyError, match="regenerate"):
        CACHE.grad_value(99, 0.1, 1.0, 1.0)


def test_cache_records_solver_and_versions_and_covers_the_hierarchy_points():
    meta = CACHE.meta
    assert meta["solver"] == "CLARABEL" and meta["PEPit"] and meta["cvxpy"] and "command" in meta
    for n, dl, L, D in hier.POINTS["min_grad"]:
        CACHE.grad_value(n, dl, L, D)
    for dl, L, D in hier.POINTS["steps"]:
        assert CACHE.steps_point(dl, L, D).steps <= gd_phase.steps_bound(dl, L, D)
    assert len(hier.POINTS["min_grad"]) >= 3 and len(hier.POINTS["steps"]) >= 3
    assert len(hier.POINTS["output_grad"]) >= 3
