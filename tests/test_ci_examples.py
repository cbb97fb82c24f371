"""docs/examples/ runs as documented (docs/ci.md): the user-style pytest file passes in a
subprocess pytest run, and the workflow's ``run:`` lines (all but the package installation) succeed
and leave the artifacts the workflow keeps."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
WORKFLOW = EXAMPLES / "byzpgd-audit.yml"

# The example's audits are shrunk for the test suite (tests/tiny_audit.py); at full 'quick' size the
# pytest example and the workflow's commands run in `make wheel-check` (tests/wheel_check.py), from a
# fresh install of the wheel.
TINY_CONFTEST = '''
import pytest
from byzpgd.audit import battery
TINY = {tiny!r}

@pytest.fixture(autouse=True)
def _tiny_audit(monkeypatch):
    monkeypatch.setitem(battery.PROFILES, "quick", {{**battery.PROFILES["quick"], **TINY}})
'''


# ``byzpgd ARGS`` of the workflow, run with the same shrunk battery (the command line is otherwise
# unchanged: byzpgd.cli.main parses ARGS)
TINY_CLI = ("import sys; from byzpgd.audit import battery; "
            "battery.PROFILES['quick'] = {{**battery.PROFILES['quick'], **{tiny!r}}}; "
            "from byzpgd.cli import main; sys.exit(main(sys.argv[1:]))")


def run_steps(text: str) -> list[str]:
    """The shell lines of a workflow's ``run:`` keys (one-line ``run: cmd`` and ``run: |`` blocks),
    in order; comments and blank lines dropped."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        m = re.match(r"^(\s*)(?:- )?run:\s*(.*)$", lines[i])
        i += 1
        if not m:
            continue
        rest = m.group(2).strip()
        if rest and rest not in ("|", ">"):
            out.append(rest)
            continue
        indent = None
        while i < len(lines):
            line = lines[i]
            if line.strip() == "":
                i += 1
                continue
            cur = len(line) - len(line.lstrip())
            if indent is None:
                indent = cur
            if cur < indent or cur <= len(m.group(1)):
                break
            if not line.strip().startswith("#"):
                out.append(line.strip())
            i += 1
    return out


def artifact_paths(text: str) -> list[str]:
    """The files listed under the upload-artifact step's ``path: |``."""
    block = text.split("actions/upload-artifact", 1)[1]
    after = block.split("path: |", 1)[1].splitlines()[1:]
    return [line.strip() for line in after if line.strip() and not line.strip().startswith("#")]


def test_run_steps_parser_reads_one_line_and_block_runs():
    text = ("steps:\n  - run: echo a\n  - name: b\n    run: |\n      echo b\n      # c\n      echo d\n"
            "  - x: 1\n")
    assert run_steps(text) == ["echo a", "echo b", "echo d"]
    try:
        import yaml
    except ImportError:
        return
    doc = yaml.safe_load(WORKFLOW.read_text())
    runs = [ln.strip() for step in doc["jobs"]["audit"]["steps"] if "run" in step
            for ln in step["run"].splitlines() if ln.strip()]
    assert run_steps(WORKFLOW.read_text()) == runs


def test_the_pytest_example_passes(tmp_path):
    from tiny_audit import TINY

    for name in ("my_rules.py", "test_byzpgd_example.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "conftest.py").write_text(TINY_CONFTEST.format(tiny=TINY))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "test_byzpgd_example.py"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"\b8 passed\b", proc.stdout), proc.stdout[-2000:]


def test_the_workflow_commands_run_and_keep_audit_html(tmp_path):
    from tiny_audit import TINY

    text = WORKFLOW.read_text()
    steps = run_steps(text)
    assert any(s.startswith("byzpgd audit ") and "--out audit-report" in s for s in steps)
    shutil.copy(EXAMPLES / "my_rules.py", tmp_path / "my_rules.py")
    for step in steps:
        argv = shlex.split(step)
        if argv[:4] == ["python", "-m", "pip", "install"]:
            continue        # byzpgd is installed here (the wheel's install: make wheel-check)
        assert argv[0] == "byzpgd", step
        argv = [sys.executable, "-c", TINY_CLI.format(tiny=TINY), *argv[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (step, proc.stdout[-2000:], proc.stderr[-2000:])
    kept = artifact_paths(text)
    assert "audit-report/audit.html" in kept
    for path in kept:
        assert (tmp_path / path).is_file(), path
    assert "<html" in (tmp_path / "audit-report" / "audit.html").read_text().lower()


@pytest.mark.parametrize("name", ["my_rules.py", "test_byzpgd_example.py", "byzpgd-audit.yml"])
def test_docs_ci_shows_the_examples(name):
    assert f"examples/{name}" in (ROOT / "docs" / "ci.md").read_text()
