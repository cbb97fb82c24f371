"""report.json: the machine-readable verification report (a :class:`~byzpgd.reports.model.Report`
as JSON), written atomically.

Writing is two-phase so that several files can be replaced as a set (:func:`stage` every file to
a temporary sibling, then :func:`commit`); :func:`write_atomic` does both for one file.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from ..jsonsafe import dumps
from ..properties.result import ClaimResult
from .model import Report

PACKAGES = ("byzpgd", "numpy", "scipy", "sympy", "hypothesis", "matplotlib", "jinja2")
# keys that hold run times or the machine: everything else is a function of profile and seed
TIMING_KEYS = ("seconds", "environment")


def environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "cpus": os.cpu_count(), "packages": versions,
            "generated_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def build_report(profile: str, seed: int, claims: list[ClaimResult], command: str,
                 seconds: float | None = None, *, extra: dict | None = None,
                 illustration: dict | None = None) -> Report:
    """The :class:`Report` of a run, with this machine's :func:`environment`."""
    return Report(profile, seed, command, list(claims), environment(), seconds, dict(extra or {}),
                  illustration)


def without_timings(report: dict) -> dict:
    """A copy of ``report`` without run times and environment: two runs with the same profile
    and seed must agree on it (the determinism contract)."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in TIMING_KEYS}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(report)


def report_json(report: Report) -> str:
    """report.json's text: :meth:`Report.to_json` through the one sanitizer, strict JSON."""
    return dumps(report.to_json()) + "\n"


def stage(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file next to ``path`` and return its path (phase 1)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; a report is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def commit(tmp: Path, path: Path) -> None:
    """Move a staged file in place (phase 2; ``os.replace`` is atomic on POSIX)."""
    os.replace(tmp, path)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``: an interrupted run
    leaves either the old file or the new one, never half a report."""
    tmp = stage(path, text)
    try:
        commit(tmp, Path(path))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

