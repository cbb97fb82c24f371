"""How an aggregator reaches the audit's sandbox process (:func:`sandbox_target`).

The rule always runs in the audit's sandbox (a separate, contained process, see
:mod:`byzpgd.audit.sandbox`), which loads it by ``MODULE:CALLABLE``; an object is sent there:

1. by import path, when ``obj.__module__ : obj.__qualname__`` imports back to the very same object
   (the folder the module was imported from is added to the sandbox's import path);
2. otherwise by value, into a private temporary folder with a small loader module that becomes
   the target: with ``cloudpickle`` if it is installed (it sends lambdas, closures and classes
   defined in ``__main__`` or inside functions); else a plain function (a lambda, a function
   defined inside another, one from ``__main__``) as its code object, defaults, closure values and
   the globals it uses (its module's, when that module can be imported; else the modules it uses
   by name and other values pickled); and any other object by stdlib :mod:`pickle` (an instance
   of an importable class, e.g. with parameters).

What cannot be sent (an instance of a class defined inside a function or in ``__main__`` without
cloudpickle, an object holding a lock or an open file, a closure over such a value ...) raises
:class:`RuleNotAuditable`, saying why and what to do.
"""

from __future__ import annotations

import importlib
import marshal
import os
import pickle
import pickletools
import sys
import tempfile
import types
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RuleNotAuditable", "SandboxTarget", "sandbox_target", "describe_rule", "SENT_HOW"]


class RuleNotAuditable(TypeError):
    """The rule cannot be sent to the audit's sandbox process (the message says why and what to do)."""


@dataclass(frozen=True)


class SandboxTarget:
    """How a rule reaches the sandbox: ``target`` (``MODULE:CALLABLE``), ``paths`` (extra import
    folders), ``how`` ('target' / 'import' / 'pickle' / 'cloudpickle' / 'value'), ``tmpdir`` (the temporary
    folder of a pickled rule, removed by :meth:`cleanup`)."""

    target: str
    paths: tuple[str, ...] = ()
    how: str = "target"
    tmpdir: str | None = None

    def cleanup(self) -> None:
        if self.tmpdir is not None:
            import shutil
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _module_root(module) -> str | None:
    """The sys.path folder ``module`` was imported from (None for builtins / namespace oddities)."""
    path = getattr(module, "__file__", None)
    if not path:
        return None
    p = Path(path).resolve()
    depth = module.__name__.count(".") + 1
    if p.stem == "__init__":
        depth += 1
    root = p
    for _ in range(depth):
        root = root.parent
    return str(root)


def _import_path(obj) -> tuple[str, str] | None:
    """(MODULE:QUALNAME, the module's root folder) if that imports back to ``obj`` itself."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not (isinstance(module_name, str) and isinstance(qualname, str)) or module_name == "__main__":
        return None
    if "<" in qualname or not all(p.isidentifier() for p in qualname.split(".")):
        return None
    if not all(p.isidentifier() for p in module_name.split(".")):
        return None
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except Exception:
            return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    if found is not obj:
        return None
    return f"{module_name}:{qualname}", _module_root(module) or ""


def _pickler():
    try:
        import cloudpickle  # optional: sends lambdas, closures and __main__ objects by value
        return cloudpickle, "cloudpickle"
    except ImportError:
        return pickle, "pickle"


def _main_references(data: bytes) -> list[str]:
    """Names a stdlib pickle looks up in ``__main__`` (which the sandbox cannot import)."""
    out, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "GLOBAL" and isinstance(arg, str) and arg.startswith("__main__ "):
            out.append(arg.split(" ", 1)[1])
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2 and strings[-2] == "__main__":
            out.append(strings[-1])
    return out


def describe_rule(obj) -> str:
    """'NAME (from MODULE)': how reports and messages name a rule object."""
    name = getattr(obj, "__qualname__", None) or f"{type(obj).__qualname__} instance"
    return f"{name} (from {getattr(obj, '__module__', None) or type(obj).__module__})"


#: how a rule sent by value was sent, as the audit report names it (SandboxTarget.how → words)


SENT_HOW = {"pickle": "by pickle", "cloudpickle": "by cloudpickle", "value": "by value: its code, defaults, "
        "closure and globals"}


_ADVICE = ("define it at module level in an importable module (then it is audited by import path), "
           "install cloudpickle (which sends such objects by value), or pass 'MODULE:CALLABLE'")


def sandbox_target(rule, paths=()) -> SandboxTarget:
    """How ``rule`` is sent to the sandbox (this module's docstring); raises :class:`RuleNotAuditable`."""
    paths = tuple(str(Path(p).resolve()) for p in paths)
    if isinstance(rule, str):
        return SandboxTarget(rule, paths, "target")
    if not (callable(rule) or callable(getattr(rule, "aggregate", None))):
        raise RuleNotAuditable(f"the rule must be a callable, an object with an 'aggregate' method or a "
                               f"'MODULE:CALLABLE' string, got {type(rule).__name__}")
    found = _import_path(rule)
    if found is not None:
        target, root = found
        return SandboxTarget(target, tuple(dict.fromkeys((*paths, *([root] if root else [])))), "import")
    lib, how = _pickler()
    what = describe_rule(rule)
    if how == "pickle" and isinstance(rule, types.FunctionType):
        data, loader = _function_by_value(rule, what), _FUNCTION_LOADER
        how = "value"
    else:
        data, loader = _pickled(rule, lib, how, what), _PICKLE_LOADER.format(lib=lib.__name__)
    tmpdir = tempfile.mkdtemp(prefix="byzpgd-rule-")
    name = f"_byzpgd_rule_{uuid.uuid4().hex[:12]}"
    Path(tmpdir, f"{name}.pkl").write_bytes(data)
    Path(tmpdir, f"{name}.py").write_text(
        f'"""Generated by byzpgd.audit: loads the rule {what} ({how})."""\n' + loader, encoding="utf-8")
    os.chmod(tmpdir, 0o755)   # readable by the sandbox (same user; it only reads)
    # the object may refer to the caller's modules by name: the sandbox gets the caller's import
    # path (the folders only; nothing else of the environment)
    here = [str(Path(p).resolve()) for p in sys.path if p and os.path.isdir(p)]
    return SandboxTarget(f"{name}:rule", tuple(dict.fromkeys((tmpdir, *paths, *here))), how, tmpdir)


_PICKLE_LOADER = """import {lib} as _lib
with open(__file__[:-3] + '.pkl', 'rb') as _fh:
    rule = _lib.load(_fh)
"""


_FUNCTION_LOADER = """import importlib as _il
import marshal as _marshal
import pickle as _pickle
import types as _types

with open(__file__[:-3] + '.pkl', 'rb') as _fh:
    _p = _pickle.load(_fh)
if _p["module"] is not None:
    _g = _il.import_module(_p["module"]).__dict__
else:
    _g = {"__builtins__": __builtins__, "__name__": "byzpgd_rule"}
    for _k, (_kind, _v) in _p["globals"].items():
        _g[_k] = _il.import_module(_v) if _kind == "module" else _v
rule = _types.FunctionType(_marshal.loads(_p["code"]), _g, _p["name"], _p["defaults"],
                           tuple(_types.CellType(_c) for _c in _p["closure"]) or None)
rule.__kwdefaults__ = _p["kwdefaults"]
rule.__qualname__ = _p["qualname"]
"""


def _pickled(rule, lib, how: str, what: str) -> bytes:
    try:
        data = lib.dumps(rule, protocol=4)
    except Exception as exc:
        cls = rule if isinstance(rule, type) else type(rule)
        if _import_path(cls) is None:
            why = (f"its class {cls.__qualname__} cannot be imported by name (a class defined inside a "
                   "function or created dynamically), so pickle cannot rebuild it there")
        elif "<locals>" in str(exc) or "<lambda>" in str(exc) or "local object" in str(exc):
            why = ("it holds a lambda, a closure or a class defined inside a function, which pickle sends "
                   f"by reference to a name that does not exist outside that function ({exc})")
        else:
            why = f"it cannot be pickled ({type(exc).__name__}: {exc})"
        raise RuleNotAuditable(f"cannot audit {what}: the rule runs in a separate sandbox process and "
                               f"{why}. To audit it, {_ADVICE}.") from exc
    if how == "pickle":
        main_refs = _main_references(data)
        if main_refs:
            raise RuleNotAuditable(f"cannot audit {what}: it refers to {main_refs} defined in __main__ (a "
                                   "script or an interactive session), which the sandbox process cannot "
                                   f"import. To audit it, {_ADVICE}.")
    return data


def _global_names(code) -> set[str]:
    """Names a code object (and the code objects nested in it) may look up as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _function_by_value(fn, what: str) -> bytes:
    """A plain function (a lambda, a function defined inside another, one from ``__main__``) as its
    code object (marshal: the sandbox runs the same interpreter), defaults and closure values
    (pickled), and its globals: the module's own when that module can be imported, else the names
    it uses (modules by name, other values pickled)."""
    module = getattr(fn, "__module__", None)
    mod = sys.modules.get(module) if module else None
    importable = (module not in (None, "__main__") and mod is not None and _module_root(mod) is not None)
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(cell.cell_contents)
        except ValueError:
            raise RuleNotAuditable(f"cannot audit {what}: its closure has a variable that is not set yet. "
                                   f"To audit it, {_ADVICE}.") from None
    glob = {}
    if not importable:
        for name in sorted(_global_names(fn.__code__)):
            if name in fn.__globals__:
                v = fn.__globals__[name]
                glob[name] = ("module", v.__name__) if isinstance(v, types.ModuleType) else ("value", v)
    payload = {"code": marshal.dumps(fn.__code__), "name": fn.__name__, "qualname": fn.__qualname__,
               "module": module if importable else None, "defaults": fn.__defaults__,
               "kwdefaults": fn.__kwdefaults__, "closure": cells, "globals": glob}
    try:
        data = pickle.dumps(payload, protocol=4)
    except Exception as exc:
        raise RuleNotAuditable(f"cannot audit {what}: it is sent by value (its code), but a value it uses "
                               f"(a default, a closure variable or a global) cannot be pickled "
                               f"({type(exc).__name__}: {exc}). To audit it, {_ADVICE}.") from exc
    if not importable and _main_references(data):
        raise RuleNotAuditable(f"cannot audit {what}: it uses {_main_references(data)} defined in __main__, "
                               f"which the sandbox process cannot import. To audit it, {_ADVICE}.")
    return data

