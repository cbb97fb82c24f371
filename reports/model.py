"""The verification report as one typed object: what ``byzpgd verify`` and the pytest plugin
produce and what every writer (JSON, Markdown, HTML) renders. Writers read these fields and the
:class:`~byzpgd.properties.result.ClaimResult` fields; nothing is guessed from keys.

Fields
------
profile, seed, command : the run (``command`` reproduces it).
claims : list[ClaimResult], in the order checked.
environment : dict (Python, platform, package versions; from :func:`json_report.environment`).
seconds : float or None, the wall-clock time of the run.
extra : dict of extra top-level JSON members (e.g. the pytest plugin's ``pytest``).
partial : str or None. None: the run ended and every claim it selected is in ``claims``.
    Otherwise the report is partial (written after each finished claim while ``byzpgd verify``
    runs, or when it stopped early) and this says why: 'running', 'max_seconds' (``--max-seconds``
    ran out) or 'interrupted'; ``pending`` lists the selected claims without a result yet.
pending : tuple of claim ids (empty unless partial).
illustration : EscapeData or None, data for the escape illustration (an
    :class:`byzpgd.experiments.figures.EscapeData` computed by
    :func:`~byzpgd.experiments.figures.escape_illustration`, drawn by the HTML writer; typed
    ``Any`` here because reports import nothing from experiments). Not part of report.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..properties.result import STATUSES, ClaimResult


@dataclass(frozen=True)
class Report:
    profile: str
    seed: int
    command: str
    claims: list[ClaimResult]
    environment: dict = field(default_factory=dict)
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    illustration: Any = None
    partial: str | None = None
    pending: tuple[str, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        statuses = [c.status for c in self.claims]
        return {s: statuses.count(s) for s in STATUSES}

    @property
    def adversaries(self) -> list[str]:
        """The union of the adversaries the claims were checked against, sorted."""
        return sorted({name for c in self.claims for name in c.adversaries})

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.claims)

    def to_json(self) -> dict:
        out = {"profile": self.profile, "seed": self.seed, "command": self.command,
               "environment": self.environment, "summary": self.summary,
               "adversaries": self.adversaries, **self.extra,
               "claims": [c.to_json() for c in self.claims]}
        if self.partial is not None:
            out["partial"] = {"reason": self.partial, "pending": list(self.pending)}
        if self.seconds is not None:
            out["seconds"] = round(float(self.seconds), 3)
        return out

    @classmethod
    def from_json(cls, d: dict) -> Report:
        known = {"profile", "seed", "command", "environment", "summary", "adversaries", "claims",
                 "seconds", "partial"}
        partial = d.get("partial")
        return cls(d["profile"], d["seed"], d.get("command", ""),
                   [ClaimResult.from_json(c) for c in d.get("claims", [])],
                   d.get("environment", {}), d.get("seconds"),
                   {k: v for k, v in d.items() if k not in known}, None,
                   None if partial is None else partial["reason"],
                   () if partial is None else tuple(partial.get("pending", ())))
