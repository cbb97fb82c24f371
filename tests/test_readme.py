"""The README's examples run exactly as shown (python blocks executed; shell commands run with
this interpreter's byzpgd)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", blocks("python"))
def test_python_examples_run(code):
    exec(compile(code, "README.md", "exec"), {})


def byzpgd_commands():
    cmds = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.startswith(".venv/bin/byzpgd "):
                cmds.append(line.removeprefix(".venv/bin/byzpgd "))
    return cmds


@pytest.mark.parametrize("cmd", byzpgd_commands())
def test_shell_examples_run(cmd, tmp_path):
    import shlex
    out = subprocess.run([sys.executable, "-m", "byzpgd", *shlex.split(cmd)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr


def test_readme_test_command_is_what_ci_runs():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "make test     #" in README and "\nmake test\n" in ci
