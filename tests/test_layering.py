"""The layering of docs/ARCHITECTURE.md ("Layering", "Data flow"), read from the imports (ast) of
every module, inside functions too:

- theory/ holds statements only: it imports no algorithm, oracle, experiment, property, report
  or audit;
- algorithms/ imports nothing from oracles, experiments, properties, reports or the audit;
  algorithms/aggregators/ imports numerics (numpy, scipy, numba), the standard library, its
  own package and the neutral byzpgd.numba_support only;
- oracles/ imports no experiment, property, report or audit;
- experiments/ import no property or report;
- reports/ render data: besides themselves they import byzpgd.properties.result and
  byzpgd.properties.profiles (the result types) and byzpgd.jsonsafe only;
- the neutral helpers byzpgd/geometry.py, jsonsafe.py, seeding.py, _malloc.py and
  numba_support.py import no byzpgd module but another neutral helper (numba_support.py, the
  standard library alone, imports none).
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("theory", "algorithms", "oracles", "experiments", "properties", "reports", "audit",
         "byzpgd")
NUMERICS = {"numpy", "scipy", "numba"}


def _forbid(*prefixes):
    return lambda name: any(name == p or name.startswith(p + ".") for p in prefixes)


def _is_numba_support(name: str) -> bool:
    return name == "byzpgd.numba_support" or name.startswith("byzpgd.numba_support.")


def _aggregator_rule(name: str) -> bool:
    top = name.split(".")[0]
    if top == "byzpgd":
        return not (name.startswith("byzpgd.algorithms.aggregators") or _is_numba_support(name))
    return top not in NUMERICS and top not in sys.stdlib_module_names


REPORTS_MAY_IMPORT = ("byzpgd.reports", "byzpgd.properties.result", "byzpgd.properties.profiles",
                      "byzpgd.jsonsafe", "byzpgd.audit.result")

# (folder or file, is the imported absolute module name forbidden there?), most specific first
RULES = (
    ("byzpgd/numba_support.py", _forbid("byzpgd")),
    *((f"byzpgd/{name}.py", lambda n: _forbid("byzpgd")(n) and not _is_numba_support(n))
      for name in ("geometry", "jsonsafe", "seeding", "_malloc")),
    ("algorithms/aggregators", _aggregator_rule),
    ("theory", _forbid("byzpgd.algorithms", "byzpgd.oracles", "byzpgd.experiments",
                       "byzpgd.properties", "byzpgd.reports", "byzpgd.audit")),
    ("algorithms", _forbid("byzpgd.oracles", "byzpgd.experiments", "byzpgd.properties",
                           "byzpgd.reports", "byzpgd.audit")),
    ("oracles", _forbid("byzpgd.experiments", "byzpgd.properties", "byzpgd.reports",
                        "byzpgd.audit")),
    ("experiments", _forbid("byzpgd.properties", "byzpgd.reports")),
    ("reports", lambda name: name.startswith("byzpgd")
     and not any(name == p or name.startswith(p + ".") for p in REPORTS_MAY_IMPORT)),
)

# Known violations being removed by other work (file, imported module); must end up empty.
ALLOWED: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    """The import name of a file under the repository root (byzpgd.<part>... mapping)."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] == "byzpgd":
        parts.pop(0)
    return ".".join(["byzpgd", *parts])


def imports(source: str, module: str, is_package: bool) -> set[str]:
    """Absolute names imported by ``source`` (``from a import b`` counts a.b as well as a)."""
    package = module if is_package else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
    return out


def _rule(rel: str):
    return next((rule for where, rule in RULES if rel == where or rel.startswith(where + "/")),
                None)


def violations_in(rel: str, source: str) -> set[tuple[str, str]]:
    rule = _rule(rel)
    if rule is None:
        return set()
    path = ROOT / rel
    found = imports(source, module_name(path), path.name == "__init__.py")
    # ``from . import x`` inside a package counts its own modules; only the named ones matter
    return {(rel, name) for name in found if rule(name)}


def all_violations() -> set[tuple[str, str]]:
    out = set()
    for part in PARTS:
        for path in sorted((ROOT / part).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            out |= violations_in(rel, path.read_text(encoding="utf-8"))
    return out


def test_the_layering_holds():
    found = all_violations()
    assert found <= ALLOWED, sorted(found - ALLOWED)


def test_the_allow_list_has_no_stale_entries():
    assert ALLOWED <= all_violations(), sorted(ALLOWED - all_violations())


@pytest.mark.parametrize("rel, source, bad", [
    ("theory/x.py", "from ..algorithms import byzantine_pgd", "byzpgd.algorithms"),
    ("theory/claims/x.py", "from ...experiments.loop import run_instances", "byzpgd.experiments.loop"),
    ("theory/x.py", "def f():\n    import byzpgd.oracles.landscapes\n", "byzpgd.oracles.landscapes"),
    ("algorithms/x.py", "from ..oracles.inexact import CertifiedOracle", "byzpgd.oracles.inexact"),
    ("algorithms/aggregators/x.py", "import pandas", "pandas"),
    ("algorithms/aggregators/x.py", "from ..perturbed_gd import perturbed_gd",
     "byzpgd.algorithms.perturbed_gd"),
    ("experiments/x.py", "from ..properties.checks import observe", "byzpgd.properties.checks"),
    ("reports/x.py", "from ..properties.suites import theorems", "byzpgd.properties.suites"),
    ("reports/x.py", "from ..experiments.figures import escape_illustration",
     "byzpgd.experiments.figures"),
    ("oracles/x.py", "from ..audit import battery", "byzpgd.audit"),
    ("byzpgd/seeding.py", "from .properties import profiles", "byzpgd.properties"),
    ("byzpgd/geometry.py", "from .jsonsafe import dumps", "byzpgd.jsonsafe"),
    ("byzpgd/numba_support.py", "from .geometry import row_norms", "byzpgd.geometry"),
    ("algorithms/aggregators/x.py", "from byzpgd.geometry import row_norms", "byzpgd.geometry"),
])
def test_the_checker_catches_a_forbidden_import(rel, source, bad):
    assert (rel, bad) in violations_in(rel, source)


@pytest.mark.parametrize("rel, source", [
    ("theory/x.py", "import sympy\nfrom .claims import get\nfrom ..jsonsafe import dumps"),
    ("algorithms/aggregators/x.py", "import numpy as np\nimport math\nfrom .basic import median"),
    ("algorithms/aggregators/x.py", "from byzpgd.numba_support import signals_deferred"),
    ("byzpgd/geometry.py", "from .numba_support import numba_available"),
    ("reports/x.py", "from ..properties.result import ClaimResult\nfrom .model import Report"),
    ("experiments/x.py", "from ..algorithms import robust_gd\nfrom ..oracles import landscapes"),
])
def test_allowed_imports_pass(rel, source):
    assert violations_in(rel, source) == set()


def test_module_names_follow_the_package_mapping():
    assert module_name(ROOT / "theory" / "claims" / "__init__.py") == "byzpgd.theory.claims"
    assert module_name(ROOT / "byzpgd" / "cli.py") == "byzpgd.cli"
    assert imports("from . import base", "byzpgd.theory.claims", True) == {
        "byzpgd.theory.claims", "byzpgd.theory.claims.base"}
