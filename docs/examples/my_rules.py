"""A user's aggregation rules (the module the CI example audits): a sound coordinate-wise median
that ignores non-finite rows, the plain mean (which any Byzantine worker can move anywhere), a
median with a parameter (audited as an object, sent to the sandbox by pickling) and a trimmed mean
built for each number f of Byzantine workers (audited as a class)."""

import numpy as np


def sound_median(X):
    """Coordinate-wise median of the finite entries (NaN, ±Inf rows are ignored; an all-non-finite
    coordinate gives 0)."""
    X = np.where(np.isfinite(X), X, np.nan)
    return np.nan_to_num(np.nanmedian(X, axis=0))


def plain_mean(X):
    return np.mean(X, axis=0)


class ClippedMedian:
    """An object with a parameter: the sound median of the values clipped to [-clip, clip]."""

    def __init__(self, clip=1e6):
        self.clip = clip

    def aggregate(self, X):
        return sound_median(np.clip(X, -self.clip, self.clip))


class TrimmedMean:
    """Drops the f largest and f smallest values per coordinate; the audit constructs it with the f
    of each setting (a constructor parameter named f)."""

    def __init__(self, f=1):
        self.f = f

    def aggregate(self, X):
        X = np.where(np.isfinite(X), X, 0.0)
        S = np.sort(X, axis=0)
        return S[self.f:X.shape[0] - self.f].mean(axis=0)
