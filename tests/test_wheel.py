"""Packaging for users (docs/ci.md, "Packaging"): ``python -m build`` makes a wheel and an sdist,
and the wheel carries the user-facing modules and both entry points (the ``byzpgd`` command and the
pytest plugin). Installing that wheel in a fresh virtual environment and running the CLI, the
plugin and docs/examples there is ``make wheel-check`` (tests/wheel_check.py: minutes, mostly the
dependencies' download), run by CI apart from this suite."""

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
USER_MODULES = ("api.py", "testing.py", "strategies.py", "progress.py", "outdir.py", "pytest_plugin.py")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """wheel + sdist by ``python -m build --no-isolation`` from a copy of the tree (no network)."""
    pytest.importorskip("build", reason="the dev extra installs 'build'")
    out = tmp_path_factory.mktemp("dist")
    src = tmp_path_factory.mktemp("src") / "byzpgd"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache",
        ".ruff_cache", "report", "report-*", "faults", "tests", "benchmarks"))
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_build_makes_a_wheel_and_an_sdist(dist):
    wheels, sdists = list(dist.glob("byzpgd-*.whl")), list(dist.glob("byzpgd-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    names = tarfile.open(sdists[0]).getnames()
    assert any(n.endswith("/pyproject.toml") for n in names)
    assert any(n.endswith("/byzpgd/testing.py") for n in names)


def test_the_wheel_has_the_user_modules_and_entry_points(dist):
    (wheel,) = dist.glob("byzpgd-*.whl")
    z = zipfile.ZipFile(wheel)
    names = z.namelist()
    for mod in USER_MODULES:
        assert f"byzpgd/{mod}" in names, mod
    (ep,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = z.read(ep).decode()
    assert "byzpgd = byzpgd.cli:main" in text and "byzpgd = byzpgd.pytest_plugin" in text
    (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert "Requires-Dist: tqdm" in z.read(meta).decode()


def test_make_has_the_wheel_check_target():
    text = (ROOT / "Makefile").read_text()
    assert "wheel-check:" in text and "tests/wheel_check.py" in text
    assert (ROOT / "tests" / "wheel_check.py").is_file()
