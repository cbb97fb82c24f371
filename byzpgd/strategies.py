"""Public Hypothesis strategies for Byzantine inputs, to write one's own property tests.

Small pieces, composed:

- :func:`byzantine_counts` ``(m)``: f with 1 <= f < m/2 (the regime of docs/paper.md §1);
- :func:`honest_gradients` ``(m, d)``: m honest rows around a common mean gradient (Gaussian noise of
  a drawn scale, from a numpy Generator seeded by the draw);
- :func:`adversarial_rows` ``(honest, f, kind)``: f Byzantine rows of one of :data:`ROW_KINDS`:
  ``nan``, ``inf``, ``neg_inf``, ``huge`` (+1e308), ``neg_huge`` (−1e308), ``duplicate`` (copies of
  one honest row), ``colluding_shift`` (identical rows = honest mean + a drawn shift), ``mixed``
  (each row a different non-finite / huge / shifted kind), or the name of an attack of the
  library (:data:`byzpgd.oracles.attacks.ATTACKS`: sign_flip, gaussian, alie, ipm, mimic, shift,
  ...; the line-search attacks ``alie_ls`` / ``ipm_ls`` only with an ``aggregate`` to search
  against);
- :func:`worker_gradients` ``(m, d, f, kinds)``: a :class:`WorkerGradients` — the (m, d) matrix with
  the f adversarial rows at drawn positions, and what a test needs to judge an aggregator on it
  (the honest rows, their mean, which rows are Byzantine, the kind);
- :func:`landscapes` ``(kinds, dims)``: test functions with certified constants (``L``, ``rho``,
  ``f_star``, known critical points; :mod:`byzpgd.oracles.landscapes`), drawn by the samplers of the
  claim checks (:mod:`byzpgd.properties.strategies`);
- :func:`inexact_oracles` ``(landscape, deltas, adversaries)``: Δ-inexact oracles (Definition 1 of
  docs/paper.md §1): an adversary of :mod:`byzpgd.oracles.adversaries` with its drawn parameters,
  wrapped by :class:`~byzpgd.oracles.inexact.CertifiedOracle`, which raises if an answer is ever
  farther than Δ from ∇F (so a test can rely on the contract);
- :func:`claim_instances` ``(claim_id)``: the instance specs of a theorem's claim check (re-exported
  :func:`byzpgd.properties.strategies.claim_strategy`).

Every random choice comes from Hypothesis (directly, or through a numpy Generator whose seed
Hypothesis draws), so failures shrink and replay. Example (docs/examples/test_byzpgd_example.py)::

    from hypothesis import given
    from byzpgd.strategies import worker_gradients

    @given(worker_gradients(m=11, d=5, kinds=("nan", "huge", "colluding_shift")))
    def test_my_rule_is_finite(case):
        assert np.all(np.isfinite(my_rule(case.X)))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .oracles.adversaries import NAMES as ADVERSARY_NAMES
from .oracles.adversaries import make_adversary, sample_adversary
from .oracles.attacks import ATTACKS, AttackContext, make_attack
from .oracles.inexact import CertifiedOracle
from .properties.strategies import HypothesisSource, claim_strategy
from .properties.strategies import cosine_saddle as _cosine_saddle_spec
from .properties.strategies import phase_retrieval as _phase_retrieval_spec

__all__ = ["ROW_KINDS", "SEARCH_ATTACKS", "WorkerGradients", "byzantine_counts", "honest_gradients",
           "adversarial_rows", "worker_gradients", "landscapes", "inexact_oracles", "claim_instances",
           "ADVERSARY_NAMES", "LANDSCAPE_KINDS"]

HUGE = 1e308
BASIC_KINDS = ("nan", "inf", "neg_inf", "huge", "neg_huge", "duplicate", "colluding_shift", "mixed")
SEARCH_ATTACKS = ("alie_ls", "ipm_ls")     # need the aggregator under test (a line search against it)
LIBRARY_KINDS = tuple(a for a in ATTACKS if a not in SEARCH_ATTACKS and a not in BASIC_KINDS)
ROW_KINDS = BASIC_KINDS + LIBRARY_KINDS + SEARCH_ATTACKS
LANDSCAPE_KINDS = ("cosine_saddle", "phase_retrieval")
SEED_MAX = 2**32 - 1

claim_instances = claim_strategy


@dataclass(frozen=True)
class WorkerGradients:
    """One round of worker gradients with Byzantine rows.

    Fields
    ------
    X : (m, d) float64 array, the gradients the aggregator receives (honest and Byzantine rows).
    byzantine : tuple[int, ...], the indices of the f Byzantine rows of X (sorted).
    honest : (m − f, d) float64 array, the honest rows (in their order in X).
    mean : (d,) float64 array, the honest rows' mean — the gradient a robust rule should approach.
    kind : str, what the Byzantine rows are (a :data:`ROW_KINDS` entry).
    f : int, the number of Byzantine rows; m and d are ``X.shape``.
    """

    X: np.ndarray
    byzantine: tuple[int, ...]
    honest: np.ndarray
    mean: np.ndarray
    kind: str
    f: int

    @property
    def m(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def spread(self) -> float:
        """max over honest rows of ‖row − mean‖: a scale for 'close to the honest mean'."""
        return float(np.max(np.linalg.norm(self.honest - self.mean, axis=1))) if len(self.honest) else 0.0


def _as_strategy(x):
    return x if isinstance(x, st.SearchStrategy) else st.just(x)


def byzantine_counts(m: int, min_f: int = 1) -> st.SearchStrategy[int]:
    """f with ``min_f`` <= f < m/2 (at least one honest majority row more than the Byzantine ones)."""
    hi = (m - 1) // 2
    if hi < min_f:
        raise ValueError(f"m = {m} leaves no f with {min_f} <= f < m/2")
    return st.integers(min_f, hi)


@st.composite
def honest_gradients(draw, m, d, *, scale: tuple[float, float] = (1e-3, 10.0),
                     centre: tuple[float, float] = (-10.0, 10.0)) -> np.ndarray:
    """(m, d) honest rows: a drawn centre (coordinates in ``centre``) plus Gaussian noise of a drawn
    standard deviation, log-uniform in ``scale``, from ``default_rng(drawn seed)``."""
    m, d = draw(_as_strategy(m)), draw(_as_strategy(d))
    mu = np.array(draw(st.lists(st.floats(*centre), min_size=d, max_size=d)), dtype=np.float64)
    sigma = 10.0 ** draw(st.floats(math.log10(scale[0]), math.log10(scale[1])))
    rng = np.random.default_rng(draw(st.integers(0, SEED_MAX)))
    return mu + sigma * rng.standard_normal((m, d))


@st.composite
def adversarial_rows(draw, honest: np.ndarray, f: int, kind: str | None = None, *,
                     aggregate: Callable | None = None, kinds: Sequence[str] | None = None) -> np.ndarray:
    """(f, d) Byzantine rows against the (m − f, d) ``honest`` rows (module docstring); ``kind``
    None: drawn from ``kinds`` (default every kind that needs no ``aggregate``, plus the
    line-search attacks when ``aggregate`` is given)."""
    honest = np.asarray(honest, dtype=np.float64)
    d = honest.shape[1]
    if kind is None:
        pool = tuple(kinds) if kinds is not None else (
            BASIC_KINDS + LIBRARY_KINDS + (SEARCH_ATTACKS if aggregate is not None else ()))
        kind = draw(st.sampled_from(pool))
    if kind not in ROW_KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {ROW_KINDS}")
    if kind in SEARCH_ATTACKS and aggregate is None:
        raise ValueError(f"the attack {kind!r} searches against the aggregator: pass aggregate=")
    fixed = {"nan": np.nan, "inf": np.inf, "neg_inf": -np.inf, "huge": HUGE, "neg_huge": -HUGE}
    if kind in fixed:
        return np.full((f, d), fixed[kind])
    mean = honest.mean(axis=0)
    if kind == "duplicate":
        return np.broadcast_to(honest[draw(st.integers(0, len(honest) - 1))], (f, d)).copy()
    if kind == "colluding_shift":
        return np.broadcast_to(mean + _shift(draw, honest), (f, d)).copy()
    if kind == "mixed":
        choices = ("nan", "inf", "neg_inf", "huge", "neg_huge", "colluding_shift")
        rows = []
        for _ in range(f):
            k = draw(st.sampled_from(choices))
            rows.append(mean + _shift(draw, honest) if k == "colluding_shift" else np.full(d, fixed[k]))
        return np.array(rows).reshape(f, d)
    m = len(honest) + f
    ctx = AttackContext(f=f, m=m, aggregate=aggregate,
                        rng=np.random.default_rng(draw(st.integers(0, SEED_MAX))))
    return np.asarray(make_attack(kind)(honest, np.zeros(d), ctx), dtype=np.float64).reshape(f, d)


def _shift(draw, honest) -> np.ndarray:
    """A colluding shift: a drawn direction times a drawn multiple (0.1..1e3) of the honest spread."""
    d = honest.shape[1]
    direction = np.array(draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d)), dtype=np.float64)
    n = np.linalg.norm(direction)
    direction = direction / n if n > 1e-12 else np.eye(d)[0]
    sd = float(np.median(honest.std(axis=0))) if len(honest) > 1 else 1.0
    return direction * max(sd, 1e-12) * 10.0 ** draw(st.floats(-1.0, 3.0))


@st.composite
def worker_gradients(draw, m=None, d=None, f=None, kinds: Sequence[str] | None = None, *,
                     aggregate: Callable | None = None, shuffle: bool = True, honest=None) -> WorkerGradients:
    """A :class:`WorkerGradients`: ``m`` workers (an int or a strategy; default 3..30) of which ``f``
    are Byzantine (default :func:`byzantine_counts` (m)), gradients in R^``d`` (default 1..10); the
    honest rows from ``honest`` (a strategy of (m − f, d) arrays; default :func:`honest_gradients`),
    the Byzantine rows of a kind drawn from ``kinds`` (:func:`adversarial_rows`), at drawn positions
    when ``shuffle``."""
    m = draw(st.integers(3, 30) if m is None else _as_strategy(m))
    d = draw(st.integers(1, 10) if d is None else _as_strategy(d))
    if m < 3:
        raise ValueError(f"m must be >= 3 (one Byzantine worker needs two honest ones), got {m}")
    f = draw(byzantine_counts(m) if f is None else _as_strategy(f))
    if not (0 <= f < m / 2):
        raise ValueError(f"f must satisfy 0 <= f < m/2, got f = {f}, m = {m}")
    H = draw(honest_gradients(m - f, d) if honest is None else honest)
    H = np.asarray(H, dtype=np.float64).reshape(m - f, d)
    if f:
        pool = tuple(kinds) if kinds is not None else (
            BASIC_KINDS + LIBRARY_KINDS + (SEARCH_ATTACKS if aggregate is not None else ()))
        kind = draw(st.sampled_from(pool))
        B = draw(adversarial_rows(H, f, kind, aggregate=aggregate))
    else:
        kind, B = "none", np.empty((0, d))
    order = draw(st.permutations(range(m))) if shuffle else list(range(m))
    X = np.empty((m, d))
    byz = sorted(order[:f])
    X[byz] = B
    good = sorted(order[f:])
    X[good] = H
    return WorkerGradients(X, tuple(int(i) for i in byz), H, H.mean(axis=0), kind, int(f))


@st.composite
def landscapes(draw, kinds: Sequence[str] = LANDSCAPE_KINDS, dims: tuple[int, int] = (2, 6)):
    """A test landscape (:class:`byzpgd.oracles.landscapes.Landscape`) with certified ``L``, ``rho``,
    ``f_star`` and known critical points: a cosine saddle (L ∈ [1/2, 2], ρ = u L², u ∈ [1/4, 1], one
    or two negative-curvature directions, a random rotation) or a phase-retrieval landscape on its
    certified ball, dimension in ``dims`` — the distributions of the theorem checks."""
    from .experiments.instances import build_landscape

    kind = draw(st.sampled_from(tuple(kinds)))
    src = HypothesisSource(draw)
    if kind == "cosine_saddle":
        spec = _cosine_saddle_spec(src, dims)
    elif kind == "phase_retrieval":
        spec = _phase_retrieval_spec(src, dims)
    else:
        raise ValueError(f"unknown landscape kind {kind!r}; known: {LANDSCAPE_KINDS}")
    return build_landscape(spec)


@st.composite
def inexact_oracles(draw, landscape=None, deltas: tuple[float, float] = (1e-6, 1e-1),
                    adversaries: Sequence[str] = ADVERSARY_NAMES) -> CertifiedOracle:
    """A Δ-inexact oracle (module docstring) on ``landscape`` (a Landscape or a strategy; default
    :func:`landscapes`), Δ log-uniform in ``deltas`` (or fixed: ``deltas=(Δ, Δ)``), its adversary
    drawn from ``adversaries`` with drawn parameters. Attributes: ``delta``, ``landscape``, the
    adversary as ``.oracle``; calling it at w (shape (d,)) returns ĝ with ‖ĝ − ∇F(w)‖ <= Δ."""
    land = draw(landscapes() if landscape is None else _as_strategy(landscape))
    lo, hi = deltas
    if not (0 < lo <= hi):
        raise ValueError(f"deltas must satisfy 0 < lo <= hi, got {deltas}")
    Delta = lo if lo == hi else 10.0 ** draw(st.floats(math.log10(lo), math.log10(hi)))
    desc = sample_adversary(HypothesisSource(draw), draw(st.sampled_from(tuple(adversaries))))
    return CertifiedOracle(make_adversary(desc, land, Delta))
