"""report.json: the machine-readable verification report, written atomically."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

PACKAGES = ("byzpgd", "numpy", "scipy", "sympy", "hypothesis")


def environment() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "cpus": os.cpu_count(), "packages": versions}


def build_report(profile: str, seed: int, claims: list[dict], command: str) -> dict:
    statuses = [c["status"] for c in claims]
    return {
        "profile": profile,
        "seed": seed,
        "command": command,
        "environment": environment(),
        "summary": {s: statuses.count(s) for s in ("holds", "violated", "error", "inconclusive")},
        "claims": claims,
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``: an interrupted run
    leaves either the old file or the new one, never half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(out_dir: Path, report: dict) -> Path:
    path = Path(out_dir) / "report.json"
    write_atomic(path, json.dumps(report, indent=2, allow_nan=False, default=_jsonable) + "\n")
    return path


def _jsonable(x):
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")
