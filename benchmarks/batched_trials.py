"""Batched trials against one trial at a time (on demand, never a test). For each probabilistic
claim below, the claim's own instance specs (seeded: ``--seed``, ``--n`` per claim) run

- one at a time, as ``byzpgd verify`` runs them today (``instances.run``, ``mechanism.run_escape``
  or ``saddle_attack.run_attack`` per spec, in this process), and
- as batched trials (``experiments.batched.run_batch`` / ``run_escape_batch`` /
  ``run_attack_batch``: one vectorised
  computation per group of specs; the white-box adaptive adversary batched too since issue 24),

in the same run, and prints instances per second of both and their ratio (target >= 10), with
the outcomes compared (status and oracle calls equal, λ_min and ‖∇F‖ equal up to rounding: the
one-at-a-time runs use the one-instance landscapes' BLAS products, so a near tie of the search
adversary's argmin or of an escape test can go the other way; a batched trial itself is the
same bits in any batch, tests/test_batched_rows.py) and
the share of the one-at-a-time time spent in specs without a batched form (Amdahl: the ratio
cannot exceed 1 / that share). With ``--by-adversary`` each adversary's specs are also batched
alone, with their share of the one-at-a-time time and their own ratio: batching trials pays
where one trial's step is a single query (exact PGD, robust GD) and little where it is already
a vectorised (Q, d) round batch or the adversary's own search. BLAS pinned to one thread.

Run: python benchmarks/batched_trials.py [--n 48] [--seed 0] [--claims ID,...] [--by-adversary]
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import importlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from byzpgd.experiments import batched as eb  # noqa: E402
from byzpgd.experiments import instances  # noqa: E402
from byzpgd.experiments import mechanism as mech  # noqa: E402
from byzpgd.experiments.loop import InstanceError  # noqa: E402
from byzpgd.properties.strategies import sample_specs  # noqa: E402

mech_suite = importlib.import_module("byzpgd.properties.suites.mechanism")
attack_suite = importlib.import_module("byzpgd.properties.suites.saddle_attack")
CLAIMS = ("byzantine_pgd.lambda_min", "exact_pgd.lambda_min", "exact_pgd.poster_lambda_min",
          "mechanism.escape", "mechanism.exact_escape", "saddle_attack.byzantine_pgd_escapes")
UNBATCHED: tuple[str, ...] = ()   # every adversary has a batched form since issue 24


def _guard(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # as run_instances: recorded, compared, never hidden
        return InstanceError(args[0], f"{type(exc).__name__}: {exc}", "")


def _unbatched(spec) -> bool:
    adv = spec.get("adversary", {}).get("name")
    Delta = spec.get("Delta", 0.0) if spec.get("family") != "exact_pgd" else 0.0
    return adv in UNBATCHED and Delta > 0


def _same(a, b) -> bool:
    if isinstance(a, InstanceError) or isinstance(b, InstanceError):
        return isinstance(a, InstanceError) and isinstance(b, InstanceError)
    calls = "oracle_calls"
    ok = a.status == b.status and getattr(a, calls) == getattr(b, calls)
    ok &= bool(np.isclose(a.lambda_min, b.lambda_min, rtol=1e-7, atol=1e-12))
    if getattr(a, "control_lambda_min", None) is not None:
        ok &= bool(np.isclose(a.control_lambda_min, b.control_lambda_min, rtol=1e-7, atol=1e-12))
    if hasattr(a, "grad_norm"):
        ok &= bool(np.isclose(a.grad_norm, b.grad_norm, rtol=1e-6, atol=1e-12))
    return ok


def _workload(claim_id: str, n: int, seed: int):
    """(specs, one(spec index) -> result one at a time, batch(spec indices) -> results)."""
    if claim_id.startswith("mechanism."):
        specs = mech_suite.specs(claim_id, n, seed)
        stops = [mech_suite.STOP_FACTOR * mech_suite.escape_values(s)["R"] for s in specs]
        caps = [mech_suite.escape_call_cap(s) for s in specs]

        def one(i):
            return _guard(mech.run_escape, specs[i], stops[i], caps[i])

        def batch(ix):
            return eb.run_escape_batch([specs[i] for i in ix], [stops[i] for i in ix], [caps[i] for i in ix])
    elif claim_id.startswith("saddle_attack."):
        from byzpgd.experiments import saddle_attack as sa

        specs = attack_suite.sample_attack_specs(claim_id, n, seed)

        def attack(spec):
            return sa.run_attack(spec, control=False, attacked_control="robust_gd")

        def one(i):
            return _guard(attack, specs[i])

        def batch(ix):
            return eb.run_attack_batch([specs[i] for i in ix])
    else:
        specs = sample_specs(claim_id, n, seed)

        def one(i):
            return _guard(instances.run, specs[i])

        def batch(ix):
            return eb.run_batch([specs[i] for i in ix])
    return specs, one, batch


def _adversary(spec) -> str:
    return spec.get("adversary", {}).get("name", "exact") if spec.get("family") != "exact_pgd" else "exact"


def bench(claim_id: str, n: int, seed: int, by_adversary: bool = False) -> float:
    specs, one, batch = _workload(claim_id, n, seed)
    seq, times = [], []
    for i in range(len(specs)):
        t0 = time.perf_counter()
        seq.append(one(i))
        times.append(time.perf_counter() - t0)
    t_seq = float(np.sum(times))
    t0 = time.perf_counter()
    bat = batch(list(range(len(specs))))
    t_bat = time.perf_counter() - t0
    same = [_same(a, b) for a, b in zip(seq, bat, strict=True)]
    share = float(np.sum([t for t, s in zip(times, specs, strict=True) if _unbatched(s)])) / t_seq
    ratio = t_seq / t_bat
    differ = sorted({_adversary(s) for s, ok in zip(specs, same, strict=True) if not ok})
    print(f"{claim_id:26s} n = {n:4d}: one at a time {t_seq:7.1f} s ({n / t_seq:6.2f}/s), batched "
          f"{t_bat:7.1f} s ({n / t_bat:6.2f}/s), ratio {ratio:5.1f}x "
          f"(target >= 10: {'met' if ratio >= 10 else 'MISSED'}); same outcome {sum(same)}/{n}"
          f"{' (differ: ' + ', '.join(differ) + ')' if differ else ''}; "
          f"one-at-a-time share of specs without a batched form {share:.0%}", flush=True)
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
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        for cid in args.claims.split(","):
            bench(cid.strip(), args.n, args.seed, args.by_adversary)


if __name__ == "__main__":
    main()
