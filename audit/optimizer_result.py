"""The typed result of ``byzpgd audit-optimizer`` (:func:`byzpgd.audit.optimizer.audit_optimizer`):
one frozen dataclass per part, each with ``to_dict``; :class:`OptimizerAudit` is the whole audit,
written as DIR/optimizer-audit.json by :meth:`OptimizerAudit.to_json` and DIR/optimizer-audit.md
by :func:`to_markdown`. Nothing here computes: the rows come from the battery, the verdict from
:func:`byzpgd.audit.optimizer.grade` (docs/audit-optimizer.md).

Notation: Δ the oracle's budget, w̃ the optimizer's output, γ = −λ_min(∇²F(c)) the curvature of
the attacked strict saddle c; Theorem 1 (docs/paper.md §4): ‖∇F(w̃)‖ <= 4Δ and
λ_min(∇²F(w̃)) >= −1900 (√ρ_F + L_F) Δ^{2/5} d^{1/5} log(10/Δ); Observation 2 (docs/paper.md §5,
§7.1): no algorithm guarantees ‖∇F(w̃)‖ <= Δ/2 nor λ_min >= −√(ρ_F Δ)/2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..jsonsafe import dumps

#: the verdicts, best first
VERDICTS = ("second-order", "first-order only", "inconclusive", "fail")
SCHEMA = 1


@dataclass(frozen=True)
class RunRow:
    """One run of the battery.

    ``kind``: 'first_order' (a random start, any adversary), 'saddle_attack' (a start at the
    attacked strict saddle's fake basin or at the attack's fake minimum) or 'lower_bound' (the
    θ-free oracle of a docs/paper.md §7.1 construction; certified on a member drawn after the run).
    ``start``: 'random', 'saddle' (w_0 = c + a u_P + b u_V inside the fake basin,
    experiments.saddle_attack.attack_start), 'fake_minimum' (the adversary's planted minimum) or
    'phase' / 'pm' (the two §7.1 constructions). ``status``: 'finished' (returned a point within
    the budget), 'budget' (used the whole budget: no verdict on the run), or the error finding
    that ended it ('exception', 'timeout', 'crash', 'non_finite_output', 'wrong_shape',
    'wrong_type', 'mutated_w0', 'diverged', 'skipped'). ``grad_ratio`` = ‖∇F(w̃)‖/Δ and
    ``lambda_min`` = λ_min(∇²F(w̃)) (exact certificates, theory.certify; None when there is no
    output); ``gamma``: the attacked saddle's curvature (None off the saddle landscapes);
    ``trapped``: λ_min(w̃) + error < −γ/2; ``escaped``: λ_min(w̃) − error > −γ/4 (the margin);
    ``control_trapped``: robust GD (ε = 3Δ) from the same start under the same adversary ended at
    λ_min < −γ/2 (an attack instance whose control escaped is *vacuous*: it shows no escape);
    ``calls``: oracle calls counted by the audit's wrapper (outside the user's code);
    ``L_F``: the landscape's certified smoothness (Theorem 1's λ_min bound is vacuous when >= L_F);
    ``theorem1_lambda``: Theorem 1's λ_min bound at the instance's values (its ‖∇F‖ bound is 4Δ);
    ``obs2_lambda``: Observation 2's barrier −√(ρ_F Δ)/2."""

    index: int
    kind: str
    Delta: float
    adversary: str
    start: str
    landscape: str
    dim: int
    L_F: float
    status: str
    grad_ratio: float | None
    lambda_min: float | None
    lambda_min_error: float
    gamma: float | None
    trapped: bool | None
    escaped: bool | None
    control_trapped: bool | None
    calls: int
    budget: int
    seconds: float
    theorem1_lambda: float
    obs2_lambda: float
    note: str = ""

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """A misbehaviour of the user's code (severity 'error': it fails the audit): ``kind`` as the
    row status it caused, ``message`` (exception type, message and the innermost frame), ``count``
    (runs), ``first_run`` (the index of the first row it ended)."""

    kind: str
    message: str
    count: int
    first_run: int
    severity: str = "error"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DeltaSummary:
    """Per Δ: ``c`` = max ‖∇F(w̃)‖/Δ over the finished runs (None when none finished),
    ``worst_lambda_min`` over the finished runs on the saddle landscapes, the guarantees beside
    them (Theorem 1: 4 and ``theorem1_lambda``, the largest over the Δ's instances, and whether it
    is vacuous, i.e. >= L_F on every instance; Observation 2: 1/2 and ``obs2_lambda``), the attack
    counts and calls."""

    Delta: float
    runs: int
    finished: int
    c: float | None
    worst_lambda_min: float | None
    theorem1_grad_ratio: float
    theorem1_lambda: float
    theorem1_lambda_vacuous: bool
    obs2_grad_ratio: float
    obs2_lambda: float
    attacks: int
    attacks_escaped: int
    attacks_trapped: int
    attacks_vacuous: int
    max_calls: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Reason:
    """One reason of the verdict: ``grade`` is the verdict it supports, ``message`` the evidence."""

    grade: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OptimizerAudit:
    """The optimizer audit (docs/audit-optimizer.md).

    ``verdict``: 'second-order' | 'first-order only' | 'inconclusive' | 'fail' (:data:`VERDICTS`);
    ``reasons``: the evidence for it; ``c``: max ‖∇F(w̃)‖/Δ over every finished run (the
    first-order constant the data shows; None when no run finished); ``lambda_scale``: the largest
    −λ_min(w̃) over the finished saddle-landscape runs, in units of the attacked curvature γ
    (0 when every output had λ_min >= 0); ``rows``: every run; ``per_delta``: the summaries;
    ``findings``: misbehaviours of the user's code; ``target``, ``description``, ``profile``,
    ``seed``, ``time_limit`` (seconds per run), ``command`` (reproduces the audit), ``seconds``."""

    target: str
    description: str
    profile: str
    seed: int
    verdict: str
    reasons: tuple[Reason, ...]
    c: float | None
    lambda_scale: float | None
    per_delta: tuple[DeltaSummary, ...]
    rows: tuple[RunRow, ...]
    findings: tuple[Finding, ...]
    time_limit: float
    command: str
    seconds: float
    schema: int = SCHEMA

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def passed(self) -> bool:
        """True for the 'second-order' verdict (exit code 0)."""
        return self.verdict == "second-order"

    def finding_kinds(self) -> set[str]:
        return {f.kind for f in self.findings}

    def to_dict(self) -> dict:
        return {"schema": self.schema, "target": self.target, "description": self.description,
                "profile": self.profile, "seed": self.seed, "verdict": self.verdict,
                "reasons": [r.to_dict() for r in self.reasons], "c": self.c,
                "lambda_scale": self.lambda_scale,
                "per_delta": [s.to_dict() for s in self.per_delta],
                "findings": [f.to_dict() for f in self.findings],
                "rows": [r.to_dict() for r in self.rows], "time_limit": self.time_limit,
                "command": self.command, "seconds": self.seconds}

    def to_json(self) -> str:
        """Strict JSON (non-finite floats as strings, byzpgd.jsonsafe)."""
        return dumps(self.to_dict())


def _num(x, fmt: str = ".3g") -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return format(x, fmt)


def to_markdown(audit: OptimizerAudit) -> str:
    """DIR/optimizer-audit.md: verdict, reasons, findings, per-Δ summary beside the guarantees, rows."""
    lines = [f"# Optimizer audit: {audit.target}", "",
             f"**Verdict: {audit.verdict}** ({audit.description}; profile {audit.profile}, seed "
             f"{audit.seed}, {len(audit.rows)} runs, {audit.seconds:.1f} s)", "",
             f"Reproduce: `{audit.command}`", "",
             f"- first-order constant c = max ‖∇F(w̃)‖/Δ over finished runs: {_num(audit.c)}",
             f"- λ_min scale: max −λ_min(w̃)/γ over finished saddle-landscape runs: "
             f"{_num(audit.lambda_scale)}", "", "## Reasons", ""]
    lines += [f"- [{r.grade}] {r.message}" for r in audit.reasons]
    lines += ["", "## Findings", ""]
    lines += [f"- **{f.kind}** ({f.count} run(s), first: run {f.first_run}): {f.message}"
              for f in audit.findings] or ["none"]
    lines += ["", "## Per Δ, beside ByzantinePGD's guarantee (Theorem 1) and Observation 2's lower "
              "bounds", "",
              "| Δ | runs | finished | c = max ‖∇F‖/Δ | Thm 1: ‖∇F‖/Δ ≤ | Obs 2: ‖∇F‖/Δ ≤ (unattainable) "
              "| worst λ_min | Thm 1: λ_min ≥ | Obs 2: λ_min ≥ (unattainable) | attacks escaped / "
              "trapped / vacuous | max calls |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in audit.per_delta:
        thm = f"−{_num(s.theorem1_lambda)}" + (" (vacuous)" if s.theorem1_lambda_vacuous else "")
        lines.append(f"| {s.Delta:g} | {s.runs} | {s.finished} | {_num(s.c)} | "
                     f"{_num(s.theorem1_grad_ratio)} | {_num(s.obs2_grad_ratio)} | "
                     f"{_num(s.worst_lambda_min)} | {thm} | {_num(s.obs2_lambda)} | "
                     f"{s.attacks_escaped} / {s.attacks_trapped} / {s.attacks_vacuous} of {s.attacks} | "
                     f"{s.max_calls} |")
    lines += ["", "## Runs", "",
              "| # | kind | Δ | adversary | start | status | ‖∇F‖/Δ | λ_min | −γ/2 | trapped | "
              "control trapped | calls / budget | note |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in audit.rows:
        half = None if r.gamma is None else -r.gamma / 2
        lines.append(f"| {r.index} | {r.kind} | {r.Delta:g} | {r.adversary} | {r.start} | {r.status} | "
                     f"{_num(r.grad_ratio)} | {_num(r.lambda_min)} | {_num(half)} | {_num(r.trapped)} | "
                     f"{_num(r.control_trapped)} | {r.calls} / {r.budget} | {r.note} |")
    return "\n".join(lines) + "\n"
