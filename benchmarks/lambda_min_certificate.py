"""λ_min certificate at large d: Lanczos on Hessian-vector products vs. what dense eigvalsh needs.

Run from the repository root (after ``make venv``)::

    .venv/bin/python benchmarks/lambda_min_certificate.py

Options: ``--dim`` (default 100000), ``--seed`` (default 0), ``--n-neg``, ``--repeats``,
``--dense-sizes``, ``--dense-repeats``; see ``--help``. This is an on-demand benchmark, not a test.

What it does
------------
1. Builds ``CosineSaddle.random(dim, numpy.random.default_rng(seed), n_neg=..., rotation=
   "householder")``, i.e. a cosine saddle rotated by ``random_rotation(dim, rng, "householder")``
   (a product of 4 Householder reflections, O(d) storage), then draws the random point
   w ~ N(0, I_d) from the same generator.
2. Certifies λ_min(∇²F(w)) with ``byzpgd.theory.certify.certify(landscape, w, method="lanczos")``
   at (a) the strict saddle w = 0 and (b) the random point, and compares it with the exact value
   ``landscape.hess_diag(w).min()`` (the Hessian is Q diag(h) Qᵀ, so h holds its eigenvalues).
   Wall time: ``time.perf_counter`` around the ``certify`` call (first call, then the min and
   median over ``--repeats`` further calls). Memory: ``tracemalloc`` peak of Python/NumPy
   allocations during one extra (traced) call, and growth of ``resource.getrusage(...).ru_maxrss``
   over the untraced calls. Each case runs in a fresh interpreter (this script re-invoked with a
   hidden ``--case`` flag) because ru_maxrss is a process-lifetime high-water mark, inherited
   across fork/exec: measured in one process, the second case would only see growth beyond the
   peak of the first. The parent imports nothing heavy before it starts the children.
3. Times ``numpy.linalg.eigvalsh`` on dense Hessians of the same family at ``--dense-sizes``
   (default 500 1000 2000), fits t = c·d³ (least squares in log t) and extrapolates to ``dim``;
   prints the memory a dense d x d float64 Hessian would need (8 d² bytes) and the ratio
   dense-estimate / Lanczos-measured.

BLAS threads are pinned to 1 (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS,
VECLIB_MAXIMUM_THREADS set to "1" before NumPy is imported, here and in the children) so that
the dense and Lanczos timings are single-threaded and comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")
for _var in BLAS_THREAD_VARS:
    os.environ[_var] = "1"  # before any NumPy import (NumPy is imported lazily below)

CASES = ("saddle", "random")
CASE_LABELS = {"saddle": "(a) strict saddle w = 0", "random": "(b) random point w ~ N(0, I)"}


def _maxrss_bytes() -> int:
    """ru_maxrss in bytes (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def _fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def _fmt_seconds(t: float) -> str:
    if t >= 86400:
        return f"{t:.3g} s (~{t / 86400:.1f} days)"
    if t >= 3600:
        return f"{t:.3g} s (~{t / 3600:.1f} h)"
    return f"{t:.3g} s"


def _build(dim: int, seed: int, n_neg: int):
    """The landscape and the random point, deterministically from ``seed``."""
    import numpy as np

    from byzpgd.oracles.landscapes import CosineSaddle, HouseholderRotation

    rng = np.random.default_rng(seed)
    landscape = CosineSaddle.random(dim, rng, n_neg=n_neg, rotation="householder")
    assert isinstance(landscape.rotation, HouseholderRotation)
    w_random = rng.standard_normal(dim)
    return landscape, w_random


# child: one certification case in a fresh process --------------------------------------------
def run_case(case: str, dim: int, seed: int, n_neg: int, repeats: int) -> dict:
    import numpy as np

    from byzpgd.theory.certify import certify

    landscape, w_random = _build(dim, seed, n_neg)
    w = np.zeros(dim) if case == "saddle" else w_random

    rss_before = _maxrss_bytes()
    t0 = time.perf_counter()
    cert = certify(landscape, w, method="lanczos")
    t_first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        certify(landscape, w, method="lanczos")
        times.append(time.perf_counter() - t0)
    rss_after = _maxrss_bytes()

    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    certify(landscape, w, method="lanczos")
    t_traced = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    h = np.sort(landscape.hess_diag(w))
    return {
        "case": case, "rotation": landscape.rotation.describe(), "grad_norm": cert.grad_norm,
        "lambda_min": cert.lambda_min, "error_bound": cert.lambda_min_error,
        "method": cert.method, "exact": float(h[0]), "exact_second": float(h[1]),
        "t_first": t_first, "times": times, "t_traced": t_traced,
        "tracemalloc_peak": peak - base, "rss_before": rss_before, "rss_after": rss_after,
    }


def run_case_in_child(case: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--case", case, "--dim", str(args.dim),
           "--seed", str(args.seed), "--n-neg", str(args.n_neg), "--repeats", str(args.repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"case {case!r} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# parent: dense timing and the report ----------------------------------------------------------
def time_dense(sizes, seed: int, n_neg: int, repeats: int) -> list[dict]:
    import numpy as np

    rows = []
    for n in sizes:
        landscape, w = _build(n, seed, n_neg)
        hess = landscape.hess(w)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            evals = np.linalg.eigvalsh(hess)
            best = min(best, time.perf_counter() - t0)
        exact = float(landscape.hess_diag(w).min())
        rows.append({"n": n, "t": best, "lambda_min": float(evals[0]), "exact": exact})
        del hess
    return rows


def blas_report() -> str:
    pinned = ", ".join(f"{v}={os.environ.get(v)}" for v in BLAS_THREAD_VARS)
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return (f"BLAS threads pinned to 1 via environment, set before importing numpy: {pinned} "
                "(threadpoolctl not installed, so not verified at run time)")
    pools = "; ".join(f"{p.get('internal_api')}: {p.get('num_threads')} thread(s)"
                      for p in threadpool_info())
    return f"BLAS threads pinned to 1 via environment ({pinned}); threadpoolctl reports {pools}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Certify λ_min of a rotated CosineSaddle Hessian at large d with Lanczos "
                    "(byzpgd.theory.certify, method='lanczos') and compare with the cost of "
                    "dense numpy.linalg.eigvalsh (extrapolated from small sizes, O(d^3)).")
    parser.add_argument("--dim", type=int, default=100_000, help="dimension d (default 100000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for numpy.random.default_rng (default 0)")
    parser.add_argument("--n-neg", type=int, default=3,
                        help="number of negative-curvature coordinates (default 3)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed Lanczos certifications after the first one (default 5)")
    parser.add_argument("--dense-sizes", type=int, nargs="+", default=[500, 1000, 2000],
                        help="sizes at which eigvalsh is timed (default 500 1000 2000)")
    parser.add_argument("--dense-repeats", type=int, default=3,
                        help="eigvalsh timings per size, the minimum is kept (default 3)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: child mode
    args = parser.parse_args(argv)
    if args.dim < 2 or args.repeats < 0 or args.dense_repeats < 1 or len(args.dense_sizes) < 2:
        parser.error("need --dim >= 2, --repeats >= 0, --dense-repeats >= 1 and at least "
                     "two --dense-sizes")

    if args.case is not None:
        print(json.dumps(run_case(args.case, args.dim, args.seed, args.n_neg, args.repeats)))
        return 0

    t_start = time.perf_counter()
    # Children first, while this process is still small (see the module docstring).
    results = [run_case_in_child(case, args) for case in CASES]

    import numpy as np
    import scipy

    d = args.dim
    print("λ_min certificate benchmark: Lanczos (Hessian-vector products) vs dense eigvalsh")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPU(s)")
    print(blas_report())
    print(f"landscape: CosineSaddle.random(d={d}, default_rng({args.seed}), n_neg={args.n_neg}, "
          f"rotation='householder') -> rotation {results[0]['rotation']}; "
          "random point w ~ N(0, I_d) from the same generator")
    print(f"timing: first certify() call, then min / median of {args.repeats} more; memory: "
          "tracemalloc peak (one extra traced call) and ru_maxrss growth (untraced calls), "
          "each case in a fresh interpreter")
    print()

    for r in results:
        times = r["times"] or [r["t_first"]]
        diff = abs(r["lambda_min"] - r["exact"])
        print(f"{CASE_LABELS[r['case']]}  [certify(..., method={r['method']!r})]")
        print(f"  ‖∇F(w)‖                     = {r['grad_norm']:.6g}")
        print(f"  lambda_min (Lanczos)         = {r['lambda_min']:.17g}")
        print(f"  stated error bound (resid.)  = {r['error_bound']:.3e}")
        print(f"  exact (hess_diag(w).min())   = {r['exact']:.17g}")
        print(f"  |lanczos - exact|            = {diff:.3e}"
              f"   ({'within' if diff <= r['error_bound'] else 'NOT within'} the stated bound)")
        print(f"  exact gap λ_2 - λ_1          = {r['exact_second'] - r['exact']:.4g}")
        print(f"  wall time: first {r['t_first']:.4f} s, min {min(times):.4f} s, "
              f"median {statistics.median(times):.4f} s (traced call {r['t_traced']:.4f} s)")
        print(f"  peak memory: tracemalloc {_fmt_bytes(r['tracemalloc_peak'])}, ru_maxrss growth "
              f"{_fmt_bytes(r['rss_after'] - r['rss_before'])} "
              f"(ru_maxrss {_fmt_bytes(r['rss_before'])} -> {_fmt_bytes(r['rss_after'])})")
        print()

    print(f"dense eigvalsh timing (same family, min of {args.dense_repeats} runs, "
          "Hessian build not timed):")
    rows = time_dense(args.dense_sizes, args.seed, args.n_neg, args.dense_repeats)
    ns = np.array([row["n"] for row in rows], dtype=np.float64)
    ts = np.array([row["t"] for row in rows])
    for row in rows:
        print(f"  d = {row['n']:>6}: eigvalsh {row['t']:.4f} s   "
              f"(λ_min {row['lambda_min']:.12g}, |dense - exact| "
              f"{abs(row['lambda_min'] - row['exact']):.1e})")
    c3 = float(np.exp(np.mean(np.log(ts) - 3.0 * np.log(ns))))
    slope, intercept = np.polyfit(np.log(ns), np.log(ts), 1)
    t_dense = c3 * float(d) ** 3
    t_dense_free = float(np.exp(intercept) * float(d) ** slope)
    print(f"  fit t = c·d³: c = {c3:.3e} s  ->  d = {d}: {_fmt_seconds(t_dense)}")
    print(f"  (free-exponent fit for reference: t ∝ d^{slope:.2f} -> d = {d}: "
          f"{_fmt_seconds(t_dense_free)})")
    print()

    hess_bytes = 8.0 * d**2
    phys = None
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    print(f"dense method at d = {d}:")
    print(f"  d x d float64 Hessian: 8 d² = {hess_bytes:.3e} bytes = {_fmt_bytes(hess_bytes)}"
          + (f" (this machine: {_fmt_bytes(phys)} RAM)" if phys else ""))
    print("  (Hessian alone; numpy.linalg.eigvalsh also copies its input into a LAPACK buffer, "
          "so its peak is >= 16 d² bytes)")
    print(f"  eigvalsh time (O(d³) extrapolation): {_fmt_seconds(t_dense)}")
    print()
    print("ratio dense-estimate / lanczos-measured:")
    for r in results:
        t_lanczos = min(r["times"] or [r["t_first"]])
        print(f"  {CASE_LABELS[r['case']]}: time {t_dense / t_lanczos:.3g}x "
              f"(vs min {t_lanczos:.4f} s; vs first call {t_dense / r['t_first']:.3g}x), "
              f"memory {hess_bytes / r['tracemalloc_peak']:.3g}x "
              f"(8 d² vs tracemalloc peak {_fmt_bytes(r['tracemalloc_peak'])})")
    print()
    print(f"total benchmark wall time: {time.perf_counter() - t_start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
