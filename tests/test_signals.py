"""SIGTERM and SIGHUP stop a long command as Ctrl-C does (issue 23, byzpgd.stopping): exit 128 +
the signal (143, 129), no process the command started outlives it (pool workers, the Dask local
cluster, the fault campaign's child, the audit's sandbox), no report is written and the previous
one is untouched. And a pool worker dies with its parent even when the parent is SIGKILLed.

Each command runs as a subprocess in its own session. While it runs, its process tree is walked
through /proc (ppid links; every (pid, start time) seen is kept, so a process re-parented to PID 1
or living in a session of its own is still followed); after the signal the test asserts that none
of them, and nothing else in the command's session, is alive after a short grace period.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="walks /proc (Linux)")

GRACE_SECONDS = 10.0       # for the processes to be gone after the command exited
START_SECONDS = 120.0      # for the work to get under way


# --- the process tree, from /proc --------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, session id, start time, state) of ``pid``; None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes().decode("utf-8", "replace")
    except OSError:
        return None
    f = raw[raw.rfind(")") + 2:].split()     # state ppid pgrp session ... starttime (field 22)
    return int(f[1]), int(f[3]), int(f[19]), f[0]


def _table() -> dict[int, tuple[int, int, int, str]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


def _tree(root: int) -> dict[int, int]:
    """pid → start time of every living descendant of ``root``."""
    table = _table()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = {}, list(kids.get(root, []))
    while todo:
        p = todo.pop()
        if table[p][3] not in ("Z", "X"):
            out[p] = table[p][2]
        todo.extend(kids.get(p, []))
    return out


def _alive(pid: int, start: int) -> bool:
    st = _stat(pid)
    return st is not None and st[2] == start and st[3] not in ("Z", "X")


def _survivors(seen: dict[int, int], session: int) -> list[str]:
    """The processes of ``seen`` still alive, and anything alive in ``session``, described."""
    alive = {p for p, start in seen.items() if _alive(p, start)}
    alive |= {p for p, st in _table().items() if st[1] == session and st[3] not in ("Z", "X")}
    out = []
    for p in sorted(alive):
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
        except OSError:
            cmd = "?"
        out.append(f"{p}: {cmd}")
    return out


# --- running a command ------------------------------------------------------------------------------------
class Run:
    """``python -m byzpgd ARGS`` in its own session; stderr collected by a thread; its process tree
    sampled every 50 ms until :meth:`stop` (every (pid, start time) ever seen is kept)."""

    def __init__(self, args: list[str], cwd: Path):
        env = {**os.environ, "BYZPGD_PROGRESS": "lines", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "byzpgd", *args], cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.seen: dict[int, int] = {}
        self._sampling = True
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._sample, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def _sample(self):
        while self._sampling and self.proc.poll() is None:
            self.seen.update(_tree(self.proc.pid))
            time.sleep(0.05)

    @property
    def err(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, workers: int = 0) -> None:
        """Until ``text`` is on stderr and at least ``workers`` descendants are alive."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"ended early ({self.proc.returncode}):\n{self.err}"
            if text in self.err and len(_tree(self.proc.pid)) >= workers:
                self.seen.update(_tree(self.proc.pid))
                return
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"no {text!r} with {workers} worker(s) within {START_SECONDS:g} s:\n{self.err}")

    def stop(self, sig: int, timeout: float = 60.0) -> tuple[int, list[str]]:
        """Send ``sig``; (exit code, processes alive GRACE_SECONDS after the exit)."""
        self.seen.update(_tree(self.proc.pid))
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {timeout:g} s after {signal.Signals(sig).name}:\n{self.err}")
        self._sampling = False
        deadline = time.monotonic() + GRACE_SECONDS
        while (left := _survivors(self.seen, self.proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return code, left

    def kill(self):
        """Test clean-up: end whatever is left (the session, and every process seen)."""
        with_pids = [p for p, start in self.seen.items() if _alive(p, start)]
        for p in [self.proc.pid, *with_pids]:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait(10)


def _previous(out: Path, names: tuple[str, ...]) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    files = {name: f"previous {name}\n" for name in names}
    for name, text in files.items():
        (out / name).write_text(text)
    return files


def _files(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in out.iterdir()}


@pytest.fixture
def run(tmp_path):
    runs: list[Run] = []

    def start(args):
        r = Run(args, tmp_path)
        runs.append(r)
        return r
    yield start
    for r in runs:
        if r.proc.poll() is None or any(_alive(p, s) for p, s in r.seen.items()):
            r.kill()


# two claims of tens of seconds each on the quick profile (as the Ctrl-C test of test_cli_input.py)
SLOW_CLAIMS = "exact_pgd.poster_lambda_min,exact_pgd.lambda_min"   # ten seconds or more on deep
REPORT = ("report.json", "report.md", "report.html")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_verify_with_a_process_pool_ends_its_workers(run, tmp_path, sig):
    out = tmp_path / "out"
    previous = _previous(out, REPORT)
    r = run(["verify", "--profile", "deep", "--claims", SLOW_CLAIMS, "--jobs", "2", "--out", str(out)])
    r.wait_for("2 claims, profile deep", workers=2)
    time.sleep(1.0)                            # the workers are inside their checks
    code, left = r.stop(sig)
    assert code == 128 + sig, r.err
    assert left == [], f"survived {signal.Signals(sig).name}: {left}\n{r.err}"
    assert f"interrupted by {signal.Signals(sig).name}" in r.err and "Traceback" not in r.err, r.err
    assert _files(out) == previous            # no report, no temporary file left behind


def test_faults_end_the_campaign_child(run, tmp_path):
    out = tmp_path / "out"
    previous = _previous(out, ("faults.json", "faults.md", "faults.html"))
    r = run(["faults", "--profile", "quick", "--faults", "byzantine_pgd.Q_1",
             "--out", str(out)])
    r.wait_for("baseline:", workers=1)        # the baseline runs in the campaign's child
    time.sleep(1.0)
    code, left = r.stop(signal.SIGTERM)
    assert code == 143, r.err
    assert left == [], f"survived SIGTERM: {left}\n{r.err}"
    assert "interrupted by SIGTERM" in r.err and "Traceback" not in r.err, r.err
    assert _files(out) == previous


def test_audit_ends_its_sandbox(run, tmp_path):
    out = tmp_path / "out"
    previous = _previous(out, ("audit.json", "audit.md", "audit.html"))
    r = run(["audit", "byzpgd.algorithms.aggregators:coordinate_median", "--profile", "quick",
             "--out", str(out)])
    r.wait_for("byzpgd audit: ", workers=1)   # progress, and the sandbox runs the rule
    time.sleep(1.0)
    code, left = r.stop(signal.SIGTERM)
    assert code == 143, r.err
    assert left == [], f"survived SIGTERM: {left}\n{r.err}"
    assert "interrupted by SIGTERM" in r.err and "Traceback" not in r.err, r.err
    assert _files(out) == previous


def _tracebacks_outside_dask(err: str) -> list[str]:
    """The tracebacks on stderr with a frame in the project's own code (not the standard library, not
    an installed package): Dask's local workers, shut down while they run, log their own
    CancelledError / CommClosedError tracebacks from ``distributed`` and ``asyncio`` (their logger,
    not byzpgd's; a known, cosmetic race of the cluster's shutdown), which this tolerates."""
    root = str(Path(__file__).resolve().parents[1])
    blocks = err.split("Traceback (most recent call last):")[1:]
    out = []
    for b in blocks:
        files = re.findall(r'File "([^"]+)"', b)
        if not files or any(f.startswith(root) and "/site-packages/" not in f for f in files):
            out.append(b[:400])
    return out


def test_the_dask_traceback_filter_keeps_ours():
    root = str(Path(__file__).resolve().parents[1])
    head = "Traceback (most recent call last):\n"
    ours = f'{head}  File "{root}/byzpgd/cli.py", line 1, in main\nKeyError: 1\n'
    dask = (f'{head}  File "{root}/.venv/lib/site-packages/distributed/core.py", line 2, in connect\n'
            '  File "/usr/lib/python3.11/asyncio/locks.py", line 3\nCancelledError\n')
    assert _tracebacks_outside_dask(dask) == [] and len(_tracebacks_outside_dask(dask + ours)) == 1


def test_calibrate_on_a_dask_local_cluster_closes_it(run, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    previous = _previous(out, ("calibration.json",))
    r = run(["calibrate", "--workers", "2", "--out", str(out)])
    r.wait_for("byzpgd calibrate: runs on", workers=2)   # the two Dask worker processes
    time.sleep(1.0)
    code, left = r.stop(signal.SIGTERM)
    assert code == 143, r.err
    assert left == [], f"survived SIGTERM: {left}\n{r.err}"
    assert "interrupted by SIGTERM" in r.err and _tracebacks_outside_dask(r.err) == [], r.err
    assert _files(out) == previous


def test_verify_on_a_dask_local_cluster_with_shared_claims_closes_it(run, tmp_path):
    """verify --workers 2 with claims whose instances go to the cluster in chunks from threads of
    the command (exact_pgd.*lambda_min share the pool): SIGTERM mid-run ends the command (143),
    the cluster and those threads, with no report written."""
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    previous = _previous(out, REPORT)
    r = run(["verify", "--profile", "deep", "--claims", SLOW_CLAIMS, "--workers", "2", "--out", str(out)])
    r.wait_for("2 claims, profile deep", workers=2)   # the two Dask worker processes
    time.sleep(2.0)                                     # chunks are running on them
    code, left = r.stop(signal.SIGTERM)
    assert code == 143, r.err
    assert left == [], f"survived SIGTERM: {left}\n{r.err}"
    assert "interrupted by SIGTERM" in r.err and _tracebacks_outside_dask(r.err) == [], r.err
    assert _files(out) == previous


KILLED = {   # command, what shows the work is under way, the processes that must exist by then
    "verify": (["verify", "--profile", "deep", "--claims", SLOW_CLAIMS, "--jobs", "2"],
               "2 claims, profile deep", 2),
    "faults": (["faults", "--profile", "quick", "--faults", "byzantine_pgd.Q_1"], "baseline:", 1),
}


@pytest.mark.parametrize("command", sorted(KILLED))
def test_workers_die_with_a_sigkilled_parent(run, tmp_path, command):
    """No clean-up runs after SIGKILL: the pool workers and the campaign's child end by
    PR_SET_PDEATHSIG (byzpgd.stopping.worker_init)."""
    args, marker, workers = KILLED[command]
    r = run([*args, "--out", str(tmp_path / "out")])
    r.wait_for(marker, workers=workers)
    time.sleep(1.0)
    code, left = r.stop(signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert left == [], f"survived the parent's SIGKILL: {left}"


def test_a_stop_signal_is_an_exception_carrying_its_exit_code():
    from byzpgd.stopping import Terminated, signal_words

    exc = Terminated(signal.SIGHUP)
    assert isinstance(exc, KeyboardInterrupt) and exc.exit_code == 129 and exc.name == "SIGHUP"
    assert Terminated(signal.SIGTERM).exit_code == 143
    assert signal_words(signal.SIGTERM) == " by SIGTERM" and signal_words(0) == ""


@pytest.mark.parametrize("fails_while_stopping", [False, True], ids=["clean", "error while stopping"])
def test_main_turns_sigterm_into_143_and_ends_what_is_left(monkeypatch, fails_while_stopping):
    """In this process, through cli.main with a stand-in command: the SIGTERM becomes the exception
    the command's clean-up sees, the backstop runs (here recorded, not run: it would end this test
    session's own processes), the exit code is 143 even when the clean-up itself fails (writing to a
    terminal a SIGHUP closed raises OSError), and the previous handler is back afterwards."""
    from byzpgd import cli, stopping

    seen, ended = [], []

    def command(ns):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(500):             # the handler raises within a few bytecodes
                time.sleep(0.01)
        except KeyboardInterrupt as exc:
            seen.append(exc)
            if fails_while_stopping:
                raise OSError(5, "Input/output error") from None
            return cli.EXIT_INTERRUPTED
        return 0

    monkeypatch.setattr(cli, "cmd_claims", command)
    monkeypatch.setattr(stopping, "end_descendants", lambda grace=2.0: ended.append(grace) or [])
    reached = []

    def guard(signum, frame):   # a main that installs no handler must not end the test session
        reached.append(signum)

    original = signal.signal(signal.SIGTERM, guard)
    try:
        code = cli.main(["claims"])
        after = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, original)
    assert code == 143 and reached == []
    assert len(seen) == 1 and isinstance(seen[0], stopping.Terminated) and seen[0].signum == signal.SIGTERM
    assert len(ended) == 1
    assert after is guard
