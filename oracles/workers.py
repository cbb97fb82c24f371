"""Byzantine worker simulation (docs/paper.md §1): m workers with n samples each, f = ⌊αm⌋ of them
Byzantine. Honest workers send g_i(w) = (1/n) Σ_j ∇f(w; z_ij) on data drawn once at
construction (so the same data serves every query point, as in the paper), all computed in one
vectorised step by the model; Byzantine workers send whatever an attack
(:mod:`byzpgd.oracles.attacks`) returns.
"""

from __future__ import annotations

import numpy as np

from .statistical import StatisticalModel


class WorkerPool:
    """m workers, ``f`` (or ``alpha``·m, floored) Byzantine, n samples each.

    Attributes: ``model``, ``m``, ``n``, ``f``, ``honest`` (indices), ``byzantine`` (indices).
    Byzantine workers need no data of their own: attacks are omniscient (they see every honest
    gradient, the query point and, through the context, the true gradient).
    """

    def __init__(self, model: StatisticalModel, m: int, n: int, rng: np.random.Generator, *,
                 f: int | None = None, alpha: float | None = None):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if not (isinstance(m, int | np.integer) and m >= 1):
            raise ValueError(f"m must be an integer >= 1, got {m!r}")
        if (f is None) == (alpha is None):
            raise ValueError("pass exactly one of f and alpha")
        if alpha is not None:
            if not (0 <= alpha < 0.5):
                raise ValueError(f"alpha must be in [0, 0.5), got {alpha}")
            f = int(np.floor(alpha * m + 1e-12))
        if not (isinstance(f, int | np.integer) and 0 <= f < m):
            raise ValueError(f"f must be an integer in [0, m), got {f!r}")
        self.model, self.m, self.n, self.f = model, int(m), int(n), int(f)
        self.alpha = self.f / self.m
        self.data = model.sample(self.m - self.f, n, rng)
        self.honest = np.arange(self.f, self.m)
        self.byzantine = np.arange(self.f)

    @property
    def landscape(self):
        return self.model

    def honest_gradients(self, w) -> np.ndarray:
        """(m − f, d): every honest worker's gradient at w, one vectorised step."""
        return self.model.worker_gradients(self.data, w)
