"""A run-level claim carries what its check needs (issue 25 item 2): the measured quantity
(``Claim.measures``) and its machine-checked hypotheses (``Claim.requires``) are callables on the
claim, so properties/checks.py reads the claim and never dispatches on its id or key."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from byzpgd.experiments.instances import RunRecord
from byzpgd.properties.checks import observe
from byzpgd.theory.claims import REGISTRY, get
from byzpgd.theory.claims.quantities import GRAD_NORM, NEG_LAMBDA_MIN, ORACLE_CALLS

CHECKS_PY = Path(__file__).resolve().parents[1] / "properties" / "checks.py"
THEOREMS = [c for c in REGISTRY if c.startswith(("byzantine_pgd.", "exact_pgd."))]


def _record(**change) -> RunRecord:
    values = {"Delta": 1e-4, "epsilon": 0.0, "r": 0.01, "R": 0.02, "L_F": 1.0, "rho_F": 1.0, "d": 4,
              "delta": 0.1, "F_gap": 0.1, "Q": 3, "T_th": 5}
    rec = RunRecord(spec={"family": "byzantine_pgd"}, values=values, grad_norm=3.5e-4, lambda_min=0.2,
                    lambda_min_error=1e-12, oracle_calls=40, status="converged", start_grad_norm=1.0,
                    left_domain=False, max_calls=10_000)
    return dataclasses.replace(rec, **change)


@pytest.mark.parametrize("claim_id", THEOREMS)
def test_every_theorem_claim_declares_its_quantity(claim_id):
    claim = get(claim_id)
    assert claim.measures in (GRAD_NORM, NEG_LAMBDA_MIN, ORACLE_CALLS)
    assert claim.measures.name == claim.observed


def test_the_check_reads_the_claims_requirements_and_quantity():
    claim = get("byzantine_pgd.grad_norm")
    assert observe(claim, _record()).in_hypotheses
    outside = dataclasses.replace(claim, requires=(lambda values: "my hypothesis fails",))
    obs = observe(outside, _record())
    assert not obs.in_hypotheses and obs.note == "my hypothesis fails"
    # another quantity on the same claim: the check follows the claim, not the id
    as_calls = dataclasses.replace(claim, observed="oracle_calls", measures=ORACLE_CALLS)
    assert observe(as_calls, _record()).observed == 40.0
    with pytest.raises(ValueError, match="declares no measured quantity"):
        observe(dataclasses.replace(claim, observed="x", measures=None), _record())


def test_theorem1_iterations_requires_q_formula_above_one():
    """The recorded counterexample (Q clamped to 1 next to a minimum) is outside the hypotheses."""
    claim = get("byzantine_pgd.iterations")
    near_minimum = _record(values={**_record().values, "F_gap": 1e-6})
    obs = observe(claim, near_minimum)
    assert not obs.in_hypotheses and "Q's formula" in obs.note
    assert observe(get("byzantine_pgd.grad_norm"), near_minimum).in_hypotheses


def test_checks_py_does_not_dispatch_on_claim_ids_or_keys():
    tree = ast.parse(CHECKS_PY.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("id", "observed"):
            parent_is_compare = any(isinstance(p, ast.Compare) and node in ast.walk(p)
                                    for p in ast.walk(tree))
            assert not parent_is_compare, f"checks.py compares claim.{node.attr} (line {node.lineno})"
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "startswith":
            assert not (isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "id"), \
                f"checks.py dispatches on a claim id prefix (line {node.lineno})"
