"""The audit's typed results: what ``byzpgd audit`` measured, fitted, found and decided.

One frozen dataclass per part (SciPy's ``OptimizeResult`` is the model: one result object whose
fields are documented here), each with ``to_dict`` and ``from_dict``; :class:`AuditResult` is the
whole audit, written as DIR/audit.json by :meth:`AuditResult.to_json` and read back by
:meth:`AuditResult.from_json` (a round trip gives an equal object). The grade is *computed* from
the measurements by :func:`byzpgd.audit.verdict.grade`; nothing here is written back into the
battery's rows. This module imports no other part of byzpgd but :mod:`byzpgd.jsonsafe`, so the
reports (:mod:`byzpgd.reports.audit_report`) read these types without importing the audit.

Notation (docs/audit.md): for a setting s, Δ_user(s) is the audited rule's worst empirical Δ over
the attacks, Δ_ref(s) the best reference's, LB(s) = α/√n + √(d/(nm)) the statistical lower
bound (σ = 1, docs/paper.md §7.2).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

#: the verdicts, most lenient first; a rule's verdict on the quick profile is never more lenient
#: than on ci (tests/test_audit_evidence.py)
VERDICTS = ("pass", "suboptimal", "inconclusive", "fail")
#: the evidence a graded sweep gives (:mod:`byzpgd.audit.rates_fit`)
EVIDENCE = ("shown", "refuted", "undetermined", "missing")
SCHEMA = 2


def leniency(verdict: str) -> int:
    """0 for pass (most lenient) … 3 for fail (:data:`VERDICTS` order)."""
    return VERDICTS.index(verdict)


def _tuple(x) -> tuple:
    return tuple(x) if x is not None else ()


def _opt_float(x) -> float | None:
    return None if x is None else float(x)


def _float(x) -> float:
    """JSON's inf/nan come back as strings from some writers: accept both."""
    return float(x)


# ---------------------------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """One row of the battery (:mod:`byzpgd.audit.battery`): the rule's and the references' empirical
    Δ at one setting under one attack ('none' for an honest setting, 'worst' for the sup over the
    attacks with real-valued rows, per repetition, then the mean).

    ``delta``: the rule's mean Δ over the repetitions (``delta_reps`` each; inf when a call failed
    or the output was not finite); ``delta_reference`` / ``delta_reference_reps``: the same for
    each reference (None where a reference is not defined: its breakdown number is below f);
    ``best_reference``: the reference with the smallest Δ; ``lower_bound``: LB(s); ``rates``: the
    paper's Õ-rates at s; ``error``: the kind of the first failure of the rule at this row, if
    any. Worst rows only: ``worst_attack``, ``reference_worst_attack``, ``nonfinite_input`` (the
    rule's Δ under each attack with NaN/±Inf rows) and ``nonfinite_input_failed`` (those where
    it was not finite or the rule failed)."""

    setting: int
    attack: str
    m: int
    n: int
    d: int
    f: int
    f_rule: int
    honest: bool
    sweeps: tuple[str, ...]
    delta: float
    delta_reps: tuple[float, ...]
    delta_reference: dict[str, float | None]
    delta_reference_reps: dict[str, tuple[float | None, ...]]
    best_reference: str | None
    lower_bound: float
    rates: dict[str, float]
    error: str | None = None
    placement: str | None = None
    worst_attack: str | None = None
    reference_worst_attack: dict[str, str | None] = field(default_factory=dict)
    nonfinite_input: dict[str, float] = field(default_factory=dict)
    nonfinite_input_failed: tuple[str, ...] = ()

    @property
    def alpha(self) -> float:
        return self.f / self.m

    @property
    def best_reference_delta(self) -> float | None:
        return None if self.best_reference is None else self.delta_reference.get(self.best_reference)

    @property
    def ratio_to_best_reference(self) -> float | None:
        return _ratio(self.delta, self.best_reference_delta)

    @property
    def ratio_to_lower_bound(self) -> float | None:
        return _ratio(self.delta, self.lower_bound)

    def label(self) -> str:
        txt = f"m = {self.m}, n = {self.n}, d = {self.d}, f = {self.f} (alpha = {self.alpha:.3g}"
        if self.honest:
            txt += f", no attack, rule built for f = {self.f_rule}"
        return txt + ")"

    @classmethod
    def from_row(cls, row: dict) -> Measurement:
        """From a battery row (a dict of :mod:`byzpgd.audit.battery`) or :meth:`to_dict`."""
        refs = row.get("delta_reference") or {}
        ref_reps = row.get("delta_reference_reps") or {}
        delta = row["delta"] if "delta" in row else row["delta_empirical"]
        return cls(setting=int(row["setting"]), attack=str(row["attack"]), m=int(row["m"]), n=int(row["n"]),
                   d=int(row["d"]), f=int(row["f"]), f_rule=int(row.get("f_rule", row["f"])),
                   honest=bool(row.get("honest", row["f"] == 0)), sweeps=_tuple(row.get("sweeps")),
                   delta=_float(delta), delta_reps=tuple(_float(v) for v in row.get("delta_reps") or [delta]),
                   delta_reference={k: _opt_float(v) for k, v in refs.items()},
                   delta_reference_reps={k: tuple(_opt_float(x) for x in (v or ()))
                                         for k, v in ref_reps.items()},
                   best_reference=row.get("best_reference"), lower_bound=_float(row["lower_bound"]),
                   rates={k: _float(v) for k, v in (row.get("rates") or {}).items()},
                   error=row.get("error"), placement=row.get("placement"),
                   worst_attack=row.get("worst_attack"),
                   reference_worst_attack=dict(row.get("reference_worst_attack") or {}),
                   nonfinite_input={k: _float(v) for k, v in (row.get("nonfinite_input") or {}).items()},
                   nonfinite_input_failed=_tuple(row.get("nonfinite_input_failed")))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sweeps"], d["delta_reps"] = list(self.sweeps), list(self.delta_reps)
        d["delta_reference_reps"] = {k: list(v) for k, v in self.delta_reference_reps.items()}
        d["nonfinite_input_failed"] = list(self.nonfinite_input_failed)
        d.update(alpha=self.alpha, ratio_to_best_reference=self.ratio_to_best_reference,
                 ratio_to_lower_bound=self.ratio_to_lower_bound)
        return d

    from_dict = from_row


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if b == 0:
        return 0.0 if a == 0 else math.inf
    return a / b


@dataclass(frozen=True)
class BiasTest:
    """The sign-flip test of one rule at one honest setting (:func:`byzpgd.audit.battery.bias_test`):
    ``bias`` = max over the probe points of the norm of the mean error, its exact (or Monte Carlo)
    ``p_value``, the ``statistic`` T = Σ_k ‖b_k‖², ``reps`` data sets, ``exact``."""

    bias: float
    p_value: float
    statistic: float
    reps: int
    exact: bool

    @classmethod
    def from_dict(cls, d: dict) -> BiasTest:
        return cls(_float(d["bias"]), float(d["p_value"]), _float(d["statistic"]), int(d["reps"]),
                   bool(d["exact"]))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BiasEntry:
    """The bias tests of one honest setting: ``tests`` by who ('user' and each reference; None when
    a repetition is missing)."""

    setting: int
    m: int
    n: int
    d: int
    f_rule: int
    reps: int
    tests: dict[str, BiasTest | None]

    @classmethod
    def from_dict(cls, d: dict) -> BiasEntry:
        return cls(int(d["setting"]), int(d["m"]), int(d["n"]), int(d["d"]), int(d["f_rule"]), int(d["reps"]),
                   {k: (None if v is None else BiasTest.from_dict(v)) for k, v in d["tests"].items()})

    def to_dict(self) -> dict:
        return {"setting": self.setting, "m": self.m, "n": self.n, "d": self.d, "f_rule": self.f_rule,
                "reps": self.reps,
                "tests": {k: (None if v is None else v.to_dict()) for k, v in self.tests.items()}}


# ---------------------------------------------------------------------------------------------
# rate fits
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlopeFit:
    """One log-log fit (:func:`byzpgd.audit.rates_fit.fit_slope`). ``sweep`` (a key of
    battery.SWEEPS), ``variable`` ('n', 'm', 'alpha'), ``who`` ('user' or a reference's name),
    ``values`` (the grid), ``slope``/``constant`` (None without two finite positive points at
    distinct x), ``se``, ``df``, ``ci`` ((low, high) at ``level``; None when df < 1), ``points``
    (N), ``infinite`` (number of infinite Δ)."""

    sweep: str
    variable: str
    who: str
    values: tuple
    slope: float | None
    constant: float | None
    se: float | None
    df: int
    ci: tuple[float, float] | None
    level: float
    points: int
    infinite: int

    @classmethod
    def from_dict(cls, d: dict) -> SlopeFit:
        return cls(d["sweep"], d["variable"], d["who"], _tuple(d["values"]), _opt_float(d["slope"]),
                   _opt_float(d["constant"]), _opt_float(d["se"]), int(d["df"]),
                   None if d["ci"] is None else (float(d["ci"][0]), float(d["ci"][1])), float(d["level"]),
                   int(d["points"]), int(d["infinite"]))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["values"] = list(self.values)
        d["ci"] = None if self.ci is None else list(self.ci)
        return d


@dataclass(frozen=True)
class SweepSlopes:
    """The fits of one sweep: ``fits`` by who, ``theory`` (local slope of each paper rate and of the
    lower bound over the grid), and for a graded sweep the ``exponent`` (the theory's),
    ``threshold`` (= exponent + tolerance), the ``evidence`` the user's fit gives (one of
    :data:`EVIDENCE`, :mod:`byzpgd.audit.rates_fit`) and its ``error_probability``."""

    sweep: str
    variable: str
    values: tuple
    fits: dict[str, SlopeFit]
    theory: dict[str, float | None]
    graded: bool
    exponent: float | None = None
    threshold: float | None = None
    evidence: str | None = None
    error_probability: float | None = None

    @property
    def user(self) -> SlopeFit | None:
        return self.fits.get("user")

    @classmethod
    def from_dict(cls, d: dict) -> SweepSlopes:
        return cls(d["sweep"], d["variable"], _tuple(d["values"]),
                   {k: SlopeFit.from_dict(v) for k, v in d["fits"].items()},
                   {k: _opt_float(v) for k, v in d["theory"].items()}, bool(d["graded"]),
                   _opt_float(d.get("exponent")), _opt_float(d.get("threshold")), d.get("evidence"),
                   _opt_float(d.get("error_probability")))

    def to_dict(self) -> dict:
        return {"sweep": self.sweep, "variable": self.variable, "values": list(self.values),
                "fits": {k: v.to_dict() for k, v in self.fits.items()}, "theory": dict(self.theory),
                "graded": self.graded, "exponent": self.exponent, "threshold": self.threshold,
                "evidence": self.evidence, "error_probability": self.error_probability}


# ---------------------------------------------------------------------------------------------
# findings and the grade
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A misbehaviour of the rule seen by the sandbox or the battery (docs/audit.md, "Findings"):
    ``kind`` (exception, timeout, crash, mutation, wrong_shape, non_finite_output, ...),
    ``severity`` ('error' or 'warning'), ``count`` (calls), ``message``, ``context`` (where it was
    first seen: phase, attack, setting)."""

    kind: str
    message: str
    severity: str = "error"
    count: int = 1
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        return cls(str(d["kind"]), str(d["message"]), str(d.get("severity", "error")), int(d.get("count", 1)),
                   dict(d.get("context") or {}))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "severity": self.severity, "count": self.count,
                "context": dict(self.context)}

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity}, x{self.count}): {self.message}"


@dataclass(frozen=True)
class Reason:
    """One reason of the verdict: ``kind`` ('finding:KIND', 'nonfinite_input', 'breakdown', 'bias',
    'end_to_end', 'delta_exceeds_reference', 'slope', 'not_shown'), ``grade`` (the verdict it
    implies: 'fail', 'inconclusive' or 'suboptimal'), ``message`` (one sentence with the
    numbers), ``details`` (the numbers)."""

    kind: str
    grade: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> Reason:
        details = {k: v for k, v in d.items() if k not in ("kind", "grade", "message")}
        return cls(str(d["kind"]), str(d["grade"]), str(d["message"]), details)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "grade": self.grade, "message": self.message, **self.details}

    def __str__(self) -> str:
        if self.message.startswith(f"{self.kind}:"):    # the audit's messages may name their kind
            return self.message
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Decision:
    """One statistical decision of the grade: ``what`` (e.g. 'slope in n (n) <= -0.25'),
    ``outcome`` (e.g. 'shown', 'refuted', 'biased', 'unbiased'), ``p_value`` or the slope and its
    interval, and ``error_probability`` (the probability that this outcome is wrong, where
    known)."""

    what: str
    outcome: str
    error_probability: float | None = None
    p_value: float | None = None
    level: float | None = None
    slope: float | None = None
    ci: tuple[float, float] | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        ci = d.get("ci")
        return cls(str(d["what"]), str(d["outcome"]), _opt_float(d.get("error_probability")),
                   _opt_float(d.get("p_value")), _opt_float(d.get("level")), _opt_float(d.get("slope")),
                   None if ci is None else (float(ci[0]), float(ci[1])))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"] = None if self.ci is None else list(self.ci)
        return d


@dataclass(frozen=True)
class Grade:
    """The verdict (one of :data:`VERDICTS`), its ``reasons`` (most severe first), ``notes`` (what was
    reported but does not count), ``error_probability`` (the largest error probability of the
    decisions that made the verdict; None when none was statistical), ``decisions`` and the
    thresholds each worst row was judged against (``thresholds``: setting -> (factor threshold,
    breakdown threshold))."""

    verdict: str
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...] = ()
    error_probability: float | None = None
    decisions: tuple[Decision, ...] = ()
    thresholds: dict[int, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @classmethod
    def from_dict(cls, d: dict) -> Grade:
        return cls(d["verdict"], tuple(Reason.from_dict(r) for r in d["reasons"]), _tuple(d.get("notes")),
                   _opt_float(d.get("error_probability")),
                   tuple(Decision.from_dict(x) for x in d.get("decisions") or ()),
                   {int(k): (float(v[0]), float(v[1])) for k, v in (d.get("thresholds") or {}).items()})

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": [r.to_dict() for r in self.reasons],
                "notes": list(self.notes), "error_probability": self.error_probability,
                "decisions": [x.to_dict() for x in self.decisions],
                "thresholds": {str(k): list(v) for k, v in self.thresholds.items()}}


# ---------------------------------------------------------------------------------------------
# (f, κ)-robustness and end to end
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KappaSummary:
    """The empirical (f, κ)-robustness of the rule (:mod:`byzpgd.audit.kappa`; Allouah et al.,
    AISTATS 2023): ``kappa_hat``, a lower bound on the rule's κ found by adversarial search at
    (``n``, ``f``, ``d``); ``lower_bound`` f/(n − 2f), which no rule beats; ``upper_bound`` the
    proven κ of the rule when it is a standard rule (None otherwise) with its ``upper_source``;
    ``exceeds_upper`` when κ̂ is above the proven bound (the implementation is wrong);
    ``evaluations`` of the rule; ``error`` when the rule failed during the search."""

    n: int
    f: int
    d: int
    kappa_hat: float
    lower_bound: float
    upper_bound: float | None = None
    upper_source: str | None = None
    exceeds_upper: bool = False
    evaluations: int = 0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> KappaSummary:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EndToEnd:
    """ByzantinePGD end to end with the rule (:mod:`byzpgd.audit.end_to_end`): ``holds`` (no error
    and every instance inside Theorem 1's hypotheses satisfies both claims), ``status``
    ('holds', 'violated', 'error', 'unchecked'), the counts, ``worst_ratio`` (observed/bound),
    ``reasons`` and ``notes`` (sentences), ``records`` (one dict per instance: seed, Delta,
    grad_norm, calls, escapes, lambda_min, the two claims' observed/bound/holds, in_hypotheses or
    error) and ``setting`` (the instance family)."""

    holds: bool
    status: str
    instances: int
    ran: int
    inside_hypotheses: int
    errors: int
    violations: int
    skipped: int
    could_not_be_checked: int
    worst_ratio: dict[str, float | None] = field(default_factory=dict)
    claims: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    records: tuple[dict, ...] = ()
    setting: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> EndToEnd:
        return cls(bool(d["holds"]), str(d["status"]), int(d["instances"]), int(d["ran"]),
                   int(d["inside_hypotheses"]), int(d["errors"]), int(d["violations"]), int(d["skipped"]),
                   int(d["could_not_be_checked"]),
                   {k: _opt_float(v) for k, v in (d.get("worst_ratio") or {}).items()},
                   _tuple(d.get("claims")),
                   _tuple(d.get("reasons")), _tuple(d.get("notes")), _tuple(d.get("records")),
                   dict(d.get("setting") or {}))

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("claims", "reasons", "notes", "records"):
            d[k] = list(d[k])
        return d


# ---------------------------------------------------------------------------------------------
# the whole audit
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditSettings:
    """What was audited and how: ``target`` (MODULE:CALLABLE), ``description`` (what the sandbox
    loaded; None when loading failed), ``input_kind``, ``profile`` and its ``profile_config``,
    ``seed``, ``f_max``, ``alpha_max``, ``references``, ``attacks``, ``call_timeout``,
    ``assume_finite`` (non-finite Byzantine rows are dropped before aggregation by the server:
    a rule they break gets a note, not a fail), ``criterion`` (the grade's constants and
    statement), ``command`` (reproduces the run)."""

    target: str
    profile: str
    seed: int
    f_max: int
    references: tuple[str, ...]
    attacks: tuple[str, ...] = ()
    description: str | None = None
    input_kind: str = "numpy"
    alpha_max: float | None = None
    call_timeout: float | None = None
    assume_finite: bool = False
    profile_config: dict[str, Any] = field(default_factory=dict)
    criterion: dict[str, Any] = field(default_factory=dict)
    command: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> AuditSettings:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["references"], kw["attacks"] = _tuple(kw.get("references")), _tuple(kw.get("attacks"))
        return cls(**kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["references"], d["attacks"] = list(self.references), list(self.attacks)
        return d


@dataclass(frozen=True)
class AuditResult:
    """The audit of one rule (``byzpgd audit``, ``byzpgd.audit``).

    Fields: ``settings`` (:class:`AuditSettings`), ``grade`` (:class:`Grade`: the verdict and its
    reasons), ``measurements`` (every battery row, :class:`Measurement`), ``battery_settings`` (the
    statistical settings as dicts: id, m, n, d, f, alpha, f_rule, honest, sweeps), ``bias``
    (:class:`BiasEntry` per honest setting), ``slopes`` (:class:`SweepSlopes` per sweep),
    ``constants`` (empirical constants: who -> rate -> max Δ/rate), ``kappa``
    (:class:`KappaSummary` or None), ``end_to_end`` (:class:`EndToEnd` or None when not run),
    ``findings``, ``sandbox`` (call statistics), ``seconds``, ``environment``.

    ``verdict``, ``reasons``, ``notes`` and ``ok`` read the grade."""

    settings: AuditSettings
    grade: Grade
    measurements: tuple[Measurement, ...]
    battery_settings: tuple[dict, ...] = ()
    bias: tuple[BiasEntry, ...] = ()
    slopes: dict[str, SweepSlopes] = field(default_factory=dict)
    constants: dict[str, dict[str, float | None]] = field(default_factory=dict)
    kappa: KappaSummary | None = None
    end_to_end: EndToEnd | None = None
    findings: tuple[Finding, ...] = ()
    sandbox: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    environment: dict[str, Any] = field(default_factory=dict)

    # -- reading the grade ------------------------------------------------------------------
    @property
    def verdict(self) -> str:
        return self.grade.verdict

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return self.grade.reasons

    @property
    def notes(self) -> tuple[str, ...]:
        return self.grade.notes

    @property
    def ok(self) -> bool:
        """True when the verdict is pass."""
        return self.grade.verdict == "pass"

    @property
    def target(self) -> str:
        return self.settings.target

    @property
    def command(self) -> str | None:
        return self.settings.command

    def worst(self) -> list[Measurement]:
        """The 'worst' row of every setting, in setting order."""
        return [r for r in self.measurements if r.attack == "worst"]

    def rows(self, attack: str | None = None, sweep: str | None = None) -> list[Measurement]:
        return [r for r in self.measurements if (attack is None or r.attack == attack)
                and (sweep is None or sweep in r.sweeps)]

    def error_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def with_environment(self, env: dict) -> AuditResult:
        return replace(self, environment=dict(env))

    def write(self, out_dir) -> list:
        """Write DIR/audit.json, audit.md and audit.html (the files of ``byzpgd audit --out DIR``);
        returns the paths."""
        from ..reports.audit_report import write_audit
        return write_audit(out_dir, self)

    # -- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        """The JSON-able dict of audit.json (schema :data:`SCHEMA`). Top-level keys: 'schema',
        'verdict', 'reasons', 'notes' (copies of the grade's, for a reader of the file alone),
        then one key per field."""
        g = self.grade.to_dict()
        return {"schema": SCHEMA, "verdict": self.verdict, "reasons": g["reasons"], "notes": g["notes"],
                "settings": self.settings.to_dict(), "grade": g,
                "measurements": [r.to_dict() for r in self.measurements],
                "battery_settings": [dict(s) for s in self.battery_settings],
                "bias": [b.to_dict() for b in self.bias],
                "slopes": {k: v.to_dict() for k, v in self.slopes.items()},
                "constants": {k: dict(v) for k, v in self.constants.items()},
                "kappa": None if self.kappa is None else self.kappa.to_dict(),
                "end_to_end": None if self.end_to_end is None else self.end_to_end.to_dict(),
                "findings": [f.to_dict() for f in self.findings], "sandbox": dict(self.sandbox),
                "seconds": self.seconds, "environment": dict(self.environment)}

    @classmethod
    def from_json(cls, d: dict) -> AuditResult:
        """Read :meth:`to_json`'s dict back (ValueError for another schema)."""
        if d.get("schema") != SCHEMA:
            raise ValueError(f"audit.json schema {d.get('schema')!r} is not {SCHEMA}: re-run the audit")
        return cls(settings=AuditSettings.from_dict(d["settings"]), grade=Grade.from_dict(d["grade"]),
                   measurements=tuple(Measurement.from_row(r) for r in d["measurements"]),
                   battery_settings=tuple(dict(s) for s in d.get("battery_settings") or ()),
                   bias=tuple(BiasEntry.from_dict(b) for b in d.get("bias") or ()),
                   slopes={k: SweepSlopes.from_dict(v) for k, v in (d.get("slopes") or {}).items()},
                   constants={k: dict(v) for k, v in (d.get("constants") or {}).items()},
                   kappa=None if d.get("kappa") is None else KappaSummary.from_dict(d["kappa"]),
                   end_to_end=None if d.get("end_to_end") is None else EndToEnd.from_dict(d["end_to_end"]),
                   findings=tuple(Finding.from_dict(f) for f in d.get("findings") or ()),
                   sandbox=dict(d.get("sandbox") or {}), seconds=d.get("seconds"),
                   environment=dict(d.get("environment") or {}))
