"""SymPy checks of the parameter formulas (claims parameters.*, docs/paper.md §4–§6, §8, §9): every
check holds with the project's formulas, and each reports a wrong variant (a wrong exponent or
constant, an oracle with error 1.01Δ, a wrong regime boundary)."""

import json
import subprocess
import sys

import pytest
import sympy as sp

from byzpgd.properties import registry
from byzpgd.theory import parameter_checks as pc
from byzpgd.theory.claims import LAMBDA_SHAPE_BPGD, get
from byzpgd.theory.parameters import BYZANTINE_PGD
from byzpgd.theory.symbols import L_F, Delta, Q, d, eps, gap, rho_F

IDS = list(pc.ALL_CHECKS)


@pytest.mark.parametrize("claim_id", IDS)
def test_every_parameter_check_holds(claim_id):
    res = pc.ALL_CHECKS[claim_id]()
    assert res.status == "holds", [(s.name, s.status, s.evidence) for s in res.failed()]
    entry = res.to_entry()
    assert entry["instances"] == len(res.subchecks) == entry["nonvacuous_instances"]


def test_claims_are_registered_and_listed():
    registry.load_all()
    for cid in IDS:
        c = get(cid)
        assert c.kind == "symbolic" and c.statement and c.source and cid in registry.CHECKS
    out = subprocess.run([sys.executable, "-m", "byzpgd", "claims", "--json"], capture_output=True,
                         text=True, check=True)
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    for cid in IDS + ["lower_bound.first_order", "lower_bound.second_order", "lower_bound.statistical"]:
        assert rows[cid]["formula"] and rows[cid]["provenance"] and rows[cid]["statement"]


def test_registry_check_returns_the_verdict_fields():
    entry = registry.run_check("parameters.inexact_descent", "quick", 0)
    assert entry["status"] == "holds" and entry["instances"] == 3 and entry["subchecks"]


# --- the proof helpers ---------------------------------------------------------------------------
def test_prove_nonneg_proves_disproves_and_never_guesses():
    t = pc.t
    assert pc.prove_nonneg(t * (t + 1), "a", "").status == "proved"
    bad = pc.prove_nonneg(t - 1, "b", "")
    assert bad.status == "disproved" and bad.counterexample["t"] < 1
    undecidable = pc.prove_nonneg(sp.Function("f")(t), "c", "")
    assert undecidable.status in ("undecided", "error")
    res = pc.CheckResult("x", "", [undecidable])
    assert res.status in ("inconclusive", "error") and not res.passed


def test_prove_identity_is_relative_not_absolute():
    assert pc.prove_identity(Delta**2, Delta * Delta, "a", "").status == "proved"
    assert pc.prove_identity(Delta**2, 1.0000001 * Delta**2, "b", "").status == "disproved"


# --- able to fail: one wrong variant (at least) per claim ----------------------------------------
def test_inexact_descent_catches_wrong_threshold_oracle_and_constant():
    assert pc.check_inexact_descent(epsilon=2 * Delta).status == "violated"
    assert pc.check_inexact_descent(oracle_error=sp.Rational(101, 100) * Delta).status == "violated"
    wrong_bound = 3 * gap * L_F * Q / (3 * Delta**2)
    res = pc.check_inexact_descent(iteration_bound=wrong_bound)
    assert [s.name for s in res.failed()] == ["steps_bound"]


def test_exponents_catch_a_wrong_exponent():
    assert pc.check_exponents(lambda_delta_exponent=sp.S.Half).status == "violated"
    assert pc.check_exponents(lambda_d_exponent=sp.Rational(1, 4)).status == "violated"
    res = pc.check_exponents(iteration_bound=2 * gap * L_F * Q / (3 * Delta**3))
    assert {s.name for s in res.failed()} == {"iterations_Delta_exponent", "iterations_leading_term"}


def test_consistency_catches_wrong_constants():
    p = dict(BYZANTINE_PGD, r=3 * BYZANTINE_PGD["r"])
    assert "2.r_formula" in {s.name for s in pc.check_consistency(p).failed()}
    p = dict(BYZANTINE_PGD, T_th=100 * BYZANTINE_PGD["T_th"])          # Hessian drifts
    names = {s.name for s in pc.check_consistency(p).failed()}
    assert {"3.LR2_over_T", "4.hessian_stability"} <= names
    res = pc.check_consistency(lambda_constant=1)                      # gamma_0 < 4 gamma'
    assert "2.threshold_above_4gamma'" in {s.name for s in res.failed()} and res.status == "violated"
    res = pc.check_consistency(q_constant=100)                          # Q's decrease too large
    assert "3.eighth_vs_Q_decrease" in {s.name for s in res.failed()}


def test_exponent_balance_catches_a_wrong_fake_basin():
    res = pc.check_exponent_balance(fake_basin=d * Delta / pc.gamma)
    assert res.status == "violated"
    assert "6.balance_d" in {s.name for s in res.failed()}


def test_regimes_catch_a_wrong_boundary():
    res = pc.check_regimes(expected_half=sp.Integer(2) ** -14 / sp.sqrt(d))
    assert [s.name for s in res.failed()] == ["r_le_R_over_2"]
    p = dict(BYZANTINE_PGD, r=2 * BYZANTINE_PGD["r"])
    assert pc.check_regimes(p).status == "violated"


def test_regime_table_numbers_satisfy_their_definitions():
    lam = sp.lambdify((Delta, L_F, rho_F, d), 1900 * LAMBDA_SHAPE_BPGD)
    for row in pc.regime_table(dims=(1, 100), LR=((1, 1), (10, 1))):
        ds = row["Delta_star_nonvacuous"]
        assert abs(lam(ds, row["L_F"], row["rho_F"], row["d"]) / row["L_F"] - 1) < 1e-9
        assert lam(ds / 2, row["L_F"], row["rho_F"], row["d"]) < row["L_F"]
        assert row["Delta_max_r_le_R"] == pytest.approx(32 * row["Delta_max_r_le_R_over_2"])


def test_exact_vs_jin_catches_a_wrong_order():
    res = pc.check_exact_vs_jin(iterations=2 * L_F * gap / eps**3)
    assert {s.name for s in res.failed()} >= {"iterations_order_theorem2"}
    res = pc.check_exact_vs_jin(accuracy=8 * (rho_F * eps) ** sp.Rational(1, 3))
    assert "accuracy_order_theorem2" in {s.name for s in res.failed()}


def test_upper_vs_lower_catches_an_upper_bound_below_the_lower_bound():
    assert [s.name for s in pc.check_upper_vs_lower(grad_bound=Delta / 4).failed()] == ["grad_norm"]
    lam = 1900 * (sp.sqrt(rho_F) + L_F) * Delta * d ** sp.Rational(1, 5) * sp.log(10 / Delta)
    res = pc.check_upper_vs_lower(lambda_bound=lam)     # Δ^1 < Δ^(1/2) for small Δ
    bad = res.failed()
    assert [s.name for s in bad] == ["lambda_min"] and bad[0].status == "disproved"
