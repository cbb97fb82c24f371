"""`byzpgd claims --where ID` names, for every claim, the statement in theory/claims/, the check in
properties/suites/, the claim's own experiment module and at least one test file."""

import pytest

from byzpgd.properties.registry import claim_ids
from byzpgd.properties.where import where

SYMBOLIC = ("parameters.",)   # statements and derivations only: no experiment runs


@pytest.mark.parametrize("claim_id", claim_ids())
def test_every_claim_is_found_from_its_group(claim_id):
    files = where(claim_id)
    group = claim_id.split(".")[0]
    assert files.statement and files.statement[0].startswith("theory/claims/")
    assert files.check and files.check[0].startswith("properties/suites/")
    assert files.tests, claim_id
    if not claim_id.startswith(SYMBOLIC):
        assert files.experiment, claim_id
        assert all(p.startswith("experiments/") for p in files.experiment)
        assert not any(p.endswith(("loop.py", "budget.py")) for p in files.experiment)
    if group == "mechanism":
        assert files.experiment == ("experiments/mechanism.py",)
        assert "tests/test_mechanism.py" in files.tests
