"""The whole ``byzpgd verify`` on a profile, two ways in the same run (on demand, never a test):

- ``one at a time``: every instance a batch of one (``verify(batched=False)``: what the harness
  did before the one batched engine, issue 24's baseline), each claim one task of the pool;
- ``batched``: the default (batched trials; the theorem, saddle-attack and end-to-end claims'
  instances share the worker pool with the other claims as chunks).

Prints each run's wall time, the sum of the claims' own times, the ratio of the wall times, and
checks that both runs report the same statuses, instance, non-vacuous and violation counts,
worst ratios and detectable failure rates for every claim (a difference is printed and the exit
status is 1). BLAS pinned to one thread per process.

Run: python benchmarks/verify_ci.py [--profile ci] [--seed 0] [--jobs 2] [--claims ID,...]
     [--skip-baseline]
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from byzpgd import verify  # noqa: E402

FIELDS = ("status", "instances", "nonvacuous_instances", "violations", "errors", "worst_ratio",
          "detectable_failure_rate", "detectable_excess")


def timed_verify(args, batched: bool):
    t0 = time.perf_counter()
    report = verify(args.claims, profile=args.profile, seed=args.seed, jobs=args.jobs, batched=batched)
    return report, time.perf_counter() - t0


def outcome(claim) -> tuple:
    return tuple(getattr(claim, f, None) for f in FIELDS)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="ci")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--claims", default=None)
    p.add_argument("--skip-baseline", action="store_true", help="only the batched run")
    args = p.parse_args(argv)
    runs = {}
    for name, batched in (("batched", True), ("one at a time", False)):
        if name == "one at a time" and args.skip_baseline:
            continue
        report, wall = timed_verify(args, batched)
        own = sum(c.seconds for c in report.claims)
        held = sum(c.status == "holds" for c in report.claims)
        print(f"{name:>14}: {wall:7.1f} s wall, claims' own times {own:7.1f} s, "
              f"{held}/{len(report.claims)} hold", flush=True)
        runs[name] = (report, wall)
    if len(runs) < 2:
        return 0
    (fast, t_fast), (slow, t_slow) = runs["batched"], runs["one at a time"]
    print(f"speed-up (wall, one at a time / batched): {t_slow / t_fast:.2f}x")
    differ = [(a.id, outcome(a), outcome(b)) for a, b in zip(fast.claims, slow.claims, strict=True)
              if outcome(a) != outcome(b)]
    for cid, a, b in differ:
        print(f"DIFFERENT {cid}: batched {a} / one at a time {b}")
    print("outcomes: " + ("identical for every claim" if not differ else f"{len(differ)} claim(s) differ"))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
