"""byzpgd._malloc: glibc's mmap and trim thresholds for byzpgd's own processes.

Observed through what they change, in a fresh process: temporaries of 256 KiB to 32 MiB
allocated, written and freed (a third of each kept a little longer, as a batch's results are)
fault their pages in far less often with the thresholds set; and through the calls made.
"""

import os
import subprocess
import sys

import pytest

from byzpgd import _malloc

PROBE = """
import resource, sys
import numpy as np
from byzpgd._malloc import tune_malloc
tuned = tune_malloc() if sys.argv[1] == "tune" else False
np.ones(1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rng = np.random.default_rng(0)
keep = []
for _ in range(300):
    n = int(2 ** rng.uniform(15, 22))          # 256 KiB .. 32 MiB of float64
    a = np.empty(n)
    a[:] = 1.0
    b = np.empty(n // 3)
    b[:] = 2.0
    del a
    keep = keep[-2:] + [b]
print(int(tuned), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt (Linux)")


def _faults(mode: str, **env) -> tuple[bool, int]:
    clean = {k: v for k, v in os.environ.items() if k not in (*_malloc.ENVIRONMENT, _malloc.OPT_OUT)}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env={**clean, **env}).stdout.split()
    return bool(int(out[0])), int(out[1])


@linux
def test_the_thresholds_keep_temporaries_in_the_heap():
    tuned, few = _faults("tune")
    untuned, many = _faults("none")
    assert tuned and not untuned
    assert few < 0.6 * many, (few, many)


@linux
def test_a_users_choice_is_left_alone():
    """The opt-out or their own threshold: tune_malloc sets nothing (the opt-out's page faults
    are glibc's defaults')."""
    _, few = _faults("tune")
    opted_out, faults = _faults("tune", BYZPGD_NO_MALLOC_TUNING="1")
    assert not opted_out and faults > few / 0.6, (faults, few)
    assert _faults("tune", MALLOC_TRIM_THRESHOLD_="1048576")[0] is False


class _FakeLibc:
    def __init__(self):
        self.calls = []
        outer = self

        class _Mallopt:
            argtypes = restype = None

            def __call__(self, param, value):
                outer.calls.append((param, value))
                return 1
        self.mallopt = _Mallopt()


def test_tune_malloc_sets_both_thresholds(monkeypatch):
    """mallopt(M_MMAP_THRESHOLD, 32 MiB) and mallopt(M_TRIM_THRESHOLD, 256 MiB), the <malloc.h>
    codes; nothing without mallopt (not glibc)."""
    for k in (*_malloc.ENVIRONMENT, _malloc.OPT_OUT):
        monkeypatch.delenv(k, raising=False)
    libc = _FakeLibc()
    monkeypatch.setattr(_malloc.ctypes, "CDLL", lambda name: libc)
    assert _malloc.tune_malloc() is True
    assert libc.calls == [(-3, 32 * 1024 * 1024), (-1, 256 * 1024 * 1024)]
    assert _malloc.ENVIRONMENT == {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
                                   "MALLOC_TRIM_THRESHOLD_": str(256 * 1024 * 1024)}
    monkeypatch.setattr(_malloc.ctypes, "CDLL", lambda name: object())    # no mallopt
    assert _malloc.tune_malloc() is False
