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

Containment (:class:`Limits`, docs/audit.md "Sandbox limits"): the process gets a scrubbed
environment (:func:`scrubbed_env`: PATH, locale, PYTHONHASHSEED, PYTHONPATH, numeric thread
settings; HOME and TMPDIR are its own working directory), a fresh temporary working directory
(removed by :meth:`Sandbox.close`), its own session (the whole process group is killed), a
supervisor process as the rule's parent (:func:`_child_entry`, :func:`_supervise`: a signal the
rule sends at its caller is a ``caller_signalled`` finding, the caller is never its parent, the
replies are unpickled with :func:`_safe_loads`), and at
its start, before the target is imported, best effort (what applied is in ``stats['isolation']``):
new network, mount and PID namespaces (no network; every file system read-only except the
working directory; the rule's processes die with the sandbox), a pids cgroup (v1) holding at most
``process_limit`` processes, and ``resource.setrlimit`` limits: address space (``memory``
finding, the process is restarted), file size (``file_size``), processes (RLIMIT_NPROC: not
enforced for root) and CPU time (per call: ``call_timeout`` x CPUs, a backstop to the wall-clock
limit). stdout and stderr go to a file read after every call: more than
:data:`OUTPUT_QUIET_BYTES` in a call is an ``output`` warning (size and first lines); nothing
reaches the caller's terminal. Writing outside the working directory (``filesystem``), processes
left running after a call (``processes``) and files left in the working directory (``files``,
warning) are findings too.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import errno
import inspect
import io
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from . import loader

SEVERITIES = ("error", "warning")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])   # the folder that holds byzpgd/

DEFAULT_MEMORY_LIMIT_MIB = 2048
DEFAULT_FILE_SIZE_LIMIT_MIB = 64
DEFAULT_PROCESS_LIMIT = 32
OUTPUT_QUIET_BYTES = 1024          # a call may print this much without a finding (a debug print)
OUTPUT_HEAD_LINES = 5
ENV_PASSED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LANGUAGE", "TZ", "PYTHONHASHSEED", "PYTHONPATH")
ENV_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_THREAD_VALUE = re.compile(r"[A-Za-z0-9_.]{1,32}")
_PIDS_CGROUP_ROOT = "/sys/fs/cgroup/pids"


@dataclass(frozen=True)
class Limits:
    """Resource limits of the sandbox process. ``memory_mib`` is its address space (RLIMIT_AS;
    0 = no limit), ``file_size_mib`` the largest file it may write (RLIMIT_FSIZE), ``processes``
    how many processes it may run at once (pids cgroup where available, RLIMIT_NPROC above the
    user's current count otherwise; root is exempt from RLIMIT_NPROC)."""

    memory_mib: int = DEFAULT_MEMORY_LIMIT_MIB
    file_size_mib: int = DEFAULT_FILE_SIZE_LIMIT_MIB
    processes: int = DEFAULT_PROCESS_LIMIT

    def __post_init__(self):
        for name, lo in (("memory_mib", 0), ("file_size_mib", 1), ("processes", 2)):
            v = getattr(self, name)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


_LIMITS: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("byzpgd_sandbox_limits", default=None)


@contextlib.contextmanager
def default_limits(limits: Limits):
    """Within the block, a :class:`Sandbox` built without ``limits`` uses these (``byzpgd audit
    --memory-limit`` sets them around :func:`~.run.run_audit`)."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


def scrubbed_env(home: str, environ=None) -> dict[str, str]:
    """The sandbox's environment: only :data:`ENV_PASSED` and (values that look like numbers or
    CPU names) :data:`ENV_THREADS` from ``environ``; HOME and TMPDIR are ``home``; no bytecode
    writing. Nothing else of the caller's environment (tokens, credentials) is passed."""
    environ = os.environ if environ is None else environ
    env = {k: environ[k] for k in ENV_PASSED if environ.get(k)}
    env.update({k: environ[k] for k in ENV_THREADS if _THREAD_VALUE.fullmatch(environ.get(k, ""))})
    env.setdefault("PATH", os.defpath)
    env.update(HOME=home, TMPDIR=home, PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    return env


def describe_exit(code: int | None) -> str:
    """'exit code 3' / 'killed by SIGXCPU (CPU time limit exceeded)' for a sandbox exit status
    (the sandbox re-raises its worker's signal as 128 + signal number)."""
    if code is None:
        return "exit code unknown"
    sig = -code if code < 0 else (code - 128 if 128 < code < 128 + 65 else None)
    if sig is None:
        return f"exit code {code}"
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    if sig == signal.SIGSTOP:      # the namespace's init ends a stopped supervisor and says so
        return "stopped by SIGSTOP (then ended by the sandbox)"
    why = {signal.SIGXCPU: " (CPU time limit exceeded)", signal.SIGXFSZ: " (file size limit exceeded)",
           signal.SIGKILL: " (killed)", signal.SIGSEGV: " (segmentation fault)"}.get(sig, "")
    return f"killed by {name}{why}"


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


_CLONE_NEWNS, _CLONE_NEWNET, _CLONE_NEWPID, _CLONE_NEWUSER = 0x00020000, 0x40000000, 0x20000000, 0x10000000
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_SYS_MOUNT_SETATTR, _AT_FDCWD, _AT_RECURSIVE, _MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _failed(libc_call: str) -> str:
    err = ctypes.get_errno()
    return f"{libc_call} failed: {os.strerror(err)} (errno {err})"


def _read_only_except(libc, cwd: str) -> str:
    """In a new mount namespace: every mount read-only, ``cwd`` (bind-mounted on itself) writable."""
    if libc.unshare(_CLONE_NEWNS) != 0:
        return "writable everywhere the user may write: " + _failed("unshare(CLONE_NEWNS)")
    c_cwd = cwd.encode()
    if libc.mount(b"none", b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None) != 0:
        return "writable everywhere the user may write: " + _failed("mount(MS_PRIVATE)")
    if libc.mount(c_cwd, c_cwd, None, ctypes.c_ulong(_MS_BIND), None) != 0:
        return "writable everywhere the user may write: " + _failed("bind mount of the working directory")
    for path, flags, attr in ((b"/", _AT_RECURSIVE, _MountAttr(_MOUNT_ATTR_RDONLY, 0, 0, 0)),
                              (c_cwd, 0, _MountAttr(0, _MOUNT_ATTR_RDONLY, 0, 0))):
        if libc.syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(_AT_FDCWD), path,
                        ctypes.c_uint(flags), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))) != 0:
            return "writable everywhere the user may write: " + _failed("mount_setattr")
    os.chdir(cwd)    # the cwd was the directory under the bind mount (read-only now): enter the mount
    return "read-only except the working directory (new mount namespace)"


def _enter_user_namespace() -> str | None:  # pragma: no cover (runs in the child)
    """As an ordinary user on Linux, a new user namespace (uid and gid mapped to themselves) in
    which the process may create the other namespaces; its capabilities hold only inside it. Root
    needs none. Self-contained: its source runs first in the sandbox's ``python -c`` (see
    :meth:`Sandbox._spawn`), before numpy starts threads (``unshare(CLONE_NEWUSER)`` refuses a
    threaded process). Returns what applied (None: not Linux)."""
    import ctypes
    import os
    import sys
    if not sys.platform.startswith("linux"):
        return None
    if os.geteuid() == 0:
        return "not needed (root)"
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(0x10000000) != 0:                       # CLONE_NEWUSER
        err = ctypes.get_errno()
        return f"none: unshare(CLONE_NEWUSER) failed: {os.strerror(err)} (errno {err})"
    try:
        maps = (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1"))
        for name, text in maps:
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    except OSError as exc:
        return f"new user namespace, ids not mapped ({exc})"
    return f"new user namespace (uid {uid} and gid {gid} mapped to themselves; capabilities only inside it)"


_USER_NAMESPACE_SOURCE = textwrap.dedent(inspect.getsource(_enter_user_namespace))


def _isolate(cwd: str, user: str | None) -> tuple[dict, bool]:  # pragma: no cover (runs in the child)
    """Namespaces for the sandbox process (best effort); returns (what applied, whether a new PID
    namespace awaits the next fork). As an ordinary user they are made in the new user namespace
    :func:`_enter_user_namespace` made (``user`` says what it did)."""
    if not sys.platform.startswith("linux"):
        why = f"not isolated: namespaces need Linux (platform {sys.platform})"
        return {"network": why, "filesystem": "writable everywhere the user may write: " + why,
                "processes": "process group only: " + why}, False
    libc = ctypes.CDLL(None, use_errno=True)
    info = {"user": user or "none"}
    info["network"] = ("isolated (new network namespace, no interface)" if libc.unshare(_CLONE_NEWNET) == 0
                       else "not isolated: " + _failed("unshare(CLONE_NEWNET)"))
    info["filesystem"] = _read_only_except(libc, cwd)
    pidns = libc.unshare(_CLONE_NEWPID) == 0
    info["processes"] = ("contained (new PID namespace: every process of the rule ends with the sandbox)"
                         if pidns else "process group only: " + _failed("unshare(CLONE_NEWPID)"))
    return info, pidns


def _die_with_parent(parent: int):  # pragma: no cover (runs in the child)
    """SIGKILL this process when its parent (``parent``, a single-threaded process of the sandbox)
    ends; ends at once if it already has (the prctl would come too late)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(128 + signal.SIGKILL)


def _set_dumpable(on: bool):  # pragma: no cover (runs in the child)
    """PR_SET_DUMPABLE: a process that is not dumpable cannot be traced, nor its memory and file
    descriptors opened through /proc, by a process without CAP_SYS_PTRACE (the rule)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, int(on), 0, 0, 0)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _catchable() -> set[int]:
    """The signals the sandbox's own processes block: every one but SIGKILL and SIGSTOP, which
    cannot be (a fault of the process itself, SIGSEGV etc., is delivered even when blocked)."""
    return {int(s) for s in signal.valid_signals()} - {int(signal.SIGKILL), int(signal.SIGSTOP)}


def _init(supervisor: int):  # pragma: no cover (runs in the child)
    """The PID namespace's init (pid 1): reaps orphans; exits with the supervisor's status (a
    signal as 128 + its number). A supervisor stopped by a signal (SIGSTOP from the rule) is
    killed and reported as ended by that signal. When init ends, the kernel ends every process
    of the namespace."""
    stopped = 0
    while True:
        try:
            done, status = os.waitpid(-1, os.WUNTRACED)
        except ChildProcessError:
            os._exit(0)
        if done != supervisor:
            continue
        if os.WIFSTOPPED(status):
            stopped = os.WSTOPSIG(status)
            os.kill(supervisor, signal.SIGKILL)
            continue
        os._exit(128 + stopped if stopped else _exit_code(status))


def _enter_pid_namespace(fd: int):  # pragma: no cover (runs in the child)
    """fork twice: this process waits outside the namespace, the first child is its init
    (:func:`_init`), the second the supervisor (pid 2), which returns. Exit statuses are passed up
    (a signal as 128 + its number)."""
    pid = os.fork()
    if pid:
        os.close(fd)
        os._exit(_exit_code(os.waitpid(pid, 0)[1]))
    _die_with_parent(0)                # a parent outside the namespace has pid 0 in it
    supervisor = os.fork()
    if supervisor:
        os.close(fd)
        _init(supervisor)
    _die_with_parent(1)


def _private_proc() -> str:  # pragma: no cover (runs in the child)
    """A /proc of the sandbox's PID namespace only (the caller's processes and their environment
    become invisible)."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = 0x2 | 0x4 | 0x8   # MS_NOSUID | MS_NODEV | MS_NOEXEC
    if libc.mount(b"proc", b"/proc", b"proc", ctypes.c_ulong(flags), None) != 0:
        return "the caller's processes visible: " + _failed("mount of a private /proc")
    return "private (only the sandbox's processes)"


def _drop_capabilities() -> str:  # pragma: no cover (runs in the child)
    """Drop every capability (bounding set, then effective/permitted/inheritable) and forbid
    regaining any: a root rule can then neither undo the mounts nor raise its rlimits."""
    libc = ctypes.CDLL(None, use_errno=True)
    secure = 0x1 | 0x2 | 0x4 | 0x8   # SECBIT_NOROOT(_LOCKED), SECBIT_NO_SETUID_FIXUP(_LOCKED)
    if libc.prctl(28, secure, 0, 0, 0) != 0:                 # PR_SET_SECUREBITS
        note = " (" + _failed("PR_SET_SECUREBITS") + ")"
    else:
        note = ""
    cap = 0
    while libc.prctl(24, cap, 0, 0, 0) == 0 and cap < 64:    # PR_CAPBSET_DROP until EINVAL
        cap += 1
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)             # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    libc.prctl(38, 1, 0, 0, 0)                                # PR_SET_NO_NEW_PRIVS
    nr = {"x86_64": 126, "aarch64": 91}.get(os.uname().machine)
    if nr is None:
        return f"kept: capset's syscall number is not known on {os.uname().machine}"
    if libc.syscall(ctypes.c_long(nr), header, data) != 0:
        return "kept: " + _failed("capset")
    return "all dropped" + note


def _user_processes() -> int:
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                n += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return n


def _apply_limits(cfg: dict) -> dict:  # pragma: no cover (runs in the child)
    """setrlimit in the worker; returns what was set (or why not)."""
    import resource
    out = {}
    mib = cfg["memory_mib"]
    todo = [("address_space", resource.RLIMIT_AS, mib << 20 if mib else resource.RLIM_INFINITY, f"{mib} MiB"),
            ("file_size", resource.RLIMIT_FSIZE, cfg["file_size_mib"] << 20, f"{cfg['file_size_mib']} MiB")]
    if hasattr(resource, "RLIMIT_NPROC") and os.path.isdir("/proc"):
        n = _user_processes() + cfg["processes"]
        note = " (not enforced: root is exempt)" if os.geteuid() == 0 else ""
        todo.append(("nproc", resource.RLIMIT_NPROC, n, f"{n} processes of this user{note}"))
    for name, res, value, text in todo:
        try:
            resource.setrlimit(res, (value, value))
            out[name] = text if value != resource.RLIM_INFINITY else "no limit"
        except (ValueError, OSError) as exc:
            out[name] = f"not set: {exc}"
    out["cpu_time"] = f"{cfg['cpu_seconds_call']:g} s per call (RLIMIT_CPU, reset before each call)"
    return out


def _cpu_budget(seconds: float):  # pragma: no cover (runs in the child)
    """RLIMIT_CPU soft limit = CPU used so far + ``seconds`` (SIGXCPU beyond it)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(ru.ru_utime + ru.ru_stime + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _classify(exc: BaseException, cfg: dict) -> tuple[str, str] | None:
    """A sandbox limit behind ``exc`` (or its cause/context): (kind, message), else None."""
    desc = _describe_exception(exc)
    for e in (exc, exc.__cause__, exc.__context__):
        if isinstance(e, MemoryError):
            return "memory", (f"exceeded the memory limit of {cfg['memory_mib']} MiB of address space "
                              f"({desc}); the process was restarted")
        if isinstance(e, OSError) and e.errno == errno.EROFS:
            return "filesystem", f"tried to write outside its working directory ({desc})"
        if isinstance(e, OSError) and e.errno == errno.EFBIG:
            return "file_size", f"wrote a file beyond the limit of {cfg['file_size_mib']} MiB ({desc})"
        if isinstance(e, BlockingIOError) and e.errno == errno.EAGAIN:
            return "processes", (f"could not start a process: the limit of {cfg['processes']} processes "
                                 f"was reached ({desc}); the process was restarted")
    return None


def _child_processes() -> int:
    """Children of this process still running (exited ones are reaped first)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    n = 0
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else []:
        with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/children") as fh:
            n += len(fh.read().split())
    return n


def _reply(conn: Connection, msg):
    for stream in (sys.stdout, sys.stderr):   # the parent reads the output after the reply
        with contextlib.suppress(Exception):
            stream.flush()
    conn.send(msg)


MAX_FRAME_BYTES = 256 << 20        # the largest reply of the rule's process the supervisor relays
_SI_USER_CODES = (0, -1, -6)       # si_code of kill, sigqueue, tkill (SI_USER, SI_QUEUE, SI_TKILL)


def _child_entry(fd: int, user: str | None = None, namespaces: bool = True):  # pragma: no cover (child)
    """The sandbox: ``python -c ... _child_entry(fd)`` with a socket ``fd`` to the caller, its stdout
    and stderr a file the caller reads, its cwd a fresh temporary directory, its own session.

    Processes (docs/audit.md "Sandbox limits", Processes): this process makes the namespaces; with
    a new PID namespace it waits outside it for the namespace's init, whose child is the
    supervisor; without one it is the supervisor itself. The supervisor forks the rule's process
    (the worker) and relays the caller's messages to it and its replies back (:func:`_supervise`):
    the rule's parent is the supervisor, never the caller, and the caller's socket is held by the
    supervisor alone. Every process of the sandbox but the worker blocks every catchable signal
    and is not dumpable (the rule can neither trace it nor open its file descriptors)."""
    warnings.simplefilter("ignore")   # overflow etc. under attack is expected; the output is checked
    np.seterr(all="ignore")
    signal.pthread_sigmask(signal.SIG_BLOCK, _catchable())
    if namespaces:
        isolation, pidns = _isolate(os.getcwd(), user)
    else:
        why = "not isolated: namespaces not requested"
        isolation, pidns = {"user": "none", "network": why, "filesystem": "writable everywhere the user may "
                            "write: " + why, "processes": "process group only: " + why}, False
    _set_dumpable(False)              # after the user namespace's id maps (written through /proc/self)
    if pidns:
        _enter_pid_namespace(fd)      # returns in the supervisor, pid 2 of the namespace
        if isolation["filesystem"].startswith("read-only"):
            isolation["proc"] = _private_proc()
    isolation["caller"] = (
        "protected: the rule's parent is a supervisor process of the sandbox, in a session of its own, "
        "that blocks catchable signals; " + ("the caller is outside the rule's PID namespace (it cannot "
                                             "be named, so not signalled)" if pidns else
                                             "without a PID namespace a rule of the same user can still "
                                             "signal the caller by its pid"))
    supervisor = os.getpid()
    mine, theirs = socket.socketpair()
    worker = os.fork()
    if worker == 0:
        mine.close()
        os.close(fd)
        _die_with_parent(supervisor)
        _set_dumpable(True)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        _worker(Connection(theirs.detach()), isolation)
        os._exit(0)
    theirs.close()
    _supervise(Connection(fd), Connection(mine.detach()), worker, pidns)


def _send_note(cli: Connection, note: tuple):  # pragma: no cover (runs in the child)
    with contextlib.suppress(OSError, ValueError):
        cli.send_bytes(b"S" + pickle.dumps(note))


def _signals_from_the_rule(blocked: set[int], pidns: bool) -> list[tuple[int, int]]:  # pragma: no cover
    """Take the pending signals (:func:`signal.sigtimedwait`, which gives the sender's pid);
    returns (signal, sender pid) of those sent by a process of the rule: any sender inside the
    PID namespace (a sender outside it has pid 0 there), else any sender but the caller."""
    found = []
    while (info := signal.sigtimedwait(blocked, 0)) is not None:
        if info.si_code not in _SI_USER_CODES:
            continue                    # sent by the kernel (SIGCHLD of the worker, ...)
        if info.si_pid == 0 or (not pidns and info.si_pid == os.getppid()):
            continue                    # from outside the sandbox
        found.append((info.si_signo, info.si_pid))
    return found


def _supervise(cli: Connection, work: Connection, worker: int, pidns: bool):  # pragma: no cover
    """The supervisor's loop. Frames from the caller go to the worker unchanged; the worker's go
    back prefixed ``W`` (the caller unpickles them with :func:`_safe_loads`); the supervisor's own
    notes are prefixed ``S``: ("signals", [(signal, sender pid), ...]) for catchable signals the
    rule sent to the supervisor (sent before the reply they precede: a signal is pending in the
    receiver when ``kill`` returns, so one sent during a call is noted before that call's reply),
    and ("exit", code, why) when the worker has ended (code 128 + signal for a signal). The caller
    reads a socket closed without an "exit" note as the supervisor's death. When the caller's
    socket closes (the caller ended), everything in the sandbox's process group is killed."""
    from multiprocessing.connection import wait
    blocked = _catchable()
    why = None
    while True:
        ready = wait([cli, work])
        if work in ready:
            try:
                frame = work.recv_bytes(MAX_FRAME_BYTES)
            except OSError:
                frame = None
                why = f"sent a reply larger than {MAX_FRAME_BYTES >> 20} MiB; its process was killed"
                with contextlib.suppress(OSError):
                    os.kill(worker, signal.SIGKILL)
            except EOFError:
                frame = None
            signals = _signals_from_the_rule(blocked, pidns)
            if signals:
                _send_note(cli, ("signals", signals))
            if frame is None:
                code = _exit_code(os.waitpid(worker, 0)[1])
                signals = _signals_from_the_rule(blocked, pidns)
                if signals:
                    _send_note(cli, ("signals", signals))
                _send_note(cli, ("exit", code, why))
                os._exit(code)
            try:
                cli.send_bytes(b"W" + frame)
            except OSError:
                ready = [cli]
        if cli in ready:
            try:
                frame = cli.recv_bytes()
            except (EOFError, OSError):   # the caller ended: end the sandbox
                os.killpg(0, signal.SIGKILL)
                os._exit(128 + signal.SIGKILL)
            with contextlib.suppress(OSError):
                work.send_bytes(frame)    # a worker that has ended is noticed on its side


def _worker(conn: Connection, isolation: dict):  # pragma: no cover (runs in the child)
    """The rule's process: load the target, then answer calls (module docstring)."""
    try:
        _, target, paths, input_kind, m0, f0, cfg = conn.recv()
    except (EOFError, OSError):
        return
    isolation["limits"] = _apply_limits(cfg)
    if sys.platform.startswith("linux"):
        isolation["capabilities"] = _drop_capabilities()
    _cpu_budget(cfg["cpu_seconds_load"])
    try:
        obj = loader.import_target(target, paths)
        loader.build(obj, m0, f0, input_kind)
        _reply(conn, ("ready", loader.describe(obj), isolation))
    except loader.UsageError as exc:
        _reply(conn, ("usage", str(exc)))
        return
    except BaseException as exc:  # the user's module failed while being imported or built
        _reply(conn, ("load_error", _describe_exception(exc)))
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
        _cpu_budget(cfg["cpu_seconds_call"])
        try:
            fn = cache.get((m, f))
            if fn is None:
                fn = cache[(m, f)] = loader.build(obj, m, f, input_kind)
            X = np.frombuffer(buf, dtype=np.float64).reshape(shape)
            X.setflags(write=False)
            arg = loader.to_input(X, input_kind)
        except BaseException as exc:
            _reply(conn, ("error", "exception", "while building the aggregator for m = "
                          f"{m}, f = {f}: {_describe_exception(exc)}"))
            continue
        try:
            out = fn(arg)
        except BaseException as exc:
            limit = _classify(exc, cfg)
            if limit is not None:
                _reply(conn, ("error", *limit))
            elif _is_write_attempt(exc):
                _reply(conn, ("error", "input_mutation", "tried to write into its (read-only) input: "
                              + _describe_exception(exc)))
            else:
                _reply(conn, ("error", "exception", _describe_exception(exc)))
            continue
        running = _child_processes()
        if running:
            _reply(conn, ("error", "processes", f"left {running} process(es) running after the call; "
                          "the sandbox was restarted to end them"))
            continue
        try:
            changed = _input_changed(arg, buf, input_kind)
        except BaseException:
            changed = True
        if changed:
            _reply(conn, ("error", "input_mutation", "modified its input array (its bytes differ after "
                          "the call)"))
            continue
        try:
            _reply(conn, ("ok", loader.to_numpy(out)))
        except BaseException as exc:
            _reply(conn, ("error", "bad_output",
                          f"output is not a numeric array: {_describe_exception(exc)}"))


# ---------------------------------------------------------------------------------------------
# the parent side
# ---------------------------------------------------------------------------------------------
_SAFE_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"),
                           *((f"numpy.{core}.multiarray", name) for core in ("_core", "core")
                             for name in ("_reconstruct", "scalar"))})
_SUPERVISOR = "the sandbox's supervisor (the rule's parent, standing in for the caller)"


# the sandbox's program: the user namespace first (numpy not imported yet), then _child_entry
_CHILD_CODE = (_USER_NAMESPACE_SOURCE + "\nimport sys\nns = sys.argv[3] == '1'\n"
               "user = _enter_user_namespace() if ns else None\nsys.path.insert(0, sys.argv[1])\n"
               "from byzpgd.audit.sandbox import _child_entry\n_child_entry(int(sys.argv[2]), user, ns)\n")
_STOP_CHECK_SECONDS = 0.25          # while waiting, how often the caller looks whether the sandbox is stopped


class _SupervisorStopped(Exception):
    """The sandbox's first process is stopped (without a PID namespace, the supervisor; SIGSTOP)."""


class _UnreadableReply(Exception):
    """A frame from the sandbox that is not a message the caller can safely read."""


class _ReplyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it refers to {module}.{name}")


def _safe_loads(data: bytes):
    """Unpickle a message of the sandbox, allowing numpy arrays and builtin values only: the rule
    can write any bytes to its socket, and a plain ``pickle.loads`` would run code it chose in the
    caller. Raises :class:`_UnreadableReply`."""
    try:
        return _ReplyUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise _UnreadableReply(f"an unreadable reply ({type(exc).__name__}: {str(exc)[:200]})") from None


def _signal_name(signo: int) -> str:
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


def _stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (state T in /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


def _pids_cgroup(pid: int, limit: int) -> str | None:
    """Put ``pid`` in a new cgroup-v1 pids group of at most ``limit`` processes; None where that
    is not possible (no pids hierarchy at :data:`_PIDS_CGROUP_ROOT`, not permitted)."""
    root = _PIDS_CGROUP_ROOT
    if not os.access(os.path.join(root, "cgroup.procs"), os.W_OK):
        return None
    path = os.path.join(root, f"byzpgd-sandbox-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(path)
        for name, value in (("pids.max", limit), ("cgroup.procs", pid)):
            with open(os.path.join(path, name), "w") as fh:
                fh.write(str(value))
        return path
    except OSError:
        with contextlib.suppress(OSError):
            os.rmdir(path)
        return None


def _end_pids_cgroup(path: str):
    """SIGKILL whatever is left in the group (a process that left the session), then remove it."""
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as fh:
                pids = [int(p) for p in fh.read().split()]
        except OSError:
            return
        for p in pids:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.rmdir(path)
            return
        time.sleep(0.02)


class Sandbox:
    """The user aggregator ``target`` (``MODULE:CALLABLE``) behind a process boundary (module
    docstring). Use :meth:`start` (raises :class:`~.loader.UsageError` for a bad target), then
    :meth:`aggregator` (m, f) for a callable X -> (d,), and :meth:`close` (or ``with``).
    ``limits`` defaults to the :func:`default_limits` in effect (2048 MiB, 64 MiB files, 32
    processes)."""

    def __init__(self, target: str, *, paths=(), call_timeout: float = 10.0, load_timeout: float = 120.0,
                 max_timeouts: int = 3, max_crashes: int = 3, input_kind: str = "numpy",
                 log: FindingLog | None = None, setting: tuple[int, int] = (10, 1),
                 limits: Limits | None = None):
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
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        self.limits = limits if limits is not None else (_LIMITS.get() or Limits())
        self._proc = None
        self._conn = None
        self._worker_exit: tuple | None = None   # the supervisor's "exit" note: (code, why)
        self._namespaces = True             # False: none tried (tests of the fallback where they work)
        self._base: str | None = None       # temporary folder: cwd/ (the rule's) and output
        self._out = None                    # the file the process's stdout and stderr go to
        self._cgroup: str | None = None
        self._output: dict | None = None
        self.isolation: dict = {}
        self.stats = {"calls": 0, "failed_calls": 0, "timeouts": 0, "crashes": 0, "starts": 0,
                      "max_call_seconds": 0.0, "memory_errors": 0, "output_bytes": 0,
                      "limits": asdict(self.limits), "isolation": self.isolation}

    # -- process management ------------------------------------------------------------------
    @property
    def cwd(self) -> str | None:
        """The rule's working directory (None before the first start and after close)."""
        return None if self._base is None else os.path.join(self._base, "cwd")

    def _config(self) -> dict:
        cpus = os.cpu_count() or 1
        return {**asdict(self.limits), "cpu_seconds_call": self.call_timeout * cpus + 1,
                "cpu_seconds_load": self.load_timeout * cpus + 1}

    def _spawn(self):
        if self._base is None:
            self._base = tempfile.mkdtemp(prefix="byzpgd-sandbox-")
            os.mkdir(self.cwd)
            self._out = open(os.path.join(self._base, "output"), "ab+")  # noqa: SIM115 (closed in close)
        parent_sock, child_sock = socket.socketpair()
        code = _CHILD_CODE
        try:
            proc = subprocess.Popen([sys.executable, "-c", code, _PACKAGE_ROOT, str(child_sock.fileno()),
                                     "1" if self._namespaces else "0"],
                                    pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL,
                                    stdout=self._out, stderr=subprocess.STDOUT, cwd=self.cwd,
                                    env=scrubbed_env(self.cwd), start_new_session=True, close_fds=True)
        finally:
            child_sock.close()
        self._cgroup = _pids_cgroup(proc.pid, self.limits.processes + 4)  # + the sandbox's own 4
        conn = Connection(parent_sock.detach())
        self.stats["starts"] += 1
        self._proc, self._conn, self._worker_exit = proc, conn, None
        try:
            paths = [*self.paths, *([os.getcwd()] if os.getcwd() not in self.paths else [])]
            conn.send(("init", self.target, paths, self.input_kind, *self.setting, self._config()))
            msg = self._recv(self.load_timeout)
        except (EOFError, OSError):
            kind, why = self._death()
            if kind == "caller_signalled":
                self.log.add(kind, why + " (while the rule was loaded)")
            msg = ("died", f"the process ended while loading ({why})")
        except _UnreadableReply as exc:
            msg = ("died", f"its process sent {exc}")
        except _SupervisorStopped:
            self.log.add("caller_signalled", f"signalled its caller: {_SUPERVISOR} was stopped "
                         "(SIGSTOP) while the rule was loaded")
            msg = ("died", "its supervisor was stopped while loading")
        self._collect_output()
        if not (msg is None or (isinstance(msg, tuple) and msg and msg[0] in ("ready", "usage", "load_error",
                                                                            "died"))):
            msg = ("died", "its process sent a malformed message while loading")
        if msg is None:
            self._kill()
            self._disable("load_timeout", f"importing/constructing {self.target} took more than "
                          f"{self.load_timeout:g} s")
            return False
        if msg[0] == "ready" and len(msg) == 3 and isinstance(msg[2], dict):
            self.description = str(msg[1])
            self.isolation.clear()
            self.isolation.update(msg[2])
            self.isolation["pids_cgroup"] = (
                f"at most {self.limits.processes} processes of the rule (cgroup v1 pids)" if self._cgroup
                else f"not available (no writable cgroup v1 pids hierarchy at {_PIDS_CGROUP_ROOT})")
            return True
        self._kill()
        if msg[0] == "usage":
            raise loader.UsageError(str(msg[1]))
        self._disable("load_error", f"loading {self.target} failed: {msg[1] if len(msg) > 1 else msg}")
        return False

    def _recv(self, timeout: float):
        """The next message of the rule's process within ``timeout`` seconds (None when none came),
        handling the supervisor's notes on the way (:meth:`_note`). Raises EOFError when the
        sandbox's socket closed (:meth:`_death` says why), :class:`_UnreadableReply`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if not self._conn.poll(max(0.0, min(left, _STOP_CHECK_SECONDS))):
                if left <= _STOP_CHECK_SECONDS:
                    return None
                if self._proc is not None and _stopped(self._proc.pid):
                    raise _SupervisorStopped
                continue
            frame = self._conn.recv_bytes(MAX_FRAME_BYTES + 1)
            msg = _safe_loads(frame[1:])
            if frame[:1] == b"W":
                return msg
            self._note(msg)

    def _note(self, note):
        """A note of the supervisor (:func:`_supervise`): signals the rule sent it (each a
        ``caller_signalled`` finding), or how the rule's process ended."""
        if not (isinstance(note, tuple) and note):
            return
        if note[0] == "signals":
            for signo, pid in note[1]:
                self.log.add("caller_signalled",
                             f"sent {_signal_name(signo)} to its caller (from its process, pid {pid} in the "
                             f"sandbox): {_SUPERVISOR} received it (blocked and ignored); a rule must not "
                             "signal the process that calls it")
        elif note[0] == "exit":
            self._worker_exit = (note[1], note[2])

    def _drain_notes(self):
        """Read what is left on the socket of an ended sandbox (the supervisor's last notes)."""
        with contextlib.suppress(EOFError, OSError, _UnreadableReply, ValueError):
            while self._conn is not None and self._conn.poll(0):
                self._recv(0)

    def _death(self) -> tuple[str, str]:
        """(kind, message) for a sandbox whose socket closed: the rule's process ended (the
        supervisor's "exit" note: a ``crash``), or the supervisor itself was ended by a signal
        without a note: ``caller_signalled``. Only a signal ends the supervisor, and only the rule
        has a reason to send one (SIGKILL and SIGSTOP, which the supervisor cannot block; the
        rule's SIGSTOP makes the namespace's init end it)."""
        self._drain_notes()
        if self._worker_exit is not None:
            code, why = self._worker_exit
            return "crash", why or describe_exit(code)
        code = self._exitcode()
        how = describe_exit(code)
        if how.startswith(("killed by", "stopped by")):
            return "caller_signalled", f"signalled its caller: {_SUPERVISOR} was {how}"
        return "crash", f"the sandbox's supervisor ended ({how})"

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
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)   # its session: the sandbox and what it started
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                pass
        if self._cgroup is not None:
            _end_pids_cgroup(self._cgroup)
            self._cgroup = None

    def _collect_output(self):
        """Read and empty the output file; more than OUTPUT_QUIET_BYTES is an ``output`` warning
        (one finding per sandbox, its message and count updated)."""
        if self._out is None:
            return
        fd = self._out.fileno()
        size = os.fstat(fd).st_size
        if size == 0:
            return
        head = os.pread(fd, 4096, 0)
        os.ftruncate(fd, 0)
        self.stats["output_bytes"] += size
        if size <= OUTPUT_QUIET_BYTES:
            return
        o = self._output
        if o is None:
            lines = head.decode("utf-8", "replace").splitlines()[:OUTPUT_HEAD_LINES]
            o = self._output = {"calls": 0, "bytes": 0, "max": 0, "finding": None,
                                "head": " | ".join(line[:120] for line in lines)}
        o["calls"] += 1
        o["bytes"] += size
        o["max"] = max(o["max"], size)
        msg = (f"wrote {o['bytes']} bytes to stdout/stderr in {o['calls']} call(s) (at most {o['max']} in "
               f"one; captured, not shown); first lines: {o['head']!r}")
        if o["finding"] is None:
            o["finding"] = self.log.add("output", msg, "warning")
        else:
            o["finding"].message, o["finding"].count = msg, o["calls"]

    def _clean_up(self):
        """Report files left in the working directory and remove the temporary folder."""
        base, out = self._base, self._out
        self._base = self._out = None
        if out is not None:
            out.close()
        if base is None:
            return
        n = size = 0
        for root, _, files in os.walk(os.path.join(base, "cwd")):
            for name in files:
                n += 1
                with contextlib.suppress(OSError):
                    size += os.lstat(os.path.join(root, name)).st_size
        if n:
            self.log.add("files", f"left {n} file(s) ({size} bytes) in its temporary working directory "
                         "(removed with it)", "warning")
        shutil.rmtree(base, ignore_errors=True)

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
        self._collect_output()
        self._clean_up()

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
            reply = self._recv(self.call_timeout)
            if reply is None:
                self._kill()
                self._collect_output()
                self.stats["timeouts"] += 1
                msg = (f"no answer within the time limit of {self.call_timeout:g} s per call "
                       f"(input shape {X.shape}); the process was killed and restarted")
                if self.stats["timeouts"] >= self.max_timeouts:
                    self.disabled = (f"timeout: {self.stats['timeouts']} calls exceeded "
                                     f"{self.call_timeout:g} s")
                self._fail("timeout", msg)
        except (EOFError, OSError):
            kind, why = self._death()
            self._kill()
            self._collect_output()
            self.stats["crashes"] += 1
            if self.stats["crashes"] >= self.max_crashes:
                self.disabled = f"crash: the process died {self.stats['crashes']} times"
            if kind == "caller_signalled":
                self._fail(kind, f"{why} during a call (input shape {X.shape}); the sandbox was restarted")
            self._fail("crash", f"the aggregator's process died during a call ({why}); restarted")
        except _UnreadableReply as exc:
            self._kill()
            self._collect_output()
            self._fail("bad_output", f"its process sent {exc}; the process was restarted")
        except _SupervisorStopped:
            self._kill()
            self._collect_output()
            self.stats["crashes"] += 1
            if self.stats["crashes"] >= self.max_crashes:
                self.disabled = f"crash: the process died {self.stats['crashes']} times"
            self._fail("caller_signalled", f"signalled its caller: {_SUPERVISOR} was stopped (SIGSTOP) "
                       f"during a call (input shape {X.shape}); the sandbox was restarted")
        finally:
            self.stats["max_call_seconds"] = max(self.stats["max_call_seconds"], time.perf_counter() - t0)
        self._collect_output()
        if not (isinstance(reply, tuple) and ((len(reply) == 2 and reply[0] == "ok")
                                              or (len(reply) == 3 and reply[0] == "error"
                                                  and isinstance(reply[1], str)))):
            self._kill()
            self._fail("bad_output", "its process sent a malformed reply; the process was restarted")
        if reply[0] == "error":
            if reply[1] in ("memory", "processes"):   # its state is spent: restart at the next call
                self._kill()
                if reply[1] == "memory":
                    self.stats["memory_errors"] += 1
                    if self.stats["memory_errors"] >= self.max_crashes:
                        self.disabled = (f"memory: {self.stats['memory_errors']} calls exceeded the "
                                         f"memory limit of {self.limits.memory_mib} MiB")
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
