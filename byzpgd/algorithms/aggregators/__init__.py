"""Robust gradient aggregators ("GradAGG", paper-spec §6) and their registry.

An aggregator maps an (m, d) float64 array of worker vectors to a (d,) vector and never modifies
its input. The registry maps a name to a *factory* ``factory(m, f) -> aggregate`` (m workers, at
most f Byzantine), so that rules with parameters (trimmed mean's β, Krum's f) are built for a
setting; :func:`make` validates the setting. Every aggregator in ``AGGREGATORS`` is exercised by
the aggregation suites and by the statistical lower bound.
"""

from __future__ import annotations

from collections.abc import Callable

from .basic import coordinate_median, mean

Aggregate = Callable[..., object]

AGGREGATORS: dict[str, Callable[[int, int], Aggregate]] = {
    "mean": lambda m, f: mean,
    "median": lambda m, f: coordinate_median,
}


def register(name: str):
    """Decorator: register ``factory(m, f) -> aggregate`` under ``name``."""
    def deco(factory):
        if name in AGGREGATORS:
            raise ValueError(f"aggregator {name!r} is already registered")
        AGGREGATORS[name] = factory
        return factory
    return deco


def make(name: str, m: int, f: int):
    """The aggregator ``name`` for m workers of which at most f are Byzantine."""
    if name not in AGGREGATORS:
        raise KeyError(f"unknown aggregator {name!r}; known: {sorted(AGGREGATORS)}")
    if not (isinstance(m, int) and m >= 1):
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if not (isinstance(f, int) and 0 <= f < m):
        raise ValueError(f"f must be an integer in [0, m), got {f!r}")
    return AGGREGATORS[name](m, f)
