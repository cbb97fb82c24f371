"""A runaway fault and how fast ``byzpgd verify`` gives its verdict (issue 26 item 5; not a timed test).

The fault (outside the catalogue of ``byzpgd faults``, injected with the campaign's own wrapper,
no file edited): the perturbation rounds *climb*, u ← u + η ĝ(u) instead of u ← u − η ĝ(u), in
every round of the one loop (``round_step`` in ``algorithms/engine.py``). A climbing round
always leaves the ball of radius R, so every candidate "escapes" uphill, gradient descent brings
the iterate back, and the run never settles: it goes on until a cap stops it (the theory's call
count, experiments/budget.py) or the wall-clock guard.

The script runs ``verify`` on the profile (default ci) with the fault active, exactly as ``byzpgd
verify --profile ci --out DIR`` (the same claims, seed, jobs and the partial reports written
after each claim), and prints the time to the first violated claim, the time to the end, every
claim's status with its instance counts (and where its decision came early), and the summary.

    .venv/bin/python benchmarks/runaway.py --out /tmp/runaway            # the fault, ci profile
    .venv/bin/python benchmarks/runaway.py --out /tmp/correct --no-fault # the correct code
"""
from __future__ import annotations

import argparse
import time

from byzpgd.api import verify, verify_command
from byzpgd.experiments import faults as fm


def _climbing_rounds(original):
    def faulty(G, eta, rows, t):
        return -original(G, eta, rows, t)
    return faulty


RUNAWAY = fm.Fault("runaway.climbing_rounds", "logic", "the perturbation rounds step uphill (u + eta g)",
                   (fm.Patch(f"{fm.LOOP}:round_step", _climbing_rounds),), fm.LOOP_CLAIMS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="ci")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-fault", action="store_true", help="run the correct code instead")
    ap.add_argument("--max-seconds", type=float, default=None)
    ns = ap.parse_args()
    t0 = time.perf_counter()
    first: list[tuple[float, str]] = []

    def on_partial(report):
        report.write(ns.out, escape_illustration=False)
        for c in report.claims:
            if c.status == "violated" and not first:
                first.append((time.perf_counter() - t0, c.id))

    command = verify_command(None, ns.profile, ns.seed, ns.out)
    if ns.no_fault:
        report = verify(None, ns.profile, ns.seed, jobs=ns.jobs, progress=True, command=command,
                        on_partial=on_partial, max_seconds=ns.max_seconds)
    else:
        with fm.inject(RUNAWAY):   # the pool's workers are forked with the fault active
            report = verify(None, ns.profile, ns.seed, jobs=ns.jobs, progress=True, command=command,
                            on_partial=on_partial, max_seconds=ns.max_seconds)
    end = time.perf_counter() - t0
    report.write(ns.out)
    written = time.perf_counter() - t0
    print(f"\n{'correct code' if ns.no_fault else RUNAWAY.id}, profile {ns.profile}, seed {ns.seed}, "
          f"jobs {ns.jobs}")
    for c in report.claims:
        early = (c.details or {}).get("early_decision")
        note = f"  decided after {early['instances_run']}/{early['instances_planned']}" if early else ""
        budget = (c.details or {}).get("budget_ended")
        print(f"  {c.id:45s} {c.status:12s} {c.instances:5d} instances, {c.violations:4d} violations, "
              f"{c.seconds:7.1f} s{note}{f'  budget-ended runs {budget}' if budget else ''}")
    print(f"first violated claim: {first[0][1]} after {first[0][0]:.1f} s" if first else "no violated claim")
    print(f"verify ended after {end:.1f} s; full report written after {written:.1f} s "
          f"({'partial: ' + report.partial if report.partial else 'complete'}); {report.summary}")


if __name__ == "__main__":
    main()
