"""Rules whose output depends on where the rows sit (tests/test_audit_positions.py; also auditable
as ``fixtures_positional:NAME`` with ``--path tests``). Each is an ``aggregate(X) -> (d,)`` of the
(m, d) rows; none is permutation-invariant."""

import numpy as np


def last_half_mean(X):
    """The mean of the last ⌈m/2⌉ rows: no robustness at all, safe only while the Byzantine rows
    sit in the first half (the pipeline's order before positions were the adversary's)."""
    X = np.asarray(X, dtype=np.float64)
    return X[X.shape[0] // 2:].mean(axis=0)


def anchored_mean(X):
    """The mean of the rows within the median distance of row 0: a filter that trusts row 0 as
    its anchor. With an honest row 0 the far Byzantine rows are dropped; with a Byzantine row 0
    the filter keeps the Byzantine rows (distance 0) and drops the honest ones furthest from them."""
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        dist = np.linalg.norm(X - X[0], axis=1)
    keep = dist <= np.median(dist)
    return X[keep].mean(axis=0)
