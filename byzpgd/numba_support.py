"""numba, optional and interruptible: whether the compiled kernels are used
(:func:`numba_available`) and a guard that keeps a Ctrl-C during their compilation
(:func:`signals_deferred`). A neutral helper of the standard library alone, shared by the
compiled kernels of every layer: the row reductions (:mod:`byzpgd.geometry`), the per-trial
products (:mod:`byzpgd.oracles.products`) and the trimmed mean's kernel
(:mod:`byzpgd.algorithms.aggregators.trim_kernel`), so that one environment variable switches
them all and none of them loses an interrupt (docs/ARCHITECTURE.md, layering: the aggregators and
the neutral helpers may import it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading

NO_NUMBA_ENV = "BYZPGD_NO_NUMBA"
"""Set (not empty, not 0) when the process starts: numba is not used, as without it."""


@functools.cache
def numba_available() -> bool:
    """True when numba imports and ``BYZPGD_NO_NUMBA`` is not set (read once per process): the
    compiled kernels (row reductions, per-trial products, the trimmed mean's) are then used,
    otherwise numpy."""
    if os.environ.get(NO_NUMBA_ENV, "").strip() not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def signals_deferred():
    """SIGINT and SIGTERM caught and delivered again on exit, while numba compiles in the main
    thread: LLVM calls back into Python during code generation, and a KeyboardInterrupt raised
    in that callback is printed and dropped ("Exception ignored on calling ctypes callback"), so
    a Ctrl-C in that second was lost and the run went on. Their handlers are restored first, so
    the signal then does what it would have done. In another thread (where Python never raises
    KeyboardInterrupt) nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler not in (signal.SIG_IGN, None):
            previous[sig] = handler
            signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)
