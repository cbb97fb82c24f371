"""`byzpgd claims --where ID` names, for every claim, the statement in theory/claims/, the check in
properties/suites/, the module that runs its instances, and the one test file that declares it
(``TESTED_CLAIMS``): at most 4 files, ids matched exactly (issue 25 item 2)."""

import ast
import importlib
import textwrap

import pytest

from byzpgd.experiments import instances, pep
from byzpgd.experiments.loop import run_instances
from byzpgd.properties.registry import CHECKS, claim_ids
from byzpgd.properties.user import USER_CLAIMS
from byzpgd.properties.where import (
    DECLARATION,
    ROOT,
    SHARED_ENGINE,
    check_function,
    declared_claims,
    declaring_files,
    run_modules,
    where,
)
from byzpgd.theory.claims import Claim, get

TESTS = ROOT / "tests"
BUILT_IN = [c for c in claim_ids() if c not in USER_CLAIMS]
TESTED_CLAIMS = ()   # this file tests the lookup, not a claim
PARAMETER_SET = type(pytest.param(0))


# --- "the declared file names the claim in a test": a declaration cannot be a lie ---------------
def _holds_id(value, claim_id: str, depth: int = 3) -> bool:
    """Whether ``value`` is the id, the claim, the claim's registered check, or a container (or
    parametrize set) holding one of them."""
    if isinstance(value, str):
        return value == claim_id
    if isinstance(value, Claim):
        return value.id == claim_id
    if callable(value) and claim_id in CHECKS and value is check_function(CHECKS[claim_id]):
        return True
    if depth == 0:
        return False
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    elif isinstance(value, PARAMETER_SET):
        value = value.values
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(_holds_id(v, claim_id, depth - 1) for v in value)
    return False


def _chain(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def _test_functions(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test"))


def names_claim(source: str, namespace: dict, claim_id: str) -> bool:
    """Whether a test function of ``source`` (its body or decorators, not its docstring) names
    ``claim_id``: as a literal, or through a name or attribute chain (resolved in ``namespace``,
    the imported module's globals) whose value holds it (:func:`_holds_id`), e.g. a test calling
    ``m.check_descent``, the function registered as mechanism.descent's check."""
    for fn in _test_functions(ast.parse(source)):
        body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
        for node in [*fn.decorator_list, *body]:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and sub.value == claim_id:
                    return True
                chain = _chain(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
                if chain and chain[0] in namespace:
                    value = namespace[chain[0]]
                    for attr in chain[1:]:
                        value = getattr(value, attr, None)
                    if _holds_id(value, claim_id):
                        return True
    return False


def _module(path):
    return importlib.import_module(path.stem)   # tests/ is on sys.path (pytest's rootdir insertion)


# --- every built-in claim ----------------------------------------------------------------------
@pytest.mark.parametrize("claim_id", BUILT_IN)
def test_every_claim_is_found_from_its_group(claim_id):
    files = where(claim_id)
    assert files.statement and files.statement[0].startswith("theory/claims/")
    assert files.check and files.check[0].startswith("properties/suites/")
    if get(claim_id).kind != "symbolic":    # every run-level claim runs instances somewhere
        assert files.experiment, claim_id
    assert all(p.startswith(("experiments/", "audit/")) for p in files.experiment)
    engine = {m.removeprefix("byzpgd.").replace(".", "/") + ".py" for m in SHARED_ENGINE}
    assert not engine & set(files.experiment)
    if claim_id.startswith("mechanism."):
        assert files.experiment == ("experiments/mechanism.py",)
        assert files.tests == ("tests/test_mechanism.py",)


@pytest.mark.parametrize("claim_id", BUILT_IN)
def test_a_claim_is_at_most_four_files(claim_id):
    files = where(claim_id)
    listed = files.statement + files.check + files.experiment + files.tests
    assert len(set(listed)) == len(listed)
    assert len(listed) <= 4, listed


@pytest.mark.parametrize("claim_id", BUILT_IN)
def test_each_claim_is_declared_by_one_test_file_that_tests_it(claim_id):
    (path,) = [ROOT / p for p in where(claim_id).tests]
    assert names_claim(path.read_text(encoding="utf-8"), vars(_module(path)), claim_id), \
        f"{path.name} declares {claim_id} in {DECLARATION} but none of its tests names it"


def test_every_declaration_is_a_registered_claim():
    """A typo in a declaration (or a claim renamed) is caught: the id would be declared by a file
    but listed for no claim."""
    declared = {(p.name, c) for p in TESTS.glob("*.py") for c in declared_claims(p)}
    assert declared and all(c in BUILT_IN for _, c in declared), sorted(declared)


# --- exact ids ---------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["byzantine_pgd.grad", "end_to_end.", "byzantine_pgd", "grad_norm"])
def test_a_prefix_or_part_of_an_id_is_no_claim(prefix):
    with pytest.raises(KeyError, match="unknown claim id"):
        where(prefix)
    assert declaring_files(prefix, TESTS) == []


def test_a_declaration_matches_ids_exactly(tmp_path):
    """end_to_end.grad_norm is a prefix of end_to_end.grad_norm_independent: a file declaring only
    the latter (and naming the former in its text) is not the former's test file."""
    (tmp_path / "test_x.py").write_text(textwrap.dedent(f"""\
        {DECLARATION} = ("end_to_end.grad_norm_independent",)

        def test_it():
            assert "end_to_end.grad_norm" != "end_to_end.grad_norm_independent"
        """))
    (tmp_path / "test_y.py").write_text(f'{DECLARATION} = ("end_to_end.grad_norm",)\n')
    assert [p.name for p in declaring_files("end_to_end.grad_norm", tmp_path)] == ["test_y.py"]
    assert [p.name for p in declaring_files("end_to_end.grad_norm_independent", tmp_path)] == ["test_x.py"]


@pytest.mark.parametrize("value", ['"end_to_end.grad_norm"', 'list(("end_to_end.grad_norm",))',
                                   '("end_to_end.grad_norm", 3)'])
def test_a_declaration_must_be_a_literal_tuple_of_ids(tmp_path, value):
    """A bare string would match every substring of it; a computed value cannot be read without
    importing the file."""
    path = tmp_path / "test_x.py"
    path.write_text(f"{DECLARATION} = {value}\n")
    with pytest.raises(ValueError, match="literal tuple of claim ids"):
        declared_claims(path)


def test_a_declaration_that_no_test_backs_is_caught():
    """The sibling claim of another group, a sibling's check, and a docstring mention do not
    count as naming."""
    path = TESTS / "test_theorem2_exact_pgd.py"
    source, namespace = path.read_text(encoding="utf-8"), vars(_module(path))
    assert names_claim(source, namespace, "exact_pgd.poster_lambda_min")
    assert not names_claim(source, namespace, "byzantine_pgd.lambda_min")
    docstring_only = 'def test_it():\n    """Checks mechanism.descent."""\n    assert 1 + 1 == 2\n'
    assert not names_claim(docstring_only, {}, "mechanism.descent")
    calls = docstring_only.replace("1 + 1 == 2", "m.check_radius('quick', 0)")
    namespace = {"m": importlib.import_module("byzpgd.properties.suites.mechanism")}
    assert names_claim(calls, namespace, "mechanism.perturbation_radius")
    assert not names_claim(calls, namespace, "mechanism.descent")


# --- the experiment is what the check hands to the engine --------------------------------------
def _check_handing_run(profile, seed, progress=None):
    steps = pep.certified_steps    # named, but not what runs the instances
    return steps, run_instances([], instances.run)


def _check_handing_nothing(profile, seed, progress=None):
    return pep.certified_steps(0.3)


def test_the_run_module_is_the_one_handed_to_the_engine():
    """A check naming two experiment modules lists only the one whose function runs its instances;
    one that hands nothing to the engine lists what its code names."""
    assert run_modules(_check_handing_run) == ["byzpgd.experiments.instances"]
    assert run_modules(_check_handing_nothing) == ["byzpgd.experiments.pep"]


def test_the_theorem_claims_run_in_instances_not_in_the_pep_hierarchy_they_carry():
    """The check of byzantine_pgd.grad_norm also attaches the PEP hierarchy (its W from
    theory/pep_cache.py, its O from experiments/pep_search.py); its instances run in
    experiments/instances.py."""
    assert where("byzantine_pgd.grad_norm").experiment == ("experiments/instances.py",)


def test_the_gd_phase_claim_runs_its_searches_and_reads_its_bounds_from_theory():
    """parameters.gd_phase_worst_case: O is searched in experiments/pep_search.py; W, the PEP's
    certified values, are the theory's side (theory/pep_cache.py), not a run."""
    assert where("parameters.gd_phase_worst_case").experiment == ("experiments/pep_search.py",)
