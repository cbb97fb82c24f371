"""Batched trials against one trial at a time (on demand, never a test). For each probabilistic
claim below, the claim's own instance specs (seeded: ``--seed``, ``--n`` per claim) run

- one at a time, as ``byzpgd verify`` runs them today (``instances.run``, ``mechanism.run_escape``
  or ``saddle_attack.run_attack`` per spec, in this process), and
- as batched trials (``experiments.batched.run_batch`` / ``run_escape_batch`` /
  ``run_attack_batch``: one vectorised
  computation per group of specs; specs without a batched form, those of the white-box adaptive
  adversary with Δ > 0, still run one at a time inside it),

in the same run, and prints instances per second of both and their ratio (target >= 10), with
the outcomes compared (status and oracle calls equal, λ_min and ‖∇F‖ equal up to rounding) and
the share of the one-at-a-time time spent in specs without a batched form (Amdahl: the ratio
cannot exceed 1 / that share). BLAS pinned to one thread.

Run: python benchmarks/batched_trials.py [--n 48] [--seed 0] [--claims ID,...]
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
CLAIMS = ("byzantine_pgd.lambda_min", "exact_pgd.lambda_min", "mechanism.escape", "mechanism.exact_escape",
          "saddle_attack.byzantine_pgd_escapes")
UNBATCHED = ("adaptive",)


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


def bench(claim_id: str, n: int, seed: int) -> float:
    if claim_id.startswith("mechanism."):
        specs = mech_suite.specs(claim_id, n, seed)
        stops = [mech_suite.STOP_FACTOR * mech_suite.escape_values(s)["R"] for s in specs]
        caps = [mech_suite.escape_call_cap(s) for s in specs]
        one = [lambda s=s, st=st, c=c: _guard(mech.run_escape, s, st, c)
               for s, st, c in zip(specs, stops, caps, strict=True)]

        def batch():
            return eb.run_escape_batch(specs, stops, caps)
    elif claim_id.startswith("saddle_attack."):
        from byzpgd.experiments import saddle_attack as sa

        specs = attack_suite.sample_attack_specs(claim_id, n, seed)
        def attack(spec):
            return sa.run_attack(spec, control=False, attacked_control="robust_gd")
        one = [lambda s=s: _guard(attack, s) for s in specs]

        def batch():
            return eb.run_attack_batch(specs)
    else:
        specs = sample_specs(claim_id, n, seed)
        one = [lambda s=s: _guard(instances.run, s) for s in specs]

        def batch():
            return eb.run_batch(specs)
    seq, times = [], []
    for fn in one:
        t0 = time.perf_counter()
        seq.append(fn())
        times.append(time.perf_counter() - t0)
    t_seq = float(np.sum(times))
    t0 = time.perf_counter()
    bat = batch()
    t_bat = time.perf_counter() - t0
    same = sum(_same(a, b) for a, b in zip(seq, bat, strict=True))
    share = float(np.sum([t for t, s in zip(times, specs, strict=True) if _unbatched(s)])) / t_seq
    ratio = t_seq / t_bat
    print(f"{claim_id:26s} n = {n:4d}: one at a time {t_seq:7.1f} s ({n / t_seq:6.2f}/s), batched "
          f"{t_bat:7.1f} s ({n / t_bat:6.2f}/s), ratio {ratio:5.1f}x "
          f"(target >= 10: {'met' if ratio >= 10 else 'MISSED'}); same outcome {same}/{n}; "
          f"one-at-a-time share of specs without a batched form {share:.0%}", flush=True)
    return ratio


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=48, help="instances per claim (default 48)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--claims", default=",".join(CLAIMS), help="comma-separated claim ids")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        for cid in args.claims.split(","):
            bench(cid.strip(), args.n, args.seed)


if __name__ == "__main__":
    main()
