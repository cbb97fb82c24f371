"""The one log-log fit: y ≈ C·x^s by least squares on (log x, log y), for rate claims and the
audit's rate sweeps (docs/ARCHITECTURE.md, "How claims are checked", Rates and constructions:
order-of-magnitude claims are checked on fitted slopes)."""

from __future__ import annotations

import numpy as np


def loglog_fit(x, y) -> tuple[float, float] | None:
    """(slope s, constant C) of the least-squares fit of log y = s·log x + log C over the points
    with finite y > 0 and x > 0; None with fewer than two such points at distinct x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2 or np.unique(x[ok]).size < 2:
        return None
    lx, ly = np.log(x[ok]), np.log(y[ok])
    A = np.vstack([lx, np.ones_like(lx)]).T
    (s, c), *_ = np.linalg.lstsq(A, ly, rcond=None)
    return float(s), float(np.exp(c))
