"""Where a claim lives (``byzpgd claims --where ID``): the files that state it, check it, run its
instances and test it, as paths relative to the repository root.

- statement: the module that registered the claim (:data:`byzpgd.theory.claims.DEFINED_IN`);
- check: the module of the function registered for it (:data:`registry.CHECKS`);
- experiment: the modules (of :mod:`byzpgd.experiments`, or :mod:`byzpgd.audit` for the κ̂
  searches) whose code runs the claim's instances: the callable the check hands to the shared
  engine (``experiments.loop.run_instances`` / ``run_in_chunks``), followed through the
  functions and classes of :mod:`byzpgd.properties` it names. The shared engine itself
  (:data:`SHARED_ENGINE`: the loop, the batched trials, budgets, executors) is
  not listed. A check that hands nothing to the engine (the symbolic claims, the PEP hierarchy)
  lists the run modules its own code names, if any;
- tests: the files of tests/ that declare the id, exactly, in a module-level tuple
  ``TESTED_CLAIMS = ("group.claim", ...)`` (the claim's own tests: those showing a subtly wrong
  variant of it is caught; docs/ARCHITECTURE.md, "Claims and where each part lives").

A user-declared claim (:mod:`byzpgd.claims`) lives in the one file that declared it: statement,
check (its sampler and run, decided by the shared statistics) and experiment.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..experiments import loop
from ..theory.claims import DEFINED_IN
from .registry import CHECKS, claim_ids

ROOT = Path(__file__).resolve().parents[1]   # the repository root (editable install)
DECLARATION = "TESTED_CLAIMS"                 # the module-level tuple of a claim's test file
RUN_PACKAGES = ("byzpgd.experiments", "byzpgd.audit")
SHARED_ENGINE = frozenset(f"byzpgd.experiments.{m}" for m in ("loop", "batched", "budget", "executors"))
ENGINE_CALLS = (loop.run_instances, loop.run_in_chunks)   # (specs, fn, ...): fn runs one instance / chunk
FOLLOWED = "byzpgd.properties"               # the check code whose callees are followed


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
    check = check_function(CHECKS[claim_id]) if claim_id in CHECKS else None
    runs = run_modules(check) if check is not None else []
    return ClaimFiles(
        claim_id,
        statement=(_relative(DEFINED_IN[claim_id], root),) if claim_id in DEFINED_IN else (),
        check=(_relative(sys.modules[check.__module__].__file__, root),) if check is not None else (),
        experiment=tuple(sorted(_relative(sys.modules[m].__file__, root) for m in runs)),
        tests=tuple(_relative(p, root) for p in declaring_files(claim_id, root / "tests")))


def _relative(path, root: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def check_function(fn):
    """The suite's function behind a registered check (``registry.register_claim`` registers a
    functools.partial whose first argument is the suite's check)."""
    while isinstance(fn, functools.partial):
        fn = fn.args[0] if fn.args and callable(fn.args[0]) else fn.func
    return fn


# --- experiment: what the check hands to the shared engine ---------------------------------------
def _inside(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _module_of(obj) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    if inspect.isfunction(obj) or inspect.isclass(obj):
        return obj.__module__ or ""
    return ""


def _syntax(fn: Callable) -> ast.AST | None:
    """The parsed source of ``fn`` (None for a lambda inside an expression or without source)."""
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ['a', 'b', 'c'] (None for anything but names and attributes)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def _resolve(fn: Callable, chain: list[str]):
    """The object ``chain`` names inside ``fn`` (its closure, then its module's globals), or None."""
    names = inspect.getclosurevars(fn).nonlocals if fn.__closure__ else {}
    obj = names.get(chain[0], fn.__globals__.get(chain[0]))
    for attr in chain[1:]:
        obj = getattr(obj, attr, None)
    return obj


def _named(fn: Callable, node: ast.AST) -> Iterator[object]:
    """The objects the names and attribute chains under ``node`` denote inside ``fn``."""
    for sub in ast.walk(node):
        chain = _chain(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
        if chain and (obj := _resolve(fn, chain)) is not None:
            yield obj


def _references(fn: Callable) -> list[object]:
    """Every object ``fn`` names (from its source; from its bytecode if it has none)."""
    tree = _syntax(fn)
    if tree is None:
        return [v for v in (fn.__globals__.get(n) for n in fn.__code__.co_names) if v is not None]
    return list(_named(fn, tree))


def _handed_to_engine(fn: Callable) -> list[object]:
    """The objects named by the instance callables ``fn`` passes to the shared engine
    (the second argument of :data:`ENGINE_CALLS`, through ``fn``'s local assignments)."""
    tree = _syntax(fn)
    if tree is None:
        return []
    local: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    local.setdefault(target.id, []).append(node.value)
    out: list[object] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and (chain := _chain(node.func))
                and any(_resolve(fn, chain) is e for e in ENGINE_CALLS)):
            continue
        args = node.args[1:2] or [k.value for k in node.keywords if k.arg == "fn"]
        for arg in args:
            exprs = local.get(arg.id, [arg]) if isinstance(arg, ast.Name) else [arg]
            for expr in exprs:
                out.extend(_named(fn, expr))
    return out


def _callees(obj) -> list[object]:
    """What to follow from ``obj``: a function's references, a class's methods, a partial's parts."""
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args, *obj.keywords.values()]
    if inspect.isfunction(obj):
        return _references(obj)
    if inspect.isclass(obj):
        return [v for v in vars(obj).values() if inspect.isfunction(v)]
    return []


def _reach(start: list[object], read_start: bool) -> tuple[set[str], list[Callable]]:
    """Run modules reached from ``start`` following the functions, classes and partials of
    :data:`FOLLOWED` (and, with ``read_start``, the start's own code wherever it is defined);
    and what was read."""
    seen: set[int] = set()
    found: set[str] = set()
    read: list[Callable] = []
    stack = [(obj, read_start) for obj in start]
    while stack:
        obj, first = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        module = _module_of(obj)
        if _inside(module, RUN_PACKAGES):
            found.add(module)
        elif not inspect.ismodule(obj) and (first or isinstance(obj, functools.partial)
                                            or _inside(module, (FOLLOWED,))):
            read.append(obj)
            stack.extend((callee, False) for callee in _callees(obj))
    return found - SHARED_ENGINE, read


def run_modules(check: Callable) -> list[str]:
    """The names of the modules that run the instances of ``check`` (module docstring): those
    reached from the callables its code hands to the shared engine; if it hands none, those its
    code reaches."""
    named, read = _reach([check], read_start=True)
    handed = [obj for fn in read if inspect.isfunction(fn) for obj in _handed_to_engine(fn)]
    return sorted(_reach(handed, read_start=False)[0] if handed else named)


# --- tests: the files that declare the claim -----------------------------------------------------
def declared_claims(path: Path) -> tuple[str, ...]:
    """The ids a test file declares in its module-level ``TESTED_CLAIMS`` tuple (() if none);
    ValueError if the declaration is not a literal tuple of strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
        if any(isinstance(t, ast.Name) and t.id == DECLARATION for t in targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                value = None
            if not (isinstance(value, tuple) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"{path}:{node.lineno}: {DECLARATION} must be a literal tuple of claim "
                                 f"ids, e.g. {DECLARATION} = ('byzantine_pgd.grad_norm',)")
            return value
    return ()


def declaring_files(claim_id: str, tests_dir: Path) -> list[Path]:
    """The files of ``tests_dir`` whose ``TESTED_CLAIMS`` holds ``claim_id`` (exact ids)."""
    if not tests_dir.is_dir():
        return []
    return [p for p in sorted(tests_dir.glob("*.py")) if claim_id in declared_claims(p)]
