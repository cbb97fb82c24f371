"""SymPy checks of the parameter formulas (claims parameters.*, docs/paper.md §4–§6, §8, §9): every
check holds with the project's formulas, and each reports a wrong variant (a wrong exponent or
constant, an oracle with error 1.01Δ, a wrong regime boundary)."""

import json
import subprocess
import sys

import pytest
import sympy as sp

from byzpgd.properties import registry
from byzpgd.properties.suites import parameters as suite
from byzpgd.theory import bound_comparisons as bc
from byzpgd.theory import parameter_derivations as pd
from byzpgd.theory import prover
from byzpgd.theory.claims import LAMBDA_SHAPE_BPGD, get
from byzpgd.theory.claims.theorems import LAMBDA_CONSTANT_BPGD
from byzpgd.theory.parameters import BYZANTINE_PGD
from byzpgd.theory.symbols import L_F, Delta, Q, d, eps, gap, rho_F

# this file holds these claims' own tests (byzpgd claims --where)
TESTED_CLAIMS = (
    "parameters.inexact_descent",
    "parameters.exponents",
    "parameters.consistency",
    "parameters.regimes",
    "parameters.exact_vs_jin",
    "parameters.upper_vs_lower",
)

IDS = list(suite.DERIVATIONS)


@pytest.mark.parametrize("claim_id", IDS)
def test_every_parameter_check_holds(claim_id):
    derivation = suite.DERIVATIONS[claim_id]()
    assert derivation.proved, [(s.name, s.status, s.evidence) for s in derivation.failed()]
    res = suite.check(claim_id, derivation)
    assert res.status == "holds" and res.violations == res.errors == 0
    assert res.instances == len(derivation.subchecks) == res.nonvacuous_instances
    assert len(res.details["subchecks"]) == res.instances and res.details["failed"] == []
    json.dumps(res.to_json(), allow_nan=False)


def test_a_disproved_subcheck_violates_and_an_undecided_one_is_inconclusive():
    derivation = pd.check_inexact_descent(epsilon=2 * Delta)
    res = suite.check("parameters.inexact_descent", derivation)
    assert res.status == "violated" and res.violations == 1 and res.instances == 2
    assert res.details["failed"] == ["decrease_per_step"]
    undecided = prover.Derivation("x", "", [prover.SubCheck("a", "", "proved"),
                                            prover.SubCheck("b", "", "undecided")])
    assert suite.check("parameters.inexact_descent", undecided).status == "inconclusive"
    crashed = prover.Derivation("x", "", [prover.SubCheck("a", "", "error", evidence="boom")])
    res = suite.check("parameters.inexact_descent", crashed)
    assert res.status == "error" and res.error_examples[0]["error"] == "boom"


def test_the_lambda_constant_has_one_source():
    assert get("byzantine_pgd.lambda_min").constant == LAMBDA_CONSTANT_BPGD
    assert get("parameters.exponents").constant == LAMBDA_CONSTANT_BPGD
    assert f"{LAMBDA_CONSTANT_BPGD} (sqrt(rho_F)+L_F)" in get("parameters.upper_vs_lower").statement


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


def test_registry_check_returns_the_claim_result():
    res = registry.run_check("parameters.inexact_descent", "quick", 0)
    assert res.status == "holds" and res.instances == 3 and res.details["subchecks"]
    assert res.claim_constant == get("parameters.inexact_descent").constant


# --- the proof helpers ---------------------------------------------------------------------------
def test_prove_nonneg_proves_disproves_and_never_guesses():
    t = prover.t
    assert prover.prove_nonneg(t * (t + 1), "a", "").status == "proved"
    bad = prover.prove_nonneg(t - 1, "b", "")
    assert bad.status == "disproved" and bad.counterexample["t"] < 1
    undecidable = prover.prove_nonneg(sp.Function("f")(t), "c", "")
    assert undecidable.status in ("undecided", "error")
    res = prover.Derivation("x", "", [undecidable])
    assert not res.proved and not res.disproved and res.failed() == [undecidable]


def test_prove_identity_is_relative_not_absolute():
    assert prover.prove_identity(Delta**2, Delta * Delta, "a", "").status == "proved"
    assert prover.prove_identity(Delta**2, 1.0000001 * Delta**2, "b", "").status == "disproved"


def test_prove_ratio_ge_one_and_prove_limit():
    u, v = prover.u, prover.v
    assert prover.prove_ratio_ge_one((1 + u) * (2 + v), "a", "").status == "proved"
    assert prover.prove_ratio_ge_one(u * (1 + v), "b", "").status == "disproved"
    assert prover.prove_limit(sp.sin(u) / u, u, 0, "c", "", expected=1).status == "proved"
    assert prover.prove_limit(u, u, 0, "d", "", positive_finite=True).status == "disproved"


def test_a_subcheck_status_must_be_known():
    with pytest.raises(ValueError, match="status"):
        prover.SubCheck("a", "", "holds")


# --- able to fail: one wrong variant (at least) per claim ----------------------------------------
def test_inexact_descent_catches_wrong_threshold_oracle_and_constant():
    assert pd.check_inexact_descent(epsilon=2 * Delta).disproved
    assert pd.check_inexact_descent(oracle_error=sp.Rational(101, 100) * Delta).disproved
    wrong_bound = 3 * gap * L_F * Q / (3 * Delta**2)
    res = pd.check_inexact_descent(iteration_bound=wrong_bound)
    assert [s.name for s in res.failed()] == ["steps_bound"]


def test_exponents_catch_a_wrong_exponent():
    assert pd.check_exponents(lambda_delta_exponent=sp.S.Half).disproved
    assert pd.check_exponents(lambda_d_exponent=sp.Rational(1, 4)).disproved
    res = pd.check_exponents(iteration_bound=2 * gap * L_F * Q / (3 * Delta**3))
    assert {s.name for s in res.failed()} == {"iterations_Delta_exponent", "iterations_leading_term"}


def test_consistency_catches_wrong_constants():
    p = dict(BYZANTINE_PGD, r=3 * BYZANTINE_PGD["r"])
    assert "2.r_formula" in {s.name for s in pd.check_consistency(p).failed()}
    p = dict(BYZANTINE_PGD, T_th=100 * BYZANTINE_PGD["T_th"])          # Hessian drifts
    names = {s.name for s in pd.check_consistency(p).failed()}
    assert {"3.LR2_over_T", "4.hessian_stability"} <= names
    res = pd.check_consistency(lambda_constant=1)                      # gamma_0 < 4 gamma'
    assert "2.threshold_above_4gamma'" in {s.name for s in res.failed()} and res.disproved
    res = pd.check_consistency(q_constant=100)                          # Q's decrease too large
    assert "3.eighth_vs_Q_decrease" in {s.name for s in res.failed()}


def test_exponent_balance_catches_a_wrong_fake_basin():
    res = pd.check_exponent_balance(fake_basin=d * Delta / pd.gamma)
    assert res.disproved
    assert "6.balance_d" in {s.name for s in res.failed()}


def test_regimes_catch_a_wrong_boundary():
    res = pd.check_regimes(expected_half=sp.Integer(2) ** -14 / sp.sqrt(d))
    assert [s.name for s in res.failed()] == ["r_le_R_over_2"]
    p = dict(BYZANTINE_PGD, r=2 * BYZANTINE_PGD["r"])
    assert pd.check_regimes(p).disproved


def test_regime_table_numbers_satisfy_their_definitions():
    lam = sp.lambdify((Delta, L_F, rho_F, d), LAMBDA_CONSTANT_BPGD * LAMBDA_SHAPE_BPGD)
    for row in pd.regime_table(dims=(1, 100), LR=((1, 1), (10, 1))):
        ds = row["Delta_star_nonvacuous"]
        assert abs(lam(ds, row["L_F"], row["rho_F"], row["d"]) / row["L_F"] - 1) < 1e-9
        assert lam(ds / 2, row["L_F"], row["rho_F"], row["d"]) < row["L_F"]
        assert row["Delta_max_r_le_R"] == pytest.approx(32 * row["Delta_max_r_le_R_over_2"])


def test_exact_vs_jin_catches_a_wrong_order():
    res = bc.check_exact_vs_jin(iterations=2 * L_F * gap / eps**3)
    assert {s.name for s in res.failed()} >= {"iterations_order_theorem2"}
    res = bc.check_exact_vs_jin(accuracy=8 * (rho_F * eps) ** sp.Rational(1, 3))
    assert "accuracy_order_theorem2" in {s.name for s in res.failed()}


def test_upper_vs_lower_catches_an_upper_bound_below_the_lower_bound():
    assert [s.name for s in bc.check_upper_vs_lower(grad_bound=Delta / 4).failed()] == ["grad_norm"]
    lam = LAMBDA_CONSTANT_BPGD * (sp.sqrt(rho_F) + L_F) * Delta * d ** sp.Rational(1, 5) * sp.log(10 / Delta)
    res = bc.check_upper_vs_lower(lambda_bound=lam)     # Δ^1 < Δ^(1/2) for small Δ
    bad = res.failed()
    assert [s.name for s in bad] == ["lambda_min"] and bad[0].status == "disproved"
