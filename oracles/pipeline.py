"""Workers → attack → aggregator as a gradient oracle, with its empirical Δ measured, never
assumed (docs/ARCHITECTURE.md, "oracles/": the pipeline is itself an oracle; its measured sup error over the
visited points (plus random probes) is its empirical Δ).

The oracle answers ĝ(w) = GradAGG(honest gradients at w ∪ Byzantine rows from the attack) and
records ‖ĝ(w) − ∇F(w)‖ at every query. :meth:`ByzantineOracle.probe` adds the errors at random
points of W (uniform in the ball of radius ``landscape.domain_radius`` around ``centre``);
:meth:`ByzantineOracle.empirical_delta` is the sup over both. ``delta`` (the Δ the algorithm is
told) is set by the caller, typically to a probe estimate; ``visited_max`` tells whether the
run stayed within it. The aggregator is a callable ``aggregate(X) -> (d,)`` (the oracles import no
aggregator: the experiments and the audit build it, e.g. with
:func:`byzpgd.algorithms.aggregators.make`).

Where the Byzantine rows sit in X is the adversary's choice too: a :class:`Placement` gives their
indices at every call (default :data:`FIRST`, the first f rows, which the claims' oracles use: a
permutation-invariant rule does not see the difference). A random placement is drawn afresh per
call from a generator spawned from ``placement_rng`` (spawning leaves its state, so the attack's
stream is unchanged); the attack is called with the call's placement in its context, so an
adaptive attack optimises for the rows' actual positions (:func:`~.attacks.arrange`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from byzpgd.geometry import uniform_ball

from .attacks import Attack, AttackContext, arrange, make_attack, norm2
from .workers import WorkerPool

PLACEMENTS = ("first", "last", "interleaved", "random", "worst_placement")


@dataclass(frozen=True)
class Placement:
    """Where the f Byzantine rows sit among the m rows of an aggregator call (``kind``):

    - ``first``: rows 0, …, f − 1 (:data:`FIRST`, the pipeline's default);
    - ``last``: rows m − f, …, m − 1;
    - ``interleaved``: every k-th row, k = ⌊m/f⌋, from the middle of the first block:
      ⌊k/2⌋ + k·i for i < f (neither the first nor the last row when k >= 2);
    - ``random``: f distinct rows, uniform, drawn afresh at every call;
    - ``worst_placement``: searched against the aggregator at every call, for the rows the attack
      sent (:meth:`search`): the first ``candidates`` of (first, last, interleaved, then random
      placements), then ``swaps`` greedy proposals (move one Byzantine row to a random honest
      position; keep the move when the error grows). It adapts to the aggregator, so it pairs
      only with non-adaptive attacks (whose rows do not depend on the placement).
    """

    kind: str = "first"
    candidates: int = 8
    swaps: int = 16

    def __post_init__(self):
        if self.kind not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.kind!r}")
        for name, least in (("candidates", 1), ("swaps", 0)):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= least):
                raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")

    @property
    def random(self) -> bool:
        """Whether a call's placement uses randomness (a generator per call)."""
        return self.kind in ("random", "worst_placement")

    @property
    def searches(self) -> bool:
        return self.kind == "worst_placement"

    def positions(self, m: int, f: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """The sorted indices of the f Byzantine rows among m (``worst_placement``: its first
        candidate, 'first'); ``rng`` is needed for ``random``."""
        if not (0 <= f <= m):
            raise ValueError(f"need 0 <= f <= m, got f = {f}, m = {m}")
        if self.kind in ("first", "worst_placement") or f == 0:
            return np.arange(f)
        if self.kind == "last":
            return np.arange(m - f, m)
        if self.kind == "interleaved":
            k = m // f
            return k // 2 + k * np.arange(f)
        if rng is None:
            raise ValueError("a random placement needs a Generator")
        return np.sort(rng.choice(m, size=f, replace=False))

    def search(self, byz: np.ndarray, honest: np.ndarray, error: Callable[[np.ndarray], float],
               rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """(positions, error) of the worst placement found for these rows: ``error(X)`` (+inf for
        a non-finite one) over the candidates, then greedy swaps (class docstring); stops at the
        first infinite error. Every call of ``error`` is one aggregation."""
        f, m = byz.shape[0], byz.shape[0] + honest.shape[0]
        seen: dict[tuple, float] = {}

        def err(pos: np.ndarray) -> float:
            key = tuple(int(i) for i in pos)
            if key not in seen:
                e = float(error(arrange(byz, honest, pos)))
                seen[key] = e if np.isfinite(e) else np.inf
            return seen[key]

        fixed = [Placement(k).positions(m, f) for k in ("first", "last", "interleaved")]
        draws = [np.sort(rng.choice(m, size=f, replace=False)) for _ in range(max(0, self.candidates - 3))]
        best, best_e = None, -np.inf
        for pos in [*fixed, *draws][: self.candidates]:
            e = err(pos)
            if e > best_e:
                best, best_e = pos, e
            if np.isinf(best_e):
                return best, best_e
        for _ in range(self.swaps if 0 < f < m else 0):
            free = np.setdiff1d(np.arange(m), best)
            new = best.copy()
            new[rng.integers(f)] = free[rng.integers(free.size)]
            new.sort()
            e = err(new)
            if e > best_e:
                best, best_e = new, e
                if np.isinf(best_e):
                    break
        return best, best_e


FIRST = Placement("first")


class ByzantineOracle:
    batchable = False  # attacks may be adaptive (they see the query points)

    def __init__(self, pool: WorkerPool, attack: Attack | str | None, aggregator: Callable,
                 rng: np.random.Generator, delta: float = 0.0, placement: Placement = FIRST,
                 placement_rng: np.random.Generator | None = None):
        """``rng``: the attack's generator; ``placement`` (module docstring) draws its calls'
        generators from ``placement_rng`` (default ``rng``, by spawning: its stream is unchanged)."""
        if not callable(aggregator):
            raise TypeError(f"aggregator must be a callable aggregate(X) -> (d,), got {aggregator!r}")
        if not isinstance(placement, Placement):
            raise TypeError(f"placement must be a Placement, got {placement!r}")
        self.pool = pool
        self.landscape = pool.model
        self.attack = make_attack(attack) if isinstance(attack, str) else attack
        if placement.searches and getattr(self.attack, "adaptive", False):
            raise ValueError(f"the placement search adapts to the aggregator; the attack "
                             f"{self.attack.name!r} does too (it would optimise for another placement)")
        self.aggregate = aggregator
        self.rng = rng
        self.placement = placement
        self.placement_rng = rng if placement_rng is None else placement_rng
        self.last_positions: np.ndarray | None = None
        self.delta = float(delta)
        self.visited_max = 0.0
        self.probe_max = 0.0
        self.calls = 0
        self.max_query_norm = 0.0

    def gradient(self, w) -> np.ndarray:
        """ĝ(w) without recording (used by probes too)."""
        return self._answer(np.asarray(w, dtype=np.float64))[0]

    def _answer(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ĝ(w), ∇F(w)), ∇F(w) computed once per query (it is a function of w, so this changes no
        bit): the error is measured against a copy of the one the attack's context holds, which
        the attack cannot change."""
        honest = self.pool.honest_gradients(w)
        true_grad = None
        if self.pool.f and self.attack is not None:
            f, m = self.pool.f, self.pool.m
            call_rng = self.placement_rng.spawn(1)[0] if self.placement.random else None
            pos = None if self.placement.kind == "first" else self.placement.positions(m, f, call_rng)
            true_grad = self.landscape.grad(w)
            reference = np.array(true_grad, dtype=np.float64)
            ctx = AttackContext(f=f, m=m, aggregate=self.aggregate, true_grad=true_grad, rng=self.rng,
                                positions=pos)
            byz = np.asarray(self.attack(honest, w, ctx), dtype=np.float64)
            if self.placement.searches:
                def error(X):
                    return norm2(np.asarray(self.aggregate(X), dtype=np.float64) - true_grad)
                pos, _ = self.placement.search(byz, honest, error, call_rng)
            self.last_positions = np.arange(f) if pos is None else pos
            X = arrange(byz, honest, pos)
        else:
            X = honest
        g = np.asarray(self.aggregate(X), dtype=np.float64)
        return g, (self.landscape.grad(w) if true_grad is None else reference)

    def error(self, w) -> float:
        g, true_grad = self._answer(np.asarray(w, dtype=np.float64))
        e = norm2(g - true_grad)
        return e if np.isfinite(e) else np.inf

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        g, true_grad = self._answer(w)
        self.calls += 1
        e = norm2(g - true_grad)
        self.visited_max = max(self.visited_max, e if np.isfinite(e) else np.inf)
        self.max_query_norm = max(self.max_query_norm, norm2(w))
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
