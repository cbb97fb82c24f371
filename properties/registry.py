"""The registry of claim checks, filled by the modules of :mod:`byzpgd.properties.suites`.

A *check* is a function ``check(profile: str, seed: int, progress) -> dict`` returning the
verdict fields of one claim: at least ``status`` ('holds' | 'violated' | 'error' |
'inconclusive'), ``instances``, ``nonvacuous_instances``, ``violations``, ``worst_ratio`` and
``empirical_constant`` (None where meaningless), and for a violation a ``replay`` command.
``progress(done, total)`` may be None. :func:`run_check` adds the claim's id, statement, source,
provenance, kind, formula and the run time, and turns an exception into an 'error' entry.

To add claims, register them (``theory.claims.register``) and their checks
(``@register_check(claim_id)``) in a new module of ``properties/suites/``: every module
there is imported by :func:`load_all`, so ``byzpgd verify`` and ``byzpgd claims`` see them.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
import traceback
from collections.abc import Callable

from ..theory.claims import REGISTRY, get

CHECKS: dict[str, Callable] = {}
REPLAYS: dict[str, Callable] = {}
_LOADED = False


def register_check(claim_id: str):
    def deco(fn):
        if claim_id in CHECKS:
            raise ValueError(f"a check for {claim_id!r} is already registered")
        CHECKS[claim_id] = fn
        return fn
    return deco


def register_replay(claim_id: str):
    """``replay(spec: dict) -> dict`` with at least 'holds' (bool): re-runs one instance."""
    def deco(fn):
        REPLAYS[claim_id] = fn
        return fn
    return deco


def load_all() -> None:
    """Import every suite module (idempotent)."""
    global _LOADED
    if _LOADED:
        return
    from . import suites
    for mod in sorted(pkgutil.iter_modules(suites.__path__), key=lambda m: m.name):
        importlib.import_module(f"{suites.__name__}.{mod.name}")
    _LOADED = True


def claim_ids() -> list[str]:
    load_all()
    return list(REGISTRY)


def header(claim_id: str) -> dict:
    c = get(claim_id)
    return {"id": c.id, "statement": c.statement, "source": c.source, "provenance": c.provenance,
            "kind": c.kind, "formula": c.formula()}


def run_check(claim_id: str, profile: str, seed: int, progress=None) -> dict:
    load_all()
    t0 = time.perf_counter()
    if claim_id not in CHECKS:
        body = {"status": "error", "instances": 0, "nonvacuous_instances": 0, "violations": 0,
                "worst_ratio": None, "empirical_constant": None,
                "error_examples": [{"error": "no check is registered for this claim"}]}
    else:
        try:
            body = CHECKS[claim_id](profile, seed, progress)
        except Exception as exc:  # the harness reports a crashed check, it never crashes
            body = {"status": "error", "instances": 0, "nonvacuous_instances": 0,
                    "violations": 0, "worst_ratio": None, "empirical_constant": None,
                    "error_examples": [{"error": f"{type(exc).__name__}: {exc}",
                                        "traceback": traceback.format_exc(limit=5)}]}
    return {**header(claim_id), **body, "seconds": round(time.perf_counter() - t0, 3)}
