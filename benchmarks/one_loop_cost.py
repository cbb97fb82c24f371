"""What a single run costs through the one batch-native loop (issue 24), against the one-run loop
it replaced (on demand, never a test).

The one-run loop of ``algorithms/perturbed_gd.py`` before issue 24 (commit 6908d3f, read with
``git show``, so run this inside the repository's git checkout) and today's ``perturbed_gd`` (a
batch of one through ``algorithms/engine.py``) run the same 480 runs: 60 cosine saddles of
dimension 4, Δ = 1e-3 and 1e-5 random-direction oracles (certified), the Q = 5 rounds as one
window and one at a time, with and without a call cap of 300. The script checks that every run
gives the same counts, status and point (to 1e-12) and prints both times; their ratio is what the
one loop costs per step on a cheap oracle.

    .venv/bin/python benchmarks/one_loop_cost.py [--rev 6908d3f]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from byzpgd.algorithms import PGDParams, perturbed_gd
from byzpgd.oracles.inexact import CertifiedOracle, RandomDirectionOracle
from byzpgd.oracles.landscapes import CosineSaddle


def old_loop(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:algorithms/perturbed_gd.py"], check=True,
                            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]).stdout
    path = Path(tempfile.mkdtemp()) / "old_perturbed_gd.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("byzpgd.algorithms._old_perturbed_gd", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.perturbed_gd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="6908d3f", help="the commit of the one-run loop (default 6908d3f)")
    ns = ap.parse_args()
    old = old_loop(ns.rev)
    differ, n, t_old, t_new = 0, 0, 0.0, 0.0
    for seed in range(60):
        land = CosineSaddle.random(4, np.random.default_rng(seed))
        params = PGDParams(eta=1 / land.L, epsilon=3e-3, r=0.05, Q=5, R=0.3, T_th=20)
        w0 = np.random.default_rng(seed + 7).normal(size=4) * 0.1
        for delta in (1e-3, 1e-5):
            for batch in (True, False):
                for cap in (10**6, 300):
                    res = []
                    for fn in (old, perturbed_gd):
                        noise = np.random.default_rng(seed + 1)
                        oracle = CertifiedOracle(RandomDirectionOracle(land, delta, noise))
                        t0 = time.perf_counter()
                        res.append(fn(oracle, w0, params, np.random.default_rng(seed), batch_rounds=batch,
                                      max_oracle_calls=cap))
                        if fn is old:
                            t_old += time.perf_counter() - t0
                        else:
                            t_new += time.perf_counter() - t0
                    a, b = res
                    n += 1
                    same = ((a.grad_oracle_calls, a.gd_steps, a.escape_rounds, a.escapes, a.status)
                            == (b.grad_oracle_calls, b.gd_steps, b.escape_rounds, b.escapes, b.status)
                            and np.allclose(a.w, b.w, rtol=1e-12, atol=1e-15))
                    differ += not same
    print(f"{n} runs: {n - differ} the same; one-run loop ({ns.rev}) {t_old:.2f} s, "
          f"the one loop at a batch of one {t_new:.2f} s ({t_new / t_old:.2f}x)")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
