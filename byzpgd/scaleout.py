"""Command-line scale-out: ``--scheduler ADDRESS`` / ``--workers N`` and the executor they select.

Every command that runs many instances (``verify``, ``calibrate``, ``faults``, ``audit``) takes

- ``--scheduler tcp://HOST:PORT``: send the work as Dask tasks to an existing ``distributed``
  cluster (``dask scheduler`` and ``dask worker`` processes started by the user);
- ``--workers N``: start a Dask ``LocalCluster`` of N single-threaded worker processes here;
- neither: the local process pool (``--jobs``) or, with one job, this process, as before.

:func:`add_arguments` adds the two (mutually exclusive) options to a parser; the context manager
:func:`executor_from_args` yields the executor they select: an object with ``map(fn, items)``
(results in order, the Executor protocol of :mod:`byzpgd.experiments.loop` that
``run_instances`` uses) and ``as_completed(fn, items)`` (``(index, result)`` pairs as tasks
finish; one task per item). The results do not depend on the executor (see
:mod:`byzpgd.experiments.executors`: every instance is seeded by its own spec and results are
merged by position). Dask is optional: without it, either option is a usage error saying
``pip install 'byzpgd[dask]'``. docs/scale-out.md has the commands for a cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import ipaddress
import os
import re
import signal

from .experiments.executors import INSTALL_HINT, ClusterError, ClusterSpec, DaskExecutor, DaskUnavailable
from .experiments.loop import ProcessExecutor, SerialExecutor

SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
ScaleOutError = ClusterError   # what a command catches: print it, exit with its ``exit_code``

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def dask_installed() -> bool:
    return importlib.util.find_spec("distributed") is not None


def _require_dask(option: str) -> None:
    if not dask_installed():
        raise argparse.ArgumentTypeError(f"{option} needs Dask, which is not installed: {INSTALL_HINT}")


def parse_address(text: str) -> str:
    """A scheduler address ``[SCHEME://]HOST:PORT`` normalised to ``SCHEME://HOST:PORT`` (scheme
    tcp when omitted; SCHEME one of SCHEMES; HOST a hostname, an IPv4 address or a bracketed IPv6
    address; PORT 1..65535). ValueError saying what is wrong otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty address; expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r} in {text!r}; expected one of "
                         f"{', '.join(s + '://' for s in SCHEMES)}")
    host, colon, port = rest.rpartition(":")
    if not colon or not host:
        raise ValueError(f"no port in {text!r}; expected {scheme}://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port!r} in {text!r} is not an integer in 1..65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{host!r} in {text!r} is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"IPv6 host in {text!r} must be in brackets: {scheme}://[{host}]:{port}")
    elif not _HOSTNAME.match(host):
        raise ValueError(f"{host!r} in {text!r} is not a hostname or IP address")
    return f"{scheme}://{host}:{int(port)}"


def _scheduler_arg(text: str) -> str:
    _require_dask("--scheduler")
    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _workers_arg(text: str) -> int:
    _require_dask("--workers")
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {n}")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--scheduler ADDRESS`` and ``--workers N`` (mutually exclusive) to ``parser``
    (defaults None: the local pool). Bad values and a missing Dask are argparse usage errors."""
    group = parser.add_argument_group(
        "scale-out", "Dask (optional: pip install 'byzpgd[dask]'); see docs/scale-out.md")
    g = group.add_mutually_exclusive_group()
    g.add_argument("--scheduler", type=_scheduler_arg, default=None, metavar="ADDRESS",
                   help="send the instances as Dask tasks to the running scheduler at ADDRESS "
                        "(tcp://HOST:PORT); same results as a local run")
    g.add_argument("--workers", type=_workers_arg, default=None, metavar="N",
                   help="start a local Dask cluster of N single-threaded worker processes and run "
                        "on it (default: the local process pool)")


def uses_dask(ns: argparse.Namespace) -> bool:
    """Whether ``ns`` asks for Dask (``--scheduler`` or ``--workers``)."""
    return getattr(ns, "scheduler", None) is not None or getattr(ns, "workers", None) is not None


@contextlib.contextmanager
def executor_from_args(ns: argparse.Namespace, default_jobs: int = 1, *, chunksize: int | None = None):
    """The executor the options of ``ns`` select (module docstring): a
    :class:`~byzpgd.experiments.executors.DaskExecutor` for ``--scheduler`` / ``--workers``
    (the LocalCluster is closed on exit), else ``ns.jobs`` (default ``default_jobs``) local
    processes, or this process for one job. Raises :class:`ScaleOutError` (``exit_code`` 2) when
    the cluster cannot be used; the executor raises it (``exit_code`` 1) when the cluster loses a
    task for good during the run."""
    from .experiments.executors import dask_client

    scheduler, workers = getattr(ns, "scheduler", None), getattr(ns, "workers", None)
    if not uses_dask(ns):
        jobs = getattr(ns, "jobs", None) or default_jobs
        yield SerialExecutor() if int(jobs) == 1 else ProcessExecutor(int(jobs))
        return
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(dask_client(ClusterSpec(scheduler=scheduler, workers=workers)))
        except (DaskUnavailable, ValueError) as exc:
            raise ScaleOutError(str(exc)) from None
        try:
            yield DaskExecutor(client, chunksize=chunksize)
        except KeyboardInterrupt:   # Ctrl-C, or SIGTERM/SIGHUP (byzpgd.stopping.Terminated)
            if workers is not None:
                _interrupt_local_workers(client)
            raise


def _interrupt_local_workers(client) -> None:
    """Send SIGINT to the worker processes of the LocalCluster this command started, as a Ctrl-C
    at the terminal does (it reaches the whole process group): they stop their running tasks at
    once, and the cluster then closes without waiting for them (a SIGTERM or SIGHUP reaches this
    process only; closing a cluster whose workers are busy made them log heartbeat tracebacks)."""
    for nanny in list((getattr(client.cluster, "workers", None) or {}).values()):
        pid = getattr(nanny, "pid", None)
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)


def describe(executor) -> str:
    """'this process', 'N local processes' or the Dask cluster, for a progress line."""
    if isinstance(executor, DaskExecutor):
        from .experiments.executors import describe as describe_client
        return describe_client(executor.client)
    if isinstance(executor, ProcessExecutor):
        return f"{executor.jobs} local process(es)"
    return "this process"
