"""Workers → attack → aggregator as a gradient oracle, with its empirical Δ measured, never
assumed (DESIGN: "the pipeline is itself an oracle; its measured sup error over the visited
points (plus random probes) is its empirical Δ").

The oracle answers ĝ(w) = GradAGG(honest gradients at w ∪ Byzantine rows from the attack) and
records ‖ĝ(w) − ∇F(w)‖ at every query. :meth:`ByzantineOracle.probe` adds the errors at random
points of W (uniform in the ball of radius ``landscape.domain_radius`` around ``centre``);
:meth:`ByzantineOracle.empirical_delta` is the sup over both. ``delta`` (the Δ the algorithm is
told) is set by the caller, typically to a probe estimate; ``visited_max`` tells whether the
run stayed within it. The aggregator is a callable ``aggregate(X) -> (d,)`` (the oracles import no
aggregator: the experiments and the audit build it, e.g. with
:func:`byzpgd.algorithms.aggregators.make`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from byzpgd.geometry import uniform_ball

from .attacks import Attack, AttackContext, make_attack
from .workers import WorkerPool


class ByzantineOracle:
    batchable = False  # attacks may be adaptive (they see the query points)

    def __init__(self, pool: WorkerPool, attack: Attack | str | None, aggregator: Callable,
                 rng: np.random.Generator, delta: float = 0.0):
        if not callable(aggregator):
            raise TypeError(f"aggregator must be a callable aggregate(X) -> (d,), got {aggregator!r}")
        self.pool = pool
        self.landscape = pool.model
        self.attack = make_attack(attack) if isinstance(attack, str) else attack
        self.aggregate = aggregator
        self.rng = rng
        self.delta = float(delta)
        self.visited_max = 0.0
        self.probe_max = 0.0
        self.calls = 0
        self.max_query_norm = 0.0

    def gradient(self, w) -> np.ndarray:
        """ĝ(w) without recording (used by probes too)."""
        w = np.asarray(w, dtype=np.float64)
        honest = self.pool.honest_gradients(w)
        if self.pool.f and self.attack is not None:
            ctx = AttackContext(f=self.pool.f, m=self.pool.m, aggregate=self.aggregate,
                                true_grad=self.landscape.grad(w), rng=self.rng)
            byz = np.asarray(self.attack(honest, w, ctx), dtype=np.float64)
            X = np.concatenate([byz, honest])
        else:
            X = honest
        return np.asarray(self.aggregate(X), dtype=np.float64)

    def error(self, w) -> float:
        e = float(np.linalg.norm(self.gradient(w) - self.landscape.grad(w)))
        return e if np.isfinite(e) else np.inf

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        g = self.gradient(w)
        self.calls += 1
        e = float(np.linalg.norm(g - self.landscape.grad(w)))
        self.visited_max = max(self.visited_max, e if np.isfinite(e) else np.inf)
        self.max_query_norm = max(self.max_query_norm, float(np.linalg.norm(w)))
        return g

    def notify(self, event, **data):
        if self.attack is not None:
            self.attack.notify(event, **data)

    def probe(self, k: int, rng: np.random.Generator, centre=None, radius=None) -> float:
        """Errors at k points uniform in the ball(centre, radius) (default: 0 and the landscape's
        domain radius); updates and returns the probe sup."""
        d = self.landscape.dim
        centre = np.zeros(d) if centre is None else np.asarray(centre, dtype=np.float64)
        radius = self.landscape.domain_radius if radius is None else radius
        pts = centre + uniform_ball(rng, d, radius, size=k)
        errs = [self.error(p) for p in pts]  # one aggregation per probe point
        self.probe_max = max(self.probe_max, max(errs, default=0.0))
        return self.probe_max

    def empirical_delta(self) -> float:
        """sup ‖ĝ(w) − ∇F(w)‖ over the visited and the probed points."""
        return max(self.visited_max, self.probe_max)
