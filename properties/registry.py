"""The registry of claim checks, filled by the modules of :mod:`byzpgd.properties.suites`.

A *check* is a function ``check(profile: str, seed: int, progress) -> ClaimResult`` (see
:mod:`byzpgd.properties.result`); ``progress(done, total)`` may be None. :func:`run_check` runs
it with its wall-clock time and never crashes: a check that raises, or returns anything but a
:class:`ClaimResult`, becomes an 'error' result saying so (an interrupt is passed on, also one
that compiled code wrapped in another exception).

A *replay* is a function ``replay(spec: dict) -> dict`` re-running one instance; the dict is
what ``byzpgd replay`` prints and has at least ``holds`` (bool).

To add claims, register them (``theory.claims.register``) and their checks
(``@register_check(claim_id)``) in a new module of ``properties/suites/``: every module
there is imported by :func:`load_all`, so ``byzpgd verify`` and ``byzpgd claims`` see them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import time
import traceback
from collections.abc import Callable

from ..theory.claims import REGISTRY, get
from .result import ClaimResult

CHECKS: dict[str, Callable] = {}
REPLAYS: dict[str, Callable] = {}
SHARES_POOL: set[str] = set()
"""Claims whose check spreads its instances over a worker pool it is handed
(:func:`byzpgd.properties.runner.shared_pool`): ``byzpgd verify`` runs their checks in its own
process and their instances as chunks on its workers, beside the other claims."""
_LOADED = False


def register_check(claim_id: str, *, shares_pool: bool = False):
    """Register ``check(profile, seed, progress)`` for ``claim_id``; ``shares_pool``: the check
    runs its instances through :func:`byzpgd.properties.runner.shared_pool` when one is set
    (:data:`SHARES_POOL`)."""
    def deco(fn):
        if claim_id in CHECKS:
            raise ValueError(f"a check for {claim_id!r} is already registered")
        CHECKS[claim_id] = fn
        if shares_pool:
            SHARES_POOL.add(claim_id)
        return fn
    return deco


def shares_pool(claim_id: str) -> bool:
    """Whether ``claim_id``'s check spreads its instances over a shared pool (:data:`SHARES_POOL`)."""
    load_all()
    return claim_id in SHARES_POOL


def register_claim(claim_id: str, check, replay=None, *, shares_pool: bool = False) -> None:
    """Register ``check(claim_id, profile, seed, progress=...)`` (and ``replay(claim_id, spec)``)
    for ``claim_id``: the usual pairing of one suite function with several claims."""
    register_check(claim_id, shares_pool=shares_pool)(functools.partial(_bound_check, check, claim_id))
    if replay is not None:
        register_replay(claim_id)(functools.partial(replay, claim_id))


def _bound_check(check, claim_id, profile, seed, progress=None):
    return check(claim_id, profile, seed, progress=progress)


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


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt an exception was raised from, if any: an interrupt that lands in
    compiled code (numba's dispatcher) comes back wrapped, as a SystemError whose cause it is."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def run_check(claim_id: str, profile: str, seed: int, progress=None) -> ClaimResult:
    """Run the registered check of ``claim_id``; a check that raises or returns anything but a
    :class:`ClaimResult` becomes an 'error' result (the harness reports a crashed check, it never
    crashes)."""
    load_all()
    t0 = time.perf_counter()
    claim = get(claim_id)
    if claim_id not in CHECKS:
        result = ClaimResult.crashed(claim, "no check is registered for this claim")
    else:
        try:
            result = CHECKS[claim_id](profile, seed, progress)
            if not isinstance(result, ClaimResult):
                result = ClaimResult.crashed(
                    claim, f"the check returned {type(result).__name__}, not a ClaimResult")
        except Exception as exc:
            if (interrupt := _interrupt_behind(exc)) is not None:
                raise interrupt from exc          # Ctrl-C (or SIGTERM/SIGHUP) is no claim error
            result = ClaimResult.crashed(claim, f"{type(exc).__name__}: {exc}",
                                         traceback.format_exc(limit=5))
    return result.with_seconds(time.perf_counter() - t0)
