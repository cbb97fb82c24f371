"""The ``progress`` argument of :func:`byzpgd.verify` and :func:`byzpgd.audit_aggregator`."""

from __future__ import annotations

from .progress import Progress

__all__ = ["as_progress"]


def as_progress(progress, desc: str, unit: str) -> tuple[Progress | None, bool]:
    """(the Progress to report to, whether this call owns it)."""
    if isinstance(progress, Progress):
        return progress, False
    if progress is True:
        return Progress(desc, unit=unit), True
    if progress in (None, False):
        return None, False
    raise TypeError(f"progress must be True, False, None or a byzpgd.progress.Progress, got {progress!r}")
