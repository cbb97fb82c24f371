"""Progress of the long commands (verify, audit, calibrate, faults) on stderr.

Three modes, chosen by :func:`choose_mode`:

- ``'bar'`` when the stream is a terminal: a tqdm bar with the count done / total, the elapsed
  time, the ETA (remaining = elapsed · (total − done) / done, tqdm's smoothed rate) and a short
  note (e.g. the last claim and its status); messages are written above the bar
  (``tqdm.write``), so the bar stays on the last line;
- ``'lines'`` when it is not (CI logs, a pipe, a file): every message on its own line, and a
  status line ``DESC: done/total UNIT (pct%), elapsed m:ss, ETA m:ss`` at most every
  ``interval`` seconds (and at the end), never a carriage return;
- ``'off'`` (``--quiet``): nothing at all.

The environment variable ``BYZPGD_PROGRESS`` (``bar``, ``lines`` or ``off``) overrides the
choice (``--quiet`` always wins).

:meth:`Progress.messages` adapts a command's existing progress callback ``say(msg)`` (the audit,
the fault campaign): a message that carries a count ``[k/N]`` or ``k/N`` moves the bar to k of
N; every message is also written (in 'bar' mode above the bar).
"""

from __future__ import annotations

import io
import math
import os
import re
import sys
import time
from collections.abc import Callable

MODES = ("bar", "lines", "off")
ENV = "BYZPGD_PROGRESS"
DEFAULT_INTERVAL = 10.0   # seconds between status lines in 'lines' mode
_COUNT = re.compile(r"(?:^|[\s\[(:])(\d+)/(\d+)(?=$|[\s\]),:;])")


def choose_mode(stream=None, quiet: bool = False, environ=None) -> str:
    """'off' if ``quiet``; else ``$BYZPGD_PROGRESS`` if it names a mode; else 'bar' if ``stream``
    (default stderr) is a terminal (and TERM is not 'dumb'), 'lines' otherwise."""
    if quiet:
        return "off"
    environ = os.environ if environ is None else environ
    forced = environ.get(ENV, "").strip().lower()
    if forced in MODES:
        return forced
    stream = sys.stderr if stream is None else stream
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):   # closed or not a real stream
        tty = False
    return "bar" if tty and environ.get("TERM", "") != "dumb" else "lines"


def fmt_seconds(s: float | None) -> str:
    """m:ss (h:mm:ss from an hour on); '?' for an unknown or infinite time."""
    if s is None or not math.isfinite(s) or s < 0:
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def parse_count(msg: str) -> tuple[int, int] | None:
    """The first 'k/N' count in ``msg`` with 0 <= k <= N and N > 0 ('[3/32] claim: holds',
    'battery: 40/400 (setting ...)'), else None."""
    for m in _COUNT.finditer(msg):
        k, n = int(m.group(1)), int(m.group(2))
        if 0 <= k <= n and n > 0:
            return k, n
    return None


class Progress:
    """A progress display of ``total`` units (module docstring). Use as a context manager, or call
    :meth:`close`. ``total`` may be None (unknown) and set later by :meth:`set`.

    Parameters: ``desc`` (the label, e.g. 'byzpgd verify'), ``unit`` (e.g. 'claims'),
    ``mode`` ('bar' / 'lines' / 'off'; default :func:`choose_mode` of ``stream`` and ``quiet``),
    ``stream`` (default sys.stderr), ``interval`` (seconds between status lines, 'lines' mode),
    ``clock`` (a monotonic clock, for tests)."""

    def __init__(self, desc: str, total: int | None = None, *, unit: str = "it", mode: str | None = None,
                 quiet: bool = False, stream=None, interval: float = DEFAULT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.mode = choose_mode(self.stream, quiet) if mode is None else mode
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        self.desc, self.unit, self.interval, self.clock = desc, unit, float(interval), clock
        self.total = total
        self.done = 0
        self.note = ""
        self.t0 = clock()
        self._last_line = self.t0
        self._bar = None
        self._closed = False
        self._final_line = False   # 'lines' mode: the status line at done == total was printed
        if self.mode == "bar":
            from tqdm import tqdm

            sized = _columns(self.stream) > 0   # a terminal without a size (some ptys): fixed width
            self._bar = tqdm(total=total, desc=desc, unit=f" {unit}", file=self.stream, dynamic_ncols=sized,
                             ncols=None if sized else 100, nrows=None if sized else 24, leave=True,
                             mininterval=0.2, smoothing=0.1)

    # -- counts ---------------------------------------------------------------------------------
    def advance(self, n: int = 1, note: str | None = None) -> None:
        """``n`` more units done; ``note`` replaces the short text shown after the counts."""
        self.set(self.done + n, note=note)

    def set(self, done: int, total: int | None = None, note: str | None = None) -> None:
        """``done`` units of ``total`` (unchanged when None) done."""
        if total is not None and total != self.total:
            self.total = int(total)
            if self._bar is not None:
                self._bar.total = self.total
        self.done = int(done)
        if note is not None:
            self.note = note
        if self._bar is not None:
            self._bar.n = self.done
            if note is not None:
                self._bar.set_postfix_str(_short(note), refresh=False)
            self._bar.refresh()
        elif self.mode == "lines":
            finished = self.total is not None and self.done >= self.total
            if (finished and not self._final_line) or self.clock() - self._last_line >= self.interval:
                self._final_line = finished
                self._status_line()

    def eta(self) -> float | None:
        """Seconds remaining at the mean rate so far (None before the first unit or without a total)."""
        if not self.done or self.total is None:
            return None
        return (self.clock() - self.t0) * max(0, self.total - self.done) / self.done

    def status(self) -> str:
        """'DESC: done/total UNIT (pct%), elapsed m:ss, ETA m:ss[; note]'."""
        elapsed = self.clock() - self.t0
        if self.total:
            head = f"{self.done}/{self.total} {self.unit} ({100.0 * self.done / self.total:.0f}%)"
        else:
            head = f"{self.done} {self.unit}"
        text = f"{self.desc}: {head}, elapsed {fmt_seconds(elapsed)}, ETA {fmt_seconds(self.eta())}"
        return text + (f"; {self.note}" if self.note else "")

    def _status_line(self) -> None:
        self._last_line = self.clock()
        self._print(self.status())

    # -- messages --------------------------------------------------------------------------------
    def say(self, msg: str) -> None:
        """A message line (above the bar; plain in 'lines' mode; nothing when 'off')."""
        if self.mode == "off":
            return
        if self._bar is not None:
            self._bar.write(msg, file=self.stream)
        else:
            self._print(msg)

    def messages(self, prefix: str = "") -> Callable[[str], None]:
        """A ``say(msg)`` callback for code that reports progress as text (module docstring): a
        count 'k/N' in the message moves the display to k of N; the message (after ``prefix``) is
        written too."""
        def say(msg: str) -> None:
            count = parse_count(msg)
            self.say(prefix + msg)
            if count is not None:
                self.set(count[0], count[1])
        return say

    def _print(self, msg: str) -> None:
        try:
            print(msg, file=self.stream, flush=True)
        except (OSError, ValueError):   # a closed pipe must not stop the run
            pass

    # -- lifetime ----------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.mode == "lines" and self.done and not self._final_line:
            self._status_line()   # where it stopped

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return 0


def _short(note: str, width: int = 60) -> str:
    return note if len(note) <= width else note[: width - 1] + "…"
