"""Batched trials against batches of one (on demand, never a test). For each probabilistic
claim below, the claim's own instance specs (seeded: ``--seed``, ``--n`` per claim) run

- one at a time, each as a batch of one through the one loop (what ``instances.run``, the
  replay of a spec, does: ``experiments.batched.run_batch([spec])``, ``run_escape_batch``,
  ``run_attack_batch`` with one spec), and
- as batched trials (the same functions on all the specs at once),

in the same run, and prints instances per second of both and their ratio (target >= 10, issue
24), with the outcomes compared (status, oracle calls, λ_min and ‖∇F‖ (and the control's λ_min)
equal to the bit: a trial's rows are computed the same way in any batch,
tests/test_batched_rows.py). With ``--by-adversary`` each adversary's specs are also batched
alone, with their share of the one-at-a-time time and their own ratio: batching trials pays
where one trial's step is a single query (exact PGD, robust GD, Jin et al.'s PGD) and little
where it is already a vectorised (Q, d) round window or the adversary's own search. BLAS pinned
to one thread. glibc's malloc thresholds are set as in byzpgd's own processes (the command and
verify's workers: :func:`byzpgd._malloc.tune_malloc`), for both sides; ``--glibc-defaults`` leaves
glibc's (a batch's large temporaries are then mapped and faulted in afresh: slower batches).

Run: python benchmarks/batched_trials.py [--n 48] [--seed 0] [--claims ID,...] [--by-adversary]
[--repeat R] [--glibc-defaults]
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import importlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from byzpgd.experiments import batched as eb  # noqa: E402
from byzpgd.experiments.loop import InstanceError  # noqa: E402
from byzpgd.properties.strategies import sample_specs  # noqa: E402

mech_suite = importlib.import_module("byzpgd.properties.suites.mechanism")
attack_suite = importlib.import_module("byzpgd.properties.suites.saddle_attack")
ablation_suite = importlib.import_module("byzpgd.properties.suites.ablations")
CLAIMS = ("byzantine_pgd.lambda_min", "exact_pgd.lambda_min", "exact_pgd.poster_lambda_min",
          "mechanism.escape", "mechanism.exact_escape", "saddle_attack.byzantine_pgd_escapes",
          "saddle_attack.robust_gd_trapped", "saddle_attack.jin_pgd_trapped",
          "ablation.single_round", "ablation.jin_radius", "ablation.large_R")
FIELDS = ("status", "oracle_calls", "calls", "lambda_min", "grad_norm", "control_lambda_min", "distance")


def _same(a, b) -> bool:
    """The same outcome, to the bit (an error on both sides counts as the same)."""
    if isinstance(a, InstanceError) or isinstance(b, InstanceError):
        return isinstance(a, InstanceError) and isinstance(b, InstanceError)
    if hasattr(a, "ablated"):                  # an ablation: the ablated and the full run
        return _same(a.ablated, b.ablated) and _same(a.full, b.full)
    return all(getattr(a, f, None) == getattr(b, f, None) for f in FIELDS)


def _workload(claim_id: str, n: int, seed: int):
    """(specs, batch(spec indices) -> results): one spec is a batch of one."""
    if claim_id.startswith("mechanism."):
        specs = mech_suite.specs(claim_id, n, seed)
        stops = [mech_suite.STOP_FACTOR * mech_suite.escape_values(s)["R"] for s in specs]
        caps = [mech_suite.escape_call_cap(s) for s in specs]

        def batch(ix):
            return eb.run_escape_batch([specs[i] for i in ix], [stops[i] for i in ix], [caps[i] for i in ix])
    elif claim_id.startswith("ablation."):
        from byzpgd.experiments.ablations import run_ablation_batch
        from byzpgd.theory.parameters import CALIBRATED_FACTORS

        specs = ablation_suite.sample_ablation_specs(claim_id, n, seed)

        def batch(ix):
            return run_ablation_batch([specs[i] for i in ix], CALIBRATED_FACTORS,
                                      ablation_suite.VARIANT_OF[claim_id])
    elif claim_id.startswith("saddle_attack."):
        specs = attack_suite.sample_attack_specs(claim_id, n, seed)
        escape = claim_id == "saddle_attack.byzantine_pgd_escapes"

        def batch(ix):
            return eb.run_attack_batch([specs[i] for i in ix], control=not escape,
                                       attacked_control="robust_gd" if escape else None)
    else:
        specs = sample_specs(claim_id, n, seed)

        def batch(ix):
            return eb.run_batch([specs[i] for i in ix])
    return specs, batch


def _adversary(spec) -> str:
    return spec.get("adversary", {}).get("name", "exact") if spec.get("family") != "exact_pgd" else "exact"


def bench(claim_id: str, n: int, seed: int, by_adversary: bool = False, repeat: int = 1) -> float:
    """Both sides run ``repeat`` times; each side's time is its fastest repetition (a batch of a
    third of a second is otherwise at the mercy of one interruption)."""
    specs, batch = _workload(claim_id, n, seed)
    t_seq, t_bat = np.inf, np.inf
    for _ in range(repeat):
        seq, times = [], []
        for i in range(len(specs)):
            t0 = time.perf_counter()
            seq.append(batch([i])[0])
            times.append(time.perf_counter() - t0)
        t_seq = min(t_seq, float(np.sum(times)))
        t0 = time.perf_counter()
        bat = batch(list(range(len(specs))))
        t_bat = min(t_bat, time.perf_counter() - t0)
    same = [_same(a, b) for a, b in zip(seq, bat, strict=True)]
    ratio = t_seq / t_bat
    differ = sorted({_adversary(s) for s, ok in zip(specs, same, strict=True) if not ok})
    print(f"{claim_id:36s} n = {n:4d}: batches of one {t_seq:7.1f} s ({n / t_seq:6.2f}/s), one batch "
          f"{t_bat:7.1f} s ({n / t_bat:6.2f}/s), ratio {ratio:5.1f}x "
          f"(target >= 10: {'met' if ratio >= 10 else 'MISSED'}); same outcome {sum(same)}/{n}"
          f"{' (differ: ' + ', '.join(differ) + ')' if differ else ''}", flush=True)
    if by_adversary:
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(specs):
            groups.setdefault(_adversary(s), []).append(i)
        for name, ix in sorted(groups.items()):
            t_one = float(np.sum([times[i] for i in ix]))
            t0 = time.perf_counter()
            batch(ix)
            t_b = time.perf_counter() - t0
            print(f"    {name:18s} n = {len(ix):4d}: {t_one / t_seq:4.0%} of the one-at-a-time time, "
                  f"batched alone {t_one / t_b:5.1f}x", flush=True)
    return ratio


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=48, help="instances per claim (default 48)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--claims", default=",".join(CLAIMS), help="comma-separated claim ids")
    parser.add_argument("--by-adversary", action="store_true",
                        help="also batch each adversary's specs alone and print its share and ratio")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run both sides this many times, keep each side's fastest (default 1)")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="keep glibc's malloc thresholds (default: byzpgd's, as verify runs)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from byzpgd._malloc import tune_malloc

    tuned = False if args.glibc_defaults else tune_malloc()
    print(f"malloc thresholds: {'byzpgd' if tuned else 'glibc defaults or your environment'}'s", flush=True)

    with threadpool_limits(limits=1):
        for cid in args.claims.split(","):
            bench(cid.strip(), args.n, args.seed, args.by_adversary, max(1, args.repeat))


if __name__ == "__main__":
    main()
