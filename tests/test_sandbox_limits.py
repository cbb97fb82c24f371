"""The sandbox's limits (issue 12, item 6): each hostile rule of ``fixtures_audit`` ends in a
finding, the audit goes on, and neither the machine nor the caller is harmed. Each test would
fail without its limit (named in the test)."""

import os
import signal
import time
from pathlib import Path

import fixtures_audit as fa
import numpy as np
import pytest

from byzpgd.audit.sandbox import AggregatorFailure, FindingLog, Limits, Sandbox, scrubbed_env

TESTS = str(Path(__file__).resolve().parent)
X = np.random.default_rng(0).standard_normal((30, 10))
MEDIAN = np.median(X, axis=0)


def sandbox(name, **kw):
    return Sandbox(f"fixtures_audit:{name}", paths=[TESTS], setting=(30, 3), **kw)


def sandbox_processes(home: str) -> list[int]:
    """Processes whose environment has the sandbox's HOME (the sandbox and whatever it started,
    even those that left its session)."""
    mark = f"HOME={home}".encode() + b"\0"
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    if mark in fh.read():
                        found.append(int(pid))
            except OSError:
                pass
    return found


def kill_all(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def test_scrubbed_env_keeps_only_what_python_needs():
    env = scrubbed_env("/tmp/x", {"PATH": "/bin", "LANG": "C.UTF-8", "BYZPGD_SECRET_TOKEN": "s3cret",
                                  "OMP_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell",
                                  "MKL_NUM_THREADS": "1; rm -rf /", "AWS_SECRET_ACCESS_KEY": "k"})
    assert env["HOME"] == env["TMPDIR"] == "/tmp/x"
    assert {"PATH", "LANG", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE"} <= set(env)
    assert not {"BYZPGD_SECRET_TOKEN", "AWS_SECRET_ACCESS_KEY", "MKL_NUM_THREADS"} & set(env)
    with pytest.raises(ValueError, match="memory_mib must be an integer >= 0"):
        Limits(memory_mib=-1)
    with pytest.raises(TypeError, match="limits must be a Limits"):
        sandbox("median", limits={"memory_mib": 10})


def test_caller_environment_is_not_visible(monkeypatch):
    """Without the scrubbed environment (and the private /proc) the rule sees the token."""
    monkeypatch.setenv(fa.SECRET_NAME, "s3cret-do-not-leak")
    with sandbox("reads_env") as sb:
        out = sb.call(X, 3)
    np.testing.assert_array_equal(out, np.zeros(10))


def test_memory_leak_is_a_finding_and_the_audit_goes_on():
    """400 MB kept per call under a 1024 MiB limit: the third call at the latest fails with a
    `memory` finding; the process is restarted (its memory freed) and the next call answers."""
    log = FindingLog()
    results = []
    with sandbox("leaks_memory", limits=Limits(memory_mib=1024), log=log) as sb:
        for _ in range(4):
            try:
                np.testing.assert_array_equal(sb.call(X, 3), MEDIAN)
                results.append("ok")
            except AggregatorFailure as exc:
                results.append(exc.kind)
    assert "memory" in results[:3] and results[results.index("memory") + 1] == "ok"
    (fnd,) = [f for f in log.findings() if f.kind == "memory"]
    assert fnd.severity == "error" and "memory limit of 1024 MiB" in fnd.message
    assert "MemoryError" in fnd.message and sb.stats["memory_errors"] >= 1


def test_fork_bomb_is_contained_and_every_process_ends():
    """FORKS children that leave the process group, then a hang: the process limit stops the
    forks (`processes`) or the time limit ends the call (`timeout`); afterwards no process of the
    sandbox is left (a plain kill of the sandbox would leave them sleeping)."""
    with sandbox("fork_bomb", call_timeout=3.0, limits=Limits(processes=16)) as sb:
        sb.start()
        home = sb.cwd
        try:
            with pytest.raises(AggregatorFailure) as exc:
                sb.call(X, 3)
            enforced = sb.isolation["pids_cgroup"].startswith("at most") or os.geteuid() != 0
            assert exc.value.kind == ("processes" if enforced else "timeout")
            if enforced:
                assert "limit of 16 processes" in exc.value.message
            time.sleep(0.2)
            assert sandbox_processes(home) == []
        finally:
            kill_all(sandbox_processes(home))


def test_processes_left_after_a_call_are_a_finding():
    with sandbox("forks_and_returns") as sb:
        sb.start()
        home = sb.cwd
        try:
            with pytest.raises(AggregatorFailure) as exc:
                sb.call(X, 3)
            assert exc.value.kind == "processes" and "left 1 process" in exc.value.message
            time.sleep(0.2)
            assert sandbox_processes(home) == []
        finally:
            kill_all(sandbox_processes(home))


def test_megabytes_of_output_are_captured_and_reported(capfd):
    """2 MB per call: nothing reaches the caller's stdout/stderr; one `output` warning with the
    size and the first lines."""
    with sandbox("floods_output") as sb:
        for _ in range(3):
            np.testing.assert_array_equal(sb.call(X, 3), MEDIAN)
    out, err = capfd.readouterr()
    assert len(out) + len(err) < 1000
    (fnd,) = sb.log.findings()
    assert fnd.kind == "output" and fnd.severity == "warning" and fnd.count == 3
    assert "wrote 6000000 bytes" in fnd.message and "flood xxx" in fnd.message
    assert sb.stats["output_bytes"] == 6_000_000


def test_writing_outside_the_working_directory_is_refused():
    """Absolute path and the working directory's parent: `filesystem` findings, no file (as
    root, only the read-only mount namespace stops these writes)."""
    if os.path.exists(fa.OUTSIDE_FILE):
        os.remove(fa.OUTSIDE_FILE)
    try:
        for name in ("writes_outside", "writes_parent"):
            with sandbox(name) as sb:
                sb.start()
                parent = Path(sb.cwd).parent
                with pytest.raises(AggregatorFailure) as exc:
                    sb.call(X, 3)
                assert exc.value.kind == "filesystem", exc.value.message
                assert "outside its working directory" in exc.value.message
                assert not (parent / "escaped.txt").exists()
            assert not parent.exists()                     # the temporary folder is removed
        assert not os.path.exists(fa.OUTSIDE_FILE)
    finally:
        if os.path.exists(fa.OUTSIDE_FILE):
            os.remove(fa.OUTSIDE_FILE)


def test_file_size_limit_and_files_left_behind():
    with sandbox("writes_big_file", limits=Limits(file_size_mib=1)) as sb:
        with pytest.raises(AggregatorFailure) as exc:
            sb.call(X, 3)
        assert exc.value.kind == "file_size" and "limit of 1 MiB" in exc.value.message
    assert {f.kind: f.severity for f in sb.log.findings()} == {"file_size": "error", "files": "warning"}
    with sandbox("writes_big_file") as sb:                 # within the default 64 MiB: answered
        np.testing.assert_array_equal(sb.call(X, 3), MEDIAN)
    (fnd,) = sb.log.findings()
    assert fnd.kind == "files" and "2097152 bytes" in fnd.message


def test_cpu_burnt_between_calls_ends_the_process():
    """A thread left spinning: the per-call CPU budget (1 s x CPUs + 1) kills the process with
    SIGXCPU before the next call; the call after that answers again."""
    with sandbox("spins_in_background", call_timeout=1.0) as sb:
        np.testing.assert_array_equal(sb.call(X, 3), MEDIAN)
        deadline = time.monotonic() + 30          # the thread may get less than a CPU under load
        while sb._proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        with pytest.raises(AggregatorFailure) as exc:
            sb.call(X, 3)
        assert exc.value.kind == "crash" and "SIGXCPU" in exc.value.message
        np.testing.assert_array_equal(sb.call(X, 3), MEDIAN)


def test_memory_limit_option(tmp_path):
    """--memory-limit reaches the sandbox (recorded in the report) and has the documented default."""
    import json

    from byzpgd import cli
    from byzpgd.audit import sandbox as sbx
    from byzpgd.commands import audit as cmd
    assert cmd.DEFAULT_MEMORY_LIMIT_MIB == sbx.DEFAULT_MEMORY_LIMIT_MIB == Limits().memory_mib
    out = tmp_path / "o"
    rc = cli.main(["audit", "fixtures_audit:leaks_memory", "--profile", "quick", "--path", TESTS,
                   "--memory-limit", "700", "--call-timeout", "5", "--out", str(out), "--quiet"])
    rep = json.loads((out / "audit.json").read_text())
    assert rc == 1 and rep["sandbox"]["limits"]["memory_mib"] == 700
    assert "--memory-limit 700" in rep["settings"]["command"]
    mem = [f for f in rep["findings"] if f["kind"] == "memory"]
    assert mem and "700 MiB" in mem[0]["message"]
    assert any(r["kind"] == "finding:memory" for r in rep["reasons"])
    with pytest.raises(SystemExit):
        cli.main(["audit", "fixtures_audit:median", "--memory-limit", "-1", "--out", str(out)])
