"""Run a user aggregator in a separate process: per-call time limit, read-only input, output
checks; every misbehaviour becomes a :class:`Finding` and the harness keeps going.

One persistent worker process (a fresh ``python -c`` subprocess talking over a socket pair
with ``multiprocessing.connection``: nothing of the parent, not even its ``__main__``, is
re-imported) imports the target once (:mod:`.loader`) and builds one aggregate per setting (m, f). Per call:

- the input travels as bytes and is rebuilt with ``np.frombuffer`` over an immutable ``bytes``
  object, so the array is read-only and cannot be made writable (``setflags(write=True)``
  raises); an attempt to write into it is reported as ``input_mutation``, and so is any change
  of its bytes after the call (compared with the bytes sent; with ``input_kind='torch'`` the
  tensor is a copy and is compared after the call);
- an exception (also ``SystemExit``) is reported as ``exception`` with its type, message and
  the innermost frame of the user's code;
- no answer within ``call_timeout`` seconds: the process is killed (SIGKILL, this process only)
  and restarted at the next call (``timeout``); a process that dies is restarted too
  (``crash``). After ``max_timeouts`` timeouts (or ``max_crashes`` crashes) the sandbox is
  disabled: later calls fail at once (``disabled``), so a hanging rule cannot stall an audit;
- the parent checks the output: a numpy array (torch tensors converted) of shape (d,)
  (``wrong_shape``), of a real numeric dtype (``wrong_dtype``: float64 expected; other real
  dtypes are a warning and cast, complex/object/str an error), finite (``non_finite_output``).

A failed call raises :class:`AggregatorFailure` (the caller counts the Δ of that measurement as
+inf); a non-finite output is returned unless ``strict`` (the battery measures it as an infinite
error, the end-to-end runs refuse it). Findings are deduplicated by kind and message (digits
ignored) with a count and the context (phase, attack, setting) of the first occurrence.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from . import loader

SEVERITIES = ("error", "warning")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])   # the folder that holds byzpgd/


@dataclass
class Finding:
    kind: str
    message: str
    severity: str = "error"
    count: int = 1
    context: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "severity": self.severity,
                "count": self.count, "context": dict(self.context)}


class FindingLog:
    """Deduplicated findings; ``context`` (a dict set by the caller) is attached to the first
    occurrence of each."""

    def __init__(self):
        self._items: dict[tuple, Finding] = {}
        self.context: dict = {}

    def add(self, kind: str, message: str, severity: str = "error") -> Finding:
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
        key = (kind, re.sub(r"\d+", "#", message)[:300])
        if key in self._items:
            self._items[key].count += 1
            return self._items[key]
        item = Finding(kind, message, severity, 1, dict(self.context))
        self._items[key] = item
        return item

    def findings(self) -> list[Finding]:
        return list(self._items.values())

    def errors(self) -> list[Finding]:
        return [f for f in self._items.values() if f.severity == "error"]

    def kinds(self) -> set[str]:
        return {f.kind for f in self._items.values()}


class AggregatorFailure(RuntimeError):
    """A call of the user aggregator failed (the finding is already logged)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message = kind, message


# ---------------------------------------------------------------------------------------------
# the child process
# ---------------------------------------------------------------------------------------------
def _describe_exception(exc: BaseException) -> str:
    """'Type: message (at file:line in function)' with the innermost frame (the user's code)."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    if tb:
        fr = tb[-1]
        where = f" (at {os.path.basename(fr.filename)}:{fr.lineno} in {fr.name})"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg[:300]}{where}"


def _is_write_attempt(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, ValueError) and ("read-only" in text or "WRITEABLE" in text)


def _input_changed(arg, buf: bytes, input_kind: str) -> bool:
    if input_kind == "torch":
        arr = arg.detach().cpu().numpy()
    else:
        arr = arg
    return np.ascontiguousarray(arr, dtype=np.float64).tobytes() != buf


def _child_entry(fd: int):  # pragma: no cover (runs in the child)
    """The sandbox process: ``python -c ... _child_entry(fd)`` with a socket to the parent."""
    os.dup2(2, 1)   # the user's prints must not mix with the command's stdout
    warnings.simplefilter("ignore")   # overflow etc. under attack is expected; the output is checked
    np.seterr(all="ignore")
    conn = Connection(fd)
    try:
        _, target, paths, input_kind, m0, f0 = conn.recv()
    except (EOFError, OSError):
        return
    try:
        obj = loader.import_target(target, paths)
        loader.build(obj, m0, f0, input_kind)
        conn.send(("ready", loader.describe(obj)))
    except loader.UsageError as exc:
        conn.send(("usage", str(exc)))
        return
    except BaseException as exc:  # the user's module failed while being imported or built
        conn.send(("load_error", _describe_exception(exc)))
        return
    cache: dict = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "close":
            return
        _, m, f, shape, buf = msg
        try:
            fn = cache.get((m, f))
            if fn is None:
                fn = cache[(m, f)] = loader.build(obj, m, f, input_kind)
            X = np.frombuffer(buf, dtype=np.float64).reshape(shape)
            X.setflags(write=False)
            arg = loader.to_input(X, input_kind)
        except BaseException as exc:
            conn.send(("error", "exception", "while building the aggregator for m = "
                       f"{m}, f = {f}: {_describe_exception(exc)}"))
            continue
        try:
            out = fn(arg)
        except BaseException as exc:
            if _is_write_attempt(exc):
                conn.send(("error", "input_mutation", "tried to write into its (read-only) input: "
                           + _describe_exception(exc)))
            else:
                conn.send(("error", "exception", _describe_exception(exc)))
            continue
        try:
            changed = _input_changed(arg, buf, input_kind)
        except BaseException:
            changed = True
        if changed:
            conn.send(("error", "input_mutation", "modified its input array (its bytes differ after "
                       "the call)"))
            continue
        try:
            conn.send(("ok", loader.to_numpy(out)))
        except BaseException as exc:
            conn.send(("error", "bad_output", f"output is not a numeric array: {_describe_exception(exc)}"))


# ---------------------------------------------------------------------------------------------
# the parent side
# ---------------------------------------------------------------------------------------------
class Sandbox:
    """The user aggregator ``target`` (``MODULE:CALLABLE``) behind a process boundary (module
    docstring). Use :meth:`start` (raises :class:`~.loader.UsageError` for a bad target), then
    :meth:`aggregator` (m, f) for a callable X -> (d,), and :meth:`close` (or ``with``)."""

    def __init__(self, target: str, *, paths=(), call_timeout: float = 10.0, load_timeout: float = 120.0,
                 max_timeouts: int = 3, max_crashes: int = 3, input_kind: str = "numpy",
                 log: FindingLog | None = None, setting: tuple[int, int] = (10, 1)):
        loader.parse_target(target)
        if not (isinstance(call_timeout, int | float) and call_timeout > 0):
            raise ValueError(f"call_timeout must be > 0 seconds, got {call_timeout!r}")
        if not (isinstance(load_timeout, int | float) and load_timeout > 0):
            raise ValueError(f"load_timeout must be > 0 seconds, got {load_timeout!r}")
        if input_kind not in loader.INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {loader.INPUT_KINDS}, got {input_kind!r}")
        self.target, self.paths = target, [str(p) for p in paths]
        self.call_timeout, self.load_timeout = float(call_timeout), float(load_timeout)
        self.max_timeouts, self.max_crashes = int(max_timeouts), int(max_crashes)
        self.input_kind = input_kind
        self.log = log if log is not None else FindingLog()
        self.setting = (int(setting[0]), int(setting[1]))
        self.description: str | None = None
        self.disabled: str | None = None
        self._proc = None
        self._conn = None
        self.stats = {"calls": 0, "failed_calls": 0, "timeouts": 0, "crashes": 0, "starts": 0,
                      "max_call_seconds": 0.0}

    # -- process management ------------------------------------------------------------------
    def _spawn(self):
        parent_sock, child_sock = socket.socketpair()
        code = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from byzpgd.audit.sandbox import _child_entry; _child_entry(int(sys.argv[2]))")
        try:
            proc = subprocess.Popen([sys.executable, "-c", code, _PACKAGE_ROOT, str(child_sock.fileno())],
                                    pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL,
                                    close_fds=True)
        finally:
            child_sock.close()
        conn = Connection(parent_sock.detach())
        self.stats["starts"] += 1
        self._proc, self._conn = proc, conn
        try:
            conn.send(("init", self.target, self.paths, self.input_kind, *self.setting))
            ready = conn.poll(self.load_timeout)
            msg = conn.recv() if ready else None
        except (EOFError, OSError):
            msg = ("died", f"the process exited with code {self._exitcode()} while loading")
        if msg is None:
            self._kill()
            self._disable("load_timeout", f"importing/constructing {self.target} took more than "
                          f"{self.load_timeout:g} s")
            return False
        if msg[0] == "ready":
            self.description = msg[1]
            return True
        self._kill()
        if msg[0] == "usage":
            raise loader.UsageError(msg[1])
        self._disable("load_error", f"loading {self.target} failed: {msg[1]}")
        return False

    def _exitcode(self):
        if self._proc is None:
            return None
        try:
            return self._proc.wait(1.0)
        except subprocess.TimeoutExpired:
            return None

    def _kill(self):
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.poll() is None:
                proc.kill()          # this child only, by its pid
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                pass

    def _disable(self, kind, message):
        self.log.add(kind, message)
        self.disabled = f"{kind}: {message}"

    def start(self) -> str | None:
        """Start the process and load the target; returns its description, or None when
        loading failed (a finding; the sandbox is then disabled). Raises UsageError."""
        if self._proc is None and self.disabled is None:
            self._spawn()
        return self.description

    def close(self):
        if self._conn is not None:
            try:
                self._conn.send(("close",))
            except (OSError, ValueError):
                pass
        if self._proc is not None:
            try:
                self._proc.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
        self._kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- calls ---------------------------------------------------------------------------------
    def _fail(self, kind, message, severity="error"):
        self.stats["failed_calls"] += 1
        self.log.add(kind, message, severity)
        raise AggregatorFailure(kind, message)

    def call(self, X, f: int, strict: bool = False) -> np.ndarray:
        """aggregate(X) of the user's rule for f Byzantine workers, checked (module docstring)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (m, d), got {X.shape}")
        self.stats["calls"] += 1
        if self.disabled is None and self._proc is None:
            try:
                self._spawn()
            except loader.UsageError as exc:   # cannot happen after a successful start
                self._disable("load_error", str(exc))
        if self.disabled is not None:
            self.stats["failed_calls"] += 1
            self.log.add("disabled", f"calls skipped after: {self.disabled}")
            raise AggregatorFailure("disabled", self.disabled)
        m, d = X.shape
        t0 = time.perf_counter()
        try:
            self._conn.send(("call", m, int(f), X.shape, X.tobytes()))
            if not self._conn.poll(self.call_timeout):
                self._kill()
                self.stats["timeouts"] += 1
                msg = (f"no answer within the time limit of {self.call_timeout:g} s per call "
                       f"(input shape {X.shape}); the process was killed and restarted")
                if self.stats["timeouts"] >= self.max_timeouts:
                    self.disabled = (f"timeout: {self.stats['timeouts']} calls exceeded "
                                     f"{self.call_timeout:g} s")
                self._fail("timeout", msg)
            reply = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = self._exitcode()
            self._kill()
            self.stats["crashes"] += 1
            if self.stats["crashes"] >= self.max_crashes:
                self.disabled = f"crash: the process died {self.stats['crashes']} times"
            self._fail("crash", f"the aggregator's process died during a call (exit code {code}); "
                       "restarted")
        finally:
            self.stats["max_call_seconds"] = max(self.stats["max_call_seconds"], time.perf_counter() - t0)
        if reply[0] == "error":
            self._fail(reply[1], reply[2])
        return self._check_output(reply[1], X.shape, strict)

    def _check_output(self, out, shape, strict):
        d = shape[1]
        if not isinstance(out, np.ndarray):
            self._fail("bad_output", f"returned {type(out).__name__}, not an array")
        if out.dtype.kind not in "fiub":
            self._fail("wrong_dtype", f"returned dtype {out.dtype}, expected a real float64 array")
        if out.shape != (d,):
            self._fail("wrong_shape", f"returned an array of shape {out.shape} for an input of shape "
                       f"{shape}; expected ({d},)")
        if out.dtype != np.float64:
            self.log.add("wrong_dtype", f"returned dtype {out.dtype}, expected float64 (cast to float64)",
                         "warning")
            out = out.astype(np.float64)
        if not np.all(np.isfinite(out)):
            n_nan = int(np.isnan(out).sum())
            n_inf = int(np.isinf(out).sum())
            msg = (f"returned a non-finite output ({n_nan} NaN and {n_inf} infinite of {d} entries) "
                   "on Byzantine input")
            if strict:
                self._fail("non_finite_output", msg)
            self.log.add("non_finite_output", msg)
        return out

    def aggregator(self, m: int, f: int, strict: bool = False) -> SandboxedAggregate:
        return SandboxedAggregate(self, m, f, strict)


class SandboxedAggregate:
    """``aggregate(X) -> (d,)`` for one setting (m workers, f Byzantine), running in the sandbox.
    X may have fewer than m rows (the end-to-end suite aggregates the honest rows alone to size
    the saddle trap's budget)."""

    def __init__(self, sandbox: Sandbox, m: int, f: int, strict: bool = False):
        self.sandbox, self.m, self.f, self.strict = sandbox, int(m), int(f), bool(strict)
        self.__name__ = sandbox.target

    def __call__(self, X) -> np.ndarray:
        return self.sandbox.call(X, self.f, self.strict)
