"""Load a user aggregator from ``MODULE:CALLABLE`` and adapt it to ``aggregate(X) -> (d,)``.

Accepted targets (``CALLABLE`` may be dotted, e.g. ``mypkg.agg:Rules.median``):

- a function (or any callable object) taking an (m, d) float64 array and returning a (d,)
  array; when it has a parameter named ``f`` it is called as ``fn(X, f=f)`` (f = the number of
  Byzantine workers of the setting);
- an object with an ``aggregate`` method (used in preference to ``__call__``);
- a class: instantiated once per setting, passing ``f`` to a constructor parameter named ``f``,
  ``n_byzantine``, ``num_byzantine``, ``nb_byz`` or ``byzantine`` and m to one named ``m``,
  ``n_workers``, ``num_workers`` or ``nb_workers`` (other parameters must have defaults), then
  its ``aggregate`` method, else ``aggregate_vectors``, else ``__call__``;
- ByzFL-style aggregators (classes or instances from the ``byzfl`` package, e.g.
  ``byzfl:TrMean``): constructed with ``f`` only (ByzFL's ``CenteredClipping`` has an ``m`` that
  is not the number of workers), called on the array; torch tensors in the output are converted
  with ``.detach().cpu().numpy()``. ``input_kind='torch'`` feeds a ``torch.float64`` tensor instead
  of a numpy array (needs torch).

Usage errors (malformed target, module not found, missing attribute, not callable, a class that
cannot be constructed from f and m) raise :class:`UsageError`; ``byzpgd audit`` turns them into
exit code 2. An exception raised *inside* the user's module while it is imported is not a usage
error: the sandbox reports it as a finding.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Sequence

import numpy as np

F_NAMES = ("f", "n_byzantine", "num_byzantine", "nb_byz", "byzantine")
M_NAMES = ("m", "n_workers", "num_workers", "nb_workers")
METHODS = ("aggregate", "aggregate_vectors", "__call__")
INPUT_KINDS = ("numpy", "torch")


class UsageError(ValueError):
    """The audit cannot start: bad target or arguments (exit code 2)."""


def parse_target(text: str) -> tuple[str, str]:
    """Split ``MODULE:CALLABLE`` into (module, attribute path), validating both."""
    if not isinstance(text, str) or text.count(":") != 1:
        raise UsageError(f"target must be MODULE:CALLABLE (e.g. mypkg.agg:my_rule), got {text!r}")
    module, attr = text.split(":")
    if not module or not all(p.isidentifier() for p in module.split(".")):
        raise UsageError(f"MODULE in MODULE:CALLABLE must be a dotted Python module name, got {module!r}")
    if not attr or not all(p.isidentifier() for p in attr.split(".")):
        raise UsageError(f"CALLABLE in MODULE:CALLABLE must be a (dotted) attribute name, got {attr!r}")
    return module, attr


def import_target(text: str, paths: Sequence[str] = ()) -> object:
    """Import ``MODULE`` (with ``paths`` prepended to sys.path) and return ``CALLABLE``."""
    module, attr = parse_target(text)
    for p in reversed(list(paths)):
        if p not in sys.path:
            sys.path.insert(0, p)
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module == missing or module.startswith(missing + ".")):
            raise UsageError(f"cannot import module {module!r} ({exc}); is it on the path? "
                             f"(searched the current directory and --path {list(paths)})") from exc
        raise
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj) and not callable(getattr(obj, "aggregate", None)):
        raise UsageError(f"{text} is not callable and has no 'aggregate' method "
                         f"(got {type(obj).__name__})")
    return obj


def is_byzfl(obj) -> bool:
    """True for classes/instances defined in the ``byzfl`` package."""
    cls = obj if inspect.isclass(obj) else type(obj)
    return (getattr(cls, "__module__", "") or "").split(".")[0] == "byzfl"


def describe(obj) -> str:
    """A one-line description of the target (kind and adapter)."""
    kind = "class" if inspect.isclass(obj) else ("function" if inspect.isroutine(obj) else "object")
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    adapter = " (ByzFL adapter)" if is_byzfl(obj) else ""
    return f"{kind} {name}{adapter}"


def _signature(fn):
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def instantiate(cls, m: int, f: int):
    """Construct ``cls`` for m workers of which f are Byzantine (module docstring)."""
    sig = _signature(cls)
    kwargs, missing = {}, []
    byzfl = is_byzfl(cls)
    if sig is not None:
        for p in sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.kind == p.POSITIONAL_ONLY:
                if p.kind == p.POSITIONAL_ONLY and p.default is p.empty:
                    missing.append(p.name)
                continue
            if p.name in F_NAMES:
                kwargs[p.name] = int(f)
            elif p.name in M_NAMES and not byzfl:
                kwargs[p.name] = int(m)
            elif p.default is p.empty:
                missing.append(p.name)
    if missing:
        raise UsageError(f"class {cls.__qualname__} needs constructor argument(s) {missing} that the "
                         f"audit cannot provide: it passes f as {F_NAMES[0]!r} (or {', '.join(F_NAMES[1:])}) "
                         f"and m as {M_NAMES[0]!r} (or {', '.join(M_NAMES[1:])}); give the others defaults")
    return cls(**kwargs)


def _method(obj) -> Callable:
    for name in METHODS:
        fn = getattr(obj, name, None)
        if callable(fn) and not (name == "__call__" and inspect.isclass(obj)):
            return fn
    raise UsageError(f"{type(obj).__qualname__} has no aggregate / aggregate_vectors / __call__ method")


def build(obj, m: int, f: int, input_kind: str = "numpy") -> Callable:
    """``aggregate(X)`` for a setting of m workers with f Byzantine (module docstring). The
    returned callable takes the array (numpy, or torch when ``input_kind='torch'``) and returns
    whatever the user code returns (converted by :func:`to_numpy` afterwards)."""
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    if inspect.isclass(obj):
        fn = _method(instantiate(obj, m, f))
    elif callable(getattr(obj, "aggregate", None)):
        fn = obj.aggregate
    else:
        fn = obj
    sig = _signature(fn)
    if sig is not None and not is_byzfl(obj):
        p = sig.parameters.get("f")
        if p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            return lambda X: fn(X, f=int(f))
    return fn


def to_input(X: np.ndarray, input_kind: str):
    """The argument handed to the user code."""
    if input_kind == "torch":
        import torch  # optional dependency
        return torch.tensor(X, dtype=torch.float64)
    return X


def to_numpy(out) -> np.ndarray:
    """The user's output as a numpy array (torch tensors detached and moved to the CPU)."""
    if hasattr(out, "detach") and hasattr(out, "cpu"):
        out = out.detach().cpu().numpy()
    return np.asarray(out)
