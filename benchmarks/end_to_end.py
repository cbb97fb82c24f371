"""Time of the end-to-end claims' ci checks, and the proof that a speed-up changed no result
(issue 24; on demand, never a test).

Each measurement runs ``run_check(claim, profile, seed)`` in a fresh interpreter and prints its
wall-clock and CPU time (``time.process_time``: on a shared 2-core machine the less noisy one)
and a SHA-256 digest of its ``ClaimResult`` JSON without ``seconds`` (floats as ``float.hex``:
equal digests are equal statuses, counts, worst ratios and details to the bit).
Without ``--rev`` it times the working tree (the editable install). With ``--rev REV`` it
compares two fixed copies installed into a temporary directory, both the tree of git revision
``--base`` (default HEAD, so others' uncommitted edits change neither): one with the files of the
end-to-end path (``PATH_FILES``) at REV, one with them as they are in the working tree. The two
are timed alternately (``--reps`` rounds, best and median printed per tree); the digests of all
runs must agree, else the script exits 1.

    .venv/bin/python benchmarks/end_to_end.py [--claims end_to_end.grad_norm_independent]
        [--profile ci] [--seed 0] [--rev dc463e0 [--base HEAD]] [--reps 3]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATH_FILES = ("oracles/attacks.py", "oracles/pipeline.py", "oracles/statistical.py",
              "oracles/workers.py", "experiments/end_to_end.py")
DEFAULT_CLAIMS = ("end_to_end.grad_norm_independent",)


def _canon(x):
    if isinstance(x, float):
        return float.hex(x)
    if isinstance(x, dict):
        return {str(k): _canon(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_canon(v) for v in x]
    return x


def measure(claims: list[str], profile: str, seed: int) -> dict:
    """{claim: {'seconds', 'digest', 'status', 'instances', 'worst_ratio'}} in this interpreter."""
    from byzpgd.properties.registry import load_all, run_check
    load_all()
    out = {}
    for cid in claims:
        t0, c0 = time.perf_counter(), time.process_time()
        r = run_check(cid, profile, seed)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        j = r.to_json()
        j.pop("seconds", None)
        digest = hashlib.sha256(json.dumps(_canon(j), sort_keys=True, default=str).encode()).hexdigest()
        out[cid] = {"seconds": seconds, "cpu": cpu, "digest": digest[:16], "status": r.status,
                    "instances": r.instances, "worst_ratio": r.worst_ratio}
    return out


def _child(claims, profile, seed, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, __file__, "--child", "--profile", profile, "--seed", str(seed),
           "--claims", *claims]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if res.returncode:
        raise SystemExit(f"the measurement failed ({pythonpath or 'working tree'}):\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _install(base: str, rev: str | None, where: Path) -> Path:
    """The tree of git revision ``base`` with PATH_FILES at revision ``rev`` (None: as they are
    in the working tree), installed (pip --target) under ``where``: a fixed copy, which files
    edited meanwhile do not change."""
    src = where / "src"
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", base], cwd=ROOT, capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(src, filter="data")
    for name in PATH_FILES:
        text = (ROOT / name).read_bytes() if rev is None else subprocess.run(
            ["git", "show", f"{rev}:{name}"], cwd=ROOT, capture_output=True, check=True).stdout
        (src / name).write_bytes(text)
    site = where / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(src)], check=True)
    return site


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", nargs="+", default=list(DEFAULT_CLAIMS))
    ap.add_argument("--profile", default="ci")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rev", default=None, help="compare with PATH_FILES at this git revision")
    ap.add_argument("--base", default="HEAD", help="with --rev: the git revision of the other files")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.claims, a.profile, a.seed)))
        return 0
    trees: dict[str, str | None] = {"working tree": None}
    tmp = None
    if a.rev:
        tmp = Path(tempfile.mkdtemp(prefix="byzpgd-e2e-bench-"))
        trees = {f"rev {a.rev}": str(_install(a.base, a.rev, tmp / "old")),
                 "working tree": str(_install(a.base, None, tmp / "new"))}
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    try:
        for rep in range(a.reps):
            for name, path in trees.items():
                r = _child(a.claims, a.profile, a.seed, path)
                runs[name].append(r)
                print(f"round {rep + 1} {name:>16}: " + ", ".join(
                    f"{c} {v['seconds']:.2f} s (CPU {v['cpu']:.2f} s; {v['status']}, "
                    f"{v['instances']} instances, "
                    f"worst {v['worst_ratio']:.6g}, digest {v['digest']})" for c, v in r.items()), flush=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    same = True
    for cid in a.claims:
        digests = {r[cid]["digest"] for rs in runs.values() for r in rs}
        same &= len(digests) == 1
        line = [f"{cid}:"]
        for name, rs in runs.items():
            ts, cs = [r[cid]["seconds"] for r in rs], [r[cid]["cpu"] for r in rs]
            line.append(f"{name}: wall best {min(ts):.2f} s median {statistics.median(ts):.2f} s, "
                        f"CPU best {min(cs):.2f} s;")
        if len(runs) == 2:
            old, new = ([min(r[cid][k] for r in rs) for k in ("seconds", "cpu")] for rs in runs.values())
            line.append(f"speed-up (best) wall {old[0] / new[0]:.2f}x, CPU {old[1] / new[1]:.2f}x;")
        line.append("results identical" if len(digests) == 1 else f"RESULTS DIFFER {sorted(digests)}")
        print("  ".join(line))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
