"""Power against the bound: how large an excess over a claim's per-instance failure bounds its
test detects (``detectable_excess``, issue 22 item 1).

Every probabilistic claim is tested by counts. Instance i contributes a count F_i whose law under
the claim's bound is a *truncated geometric* law: the number of failed attempts before the first
success, at most Q_i attempts, each failing (given the past) with probability at most p_i:

    P(F_i = k) = p_i^k (1 − p_i)  (k < Q_i),    P(F_i = Q_i) = p_i^{Q_i}.

A claim "fails with probability at most b_i" is the case Q_i = 1 (F_i is the Bernoulli failure
indicator, p_i = b_i); the mechanism escape claims count failed perturbation rounds (Q_i = Q, the
theory's number of rounds, p_i the §8.3 per-round bound). If each attempt fails with probability
at most p_i given the past, F_i is stochastically dominated by this law (couple attempt by
attempt), so the sum of the F_i over independent runs is dominated by the sum of independent
truncated geometric variables, whose law is the convolution of their pmfs (exact: numpy / scipy
convolution, no sampling). A count test rejects when P(S >= observed) < alpha under that law.

A claim's decision is G + 1 such tests (one per group — adversary, algorithm, landscape family —
and the pooled one), each at ALPHA_BINOMIAL / (G + 1) (Bonferroni), violated when any rejects.
Its *relative power* is stated against the bound itself: the **detectable excess** of group g is
the smallest factor c such that, when the runs of group g fail each attempt with probability
min(1, c·p_i) and the other groups sit exactly at their bounds, the decision rejects with
probability >= 0.8. It is computed exactly: with S_g the count of g (law at c), S_j the others'
(law at 1) and k the rejection thresholds,

    P(accept) = Σ_{s < k_g} P_c(S_g = s) · P(S_rest < k_pool − s, S_j < k_j for all j ≠ g),

the second factor from the convolution of the others' pmfs truncated below their thresholds.
The acceptance region is a down-set and S_g grows stochastically with c, so the power is
monotone in c and the smallest c is found by bisection. A group whose count cannot reach power
0.8 even when every attempt fails (c = 1/min p_i) has detectable excess ``inf``: it counts as
the weakest (as power 1 does for ``detectable_failure_rate``), never dropped. The claim's
detectable excess is the largest over its groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import convolve

POWER = 0.8


def round_count_pmf(p: float, Q: int) -> np.ndarray:
    """P(F = k), k = 0..Q, for F the failed attempts before the first success among at most Q
    attempts that each fail with probability p (truncated geometric; Q = 1: Bernoulli(p))."""
    p = min(1.0, max(0.0, float(p)))
    Q = int(Q)
    if Q < 0:
        raise ValueError(f"Q must be >= 0, got {Q}")
    k = np.arange(Q + 1, dtype=np.float64)
    pmf = p**k * (1.0 - p)
    pmf[Q] = p**Q
    return pmf


def sum_pmf(pmfs: Sequence[np.ndarray]) -> np.ndarray:
    """The pmf of a sum of independent counts with the given pmfs (pairwise convolution tree;
    scipy picks direct or FFT convolution; rounding below zero clipped). Empty: the point mass 0."""
    parts = [np.asarray(p, dtype=np.float64) for p in pmfs]
    if not parts:
        return np.ones(1)
    while len(parts) > 1:
        nxt = [np.clip(convolve(a, b), 0.0, None) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def count_law(bounds: Sequence[float], rounds: Sequence[int], scale: float = 1.0) -> np.ndarray:
    """The pmf of S = Σ F_i when attempt i fails with probability min(1, scale·bounds[i]) and
    has at most rounds[i] attempts."""
    return sum_pmf([round_count_pmf(scale * b, q) for b, q in zip(bounds, rounds, strict=True)])


def tail(k: int, dist: np.ndarray) -> float:
    """P(S >= k) for S with pmf ``dist``."""
    if k <= 0:
        return 1.0
    return float(min(1.0, dist[k:].sum()))


def reject_at(dist: np.ndarray, alpha: float) -> int:
    """The smallest count k with P(S >= k) < alpha; len(dist) (one past the largest count) when
    no count rejects."""
    sf = np.concatenate([np.cumsum(dist[::-1])[::-1], [0.0]])      # sf[k] = P(S >= k)
    hits = np.flatnonzero(sf < alpha)
    return int(hits[0]) if hits.size else len(dist)


@dataclass(frozen=True)
class CountGroup:
    """One group's test: per-run bounds p_i and attempts Q_i (1 for a failure bound), and the
    observed count."""

    name: str
    bounds: tuple[float, ...]
    rounds: tuple[int, ...]
    observed: int

    @classmethod
    def of(cls, name: str, bounds, rounds, observed: int) -> CountGroup:
        b = tuple(float(x) for x in bounds)
        q = tuple(int(x) for x in rounds)
        if len(b) != len(q):
            raise ValueError(f"group {name!r}: bounds and rounds must have the same length "
                             f"({len(b)} != {len(q)})")
        bad = [x for x in b if not 0.0 <= x <= 1.0]             # NaN fails the comparison too
        if bad:
            raise ValueError(f"group {name!r}: every bound must be a probability in [0, 1], got {bad[0]!r}")
        if any(x < 0 for x in q):
            raise ValueError(f"group {name!r}: rounds must be >= 0, got {min(q)}")
        if not 0 <= int(observed) <= sum(q):
            raise ValueError(f"group {name!r}: observed count {observed} outside [0, {sum(q)}]")
        return cls(name, b, q, int(observed))

    def law(self, scale: float = 1.0) -> np.ndarray:
        return count_law(self.bounds, self.rounds, scale)


@dataclass(frozen=True)
class GroupPower:
    """A group's test and power: count, threshold, p-value, whether it rejects; the detectable
    excess of its own test (``alone``) and of the claim's decision (``decision``)."""

    observed: int
    trials: int
    bound_sum: float
    p_value: float
    reject_at: int
    rejects: bool
    alone: float
    decision: float


@dataclass(frozen=True)
class Decision:
    """The G + 1 tests of a claim and their relative power (module docstring)."""

    alpha: float
    groups: dict[str, GroupPower]
    pooled_observed: int
    pooled_p_value: float
    pooled_reject_at: int
    pooled_rejects: bool
    detectable_excess: float | None          # worst group's decision excess; None: no group
    notes: dict = field(default_factory=dict)

    @property
    def violated(self) -> bool:
        return self.pooled_rejects or any(g.rejects for g in self.groups.values())


def _max_scale(group: CountGroup) -> float:
    positive = [b for b in group.bounds if b > 0]
    return 1.0 / min(positive) if positive else math.nan


def _smallest_scale(power_at, c_max: float, target: float) -> float:
    """The smallest c in [1, c_max] with power_at(c) >= target (bisection on log c, relative
    accuracy 1e-4); inf when even c_max falls short."""
    if not math.isfinite(c_max) or power_at(c_max) < target:
        return math.inf
    if power_at(1.0) >= target:
        return 1.0
    lo, hi = 0.0, math.log(c_max)
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        if power_at(math.exp(mid)) >= target:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


def _accept_cdf(dists: list[np.ndarray], thresholds: list[int]) -> np.ndarray:
    """cum[m] = P(Σ S_j < m and S_j < k_j for all j), m = 0..len: the convolution of the
    pmfs truncated below their thresholds, accumulated."""
    rest = sum_pmf([d[:k] if k > 0 else np.zeros(1) for d, k in zip(dists, thresholds, strict=True)])
    return np.concatenate([[0.0], np.cumsum(rest)])


def _decision_power(law_g: np.ndarray, k_g: int, cum_rest: np.ndarray, k_pool: int) -> float:
    s = np.arange(min(k_g, len(law_g)))
    m = np.clip(k_pool - s, 0, len(cum_rest) - 1)
    return float(1.0 - np.dot(law_g[s], cum_rest[m]))


def decide(groups: Sequence[CountGroup], alpha_total: float, *, n_tests: int | None = None,
           target: float = POWER) -> Decision:
    """The G + 1 count tests of a claim at alpha_total / n_tests each (default n_tests = G + 1),
    and each group's detectable excess alone and within the decision (module docstring). Groups
    without runs are left out (they test nothing); ``n_tests`` lets a caller that counts them in
    its Bonferroni correction state the level it actually uses."""
    groups = [g for g in groups if g.bounds]
    alpha = alpha_total / (n_tests or len(groups) + 1)
    nulls = [g.law() for g in groups]
    ks = [reject_at(d, alpha) for d in nulls]
    pooled = sum_pmf(nulls)
    k_pool = reject_at(pooled, alpha)
    pooled_obs = sum(g.observed for g in groups)
    out: dict[str, GroupPower] = {}
    for i, g in enumerate(groups):
        cum_rest = _accept_cdf(nulls[:i] + nulls[i + 1:], ks[:i] + ks[i + 1:])
        c_max = _max_scale(g)

        def alone(c, g=g, k=ks[i]):
            return tail(k, g.law(c))

        def joint(c, g=g, k=ks[i], cum=cum_rest):
            return _decision_power(g.law(c), k, cum, k_pool)

        p_value = tail(g.observed, nulls[i])
        out[g.name] = GroupPower(g.observed, len(g.bounds), float(sum(g.bounds)), p_value, ks[i],
                                 p_value < alpha, _smallest_scale(alone, c_max, target),
                                 _smallest_scale(joint, c_max, target))
    worst = max((gp.decision for gp in out.values()), default=None)
    pooled_p = tail(pooled_obs, pooled)
    return Decision(alpha, out, pooled_obs, pooled_p, k_pool, pooled_p < alpha, worst)


def rejection_probability(groups: Sequence[CountGroup], alpha_total: float,
                          scales: Sequence[float], *, n_tests: int | None = None) -> float:
    """P(the decision rejects) when group j's attempts fail with probability min(1,
    scales[j]·p_i) (all groups at once; exact). Used by the tests to confirm a detectable
    excess: at the reported excess on one group the decision rejects with probability >= 0.8."""
    groups = [g for g in groups if g.bounds]
    alpha = alpha_total / (n_tests or len(groups) + 1)
    nulls = [g.law() for g in groups]
    ks = [reject_at(d, alpha) for d in nulls]
    k_pool = reject_at(sum_pmf(nulls), alpha)
    cum = _accept_cdf([g.law(c) for g, c in zip(groups, scales, strict=True)], ks)
    return float(1.0 - cum[min(k_pool, len(cum) - 1)])
