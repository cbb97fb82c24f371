"""``make wheel-check``: build the wheel and the sdist (``python -m build``), install the wheel in a
fresh virtual environment (its dependencies from the package index), and, from a folder outside
the source tree, run what a user runs first:

1. ``byzpgd --help`` and ``byzpgd claims`` (exit 0, every claim listed);
2. pytest with the byzpgd plugin (``--byzpgd-report``) on a one-test file: report.json written;
3. docs/examples/test_byzpgd_example.py with docs/examples/my_rules.py (byzpgd.testing,
   byzpgd.strategies, byzpgd.verify and byzpgd.audit_aggregator on objects; the full 'quick' profile);
4. the ``run:`` lines of docs/examples/byzpgd-audit.yml (but the installation), and the files the
   workflow keeps as artifacts exist (audit.html among them);
5. the sdist holds the package folders and pyproject.toml.

Exit 0 if everything passed; otherwise 1 with the failing step's output. Takes a few minutes
(mostly installing the dependencies); kept out of the timed test suite (tests/test_wheel.py
checks the build itself).

Usage: python tests/wheel_check.py [--venv DIR] [--dist DIR] [--python PYTHON]
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_ci_examples import artifact_paths, run_steps  # noqa: E402

PARTS = ("theory", "algorithms", "oracles", "properties", "reports", "experiments", "audit")
# a one-test file: what is checked is the plugin's report.json (written by --byzpgd-report), so the
# test itself only makes sure the installed package imports its public API
PLUGIN_TEST = '''
def test_installed_package_imports():
    import byzpgd
    assert callable(byzpgd.verify) and callable(byzpgd.audit_aggregator) and callable(byzpgd.audit.audit)
'''


def step(name, argv, cwd, timeout=1800, env=None):
    t0 = time.perf_counter()
    print(f"wheel-check: {name}: {' '.join(str(a) for a in argv)}", flush=True)
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)
    print(f"wheel-check: {name}: exit {proc.returncode} in {time.perf_counter() - t0:.1f} s", flush=True)
    if proc.returncode != 0:
        print(proc.stdout[-6000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"wheel-check: FAILED at {name}")
    return proc


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--venv", default="/tmp/byzpgd-wheel-check", help="the fresh virtual environment")
    p.add_argument("--dist", default=str(ROOT / "dist"), help="where the wheel and sdist go")
    p.add_argument("--python", default=sys.executable, help="the Python that builds and makes the venv")
    ns = p.parse_args(argv)
    dist, venv = Path(ns.dist).resolve(), Path(ns.venv).resolve()   # the build runs in another folder
    t0 = time.perf_counter()
    shutil.rmtree(dist, ignore_errors=True)
    shutil.rmtree(venv, ignore_errors=True)
    # build from a copy, so that build/ and *.egg-info never land in the working tree
    with tempfile.TemporaryDirectory(prefix="byzpgd-build-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache",
            ".ruff_cache", "report", "report-*", "faults"))
        step("build", [ns.python, "-m", "build", "--outdir", dist, src], cwd=tmp)
    (wheel,) = dist.glob("byzpgd-*.whl")
    (sdist,) = dist.glob("byzpgd-*.tar.gz")
    names = tarfile.open(sdist).getnames()
    missing = [part for part in (*PARTS, "byzpgd") if not any(f"/{part}/__init__.py" in n for n in names)]
    if missing or not any(n.endswith("/pyproject.toml") for n in names):
        raise SystemExit(f"wheel-check: the sdist lacks {missing or 'pyproject.toml'}")
    print(f"wheel-check: built {wheel.name} and {sdist.name}", flush=True)

    step("venv", [ns.python, "-m", "venv", venv], cwd=ROOT)
    py = venv / "bin" / "python"
    step("install", [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, "pytest"],
         cwd=ROOT)
    with tempfile.TemporaryDirectory(prefix="byzpgd-user-") as user:
        user = Path(user)
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(user), "LANG": "C.UTF-8",
               "BYZPGD_PROGRESS": "lines"}
        step("byzpgd --help", [venv / "bin" / "byzpgd", "--help"], cwd=user, env=env)
        claims = step("byzpgd claims", [venv / "bin" / "byzpgd", "claims", "--json"], cwd=user, env=env)
        ids = [c["id"] for c in json.loads(claims.stdout)]
        if len(ids) < 20:
            raise SystemExit(f"wheel-check: byzpgd claims lists only {len(ids)} claims")
        code = "import byzpgd.api, byzpgd.theory; print(byzpgd.api.__file__, byzpgd.theory.__file__)"
        where = step("import location", [py, "-c", code], cwd=user, env=env)
        if str(ROOT) in where.stdout:
            raise SystemExit(f"wheel-check: byzpgd was imported from the source tree: {where.stdout}")
        (user / "test_plugin.py").write_text(PLUGIN_TEST)
        step("pytest plugin", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--byzpgd-report",
                               user / "report", "--byzpgd-profile", "quick", "--byzpgd-claims",
                               "parameters.exponents", "test_plugin.py"], cwd=user, env=env)
        report = json.loads((user / "report" / "report.json").read_text())
        if [c["status"] for c in report["claims"]] != ["holds"]:
            raise SystemExit(f"wheel-check: the plugin's report is {report['summary']}")
        for name in ("my_rules.py", "test_byzpgd_example.py"):
            shutil.copy(ROOT / "docs" / "examples" / name, user / name)
        step("docs/examples/test_byzpgd_example.py",
             [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_byzpgd_example.py"],
             cwd=user, env=env)
        workflow = (ROOT / "docs" / "examples" / "byzpgd-audit.yml").read_text()
        for line in run_steps(workflow):
            argv = shlex.split(line)
            if argv[:4] == ["python", "-m", "pip", "install"]:
                continue    # installed above, from the wheel
            step(f"workflow: {line}", [venv / "bin" / argv[0], *argv[1:]], cwd=user, env=env)
        for path in artifact_paths(workflow):
            if not (user / path).is_file():
                raise SystemExit(f"wheel-check: the workflow's artifact {path} was not written")
    print(f"wheel-check: OK in {time.perf_counter() - t0:.0f} s ({wheel.name}, {len(ids)} claims)",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
