"""The caller cannot be harmed by the rule, root or not (issue 21, item 5): the rule's parent is the
sandbox's supervisor, never the caller; a signal the rule sends at it is a ``caller_signalled``
finding (error: the verdict is fail); the caller goes on; everything of the sandbox ends with the
caller. Rules: ``tests/fixtures_hostile.py``. Mechanism: docs/audit.md "Sandbox limits", Processes.

Each test can fail: run in the caller's place (the rule its direct child, as before this design),
``kills_parent`` ends the calling process; without the supervisor's notes the SIGTERM goes
unreported; with plain ``pickle.loads`` the forged reply runs code in the caller
(``test_a_forged_reply_runs_nothing_in_the_caller`` shows that one)."""

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures_hostile as fh
import numpy as np
import pytest

from byzpgd.audit import sandbox as sbx
from byzpgd.audit.sandbox import AggregatorFailure, Sandbox

TESTS = str(Path(__file__).resolve().parent)
ROOT = str(Path(TESTS).parent)
X = np.random.default_rng(0).standard_normal((30, 10))
MEDIAN = np.median(X, axis=0)

# rule -> (what the call does, the signal named in the caller_signalled finding)
HOSTILE = {
    "kills_parent": ("caller_signalled", "SIGKILL"),
    "terms_parent": ("answers", "SIGTERM"),
    "stops_parent": ("caller_signalled", "SIGSTOP"),
    "kills_group": ("caller_signalled", "SIGKILL"),
    "terms_group": ("crash", "SIGTERM"),
}


def sandbox(name: str, namespaces: bool = True, **kw) -> Sandbox:
    sb = Sandbox(f"fixtures_hostile:{name}", paths=[TESTS], setting=(30, 3), call_timeout=20.0, **kw)
    sb._namespaces = namespaces
    return sb


def outcome(sb: Sandbox) -> str:
    try:
        np.testing.assert_array_equal(sb.call(X, 3), MEDIAN)
        return "answers"
    except AggregatorFailure as exc:
        return exc.kind


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_signal_at_the_caller_is_a_finding_and_the_sandbox_goes_on(name, namespaces):
    """Two calls each: both end as expected (the sandbox restarted after a killed supervisor), one
    ``caller_signalled`` error naming the signal, counted twice; then the harmless median answers
    in a fresh sandbox (nothing of the caller was harmed)."""
    expect, sig = HOSTILE[name]
    with sandbox(name, namespaces) as sb:
        sb.start()
        assert sb.isolation["processes"].startswith("contained" if namespaces else "process group only")
        assert [outcome(sb), outcome(sb)] == [expect, expect]
        starts = sb.stats["starts"]
    found = [f for f in sb.log.findings() if f.kind == "caller_signalled"]
    assert len(found) == 1 and found[0].severity == "error" and found[0].count == 2, sb.log.findings()
    assert sig in found[0].message and "supervisor" in found[0].message
    assert starts == (1 if expect == "answers" else 2)
    with sandbox("median", namespaces) as sb:
        assert outcome(sb) == "answers" and sb.log.findings() == []


def test_killing_every_ancestor_found_in_proc_reaches_only_the_supervisor():
    """Walking /proc upwards from its parent, the rule finds the supervisor and the namespace's
    init only (private /proc); the supervisor's death is the finding. Needs the PID namespace
    (without it the walk would reach this test's own process)."""
    with sandbox("kills_ancestors") as sb:
        sb.start()
        if not (sb.isolation["processes"].startswith("contained") and sb.isolation.get("proc", "").startswith(
                "private")):
            pytest.skip(f"no PID namespace with a private /proc here: {sb.isolation}")
        assert outcome(sb) == "caller_signalled"
    assert "SIGKILL" in sb.log.findings()[0].message


def test_a_rule_that_kills_its_parent_while_loaded_is_disabled_with_the_finding():
    with sandbox("KillsParentWhenBuilt") as sb:
        assert sb.start() is None and sb.disabled.startswith("load_error")
    assert {f.kind for f in sb.log.findings()} == {"caller_signalled", "load_error"}


def test_a_forged_reply_runs_nothing_in_the_caller(monkeypatch):
    """The rule writes a pickle of its own to its socket: refused (``bad_output``), the marker
    directory is not created. With plain ``pickle.loads`` (the wrong variant) it is."""
    shutil.rmtree(fh.PICKLE_MARK, ignore_errors=True)
    try:
        with sandbox("sends_a_pickle") as sb:
            assert outcome(sb) == "bad_output"
        assert "refers to posix.mkdir" in sb.log.findings()[0].message
        assert not os.path.exists(fh.PICKLE_MARK)
        monkeypatch.setattr(sbx, "_safe_loads", pickle.loads)
        with sandbox("sends_a_pickle") as sb:
            outcome(sb)
        assert os.path.exists(fh.PICKLE_MARK)
    finally:
        shutil.rmtree(fh.PICKLE_MARK, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# processes: a stand-in caller in a process of its own
# ---------------------------------------------------------------------------------------------
CALLER = """
import json, sys
sys.path.insert(0, {tests!r})
import numpy as np
from byzpgd.audit.sandbox import AggregatorFailure, Sandbox
sb = Sandbox("fixtures_hostile:" + sys.argv[1], paths=[{tests!r}], setting=(30, 3))
sb._namespaces = sys.argv[2] == "1"
sb.start()
print(json.dumps({{"home": sb.cwd, "isolation": sb.isolation}}), flush=True)
if sys.argv[3] == "wait":
    sys.stdin.read()
try:
    sb.call(np.ones((30, 10)), 3)
except AggregatorFailure:
    pass
sb.close()
print(json.dumps([f.to_dict() for f in sb.log.findings()]), flush=True)
"""


def caller_script(tmp: str) -> str:
    path = os.path.join(tmp, "caller.py")
    with open(path, "w") as fh_:
        fh_.write(CALLER.format(tests=TESTS))
    os.chmod(path, 0o644)
    return path


def sandbox_processes(home: str) -> list[int]:
    mark = f"HOME={home}".encode() + b"\0"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("namespaces", ["1", "0"], ids=["namespaces", "no-namespaces"])
def test_everything_of_the_sandbox_ends_with_the_caller(tmp_path, namespaces):
    """SIGKILL to the caller while its sandbox waits: the supervisor reads the end of the caller's
    socket and kills the sandbox's process group (with a PID namespace, its init's end ends the
    rest). No process is left (polled up to 30 s)."""
    proc = subprocess.Popen([sys.executable, caller_script(str(tmp_path)), "median", namespaces, "wait"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    home = json.loads(proc.stdout.readline())["home"]
    assert sandbox_processes(home), "the sandbox should be running"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while sandbox_processes(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sandbox_processes(home)
    for p in left:
        os.kill(p, signal.SIGKILL)
    shutil.rmtree(Path(home).parent, ignore_errors=True)
    assert left == []


def test_the_direct_child_design_would_lose_the_caller(tmp_path):
    """The wrong variant, for the record: a process whose child runs ``kills_parent`` dies of it
    (this is what ``byzpgd audit`` was to its rule before: exit 137, no report)."""
    code = f"import sys, numpy as np; sys.path.insert(0, {TESTS!r}); import fixtures_hostile as fh; " \
           "fh.kills_parent(np.ones((3, 2)))"
    parent = subprocess.run([sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, "
                             f"'-c', {code!r}]); print('survived')"], capture_output=True, text=True)
    assert parent.returncode == -signal.SIGKILL and "survived" not in parent.stdout


# ---------------------------------------------------------------------------------------------
# as an ordinary user
# ---------------------------------------------------------------------------------------------
def _blocked(path: str) -> list[str]:
    """Ancestors of ``path`` that other users cannot enter."""
    out, p = [], Path(path).resolve()
    for a in [*reversed(p.parents), p]:
        if a.is_dir() and not os.stat(a).st_mode & 0o001:
            out.append(str(a))
    return out


def as_ordinary_user(argv: list[str], workdir: str) -> list[str]:
    """``argv`` run as ``nobody`` (uid 65534) when this process is root; as it is otherwise. The
    interpreter may sit under a folder others cannot enter (pyenv under /root): in a private mount
    namespace that folder is covered by an empty one holding just the interpreter's tree (bind
    mounts: nothing copied, nothing changed outside that namespace). Skips when impossible."""
    if os.geteuid() != 0:
        return argv
    for tool in ("setpriv", "unshare", "mount"):
        if shutil.which(tool) is None:
            pytest.skip(f"running as root and {tool} is not available to become an ordinary user")
    prefix = str(Path(sys.base_prefix).resolve())
    if _blocked(ROOT) or _blocked(sys.prefix) or len(_blocked(prefix)) > 1:
        pytest.skip(f"the repository or the interpreter is not readable by other users: {_blocked(prefix)}")
    script = []
    for closed in _blocked(prefix):
        keep = os.path.join(workdir, "keep")
        inner = os.path.relpath(prefix, closed)
        script += [f"mkdir -p {keep}", f"mount --bind {closed}/{inner} {keep}",
                   f"mount -t tmpfs -o mode=755 tmpfs {closed}", f"mkdir -p {closed}/{inner}",
                   f"mount --bind {keep} {closed}/{inner}", f"umount {keep}"]
    script.append('exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"')
    return ["unshare", "-m", "--propagation", "private", "sh", "-ec", "; ".join(script), "sh", *argv]


@pytest.fixture
def open_dir():
    d = tempfile.mkdtemp(prefix="byzpgd-caller-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run_as_user(argv: list[str], workdir: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8"}
    return subprocess.run(as_ordinary_user(argv, workdir), capture_output=True, text=True, cwd=workdir,
                          env=env, timeout=600)


def test_as_an_ordinary_user_the_caller_survives_and_reports(open_dir):
    res = run_as_user([sys.executable, caller_script(open_dir), "kills_parent", "1", "go"], open_dir)
    assert res.returncode == 0, res.stderr[-2000:]
    head, findings = (json.loads(line) for line in res.stdout.splitlines()[:2])
    assert head["isolation"]["user"] != "not needed (root)"      # really not root
    (found,) = [f for f in findings if f["kind"] == "caller_signalled"]
    assert found["severity"] == "error" and "SIGKILL" in found["message"]


def test_as_an_ordinary_user_byzpgd_audit_survives_and_fails_the_rule(open_dir):
    """``byzpgd audit fixtures_hostile:kills_parent --profile quick`` as an ordinary user: it ends
    (exit 1: fail), audit.json is written, the finding is among the reasons."""
    out = os.path.join(open_dir, "out")
    byzpgd = os.path.join(os.path.dirname(sys.executable), "byzpgd")
    res = run_as_user([sys.executable, byzpgd, "audit", "fixtures_hostile:kills_parent", "--profile", "quick",
                       "--path", TESTS, "--out", out, "--quiet"], open_dir)
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    rep = json.loads(Path(out, "audit.json").read_text())
    assert rep["verdict"] == "fail"
    assert any(f["kind"] == "caller_signalled" and f["severity"] == "error" for f in rep["findings"])
    assert any(r["kind"] == "finding:caller_signalled" for r in rep["reasons"])
