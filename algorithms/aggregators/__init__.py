"""Robust gradient aggregators ("GradAGG", docs/paper.md §6) and their registry.

An aggregator maps an (m, d) float64 array of worker vectors to a (d,) vector and never modifies
its input. The registry maps a name to a *factory* ``factory(m, f) -> aggregate`` (m workers, at
most f Byzantine), so that rules with parameters (trimmed mean's β, Krum's f) are built for a
setting; :func:`make` validates the setting. Every aggregator in ``AGGREGATORS`` is exercised by
the aggregation suites and by the statistical lower bound; :func:`max_byzantine` gives, for each
name, the largest f its factory accepts (its breakdown number for m workers).

The paper's three (docs/paper.md §6): ``median``, ``trimmed_mean``, ``iterative_filtering``. For
audits and comparisons: ``mean`` (not robust), ``geometric_median``, ``krum``, ``multi_krum``,
``bulyan``, ``centered_clipping``, ``nnm_trimmed_mean``. Non-finite Byzantine input (NaN, ±Inf,
1e308) is data with the semantics documented in :mod:`.basic`.
"""

from __future__ import annotations

from collections.abc import Callable

from .basic import coordinate_median, mean
from .filtering import iterative_filtering, make_iterative_filtering
from .geometric import centered_clipping, geometric_median
from .krum import bulyan, krum, multi_krum, nnm, nnm_trimmed_mean
from .trimmed_mean import make_trimmed_mean, trimmed_mean

Aggregate = Callable[..., object]

PAPER_AGGREGATORS = ("median", "trimmed_mean", "iterative_filtering")


def _named(fn, name):
    fn.__name__ = name
    return fn


AGGREGATORS: dict[str, Callable[[int, int], Aggregate]] = {
    "mean": lambda m, f: mean,
    "median": lambda m, f: coordinate_median,
    "trimmed_mean": lambda m, f: make_trimmed_mean(m, f),
    "iterative_filtering": lambda m, f: make_iterative_filtering(m, f),
    "geometric_median": lambda m, f: geometric_median,
    "krum": lambda m, f: (_check(m, f, m - 3, "Krum needs m > 2f + 2", 2)
                          or _named(lambda X: krum(X, f), "krum")),
    "multi_krum": lambda m, f: (_check(m, f, m - 3, "Krum needs m > 2f + 2", 2)
                                or _named(lambda X: multi_krum(X, f), "multi_krum")),
    "bulyan": lambda m, f: (_check(m, f, m - 3, "Bulyan needs m >= 4f + 3", 4)
                            or _named(lambda X: bulyan(X, f), "bulyan")),
    "centered_clipping": lambda m, f: centered_clipping,
    "nnm_trimmed_mean": lambda m, f: (_check(m, f, m - 1, "NNM + trimmed mean needs m > 2f", 2)
                                      or _named(lambda X: nnm_trimmed_mean(X, f), "nnm_trimmed_mean")),
}

# largest f accepted for m workers (the factory's breakdown number)
_MAX_F: dict[str, Callable[[int], int]] = {
    "mean": lambda m: m - 1,
    "median": lambda m: (m - 1) // 2,
    "trimmed_mean": lambda m: (m - 1) // 2,
    "iterative_filtering": lambda m: max(0, (m - 1) // 4),
    "geometric_median": lambda m: (m - 1) // 2,
    "krum": lambda m: max(0, (m - 3) // 2),
    "multi_krum": lambda m: max(0, (m - 3) // 2),
    "bulyan": lambda m: max(0, (m - 3) // 4),
    "centered_clipping": lambda m: (m - 1) // 2,
    "nnm_trimmed_mean": lambda m: (m - 1) // 2,
}


def _check(m, f, top, msg, mult):
    """Raise ValueError for settings beyond a rule's requirement (mult·f + offset <= top)."""
    if mult * f > top:
        raise ValueError(f"{msg}: got m = {m}, f = {f}")
    return None


def register(name: str, max_f: Callable[[int], int] | None = None):
    """Decorator: register ``factory(m, f) -> aggregate`` under ``name`` (``max_f(m)``: the
    largest f it accepts; default (m − 1) // 2)."""
    def deco(factory):
        if name in AGGREGATORS:
            raise ValueError(f"aggregator {name!r} is already registered")
        AGGREGATORS[name] = factory
        _MAX_F[name] = max_f or (lambda m: (m - 1) // 2)
        return factory
    return deco


def unregister(name: str) -> None:
    """Remove ``name`` from the registry (used for temporary registrations, e.g. by the audit)."""
    AGGREGATORS.pop(name, None)
    _MAX_F.pop(name, None)


def max_byzantine(name: str, m: int) -> int:
    """The largest f for which ``make(name, m, f)`` is valid."""
    if name not in AGGREGATORS:
        raise KeyError(f"unknown aggregator {name!r}; known: {sorted(AGGREGATORS)}")
    return _MAX_F.get(name, lambda m: (m - 1) // 2)(m)


def make(name: str, m: int, f: int):
    """The aggregator ``name`` for m workers of which at most f are Byzantine."""
    if name not in AGGREGATORS:
        raise KeyError(f"unknown aggregator {name!r}; known: {sorted(AGGREGATORS)}")
    if not (isinstance(m, int) and m >= 1):
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if not (isinstance(f, int) and 0 <= f < m):
        raise ValueError(f"f must be an integer in [0, m), got {f!r}")
    return AGGREGATORS[name](m, f)


__all__ = ["AGGREGATORS", "PAPER_AGGREGATORS", "make", "register", "unregister", "max_byzantine", "mean",
           "coordinate_median", "trimmed_mean", "make_trimmed_mean", "iterative_filtering",
           "make_iterative_filtering", "geometric_median", "centered_clipping", "krum",
           "multi_krum", "bulyan", "nnm", "nnm_trimmed_mean"]
