"""Running a user's optimizer once, isolated: a forked child process per run, a wall-clock limit,
exceptions and misbehaviour turned into a typed :class:`Outcome` (never an exception of the
harness).

The parent builds the run (landscape, oracle, start) and forks; the child resolves the target
(a callable inherited through the fork, or ``MODULE:CALLABLE`` imported in the child through
:func:`byzpgd.audit.loader.import_target`, so the user's module never runs in the audit's
process), hands it a :class:`CountingOracle` (the oracle-call counter and the budget live in this
wrapper, outside the user's code) and a private copy of w_0, and sends back the output and the
count over a pipe. The parent waits at most ``time_limit`` seconds, then kills the child (SIGKILL,
this process only): a hang is the finding ``timeout``; a child that dies without answering is
``crash``. Checked after the call: the copy of w_0 unchanged (``mutated_w0``), the output a real
numeric array (``wrong_type``) of shape (d,) (``wrong_shape``), finite (``non_finite_output``).
An exception of the user's code is ``exception`` (type, message, innermost frame); a non-finite
oracle query ends the run as ``diverged``; a call beyond the budget raises
:class:`BudgetExhausted` in the user's code (a :class:`~byzpgd.algorithms.perturbed_gd.StopRun`,
so the project's algorithms stop cleanly) and the run is ``budget``.

Not the aggregator audit's sandbox (audit/sandbox.py: namespaces, rlimits, scrubbed environment):
here the containment is the process boundary and the time limit (docs/audit-optimizer.md).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..algorithms.perturbed_gd import StopRun
from . import loader
from .sandbox import _describe_exception as describe_exception

_FORK = multiprocessing.get_context("fork")


class BudgetExhausted(StopRun):
    """Raised by :class:`CountingOracle` at a query beyond the budget (the run is 'budget')."""

    def __init__(self):
        super().__init__("max_oracle_calls")


class NonFiniteQuery(StopRun):
    """Raised by :class:`CountingOracle` at a query with NaN/Inf coordinates (the run is 'diverged')."""

    def __init__(self):
        super().__init__("nonfinite")


class ProblemView:
    """What an optimizer may know about the problem: ``dim``, the certified constants ``L`` (L_F)
    and ``rho`` (ρ_F), ``f_star`` (inf F) and ``value(w)`` (F(w) exact, as Jin et al.'s PGD
    assumes: the adversary corrupts gradients only). No gradient: gradients come from the oracle."""

    __slots__ = ("dim", "L", "rho", "f_star", "_value")

    def __init__(self, landscape):
        self.dim, self.L, self.rho = int(landscape.dim), float(landscape.L), float(landscape.rho)
        self.f_star = float(landscape.f_star)
        self._value = landscape.value

    def value(self, w) -> float:
        return float(self._value(np.asarray(w, dtype=np.float64)))


class CountingOracle:
    """The oracle a user's optimizer receives: ``oracle(w)`` with w of shape (d,) returns ĝ(w)
    (d,); with ``batchable`` True, w of shape (k, d) returns k answers and counts k calls.
    ``delta`` (Δ), ``landscape`` (a :class:`ProblemView`), ``budget``, ``calls`` (read-only),
    ``notify(event, **data)`` (forwarded to adaptive adversaries, as the project's algorithms do).
    A query of another shape raises ``ValueError``; a non-finite query raises
    :class:`NonFiniteQuery`; a query beyond the budget raises :class:`BudgetExhausted`."""

    def __init__(self, inner, view: ProblemView, delta: float, budget: int):
        self._inner, self._calls, self._budget = inner, 0, int(budget)
        self.landscape, self.delta = view, float(delta)
        self.batchable = bool(getattr(inner, "batchable", False))
        self.exhausted = False
        self.diverged = False

    @property
    def calls(self) -> int:
        return self._calls

    @property
    def budget(self) -> int:
        return self._budget

    def __call__(self, w):
        w = np.array(w, dtype=np.float64)     # a copy: the user's array is never kept
        d = self.landscape.dim
        if not (w.shape == (d,) or (self.batchable and w.ndim == 2 and w.shape[1] == d and w.shape[0] >= 1)):
            raise ValueError(f"oracle query must have shape ({d},)"
                             + (f" or (k, {d})" if self.batchable else "") + f", got {w.shape}")
        k = 1 if w.ndim == 1 else w.shape[0]
        if self._calls + k > self._budget:
            self.exhausted = True
            raise BudgetExhausted()
        if not np.all(np.isfinite(w)):
            self.diverged = True
            raise NonFiniteQuery()
        self._calls += k
        try:
            return np.array(self._inner(w), dtype=np.float64)
        except StopRun as stop:
            if stop.status == "nonfinite":
                self.diverged = True
                raise NonFiniteQuery() from None
            raise

    def notify(self, event, **data):
        notify = getattr(self._inner, "notify", None)
        if notify is not None:
            notify(event, **data)


@dataclass(frozen=True)
class Outcome:
    """One isolated run: ``status`` 'finished' | 'budget' | an error kind (module docstring),
    ``w`` (the checked output, or None), ``calls``, ``message`` (the finding's text), ``seconds``."""

    status: str
    w: np.ndarray | None
    calls: int
    message: str
    seconds: float


def resolve(target, paths=()) -> Callable:
    """The optimizer: ``target`` itself when callable, else ``MODULE:CALLABLE`` imported."""
    if callable(target):
        return target
    obj = loader.import_target(target, paths)
    if not callable(obj):
        raise loader.UsageError(f"{target} is not callable")
    return obj


def _output(out, dim: int) -> tuple[str, np.ndarray | None, str]:
    """Check the user's return value (module docstring): (status, w, message)."""
    out = getattr(out, "w", out)          # an OptimizeResult-like object: its point
    try:
        arr = np.asarray(out)
    except Exception as exc:              # noqa: BLE001 - any conversion failure is a finding
        return "wrong_type", None, f"the output cannot be read as an array: {describe_exception(exc)}"
    if arr.dtype.kind not in "fiu":
        return "wrong_type", None, f"the output must be a real numeric array, got dtype {arr.dtype}"
    if arr.shape != (dim,):
        return "wrong_shape", None, f"the output must have shape ({dim},), got {arr.shape}"
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        return "non_finite_output", None, "the output has NaN or infinite coordinates"
    return "finished", arr, ""


def _child(conn, target, paths, oracle: CountingOracle, w0: np.ndarray, rng, budget: int):  # pragma: no cover
    """Runs in the forked child: resolve, call, check, answer (module docstring)."""
    try:
        fn = resolve(target, paths)
    except BaseException as exc:          # noqa: BLE001 - reported, never raised
        conn.send(("import_error", None, 0, describe_exception(exc)))
        return
    w_user = w0.copy()
    try:
        out = fn(oracle, w_user, rng, budget)
    except BudgetExhausted:
        conn.send(("budget", None, oracle.calls, "a query beyond the budget"))
        return
    except NonFiniteQuery:
        conn.send(("diverged", None, oracle.calls, "the optimizer queried the oracle at a non-finite point"))
        return
    except BaseException as exc:          # noqa: BLE001 - SystemExit and KeyboardInterrupt too
        if oracle.diverged:
            conn.send(("diverged", None, oracle.calls, "non-finite query, then: " + describe_exception(exc)))
        else:
            conn.send(("exception", None, oracle.calls, describe_exception(exc)))
        return
    if not np.array_equal(w_user, w0):
        conn.send(("mutated_w0", None, oracle.calls,
                   "the optimizer wrote into w0 (the start point it was given); copy it first"))
        return
    status, w, msg = _output(out, w0.shape[0])
    if status == "finished" and (oracle.exhausted or oracle.calls >= budget):
        status, msg = "budget", "used the whole budget"
    conn.send((status, w, oracle.calls, msg))


def run_isolated(target, oracle: CountingOracle, w0: np.ndarray, rng: np.random.Generator, budget: int,
                 time_limit: float, paths=()) -> Outcome:
    """One run of ``target(oracle, w0, rng, budget)`` in a forked child (module docstring)."""
    parent, child = _FORK.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = _FORK.Process(target=_child, args=(child, target, tuple(paths), oracle, w0, rng, budget),
                         daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(time_limit):
            try:
                status, w, calls, msg = parent.recv()
            except (EOFError, OSError):
                proc.join(5)
                return Outcome("crash", None, 0, f"the run's process died ({_exit(proc)})",
                               time.perf_counter() - t0)
            proc.join(5)
            return Outcome(status, w, int(calls), msg, time.perf_counter() - t0)
        return Outcome("timeout", None, 0, f"no result within the time limit of {time_limit:g} s "
                       "(the run's process was killed)", time.perf_counter() - t0)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        parent.close()


def _exit(proc) -> str:
    code = proc.exitcode
    return "exit code unknown" if code is None else (f"killed by signal {-code}" if code < 0
                                                      else f"exit code {code}")


def probe_import(target, paths=(), time_limit: float = 60.0) -> tuple[str, str]:
    """Import ``MODULE:CALLABLE`` once in a forked child: ('ok', description), ('usage', message)
    (module or attribute not found: a usage error), ('import_error', message) (the module raised
    while imported), ('timeout', message)."""
    parent, child = _FORK.Pipe(duplex=False)

    def probe(conn):  # pragma: no cover (runs in the child)
        try:
            obj = resolve(target, paths)
            conn.send(("ok", loader.describe(obj)))
        except loader.UsageError as exc:
            conn.send(("usage", str(exc)))
        except BaseException as exc:      # noqa: BLE001
            conn.send(("import_error", describe_exception(exc)))

    proc = _FORK.Process(target=probe, args=(child,), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(time_limit):
            try:
                return parent.recv()
            except (EOFError, OSError):
                proc.join(5)
                return "import_error", f"importing the module ended its process ({_exit(proc)})"
        return "timeout", f"importing the module took longer than {time_limit:g} s"
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        parent.close()
