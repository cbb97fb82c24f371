"""glibc's malloc thresholds for byzpgd's own processes (the command and the workers it starts).

A batch of trials allocates and frees many temporary arrays of a few hundred KiB to tens of MiB
(rows × candidates of the search adversary, a round window). With glibc's defaults an array above
the mmap threshold (128 KiB at first, raised only as such blocks are freed) is mapped afresh and
unmapped when freed, and the top of the heap is given back beyond 128 KiB, so the next array
faults its pages in again: about a fifth of a batch's time went to the kernel, and half of it in
a Dask worker whose nanny set ``MALLOC_TRIM_THRESHOLD_`` (setting any threshold freezes the mmap
threshold at 128 KiB). :func:`tune_malloc` sets the mmap threshold to 32 MiB (glibc's largest on
64-bit) and the trim threshold to 256 MiB, so such arrays are reused from the heap; the freed
memory the process keeps is bounded by the trim threshold.

Measured (``python benchmarks/dask_malloc.py``, 120 ``byzantine_pgd.lambda_min`` instances,
quiet, 2026-12-05): docs/scale-out.md, "Worker memory settings".

Applied by ``byzpgd`` commands (:func:`byzpgd.cli.main`, inherited by the processes they fork),
by the pool workers of :func:`byzpgd.verify` (not the calling process), and through the
environment of the Dask ``LocalCluster`` of ``--workers N`` (:data:`ENVIRONMENT`). Left alone
where the user chose: when ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or
``BYZPGD_NO_MALLOC_TUNING`` is set, or without glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3         # <malloc.h>
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
"""The same settings as environment variables (read by glibc when a process starts)."""
OPT_OUT = "BYZPGD_NO_MALLOC_TUNING"


def user_chose() -> bool:
    """Whether the environment already says how malloc should behave (or opts out)."""
    return any(os.environ.get(k) for k in (*ENVIRONMENT, OPT_OUT))


def tune_malloc() -> bool:
    """Set the thresholds in this process (module docstring); True when they were set."""
    if user_chose():
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):     # not glibc (musl, macOS: no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
