"""glibc's malloc thresholds and a batch of trials (on demand, never a test).

Dask's nanny starts the workers of a ``LocalCluster`` with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``), which fixes glibc's mmap threshold at 128 KiB: every
temporary array above it is then mapped and unmapped afresh. byzpgd's own processes set both
thresholds instead (:mod:`byzpgd._malloc`; the ``--workers N`` cluster through its environment,
``experiments/executors.py`` ``local_cluster_config``). This times one batch of
``byzantine_pgd.lambda_min`` instances (``--n``, the claim's own seeded specs) four ways in the
same run: in this process with glibc's defaults, then with :func:`byzpgd._malloc.tune_malloc`, in a
one-worker ``LocalCluster`` as ``--workers`` starts it, and in one with Dask's default; wall and
CPU seconds (user + system) of the batch, and the system share. The records must be equal (the
exit status is 1 otherwise). BLAS pinned to one thread. Run it without the ``MALLOC_*``
variables set.

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

    config = ex.local_cluster_config()
    if dask_default:
        config = {k: v for k, v in config.items() if "pre-spawn-environ" not in k}
    saved = ex.local_cluster_config
    ex.local_cluster_config = lambda: config
    try:
        with ex.dask_client(ex.ClusterSpec(workers=1)) as client:
            env = next(iter(client.run(ex.malloc_environment).values()))
            return env, client.submit(batch, n, seed, pure=False).result()
    finally:
        ex.local_cluster_config = saved


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    ns = p.parse_args()
    from byzpgd._malloc import tune_malloc
    from byzpgd.experiments.executors import malloc_environment

    runs = [("this process, glibc's defaults", malloc_environment(), batch(ns.n, ns.seed))]
    if not tune_malloc():
        raise SystemExit("dask_malloc.py: cannot set the thresholds here (not glibc, or MALLOC_* set)")
    runs.append(("this process, tune_malloc", "mallopt", batch(ns.n, ns.seed)))
    runs.append(("worker, --workers' settings", *in_worker(ns.n, ns.seed, dask_default=False)))
    runs.append(("worker, Dask's default", *in_worker(ns.n, ns.seed, dask_default=True)))
    print(f"{ns.n} byzantine_pgd.lambda_min instances, seed {ns.seed}; load average "
          f"{os.getloadavg()[0]:.2f}")
    for label, env, (wall, user, system, _) in runs:
        cpu = user + system
        print(f"  {label:31s} wall {wall:6.2f} s, CPU {cpu:6.2f} s ({system / max(cpu, 1e-9):4.0%} "
              f"system)  {env}")
    same = len({pickle.dumps(r[2][3]) for r in runs}) == 1
    print(f"  same records in all four: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
