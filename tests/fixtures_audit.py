"""Aggregators for the audit tests (imported by the audit's sandbox process as
``fixtures_audit:NAME`` with ``--path tests``): well-behaved, non-robust and misbehaving ones."""

import time

import numpy as np


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
