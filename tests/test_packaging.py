"""The repository root holds the parts (theory/, algorithms/, ...); import names stay
``byzpgd.*`` through setuptools' package-dir mapping (pyproject.toml). These tests check that
the mapping lists every package folder, and that a wheel built from the tree carries and imports
them under ``byzpgd.``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("theory", "algorithms", "oracles", "properties", "reports", "experiments", "audit")


def _setuptools_table() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Import name -> folder, for every folder with an __init__.py under a mapped root."""
    mapping = _setuptools_table()["package-dir"]
    out = {}
    for name, folder in mapping.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            out[".".join((name, *rel.parts)) if rel.parts else name] = init.parent
    return out


def test_root_lists_the_parts():
    for part in PARTS:
        assert (ROOT / part / "__init__.py").is_file(), part
    assert (ROOT / "tox.ini").is_file() and (ROOT / "pyproject.toml").is_file()
    assert not any((ROOT / "byzpgd" / part).exists() for part in PARTS)


def test_every_package_folder_is_listed():
    listed = set(_setuptools_table()["packages"])
    assert set(_package_folders()) == listed


def test_editable_install_maps_the_parts():
    import byzpgd.properties
    import byzpgd.theory

    assert Path(byzpgd.theory.__file__).parent == ROOT / "theory"
    assert Path(byzpgd.properties.__file__).parent == ROOT / "properties"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the tree (setuptools writes build/ next to the sources)."""
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "byzpgd"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache",
        ".ruff_cache", "report", "report-*", "tests", "docs", "benchmarks"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out), str(src)], check=True, capture_output=True)
    (whl,) = out.glob("byzpgd-*.whl")
    return whl


def test_wheel_holds_the_parts_under_byzpgd(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for part in PARTS:
        assert f"byzpgd/{part}/__init__.py" in names, part
    assert not any(n.split("/")[0] in PARTS for n in names)   # nothing called 'theory' at top


def test_wheel_imports_from_a_clean_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import byzpgd.theory.claims as c, "
            "byzpgd.properties.registry as r; r.load_all(); print(c.__file__); "
            "print(len(c.REGISTRY))")
    # run outside the repository, without the editable finder's view of the tree
    proc = subprocess.run([sys.executable, "-S", "-c", code, str(target)], cwd=tmp_path,
                          capture_output=True, text=True, env={"PYTHONPATH": _site_packages()})
    assert proc.returncode == 0, proc.stderr
    path, count = proc.stdout.split()
    assert Path(path).is_relative_to(target)
    assert int(count) >= 20


def _site_packages() -> str:
    """The environment's site-packages (numpy, scipy, ...) without its .pth files, so the
    editable install's path hook is not loaded (python -S)."""
    import sysconfig
    return sysconfig.get_paths()["purelib"]
