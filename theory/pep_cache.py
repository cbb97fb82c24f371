"""The PEP certificates of the gradient phase's worst case W (:mod:`byzpgd.theory.gd_phase`): the
solved points shipped as package data (``theory/data/pep_cache.json``), read without PEPit.

Each point is the certified value of a performance-estimation problem (Drori–Teboulle 2014;
Taylor–Hendrickx–Glineur 2017) for N steps of gradient descent with a Δ-inexact oracle
(docs/paper.md §3, Algorithm 1 with η = 1/L; §8.1): the supremum, over L-smooth f with
f(x_0) − inf f <= D and oracles with ‖d_k − ∇f(x_k)‖ <= Δ, of min_i ‖∇f(x_i)‖ ('grad') or
min_{i<N} ‖d_i‖ ('oracle'). They are the theory's side of the hierarchy B ≥ W ≥ O: bounds,
computed offline by :mod:`byzpgd.experiments.pep` (which solves and writes them), never by the runs
they are compared with. Regenerate with ``.venv/bin/python -m byzpgd.experiments.pep --write``.
"""

from __future__ import annotations

import importlib.resources
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

METRICS = ("grad", "oracle")
RELAXATIONS = ("full", "consecutive")
CACHE_FORMAT = 1
CACHE_RESOURCE = ("byzpgd.theory", "data/pep_cache.json")
REGENERATE = ".venv/bin/python -m byzpgd.experiments.pep --write"


class PepCacheError(ValueError):
    """The PEP cache file is missing, unreadable or not of the documented form."""


@dataclass(frozen=True)
class PepPoint:
    """One solved PEP.

    metric : 'grad' (value = sup min_{0<=i<=N} ‖∇f(x_i)‖) or 'oracle' (value = sup min_{i<N} ‖d_i‖)
    N, Delta, L, D : the instance (steps, inexactness, smoothness, f(x_0) − inf f)
    relaxation : 'full' or 'consecutive'
    value : the certified sup (a norm: square root of the PEP's dual value)
    status : the solver's status ('optimal' expected)
    seconds : wall-clock time of the solve
    """

    metric: str
    N: int
    Delta: float
    L: float
    D: float
    relaxation: str
    value: float
    status: str = "optimal"
    seconds: float = 0.0

    def key(self) -> tuple:
        return (self.metric, self.N, self.Delta, self.L, self.D, self.relaxation)


@dataclass(frozen=True)
class StepsPoint:
    """The certified worst-case number of large-gradient steps of one gradient phase.

    Delta, L, D : the instance; relaxation : of the PEPs used
    steps : the largest N with sup min_{i<N} ‖d_i‖ > 3Δ (N steps can all pass the test ‖ĝ‖ > 3Δ);
        N = steps + 1 cannot, so the stopping test must fire by oracle call steps + 1
    value_at_steps, value_above : the PEP values (norms) at N = steps and N = steps + 1
        (value_at_steps is +inf when steps = 0: no step is constrained)
    bound : the theory's 2LD/(3Δ²) (docs/paper.md §8.1)
    """

    Delta: float
    L: float
    D: float
    relaxation: str
    steps: int
    value_at_steps: float
    value_above: float
    bound: float


@dataclass(frozen=True)
class PepCache:
    """The solved points and how they were solved (``meta``: solver, versions, command)."""

    meta: dict
    points: tuple[PepPoint, ...] = ()
    steps: tuple[StepsPoint, ...] = ()
    extra: dict = field(default_factory=dict)

    def grad_value(self, N: int, Delta: float, L: float, D: float, relaxation: str = "full") -> float:
        """The cached sup of min ‖∇f(x_i)‖ at this point (KeyError if not solved)."""
        return self._find("grad", N, Delta, L, D, relaxation).value

    def _find(self, metric, N, Delta, L, D, relaxation) -> PepPoint:
        key = (metric, int(N), float(Delta), float(L), float(D), relaxation)
        for p in self.points:
            if p.key() == key:
                return p
        raise KeyError(f"no cached PEP point {key}; regenerate with {REGENERATE}")

    def steps_point(self, Delta: float, L: float, D: float) -> StepsPoint:
        for s in self.steps:
            if (s.Delta, s.L, s.D) == (float(Delta), float(L), float(D)):
                return s
        raise KeyError(f"no cached step count at Delta={Delta}, L={L}, D={D}; regenerate with {REGENERATE}")


def cache_from_json(doc) -> PepCache:
    """Parse the cache (:class:`PepCacheError` with the reason on anything malformed)."""
    try:
        if not isinstance(doc, dict) or doc.get("meta", {}).get("format") != CACHE_FORMAT:
            raise PepCacheError(f"not a PEP cache of format {CACHE_FORMAT}")
        points = []
        for p in doc["points"]:
            if p["metric"] not in METRICS or p["relaxation"] not in RELAXATIONS:
                raise PepCacheError(f"bad point {p!r}")
            points.append(PepPoint(p["metric"], int(p["N"]), float(p["Delta"]), float(p["L"]), float(p["D"]),
                                   p["relaxation"], float(p["value"]), str(p.get("status", "")),
                                   float(p.get("seconds", 0.0))))
        steps = [StepsPoint(float(s["Delta"]), float(s["L"]), float(s["D"]), s["relaxation"], int(s["steps"]),
                            float(s["value_at_steps"]), float(s["value_above"]), float(s["bound"]))
                 for s in doc["steps"]]
    except PepCacheError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise PepCacheError(f"malformed PEP cache: {type(exc).__name__}: {exc}") from exc
    for p in points:
        if not (math.isfinite(p.value) and p.value >= 0):
            raise PepCacheError(f"PEP value must be finite and >= 0: {p!r}")
    return PepCache(dict(doc["meta"]), tuple(points), tuple(steps))


def load_cache(path: str | Path | None = None) -> PepCache:
    """The cache shipped as package data (or the file ``path``)."""
    try:
        if path is None:
            text = importlib.resources.files(CACHE_RESOURCE[0]).joinpath(CACHE_RESOURCE[1]).read_text()
        else:
            text = Path(path).read_text()
        doc = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise PepCacheError(f"cannot read the PEP cache ({path or 'package data'}): {exc}") from exc
    return cache_from_json(doc)


def default_cache_path() -> Path:
    """Where the shipped cache lives in a source checkout (the file :func:`load_cache` reads)."""
    return Path(__file__).resolve().parent / "data" / "pep_cache.json"
