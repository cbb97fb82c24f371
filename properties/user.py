"""User-declared claims: a claim about one's own algorithm, declared in one file and checked with
the same statistics, early decisions, reports and replay commands as the built-in claims.

A user claim is a :class:`~byzpgd.theory.claims.base.Claim` (the statement, its bound
``C·shape + offset`` as SymPy in the symbols the user chooses, its hypotheses) and three
callables, registered together by :func:`register_user_claim`:

- ``sample(src) -> spec``: one instance as a JSON-able dict, every random choice drawn from
  ``src`` (:class:`~byzpgd.properties.strategies.NumpySource`: ``uniform``, ``log_uniform``,
  ``integer``, ``seed``), so instance i of seed s is the same on every machine;
- ``run(spec) -> Measurement``: runs the user's algorithm on the instance and returns the
  observed quantity with the *values* of the bound's symbols at the instance. The harness, not
  the run, computes the bound from the claim at those values;
- ``group(spec) -> str`` (optional): the groups a probabilistic claim is tested in (e.g. one per
  adversary), each tested and pooled as the built-in claims are (:func:`~.checks.verdict`).

Deterministic claims hold on an instance when observed <= bound·(1 + ROUNDING_RTOL); a
probabilistic claim's per-instance event is the same inequality and its failure probability
must be a number (the δ of "with probability >= 1 − δ"), tested by the exact binomial tests of
:func:`~.checks.verdict`. The checks and runs are the built-in ones', so ``verify``, reports,
early decisions, ``byzpgd replay``, the pytest plugin and the Dask executor treat a user claim
like any other, once the file that declares it is loaded (:func:`load_claims_from`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import math
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import sympy as sp

from ..experiments.budget import INSTANCE_SECONDS
from ..experiments.loop import run_instances, split
from ..jsonsafe import spec_json
from ..seeding import instance_rng
from ..theory.claims import DEFINED_IN, REGISTRY, Claim, register
from .checks import Observation, verdict
from .early import stop_rule
from .registry import CHECKS, REPLAYS, register_check, register_replay
from .result import ROUNDING_RTOL, ClaimResult
from .strategies import NumpySource

USER_KINDS = ("deterministic", "probabilistic")
DEFAULT_EXAMPLES = {"quick": 20, "ci": 60, "deep": 600}


class InstanceTimeout(Exception):
    """A user claim's ``run`` exceeded its wall-clock limit (an instance error, never a verdict)."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`InstanceTimeout` in the block after ``seconds`` of wall-clock time (a SIGALRM
    timer: in the main thread of a process, where ``byzpgd verify`` and its pool workers run the
    checks; elsewhere, e.g. a Dask worker's thread, no limit is set and the verify's own
    ``--max-seconds`` remains the guard)."""
    usable = (seconds is not None and threading.current_thread() is threading.main_thread()
              and hasattr(signal, "setitimer"))
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise InstanceTimeout(f"the run exceeded its wall-clock limit of {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Measurement:
    """What a user claim's ``run`` returns for one instance: the observed quantity, the values of
    the bound's free symbols at the instance (by symbol name), whether the instance satisfies the
    claim's hypotheses (else it is counted apart, with ``note``), and whether it is vacuous (it
    could not have violated the bound, e.g. the start already satisfies it)."""

    observed: float
    values: dict[str, float]
    in_hypotheses: bool = True
    vacuous: bool = False
    note: str = ""


@dataclass(frozen=True)
class UserClaim:
    """A registered user claim: the statement and its sampler, run and grouping."""

    claim: Claim
    sample: Callable[[NumpySource], dict]
    run: Callable[[dict], Measurement]
    group: Callable[[dict], str] | None = None
    examples: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_EXAMPLES))
    origin: str = ""          # the file or module that declared it
    seconds: float = INSTANCE_SECONDS   # wall-clock limit of one run (a run past it: an error)

    def specs(self, profile: str, seed: int, n: int | None = None) -> list[dict]:
        count = n if n is not None else self.examples[profile]
        return [self.sample(NumpySource(instance_rng(seed, self.claim.id, i))) for i in range(count)]

    def failure_probability(self) -> float:
        if self.claim.kind != "probabilistic":
            return 0.0
        return float(self.claim.failure_probability)

    def group_of(self, spec: dict) -> str:
        return "all" if self.group is None else str(self.group(spec))

    def observe(self, spec: dict, m: Measurement) -> Observation:
        """The bound from the claim at the measurement's values (never from the run), and the
        per-instance verdict observed <= bound·(1 + ROUNDING_RTOL)."""
        if not isinstance(m, Measurement):
            raise TypeError(f"run() of {self.claim.id} returned {type(m).__name__}, not a Measurement")
        observed = float(m.observed)
        bound = self.claim.bound(m.values)
        holds = math.isfinite(observed) and observed <= bound * (1 + ROUNDING_RTOL)
        note = m.note or ("" if holds else f"observed {observed:.6g} > bound {bound:.6g}")
        return Observation(observed, bound, observed / bound if bound > 0 else math.inf, bool(holds),
                           bool(m.vacuous), bool(m.in_hypotheses),
                           self.claim.empirical_constant(observed, m.values), spec, note)

    def instance(self, spec: dict) -> Observation:
        """One instance: the user's run, observed (a run that raises, exceeds ``seconds`` or
        returns anything but a :class:`Measurement` is an instance error, reported with its
        message: the claim's status is then 'error', never a verdict)."""
        with time_limit(self.seconds):
            measurement = self.run(spec)
        return self.observe(spec, measurement)

    def check(self, profile: str, seed: int, progress=None, *, executor=None,
              n: int | None = None) -> ClaimResult:
        t0 = time.perf_counter()
        specs = self.specs(profile, seed, n)
        rule = stop_rule(self.claim.kind, specs, self.group_of, self.failure_probability())
        results = run_instances(specs, self.instance, executor, progress, stop=rule)
        observations, errors = split(results)
        details = {"declared_in": self.origin, **(rule.details() if rule is not None else {})}
        result = verdict(self.claim, observations, errors, self.failure_probability(),
                         group_of=self.group_of, details=details)
        return self._with_source(result).with_seconds(time.perf_counter() - t0)

    def _with_source(self, result: ClaimResult) -> ClaimResult:
        """The replay command loads the file that declares the claim."""
        if not result.replay or not self.origin:
            return result
        suffix = f" --claims-from {shlex.quote(self.origin)}"
        wv = result.worst_violation
        return replace(result, replay=result.replay + suffix,
                       worst_violation=None if wv is None else replace(wv, replay=wv.replay + suffix))

    def replay(self, spec: dict) -> dict:
        obs = self.instance(spec)
        return {"holds": obs.holds, "observed": obs.observed, "bound": obs.bound,
                "in_hypotheses": obs.in_hypotheses, "vacuous": obs.vacuous, "note": obs.note,
                "spec": spec_json(spec)}


USER_CLAIMS: dict[str, UserClaim] = {}


def _validate(claim: Claim, examples: dict[str, int]) -> None:
    if not isinstance(claim, Claim):
        raise TypeError(f"claim must be a byzpgd.claims.Claim, got {type(claim).__name__}")
    if claim.kind not in USER_KINDS:
        raise ValueError(f"a user claim's kind must be one of {USER_KINDS}, got {claim.kind!r}")
    if claim.kind == "probabilistic":
        fp = claim.failure_probability
        if fp is None or not sp.sympify(fp).is_number or not 0 < float(fp) < 1:
            raise ValueError(f"{claim.id}: a probabilistic claim needs failure_probability, a number "
                             f"in (0, 1) (the δ of 'with probability >= 1 − δ'), got {fp!r}")
    missing = {"quick", "ci", "deep"} - set(examples)
    if missing or any(int(v) < 1 for v in examples.values()):
        raise ValueError(f"{claim.id}: examples must give a count >= 1 for quick, ci and deep, "
                         f"got {examples!r}")


def register_user_claim(claim: Claim, *, sample: Callable, run: Callable, group: Callable | None = None,
                        examples: dict[str, int] | None = None, origin: str = "",
                        seconds: float = INSTANCE_SECONDS) -> UserClaim:
    """Register ``claim`` with its check and replay (module docstring). ``sample`` and ``run``
    must be module-level functions (the instances may run in worker processes). Registering
    the same claim twice from the same origin is a no-op; any other clash of ids is an error."""
    examples = dict(DEFAULT_EXAMPLES if examples is None else examples)
    _validate(claim, examples)
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{claim.id}: seconds (the wall-clock limit of one run) must be a finite "
                         f"number > 0, got {seconds!r}")
    known = USER_CLAIMS.get(claim.id)
    if known is not None and known.origin == origin and known.claim == claim:
        return known
    if claim.id in REGISTRY or claim.id in CHECKS:
        raise ValueError(f"claim id {claim.id!r} is already registered (ids must be unique; "
                         "prefix yours, e.g. 'mylab.' + name)")
    user = UserClaim(claim, sample, run, group, examples, origin, float(seconds))
    register(claim)
    if origin:
        DEFINED_IN[claim.id] = origin
    register_check(claim.id)(user.check)
    register_replay(claim.id)(user.replay)
    USER_CLAIMS[claim.id] = user
    return user


_CURRENT_ORIGIN: list[str] = []


def current_origin() -> str:
    """The file or module being loaded by :func:`load_claims_from` ('' outside it)."""
    return _CURRENT_ORIGIN[-1] if _CURRENT_ORIGIN else ""


def load_claims_from(source: str) -> list[str]:
    """Import the file (a path ending in .py) or module (dotted name) that declares user claims
    and return the ids it registered. Loading the same source twice is a no-op. A file is
    imported under a module name derived from its absolute path, so its functions pickle for
    worker processes that load the same source first."""
    from .registry import load_all

    load_all()      # the built-in claims first: a user id that clashes with one is an error
    before = set(REGISTRY)
    path = Path(source)
    if source.endswith(".py") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"no claim file {source!r}")
        resolved = str(path.resolve())
        name = "byzpgd_user_claims_" + hashlib.sha1(resolved.encode()).hexdigest()[:12]
        if name in sys.modules:
            return [cid for cid, u in USER_CLAIMS.items() if u.origin == resolved]
        spec = importlib.util.spec_from_file_location(name, resolved)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        _CURRENT_ORIGIN.append(resolved)
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        finally:
            _CURRENT_ORIGIN.pop()
        origin = resolved
    else:
        _CURRENT_ORIGIN.append(source)
        try:
            importlib.import_module(source)
        finally:
            _CURRENT_ORIGIN.pop()
        origin = source
    new = [cid for cid in REGISTRY if cid not in before]
    return new or [cid for cid, u in USER_CLAIMS.items() if u.origin == origin]


def unregister(claim_id: str) -> None:
    """Remove a user claim (tests; a built-in claim cannot be removed)."""
    if claim_id not in USER_CLAIMS:
        raise KeyError(f"{claim_id!r} is not a user claim")
    del USER_CLAIMS[claim_id]
    REGISTRY.pop(claim_id, None)
    DEFINED_IN.pop(claim_id, None)
    CHECKS.pop(claim_id, None)
    REPLAYS.pop(claim_id, None)
