"""Where a claim lives (``byzpgd claims --where ID``): the files that state it, check it, run its
experiment and test it, as paths relative to the repository root.

- statement: the module that registered the claim (:data:`byzpgd.theory.claims.DEFINED_IN`);
- check: the module of the function registered for it (:data:`registry.CHECKS`);
- experiment: the :mod:`byzpgd.experiments` modules whose functions, classes or modules the check
  module holds, directly or through the byzpgd.properties modules it imports from (one level);
- tests: the files of tests/ that name the claim id or import the check module.

A user-declared claim (:mod:`byzpgd.claims`) lives in the one file that declared it: statement,
check (its sampler and run, decided by the shared statistics) and experiment.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..theory.claims import DEFINED_IN
from .registry import CHECKS, claim_ids

ROOT = Path(__file__).resolve().parents[1]   # the repository root (editable install)
EXPERIMENTS = "byzpgd.experiments"
PROPERTIES = "byzpgd.properties"


@dataclass(frozen=True)
class ClaimFiles:
    id: str
    statement: tuple[str, ...]
    check: tuple[str, ...]
    experiment: tuple[str, ...]
    tests: tuple[str, ...]


def where(claim_id: str, root: Path = ROOT) -> ClaimFiles:
    """The files of ``claim_id`` (see the module docstring); KeyError for an unknown id."""
    if claim_id not in claim_ids():
        raise KeyError(f"unknown claim id {claim_id!r}; see 'byzpgd claims'")
    from .user import USER_CLAIMS
    if claim_id in USER_CLAIMS:     # a user claim lives in its one file (statement, sampler, run)
        user = USER_CLAIMS[claim_id]
        declared = (_relative(DEFINED_IN.get(claim_id) or inspect.getsourcefile(user.run), root),)
        return ClaimFiles(claim_id, statement=declared, check=declared, experiment=declared, tests=())
    check = sys.modules[_check_function(CHECKS[claim_id]).__module__] if claim_id in CHECKS else None
    experiments = _experiments(check) if check else []
    return ClaimFiles(
        claim_id,
        statement=(_relative(DEFINED_IN[claim_id], root),) if claim_id in DEFINED_IN else (),
        check=(_relative(check.__file__, root),) if check else (),
        experiment=tuple(sorted(_relative(m.__file__, root) for m in experiments)),
        tests=tuple(_relative(p, root) for p in _tests(claim_id, check, root / "tests")))


def _relative(path, root: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _origin(obj) -> str:
    """The module a global of a module comes from ('' for data such as floats)."""
    if inspect.ismodule(obj):
        return obj.__name__
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return obj.__module__ or ""
    return ""


def _held(module: ModuleType, prefix: str) -> set[str]:
    return {name for obj in vars(module).values()
            if (name := _origin(obj)) == prefix or name.startswith(prefix + ".")}


def _check_function(fn):
    """The suite's function behind a registered check (``registry.register_claim`` registers a
    functools.partial whose first argument is the suite's check)."""
    while isinstance(fn, functools.partial):
        fn = fn.args[0] if fn.args and callable(fn.args[0]) else fn.func
    return fn


INFRASTRUCTURE = {f"{EXPERIMENTS}.loop", f"{EXPERIMENTS}.budget"}   # every check uses these


def _experiments(check: ModuleType) -> list[ModuleType]:
    """The experiment modules the check module holds; if none, those of the byzpgd.properties
    modules it imports from (one level: e.g. the theorem checks run through the runner)."""
    names = _held(check, EXPERIMENTS) - INFRASTRUCTURE
    if not names:
        via = [sys.modules[m] for m in sorted(_held(check, PROPERTIES) - {check.__name__})]
        names = set().union(*(_held(m, EXPERIMENTS) for m in via)) - INFRASTRUCTURE
    return [sys.modules[n] for n in names if getattr(sys.modules[n], "__file__", None)]


def _tests(claim_id: str, check: ModuleType | None, tests_dir: Path) -> list[Path]:
    if not tests_dir.is_dir():
        return []
    return [p for p in sorted(tests_dir.glob("*.py"))
            if claim_id in (text := p.read_text(encoding="utf-8"))
            or (check is not None and check.__name__ in _imports(text))]


def _imports(source: str) -> set[str]:
    """Absolute module names a source file imports (``from a import b`` counts a and a.b)."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out
