"""A Dask worker with and without Dask's MALLOC_TRIM_THRESHOLD_ (on demand, never a test).

Dask's nanny starts the workers of a ``LocalCluster`` with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``), which fixes glibc's mmap threshold: every temporary
array above 128 KiB is then mapped and unmapped afresh. ``--workers N`` unsets it
(``experiments/executors.py`` ``LOCAL_CLUSTER_CONFIG``). This times one batch of
``byzantine_pgd.lambda_min`` instances (``--n``, the claim's own seeded specs) three ways in the
same run: in this process, in a one-worker ``LocalCluster`` as ``--workers`` starts it, and in one
with Dask's default put back; wall and CPU seconds (user + system) of the batch, and the system
share. The records must be equal (the exit status is 1 otherwise). BLAS pinned to one thread.

Run: python benchmarks/dask_malloc.py [--n 120] [--seed 0]
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def batch(n: int, seed: int):
    """(wall s, user s, system s, records) of one batch of n instances, after a warm-up."""
    from byzpgd.experiments import batched as eb
    from byzpgd.properties.strategies import sample_specs

    specs = sample_specs("byzantine_pgd.lambda_min", n, seed)
    eb.run_batch(specs[:4])
    t0, c0 = time.perf_counter(), os.times()
    records = eb.run_batch(specs)
    c1 = os.times()
    return time.perf_counter() - t0, c1.user - c0.user, c1.system - c0.system, records


def in_worker(n: int, seed: int, dask_default: bool):
    from byzpgd.experiments import executors as ex

    config = dict(ex.LOCAL_CLUSTER_CONFIG)
    if dask_default:
        del config["distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"]
    saved, ex.LOCAL_CLUSTER_CONFIG = ex.LOCAL_CLUSTER_CONFIG, config
    try:
        with ex.dask_client(ex.ClusterSpec(workers=1)) as client:
            trim = next(iter(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()))
            return trim, client.submit(batch, n, seed, pure=False).result()
    finally:
        ex.LOCAL_CLUSTER_CONFIG = saved


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    ns = p.parse_args()
    runs = [("this process", os.environ.get("MALLOC_TRIM_THRESHOLD_"), batch(ns.n, ns.seed))]
    runs.append(("worker, --workers' settings", *in_worker(ns.n, ns.seed, dask_default=False)))
    runs.append(("worker, Dask's default", *in_worker(ns.n, ns.seed, dask_default=True)))
    print(f"{ns.n} byzantine_pgd.lambda_min instances, seed {ns.seed}; load average "
          f"{os.getloadavg()[0]:.2f}")
    for label, trim, (wall, user, system, _) in runs:
        cpu = user + system
        print(f"  {label:28s} MALLOC_TRIM_THRESHOLD_={trim!s:6s} wall {wall:6.2f} s, CPU {cpu:6.2f} s "
              f"({system / max(cpu, 1e-9):4.0%} system)")
    same = len({pickle.dumps(r[2][3]) for r in runs}) == 1
    print(f"  same records in all three: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
