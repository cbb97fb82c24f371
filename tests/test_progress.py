"""byzpgd.progress: a tqdm bar on a terminal (checked on a pseudo-terminal), periodic plain lines
otherwise, nothing with --quiet; and the wiring of verify, calibrate and faults."""

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from byzpgd import cli
from byzpgd.progress import Progress, choose_mode, fmt_seconds, parse_count

# a tqdm bar past its first unit, with elapsed time and ETA: ' 50%|█████     | 1/2 [00:01<00:01'
BAR = re.compile(r"\d+%\|[^|\n]*\| *[1-9]\d*/\d+ \[\d+:\d\d<\d+:\d\d")


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def run_on_pty(args, timeout=300, env=None):
    """Run ``args`` with stderr on a pseudo-terminal; (exit code, what the terminal showed)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))   # 30 rows, 120 columns
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "TERM": "xterm", **(env or {})})
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:      # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return rc, b"".join(chunks).decode("utf-8", "replace")


# --- the pieces ------------------------------------------------------------------------------------
def test_mode_choice():
    assert choose_mode(FakeTTY(), environ={"TERM": "xterm"}) == "bar"
    assert choose_mode(io.StringIO(), environ={}) == "lines"
    assert choose_mode(FakeTTY(), quiet=True, environ={}) == "off"
    assert choose_mode(FakeTTY(), environ={"TERM": "dumb"}) == "lines"
    assert choose_mode(io.StringIO(), environ={"BYZPGD_PROGRESS": "bar"}) == "bar"
    assert choose_mode(FakeTTY(), quiet=True, environ={"BYZPGD_PROGRESS": "bar"}) == "off"


def test_parse_count_and_times():
    assert parse_count("[3/32] byzantine_pgd.grad_norm: holds") == (3, 32)
    assert parse_count("battery: 40/400 (setting n = 100, f = 1, attack nan: Delta = 1)") == (40, 400)
    assert parse_count("Delta = 0.5 1e-3/2") is None and parse_count("no count") is None
    assert parse_count("[5/3] impossible") is None
    assert fmt_seconds(75) == "1:15" and fmt_seconds(3725) == "1:02:05" and fmt_seconds(None) == "?"


def test_lines_mode_prints_periodic_status_lines_with_eta():
    clock, out = Clock(), io.StringIO()
    bar = Progress("job", total=10, unit="things", stream=out, mode="lines", interval=10, clock=clock)
    for k in range(1, 11):
        clock.t = 4.0 * k            # 4 s per unit: a status line every 3rd unit (>= 10 s apart)
        bar.advance(note=f"item {k}")
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == "job: 3/10 things (30%), elapsed 0:12, ETA 0:28; item 3"
    assert lines[-1] == "job: 10/10 things (100%), elapsed 0:40, ETA 0:00; item 10"
    assert len(lines) == 4     # 12 s, 24 s, 36 s and the end


def test_lines_mode_reports_where_an_unfinished_run_stopped():
    clock, out = Clock(), io.StringIO()
    bar = Progress("job", total=10, stream=out, mode="lines", interval=100, clock=clock)
    clock.t = 1.0
    bar.advance(2)
    bar.close()
    assert out.getvalue().splitlines() == ["job: 2/10 it (20%), elapsed 0:01, ETA 0:04"]


def test_off_mode_is_silent_and_messages_move_the_bar():
    out = io.StringIO()
    bar = Progress("job", stream=out, mode="off")
    say = bar.messages()
    say("[2/5] fault: killed")
    bar.close()
    assert out.getvalue() == "" and (bar.done, bar.total) == (2, 5)


def test_bar_mode_draws_a_tqdm_bar_and_writes_messages_above_it():
    out = FakeTTY()
    with Progress("job", total=4, unit="claims", stream=out) as bar:
        bar.say("a message")
        bar.advance(2, note="half")
    text = out.getvalue()
    assert bar.mode == "bar" and "a message" in text and BAR.search(text) and "\r" in text


# --- the commands ------------------------------------------------------------------------------------
def test_verify_shows_a_bar_on_a_terminal(tmp_path):
    rc, screen = run_on_pty([sys.executable, "-m", "byzpgd", "verify", "--profile", "quick",
                             "--claims", "parameters.exponents,parameters.inexact_descent", "--jobs", "1",
                             "--out", str(tmp_path)])
    assert rc == 0, screen
    assert BAR.search(screen), screen
    assert "2/2" in screen and "\r" in screen
    assert "matched 2 claim(s): parameters.exponents, parameters.inexact_descent" in screen


def test_verify_prints_lines_off_a_terminal_and_nothing_with_quiet(tmp_path, capfd, monkeypatch):
    args = [sys.executable, "-m", "byzpgd", "verify", "--profile", "quick", "--claims",
            "parameters.exponents", "--jobs", "1", "--out", str(tmp_path)]
    monkeypatch.delenv("BYZPGD_PROGRESS", raising=False)
    capfd.readouterr()
    assert cli.main(args[3:]) == 0                       # stderr is a file here, not a terminal
    err = capfd.readouterr().err
    assert "\r" not in err and "[1/1] parameters.exponents: holds" in err
    assert "byzpgd verify: 1/1 claims (100%)" in err
    assert cli.main([*args[3:], "--quiet"]) == 0
    assert capfd.readouterr().err == ""


def test_calibrate_counts_runs_on_the_bar(tmp_path, monkeypatch):
    from byzpgd.commands import calibrate

    monkeypatch.setattr(calibrate, "DELTAS", (1e-2,))
    monkeypatch.setattr(calibrate, "GRIDS", {"c_T": (4.0,), "c_Q": (4.0,), "c_r": (0.5,), "c_R": (0.5,)})
    monkeypatch.setattr(calibrate, "START", {"c_r": 1.0, "c_R": 1.0, "c_T": 8.0, "c_Q": 8.0})
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    monkeypatch.delenv("BYZPGD_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    seen = []
    real = calibrate.evaluate
    monkeypatch.setattr(calibrate, "evaluate", lambda *a, **k: seen.append(k.get("bar")) or real(*a, **k))
    rc = cli.main(["calibrate", "--out", str(tmp_path), "--per-cell", "1", "--verify-per-cell", "1"])
    text = sys.stderr.getvalue()
    assert rc in (0, 1) and seen and all(b is not None and b.mode == "bar" for b in seen)
    bar = seen[-1]
    assert bar.done == bar.total and bar.total >= len(calibrate._specs(1, 0))
    assert BAR.search(text), text


def test_faults_bar_follows_the_campaign(tmp_path, monkeypatch):
    from byzpgd.properties import campaign

    def fake(ids, profile, seed, *, all_claims, command, progress, executor=None, batched=False,
             on_result=None):
        progress("baseline: 1 claims without any fault")
        for k, fid in enumerate(ids, 1):
            progress(f"[{k}/{len(ids)}] {fid}: killed by x (0.1 s)")
        raise KeyboardInterrupt   # and Ctrl-C at the end: nothing written, said so

    monkeypatch.setattr(campaign, "run_campaign", fake)
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    monkeypatch.delenv("BYZPGD_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    rc = cli.main(["faults", "--subset", "--out", str(tmp_path / "f")])
    text = sys.stderr.getvalue()
    assert rc == 130 and "interrupted" in text and not (tmp_path / "f").exists()
    assert BAR.search(text) and "killed by x" in text


@pytest.mark.parametrize("cmd", [["verify", "--claims", "parameters.exponents"],
                                 ["calibrate"], ["faults", "--subset"]])
def test_quiet_is_documented(cmd, capsys):
    with pytest.raises(SystemExit):
        cli.main([cmd[0], "--help"])
    assert "progress bar on a terminal" in " ".join(capsys.readouterr().out.split())
