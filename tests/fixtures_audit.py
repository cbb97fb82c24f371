"""Aggregators for the audit tests (imported by the audit's sandbox process as
``fixtures_audit:NAME`` with ``--path tests``): well-behaved, non-robust and misbehaving ones."""

import os
import sys
import threading
import time

import numpy as np

from byzpgd.algorithms.aggregators import coordinate_median


def median(X):
    """The coordinate-wise median, written by a 'user'."""
    return np.median(X, axis=0)


def plain_mean(X):
    return np.mean(X, axis=0)


def raises(X):
    raise RuntimeError("this aggregator always fails")


def hangs(X):
    time.sleep(3600)
    return X.mean(axis=0)


def mutates(X):
    X.sort(axis=0)              # in place: must be caught
    return X[X.shape[0] // 2]


def wrong_shape(X):
    return np.median(X, axis=0, keepdims=True)


def returns_nan(X):
    return np.full(X.shape[1], np.nan)


def float32_median(X):
    return np.median(X, axis=0).astype(np.float32)


def trimmed(X, f):
    """Receives f because it has a parameter named f."""
    S = np.sort(X, axis=0)
    return S[f:X.shape[0] - f].mean(axis=0)


class TrimmedMean:
    """A class with an aggregate method, constructed with f."""

    def __init__(self, f=0):
        self.f = f

    def aggregate(self, X):
        S = np.sort(X, axis=0)
        return S[self.f:X.shape[0] - self.f].mean(axis=0)


class NeedsArgs:
    def __init__(self, beta):
        self.beta = beta

    def aggregate(self, X):
        return X.mean(axis=0)


NOT_CALLABLE = 3


def unlocks(X):
    X.setflags(write=True)      # not allowed on the audit's read-only input
    X[0, 0] = 0.0
    return X.mean(axis=0)


def prints_and_warns(X):
    print("chatty aggregator")
    return np.median(X, axis=0)


AGGREGATE_OBJECT = TrimmedMean(f=1)


# ---------------------------------------------------------------------------------------------
# hostile rules (tests/test_sandbox_limits.py); each is bounded so that a failing test cannot
# harm the machine either
# ---------------------------------------------------------------------------------------------
_KEPT = []
SECRET_NAME = "BYZPGD_SECRET_TOKEN"
OUTSIDE_FILE = "/tmp/byzpgd-sandbox-escape-test.txt"
FORKS = 100


def leaks_memory(X):
    """Keeps 400 MB more at every call (touched, so really allocated)."""
    _KEPT.append(np.ones(50_000_000))
    return np.median(X, axis=0)


def fork_bomb(X):
    """Forks FORKS children in a loop (each leaves the process group and sleeps), then hangs."""
    for _ in range(FORKS):
        if os.fork() == 0:
            os.setsid()
            time.sleep(60)
            os._exit(0)
    time.sleep(3600)


def forks_and_returns(X):
    """Leaves one sleeping child behind and answers."""
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    return np.median(X, axis=0)


def floods_output(X):
    """About 2 MB per call on stdout (Python) and stderr (the file descriptor itself)."""
    line = "flood " + "x" * 993 + "\n"         # 1000 bytes
    sys.stdout.write(line * 1000)
    os.write(2, line.encode() * 1000)
    return np.median(X, axis=0)


def reads_env(X):
    """1.0 in every entry if the caller's secret is visible (its own environment, or any
    process's /proc/PID/environ), else 0.0."""
    seen = SECRET_NAME in os.environ
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                seen = seen or SECRET_NAME.encode() in fh.read()
        except OSError:
            pass
    return np.full(X.shape[1], float(seen))


def writes_outside(X):
    """Writes OUTSIDE_FILE (an absolute path outside its working directory)."""
    with open(OUTSIDE_FILE, "w") as fh:
        fh.write("escaped")
    return np.median(X, axis=0)


def writes_parent(X):
    """Writes into its working directory's parent."""
    with open(os.path.join(os.pardir, "escaped.txt"), "w") as fh:
        fh.write("escaped")
    return np.median(X, axis=0)


def writes_big_file(X):
    """Writes 2 MiB into its working directory (in 64 KiB pieces)."""
    with open("big.bin", "wb") as fh:
        for _ in range(32):
            fh.write(b"\0" * 65536)
    return np.median(X, axis=0)


def spins_in_background(X):
    """Answers, but leaves a thread burning CPU (between calls too)."""
    def spin():
        while True:
            pass
    threading.Thread(target=spin, daemon=True).start()
    return np.median(X, axis=0)


# ---------------------------------------------------------------------------------------------
# rules of the kinds the graded verdict must judge (issue 12; tests/test_audit_grade.py)
# ---------------------------------------------------------------------------------------------
def one_worker(X):
    """One worker's gradient: the row nearest the coordinate-wise median (robust, but no 1/√m
    averaging: not pass). NaN-safe (the project's median ranks NaN above +Inf; NaN distances are
    skipped), so only its rate is judged."""
    med = coordinate_median(X)
    with np.errstate(invalid="ignore", over="ignore"):
        dist = np.linalg.norm(X - med, axis=1)
    return X[int(np.nanargmin(np.where(np.isfinite(dist), dist, np.nan)))].copy()


def shifted_median(X):
    """The coordinate-wise median shifted by a quarter of the workers' robust spread (1.4826 x the
    median absolute deviation, its median over coordinates) in every coordinate: robust, NaN-safe,
    but biased by an amount that does not shrink with m (not pass)."""
    med = coordinate_median(X)
    with np.errstate(invalid="ignore"):
        spread = 1.4826 * float(np.median(coordinate_median(np.abs(X - med))))
    return med + 0.25 * spread


def middle_half_by_norm(X):
    """The mean of the rows whose norms are in the middle half: not robust coordinate-wise, its
    error under sign flip does not shrink as n grows (not pass)."""
    with np.errstate(invalid="ignore", over="ignore"):
        nrm = np.linalg.norm(X, axis=1)
    order = np.argsort(np.where(np.isnan(nrm), np.inf, nrm), kind="stable")
    m = X.shape[0]
    return X[order[m // 4: m - m // 4]].mean(axis=0)


def nan_median(X):
    """numpy's median: one NaN row makes the output NaN (not pass, unless --assume-finite)."""
    return np.median(X, axis=0)


def biased_median(X):
    """The median shifted by half the workers' typical spread (the median over coordinates of the
    rows' standard deviation) in every coordinate: a bias that does not shrink with m (fail)."""
    spread = float(np.median(np.std(X, axis=0)))
    return np.median(X, axis=0) + 0.5 * spread


def percentile_median(X):
    """The coordinate-wise median written differently: np.percentile at 50 (pass)."""
    return np.percentile(X, 50, axis=0)


def sorted_median(X):
    """The coordinate-wise median by sorting a copy (pass)."""
    S = np.sort(X, axis=0)
    m = S.shape[0]
    return 0.5 * (S[(m - 1) // 2] + S[m // 2])


def finite_mean(X):
    """Drops the rows with a non-finite entry and averages the rest (fails under attack)."""
    keep = np.all(np.isfinite(X), axis=1)
    return X[keep].mean(axis=0) if keep.any() else np.zeros(X.shape[1])
