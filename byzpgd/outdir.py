"""``--out DIR`` checked before any work: a usage error (exit 2, one line) rather than a traceback
after the whole run.

:func:`check_out_dir` refuses, with a :class:`OutDirError` whose message is one line naming the
path and the reason:

- DIR exists and is not a folder (a file, a device, ...);
- DIR, or a folder above it, is a file (``report.json/out``);
- DIR exists but a file cannot be created in it (permissions, a read-only file system);
- DIR does not exist and cannot be created (its nearest existing parent is not writable or lives
  on a read-only / missing mount).

Writability is *probed* (a temporary file is created and removed, a missing DIR is created with
its missing parents), not read from the permission bits: ``os.access`` is true for root on a
folder with mode 0555 and says nothing of a full or read-only mount. The folders the probe
created are listed in :attr:`OutDir.created`, so an interrupted run can remove them again
(:meth:`OutDir.discard_if_empty`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


class OutDirError(ValueError):
    """``--out`` cannot hold the report (one-line message)."""


@dataclass(frozen=True)
class OutDir:
    """A checked output folder.

    Fields: ``path`` (absolute), ``created`` (the folders the check created, outermost first;
    empty if DIR existed)."""

    path: Path
    created: tuple[Path, ...] = ()

    def discard_if_empty(self) -> None:
        """Remove the folders the check created if they are still empty (innermost first)."""
        for p in reversed(self.created):
            try:
                p.rmdir()
            except OSError:
                return


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_out_dir(path, option: str = "--out") -> OutDir:
    """Make sure ``path`` is (or can become) a folder the report can be written to; raises
    :class:`OutDirError` otherwise (module docstring)."""
    if path is None or str(path).strip() == "":
        raise OutDirError(f"{option} needs a folder name")
    p = Path(os.path.abspath(os.path.expanduser(str(path))))
    if p.exists() and not p.is_dir():
        raise OutDirError(f"{option} {path} exists and is not a folder")
    created: list[Path] = []
    if not p.exists():
        missing = []
        q = p
        while not q.exists():
            missing.append(q)
            if q.parent == q:
                break
            q = q.parent
        if q.exists() and not q.is_dir():
            raise OutDirError(f"{option} {path}: {q} is a file, not a folder")
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                OutDir(p, tuple(created)).discard_if_empty()
                raise OutDirError(f"{option} {path} cannot be created: {_reason(exc)} ({d})") from None
            created.append(d)
    try:
        fd, probe = tempfile.mkstemp(dir=p, prefix=".byzpgd-write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        OutDir(p, tuple(created)).discard_if_empty()
        raise OutDirError(f"{option} {path} is not writable: {_reason(exc)}") from None
    return OutDir(p, tuple(created))
