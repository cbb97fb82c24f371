"""Scaling of claim checks on 1, 2 and 4 local Dask workers (issue 14, item 5).

Two ways of spreading the work, both through :class:`byzpgd.experiments.executors.DaskExecutor`
on a ``LocalCluster`` of N single-threaded worker processes (started before the clock starts;
every worker imports byzpgd before the clock starts too):

- ``instances`` (default): each claim's instances in chunks (``map``, about 4 chunks per worker),
  the claims one after the other: how ``run_instances`` uses a cluster (calibration, fault
  campaign, claim instances). Claims whose check takes an ``executor``: the theorem claims
  (``properties.runner.check_claim``), the saddle-attack claims and the ablations.
- ``claims``: one task per claim (``as_completed``); the longest claim bounds the speed-up.
- ``verify``: ``byzpgd.verify(claims, executor=...)``, how ``byzpgd verify --workers N`` runs: one
  task per claim, except the claims that share the pool (the theorem, saddle-attack and
  end-to-end claims), whose instances go to the workers in chunks (about 4 per worker).

Every run must give the same results (status, instances, non-vacuous, violations, worst ratio,
per-adversary rows) as the first one; the script says so, or exits 1. Speed-ups are T(1)/T(N),
measured in the same run. It also prints the CPU seconds the workers used and their CPU per wall
second: N at perfect scaling; less when the machine has fewer free cores than workers (other
processes, or N above the core count), which is then what bounds the speed-up.

The full ``deep`` profile takes hours on one core (3000 instances per claim, 33 claims), so the
default is a fixed subset of it: 2000 instances each (``--instances``, in instances mode) of
``ablation.jin_radius`` and ``saddle_attack.robust_gd_trapped`` (their deep counts before issue 22
raised them for power). ``--claims``, ``--profile`` and ``--instances 0`` (the profile's own
counts) change it.

    .venv/bin/python benchmarks/scaling.py                       # deep subset, 1, 2, 4 workers
    .venv/bin/python benchmarks/scaling.py --mode claims --claims 'ablation.*' --profile ci
    .venv/bin/python benchmarks/scaling.py --mode verify --profile deep --claims power

``--claims power``: the probabilistic theorem claims whose deep counts give power <= 1.25δ
(:data:`POWER_CLAIMS`).
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import platform
import sys
import time
from functools import partial

DEFAULT_CLAIMS = ("ablation.jin_radius", "saddle_attack.robust_gd_trapped")
POWER_CLAIMS = ("byzantine_pgd.lambda_min", "exact_pgd.lambda_min", "exact_pgd.poster_lambda_min",
                "saddle_attack.byzantine_pgd_escapes", "end_to_end.grad_norm_independent")


def instance_check(claim_id: str):
    """The suite function of ``claim_id`` that takes an ``executor`` (instances mode)."""
    if claim_id.startswith(("byzantine_pgd.", "exact_pgd.")):
        from byzpgd.properties.runner import check_claim
        return check_claim
    if claim_id.startswith("ablation."):
        from byzpgd.properties.suites.ablations import check_ablation
        return check_ablation
    if claim_id.startswith("saddle_attack."):
        from byzpgd.properties.suites.saddle_attack import check_attack
        return check_attack
    raise SystemExit(f"scaling.py: claim {claim_id!r} has no instance-level check with an executor; "
                     "use --mode claims")


def fingerprint(result) -> tuple:
    """What must not depend on the number of workers."""
    if result.status == "error":
        raise SystemExit(f"scaling.py: {result.id} ended in an error: {result.details}")
    rows = {k: (r.instances, r.nonvacuous_instances, r.violations, r.worst_ratio)
            for k, r in sorted(result.adversaries.items())}
    return (result.id, result.status, result.instances, result.nonvacuous_instances,
            result.outside_hypotheses, result.violations, result.errors, result.worst_ratio, rows)


def _warm():
    import byzpgd.properties.registry as registry
    registry.load_all()
    return os.getpid()


def _cpu_seconds() -> float:
    """CPU seconds (user + system) this worker process used so far."""
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(n_workers: int, claims: list[str], profile: str, seed: int, mode: str,
        instances: int | None = None) -> tuple[float, float, list]:
    """(wall seconds, CPU seconds the workers used meanwhile, results) on ``n_workers`` workers."""
    from byzpgd.experiments.executors import ClusterSpec, DaskExecutor, dask_client
    from byzpgd.properties.registry import run_check

    with dask_client(ClusterSpec(workers=n_workers)) as client:
        client.run(_warm)
        executor = DaskExecutor(client)
        cpu0 = sum(client.run(_cpu_seconds).values())
        t0 = time.perf_counter()
        if mode == "verify":
            from byzpgd import verify
            results = list(verify(claims, profile, seed, executor=executor, illustration=False).claims)
        elif mode == "claims":
            results = [None] * len(claims)
            for i, res in executor.as_completed(partial(run_check, profile=profile, seed=seed), claims):
                results[i] = res
        else:
            results = [instance_check(cid)(cid, profile, seed, executor=executor, n=instances)
                       for cid in claims]
        wall = time.perf_counter() - t0
        return wall, sum(client.run(_cpu_seconds).values()) - cpu0, results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated (default 1,2,4)")
    p.add_argument("--claims", default=",".join(DEFAULT_CLAIMS),
                   help="claim ids or patterns, comma-separated, or 'power' (POWER_CLAIMS; "
                        "default: %(default)s)")
    p.add_argument("--profile", default="deep", help="instances per claim (default deep)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=("instances", "claims", "verify"), default="instances")
    p.add_argument("--instances", type=int, default=2000,
                   help="instances per claim in instances mode (default 2000; 0: the profile's count)")
    ns = p.parse_args(argv)

    from byzpgd.properties.registry import claim_ids

    known = claim_ids()
    patterns = POWER_CLAIMS if ns.claims == "power" else ns.claims.split(",")
    claims = [c for pat in patterns for c in known if fnmatch.fnmatchcase(c, pat)]
    if not claims:
        raise SystemExit(f"scaling.py: no claim matches {ns.claims!r}")
    workers = [int(w) for w in ns.workers.split(",")]
    print(f"scaling: profile {ns.profile}, seed {ns.seed}, mode {ns.mode}, claims {', '.join(claims)}; "
          f"{os.cpu_count()} CPU(s), Python {platform.python_version()}, load average "
          f"{os.getloadavg()[0]:.2f} at start", flush=True)
    times, first = {}, None
    for n in workers:
        seconds, cpu, results = run(n, claims, ns.profile, ns.seed, ns.mode, ns.instances or None)
        times[n] = seconds
        fp = [fingerprint(r) for r in results]
        if first is None:
            first = fp
            for r in results:
                print(f"  {r.id}: {r.status}, {r.instances} instances, {r.violations} violations, "
                      f"worst ratio {r.worst_ratio}", flush=True)
        same = fp == first
        # CPU share: the workers' CPU seconds per wall second (n would be perfect scaling; on a
        # shared machine other processes take the rest)
        print(f"  {n} worker(s): {seconds:8.1f} s   speed-up {times[workers[0]] / seconds:5.2f}x   "
              f"workers' CPU {cpu:7.1f} s ({cpu / seconds:.2f} CPU per wall second)   "
              f"same results as {workers[0]} worker(s): {'yes' if same else 'NO'}   "
              f"(load average {os.getloadavg()[0]:.2f})", flush=True)
        if not same:
            for a, b in zip(first, fp, strict=True):
                if a != b:
                    print(f"    differs: {a} != {b}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
