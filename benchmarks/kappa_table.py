"""κ̂ of the project's aggregators (audit/kappa.py) at a few (n, f), as the markdown table of
docs/kappa.md, with the lower bound f/(n − 2f), the proven upper bound where there is one, the
verdict, evaluations and seconds. On demand, never timed in tests:

    .venv/bin/python benchmarks/kappa_table.py [--restarts 12] [--maxiter 600] [--d 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

from byzpgd.algorithms.aggregators import AGGREGATORS, make, max_byzantine
from byzpgd.audit.kappa import kappa_hat, verdict

SETTINGS = ((10, 2), (20, 4), (30, 3))
RULES = ("mean", "median", "trimmed_mean", "geometric_median", "krum", "multi_krum", "bulyan",
         "nnm_trimmed_mean", "centered_clipping", "iterative_filtering")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--restarts", type=int, default=12)
    ap.add_argument("--maxiter", type=int, default=600)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    print("| rule | n | f | κ̂ | f/(n−2f) | proven upper bound | verdict | evaluations | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in RULES:
        if name not in AGGREGATORS:
            continue
        for n, f in SETTINGS:
            if f > max_byzantine(name, n):
                lb = f / (n - 2 * f)
                print(f"| {name} | {n} | {f} | – | {lb:.4g} | – | f above the rule's limit | – | – |")
                continue
            t = time.perf_counter()
            r = kappa_hat(make(name, n, f), n, f, a.d, a.seed, restarts=a.restarts, maxiter=a.maxiter,
                          name=name)
            s = time.perf_counter() - t
            ub = "–" if r.upper_bound is None else f"{r.upper_bound:.4g}"
            print(f"| {name} | {n} | {f} | {r.kappa_hat:.4g} | {r.lower_bound:.4g} | {ub} "
                  f"| {verdict(r).kind} | {r.evaluations} | {s:.1f} |", flush=True)


if __name__ == "__main__":
    main()
