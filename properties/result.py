"""One result type for every claim check: :class:`ClaimResult` (as SciPy's ``OptimizeResult`` is
for every optimizer), with one status rule (:func:`decide_status`).

Every check in :mod:`byzpgd.properties.suites` returns a ``ClaimResult``; ``byzpgd verify``,
the pytest plugin and the report writers read its fields, never keys guessed at. Its JSON form
(:meth:`ClaimResult.to_json`) is one entry of report.json's ``claims`` list.

Fields
------
id, statement, source, provenance, kind, formula
    The claim (from :mod:`byzpgd.theory.claims`).
status : {'holds', 'violated', 'error', 'inconclusive'}
    From :func:`decide_status`: 'error' if any instance errored; else 'violated' if the
    claim's test rejects (any violation for deterministic and construction claims, the exact
    binomial test for probabilistic ones); else 'inconclusive' with fewer than
    ``min_nonvacuous`` non-vacuous instances; else 'holds'.
instances, nonvacuous_instances, outside_hypotheses, violations, errors : int
    Instances inside the claim's hypotheses; of them, those that could have violated the bound;
    instances outside the hypotheses (never counted as holding); violations; crashed instances.
worst_ratio, empirical_constant, claim_constant : float or None
    Largest observed/bound; the smallest constant in place of the paper's that would still hold
    on every instance; the claim's constant (its provenance says whose: the paper's only for
    CONFIRMED/POSTER claims, our own for OWN ones).
binomial : BinomialTest or None
    The exact binomial test of a probabilistic claim (pooled over its groups; per-group tests
    are in the ``adversaries`` rows' ``extra``). None for the mechanism escape claims, whose
    counts are failed rounds, not failures: their pooled count test is ``details['pooled']``.
detectable_failure_rate : float or None
    The power of a probabilistic claim: the smallest true failure rate its weakest group
    (adversary) detects with probability 0.8 at the claim's corrected false-alarm rate.
detectable_excess : float or None
    The *relative* power of a probabilistic claim (:mod:`byzpgd.properties.power`): the smallest
    factor c such that, when the runs of one group fail with probability c × their per-instance
    bounds (c × δ for the theorems' claims; c × the per-round bound p_round for each perturbation
    round of the mechanism escape claims) and the other groups sit at their bounds, the claim's
    decision (its G + 1 tests, Bonferroni) rejects with probability >= 0.8; the largest over the
    groups (the weakest). Computed exactly (convolutions of the count laws, no sampling). ``inf``
    when some group cannot reach that power even if every run fails; None for claims that are
    not probabilistic. Per group in the rows' ``extra`` (``detectable_excess``: within the
    decision; ``detectable_excess_alone``: the group's own test).
adversaries : dict[str, GroupRow]
    Per adversary (or per algorithm / aggregator / landscape family, as ``details`` says).
fits : dict[str, Fit]
    Log-log slope fits of rate claims, by name.
worst_violation : Violation or None; replay : str or None
    The worst violating instance and the command that re-runs it.
error_examples : list[dict]
    Up to three crashed instances (error text, traceback, spec).
details : dict
    Claim-specific extras (JSON-able), documented by the check that fills them.
seconds : float
    Wall-clock time of the check.
hierarchy : tuple[HierarchyItem, ...]
    The tightness hierarchy O <= W <= B per parameter point, where a certified worst case W
    exists (:class:`HierarchyItem`); empty otherwise. A breach is a finding: O > W means a bug in
    the implementation or in the certificate's encoding, W > B a wrong theorem or constant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
from scipy.stats import binom

from byzpgd.jsonsafe import sanitize

STATUSES = ("holds", "violated", "error", "inconclusive")
ROUNDING_RTOL = 1e-9          # deterministic bounds: observed <= bound·(1 + ROUNDING_RTOL)
ALPHA_BINOMIAL = 1e-4         # per-claim false-alarm rate of the exact binomial test (a full report of
                              # ~20 probabilistic claims flags a correct algorithm with prob. <= 0.2 %)
MIN_NONVACUOUS = 20           # a claim holds only with at least this many non-vacuous instances


def decide_status(*, errors: int, violated: bool, nonvacuous: int,
                  min_nonvacuous: int = MIN_NONVACUOUS) -> str:
    """The one status rule (see the module docstring)."""
    if errors:
        return "error"
    if violated:
        return "violated"
    if nonvacuous < min_nonvacuous:
        return "inconclusive"
    return "holds"


def binomial_p_value(failures: int, trials: int, delta: float) -> float:
    """P[Binomial(trials, delta) >= failures] (exact)."""
    if failures <= 0:
        return 1.0
    return float(binom.sf(failures - 1, trials, delta))


@dataclass(frozen=True)
class BinomialTest:
    """k failures among N independently seeded non-vacuous runs; rejected when
    P[Binomial(N, δ) >= k] < reject_below."""

    failures: int
    trials: int
    delta: float
    p_value: float
    reject_below: float = ALPHA_BINOMIAL

    @classmethod
    def of(cls, failures: int, trials: int, delta: float,
           reject_below: float = ALPHA_BINOMIAL) -> BinomialTest:
        return cls(int(failures), int(trials), float(delta),
                   binomial_p_value(failures, trials, delta), reject_below)

    @property
    def rejects(self) -> bool:
        return self.p_value < self.reject_below


@dataclass(frozen=True)
class GroupRow:
    """One row of a per-adversary (or per-group) breakdown."""

    instances: int = 0
    nonvacuous_instances: int = 0
    violations: int = 0
    worst_ratio: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Fit:
    """A log-log slope fit: fitted ``slope`` against the theory's ``expected`` exponent, within
    ``tolerance``; ``constant`` is the fitted prefactor; ``ci`` a confidence interval if any."""

    slope: float
    expected: float | None = None
    tolerance: float | None = None
    constant: float | None = None
    ci: tuple[float, float] | None = None
    points: dict = field(default_factory=dict)   # {"x": [...], "y": [...]} for plots


@dataclass(frozen=True)
class Violation:
    observed: float
    bound: float
    ratio: float
    note: str = ""
    replay: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class HierarchyItem:
    """One parameter point of the tightness hierarchy O <= W <= B of a claim.

    point : dict
        The parameter point (JSON-able, e.g. {"N": 5, "Delta": 0.1, "L": 1.0, "D": 1.0}).
    bound : float
        B, the theorem's bound at the point.
    certified_worst_case : float
        W, the certified worst case (a PEP value, a closed form checked against it, or an exact
        construction: ``certificate`` says which).
    observed_worst : float or None
        O, the largest value the adversarial search found (None when no search ran).
    quantity : str
        What is bounded (e.g. 'min_i ||grad f(x_i)||').
    certificate, search : str
        Where W comes from; how O was found (optimizer, restarts, seed).
    rtol : float
        Relative tolerance of the comparisons O <= W and W <= B (solver accuracy, rounding).

    ``w_over_b`` is the theorem's tightness at the point, ``o_over_w`` the search's efficiency;
    ``finding`` names a breach of O <= W <= B (None when the hierarchy holds).
    """

    point: dict
    bound: float
    certified_worst_case: float
    observed_worst: float | None = None
    quantity: str = ""
    certificate: str = ""
    search: str = ""
    rtol: float = 1e-6

    @property
    def w_over_b(self) -> float | None:
        return _ratio(self.certified_worst_case, self.bound)

    @property
    def o_over_w(self) -> float | None:
        return None if self.observed_worst is None else _ratio(self.observed_worst, self.certified_worst_case)

    @property
    def finding(self) -> str | None:
        """'W > B: ...' or 'O > W: ...' when the hierarchy is breached beyond ``rtol``, else None."""
        b, w, o = self.bound, self.certified_worst_case, self.observed_worst
        if not w <= b * (1 + self.rtol):      # NaN counts as a breach
            return "W > B: the certified worst case exceeds the bound (wrong theorem or constant)"
        if o is not None and not o <= w * (1 + self.rtol):
            return ("O > W: the search beat the certified worst case (bug in the implementation or "
                    "the encoding)")
        return None

    def to_json(self) -> dict:
        return sanitize({**asdict(self), "w_over_b": self.w_over_b, "o_over_w": self.o_over_w,
                         "finding": self.finding})

    @classmethod
    def from_json(cls, d: dict) -> HierarchyItem:
        kw = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        for name in ("bound", "certified_worst_case", "observed_worst"):
            if isinstance(kw.get(name), str):
                kw[name] = float(kw[name])
        return cls(**kw)


def _ratio(a: float, b: float) -> float | None:
    if a is None or b is None:
        return None
    if b == 0:
        return 1.0 if a == 0 else math.inf
    return float(a) / float(b)


@dataclass(frozen=True)
class ClaimHeader:
    id: str
    statement: str
    source: str
    provenance: str
    kind: str
    formula: str

    @classmethod
    def of(cls, claim) -> ClaimHeader:
        return cls(claim.id, claim.statement, claim.source, claim.provenance, claim.kind,
                   claim.formula())


@dataclass(frozen=True)
class ClaimResult(ClaimHeader):
    """The result of one claim check; fields documented in the module docstring."""

    status: str
    instances: int = 0
    nonvacuous_instances: int = 0
    outside_hypotheses: int = 0
    violations: int = 0
    errors: int = 0
    worst_ratio: float | None = None
    empirical_constant: float | None = None
    claim_constant: float | None = None
    binomial: BinomialTest | None = None
    detectable_failure_rate: float | None = None
    detectable_excess: float | None = None
    adversaries: dict[str, GroupRow] = field(default_factory=dict)
    fits: dict[str, Fit] = field(default_factory=dict)
    worst_violation: Violation | None = None
    replay: str | None = None
    error_examples: tuple[dict, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    hierarchy: tuple[HierarchyItem, ...] = ()

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @classmethod
    def build(cls, claim, *, violated: bool, min_nonvacuous: int = MIN_NONVACUOUS,
              **kw) -> ClaimResult:
        """A result for ``claim`` whose status follows :func:`decide_status` from the counts."""
        status = decide_status(errors=kw.get("errors", 0), violated=violated,
                               nonvacuous=kw.get("nonvacuous_instances", 0),
                               min_nonvacuous=min_nonvacuous)
        return cls(**asdict(ClaimHeader.of(claim)), status=status, **kw)

    @classmethod
    def crashed(cls, claim, message: str, traceback_text: str = "") -> ClaimResult:
        """The result of a check that raised instead of returning (never hidden)."""
        example = {"error": message, **({"traceback": traceback_text} if traceback_text else {})}
        return cls(**asdict(ClaimHeader.of(claim)), status="error", errors=1,
                   error_examples=(example,))

    @property
    def ok(self) -> bool:
        return self.status == "holds"

    def with_seconds(self, seconds: float) -> ClaimResult:
        return replace(self, seconds=round(float(seconds), 3))

    def to_json(self) -> dict:
        """The report.json entry: plain JSON (non-finite floats as strings); empty optional
        fields are left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("binomial", "worst_violation", "replay", "detectable_failure_rate",
                          "detectable_excess") and v is None:
                continue
            if f.name in ("fits", "details", "error_examples", "hierarchy") and not v:
                continue
            if f.name == "adversaries":
                v = {k: _row_json(r) for k, r in v.items()}
            elif f.name == "fits":
                v = {k: asdict(fit) for k, fit in v.items()}
            elif f.name in ("binomial", "worst_violation"):
                v = asdict(v)
            elif f.name == "error_examples":
                v = list(v)
            elif f.name == "hierarchy":
                v = [item.to_json() for item in v]
            out[f.name] = v
        return sanitize(out)

    @classmethod
    def from_json(cls, d: dict) -> ClaimResult:
        """Inverse of :meth:`to_json` (used to reuse cached entries; strings 'inf'/'nan' stay
        as JSON gave them)."""
        kw = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        for name in ("worst_ratio", "empirical_constant", "claim_constant", "detectable_excess"):
            if isinstance(kw.get(name), str):          # 'inf', '-inf', 'nan' in strict JSON
                kw[name] = float(kw[name])
        if kw.get("binomial") is not None:
            kw["binomial"] = BinomialTest(**d["binomial"])
        if kw.get("worst_violation") is not None:
            kw["worst_violation"] = Violation(**d["worst_violation"])
        kw["adversaries"] = {k: GroupRow(**{**r, "extra": r.get("extra", {})})
                             for k, r in d.get("adversaries", {}).items()}
        kw["fits"] = {k: Fit(**{**f, "ci": tuple(f["ci"]) if f.get("ci") else None})
                      for k, f in d.get("fits", {}).items()}
        kw["error_examples"] = tuple(d.get("error_examples", ()))
        kw["hierarchy"] = tuple(HierarchyItem.from_json(h) for h in d.get("hierarchy", ()))
        return cls(**kw)


def _row_json(row: GroupRow) -> dict:
    d = asdict(row)
    if not d["extra"]:
        del d["extra"]
    return d


def worst(values) -> float | None:
    """The largest of ``values`` (None entries skipped, NaN counted as +inf: the worst), or None
    when there is none."""
    vals = [math.inf if v != v else float(v) for v in values if v is not None]
    return max(vals) if vals else None


def _poisson_binomial_pmf(probs) -> np.ndarray:
    """P[S = j], j = 0..n, for S a sum of independent Bernoulli(p_i) (exact, by convolution)."""
    dist = np.zeros(len(probs) + 1)
    dist[0] = 1.0
    for i, p in enumerate(probs, 1):
        p = min(1.0, max(0.0, float(p)))
        dist[1:i + 1] = dist[1:i + 1] * (1 - p) + dist[:i] * p
        dist[0] *= 1 - p
    return dist


def _sf(k: int, dist: np.ndarray) -> float:
    return 1.0 if k <= 0 else float(min(1.0, dist[k:].sum()))


def poisson_binomial_sf(k: int, probs) -> float:
    """P[S >= k] for S a sum of independent Bernoulli(p_i) (exact, by convolution): the test of
    a claim whose failure probability bound differs from instance to instance."""
    if k <= 0:
        return 1.0
    return _sf(k, _poisson_binomial_pmf(probs))


def rejection_count(probs, alpha: float) -> int:
    """The smallest k with P[S >= k] < alpha (S Poisson-binomial with ``probs``); len+1 if none.
    The distribution is computed once (each P[S >= k] exactly as :func:`poisson_binomial_sf`)."""
    dist = _poisson_binomial_pmf(probs)
    for k in range(len(probs) + 2):
        if _sf(k, dist) < alpha:
            return k
    return len(probs) + 1


def detectable_failure_rate(trials: int, reject_at: int, power: float = 0.8) -> float | None:
    """The power of a count test: the smallest true failure rate q for which
    P[Binomial(trials, q) >= reject_at] >= power (None when no rate is detectable)."""
    if trials <= 0 or reject_at > trials:
        return None
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if binom.sf(reject_at - 1, trials, mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi
