"""A user's aggregation rules (the module the CI example audits): a sound coordinate-wise median
that ignores non-finite rows, and the plain mean, which any Byzantine worker can move anywhere."""

import numpy as np


def sound_median(X):
    """Coordinate-wise median of the finite entries (NaN, ±Inf rows are ignored; an all-non-finite
    coordinate gives 0)."""
    X = np.where(np.isfinite(X), X, np.nan)
    return np.nan_to_num(np.nanmedian(X, axis=0))


def plain_mean(X):
    return np.mean(X, axis=0)


class TrimmedMean:
    """A rule with state: drops the f largest and f smallest values per coordinate."""

    def __init__(self, f=1):
        self.f = f

    def aggregate(self, X):
        X = np.clip(np.nan_to_num(X, nan=0.0), -1e150, 1e150)
        S = np.sort(X, axis=0)
        return S[self.f:X.shape[0] - self.f].mean(axis=0)
