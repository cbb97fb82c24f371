"""Report output: report.json (machine-readable), report.md (summary for a terminal or a pull
request) and report.html (self-contained, with figures).

:func:`write_all` writes the three as a set: every text is rendered first, then staged to a
temporary sibling file, and only then moved in place; if anything fails before the last move, the
files moved so far are rolled back, so a failed or interrupted write leaves the previous report
(or none), never a half or mixed one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .json_report import build_report, commit, report_json, stage, write_atomic
from .model import Report

__all__ = ["Report", "write_all", "render_all", "build_report", "write_atomic", "FILES"]

FILES = ("report.json", "report.md", "report.html")


def render_all(report: Report, *, escape_illustration: bool = True) -> dict[str, str]:
    """The three report texts, by file name."""
    from .html import render_html
    from .markdown import render_markdown

    return {"report.json": report_json(report), "report.md": render_markdown(report),
            "report.html": render_html(report, escape_illustration=escape_illustration)}


def write_all(out_dir, report: Report, *, escape_illustration: bool = True) -> list[Path]:
    """Write DIR/report.json, DIR/report.md and DIR/report.html (see the module docstring).
    Returns the three paths."""
    out = Path(out_dir)
    texts = render_all(report, escape_illustration=escape_illustration)
    out.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    backups: dict[str, Path | None] = {}
    moved: list[str] = []
    try:
        for name, text in texts.items():
            staged[name] = stage(out / name, text)
        for name in texts:
            backups[name] = _backup(out / name)
        for name in texts:
            commit(staged[name], out / name)
            moved.append(name)
    except BaseException:
        for name in reversed(moved):  # roll back: the previous set, or no file at all
            old = backups.get(name)
            if old is not None:
                os.replace(old, out / name)
                backups[name] = None
            else:
                (out / name).unlink(missing_ok=True)
        raise
    finally:
        for tmp in [*staged.values(), *backups.values()]:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
    return [out / name for name in texts]


def _backup(path: Path) -> Path | None:
    """A hard link (or copy) of an existing file under a temporary name, for rollback."""
    if not path.exists():
        return None
    bak = path.with_name(f".{path.name}.{os.getpid()}.bak")
    bak.unlink(missing_ok=True)
    try:
        os.link(path, bak)
    except OSError:
        shutil.copy2(path, bak)
    return bak
