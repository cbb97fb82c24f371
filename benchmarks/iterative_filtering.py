"""Old vs new iterative filtering and κ search, timed in the same run (issue 24). On demand, never
timed in tests:

    .venv/bin/python benchmarks/iterative_filtering.py [--base dc463e0] [--repeats 3]
        [--claim-repeats 1] [--claims aggregator.iterative_filtering.bounded_influence ...]

The old implementations are ``algorithms/aggregators/filtering.py`` and ``audit/kappa.py`` as of
the git revision ``--base`` (default dc463e0, the last commit before the speed-up), loaded from
``git show`` into private modules beside the new ones (same package, so both use today's
``basic.centred``); new is the imported byzpgd (the editable working tree, or a fixed copy put
first on PYTHONPATH, e.g. ``git archive HEAD`` installed with ``pip install --target``, when
others' uncommitted edits break the tree). Two measurements:

1. per call: the filter's inputs recorded from the first searches of
   ``aggregator.iterative_filtering.bounded_influence`` (ci), each run by the old and the new
   filter, compared byte for byte (output, and output with info), then timed alternately, the
   best of ``--repeats`` passes;
2. per claim: ``run_check(claim, 'ci', 0)`` with the old filter and κ search patched in, then with
   the new ones, alternately ``--claim-repeats`` times; the results (everything but the
   seconds) must be identical.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

import byzpgd.algorithms.aggregators.filtering as filtering
from byzpgd.properties.registry import load_all, run_check
from byzpgd.properties.suites import robustness

ROOT = Path(__file__).resolve().parents[1]
CLAIM = "aggregator.iterative_filtering.bounded_influence"


def load_old(base: str, path: str, package: str, name: str) -> types.ModuleType:
    """The module at ``path`` as of git revision ``base``, as ``package.name``."""
    src = subprocess.run(["git", "show", f"{base}:{path}"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    mod = types.ModuleType(f"{package}.{name}")
    mod.__package__ = package
    mod.__file__ = f"<{base}:{path}>"
    sys.modules[mod.__name__] = mod
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)  # noqa: S102 - the repository's own source
    return mod


@contextlib.contextmanager
def patched(filter_fn, kappa_hat_fn):
    """The claim's rule (``make_iterative_filtering`` looks ``iterative_filtering`` up in its module
    at each call) and search (``robustness.kappa_hat``) replaced for the duration."""
    saved = filtering.iterative_filtering, robustness.kappa_hat
    filtering.iterative_filtering, robustness.kappa_hat = filter_fn, kappa_hat_fn
    try:
        yield
    finally:
        filtering.iterative_filtering, robustness.kappa_hat = saved


def record_inputs(searches: int) -> list[tuple[np.ndarray, int, dict]]:
    rec: list[tuple[np.ndarray, int, dict]] = []
    real = filtering.iterative_filtering

    def spy(X, f, **kw):
        rec.append((np.array(X, copy=True), f, kw))
        return real(X, f, **kw)

    with patched(spy, robustness.kappa_hat):
        for spec in robustness.robustness_specs(CLAIM, "ci", 0)[:searches]:
            robustness.search(spec)
    return rec


def _bytes(fn, X, f, kw, info):
    with np.errstate(all="ignore"):
        try:
            r = fn(X.copy(), f, return_info=info, **kw)
        except Exception as exc:  # noqa: BLE001 - an exception is an outcome to compare
            return ("raised", type(exc).__name__, str(exc))
    if not info:
        return np.asarray(r).tobytes()
    out, i = r
    return (out.tobytes(), i["rounds"], i["weights"].tobytes(), repr(i["lambda"]), repr(i["threshold"]))


def per_call(old, new, inputs, repeats: int) -> None:
    diff = sum(_bytes(old, X, f, kw, info) != _bytes(new, X, f, kw, info)
               for X, f, kw in inputs for info in (False, True))
    best = {"old": np.inf, "new": np.inf}
    for _ in range(repeats):
        for label, fn in (("old", old), ("new", new)):
            t = time.perf_counter()
            with np.errstate(all="ignore"):
                for X, f, kw in inputs:
                    fn(X, f, **kw)
            best[label] = min(best[label], (time.perf_counter() - t) / len(inputs))
    print(f"per call ({len(inputs)} recorded inputs, best of {repeats}): old {best['old'] * 1e6:.1f} us, "
          f"new {best['new'] * 1e6:.1f} us, speed-up {best['old'] / best['new']:.2f}x; "
          f"calls differing in any bit: {diff}")


def _comparable(result) -> str:
    d = result.to_json()
    d.pop("seconds", None)
    return json.dumps(d, sort_keys=True, default=str)


def per_claim(claim: str, old_f, old_k, repeats: int) -> None:
    times: dict[str, list[float]] = {"old": [], "new": []}
    seen: dict[str, set[str]] = {"old": set(), "new": set()}
    for _ in range(repeats):
        for label, fns in (("old", (old_f, old_k)), ("new", (filtering.iterative_filtering,
                                                            robustness.kappa_hat))):
            with patched(*fns):
                t = time.perf_counter()
                r = run_check(claim, "ci", 0)
                times[label].append(time.perf_counter() - t)
            seen[label].add(_comparable(r))
    same = len(seen["old"]) == len(seen["new"]) == 1 and seen["old"] == seen["new"]
    r = json.loads(next(iter(seen["new"])))
    o, n = min(times["old"]), min(times["new"])
    print(f"{claim} (ci, seed 0), best of {repeats}: old {o:.2f} s, new {n:.2f} s, speed-up {o / n:.2f}x; "
          f"status {r['status']}, instances {r['instances']}, worst_ratio {r['worst_ratio']}; "
          f"results identical (all but seconds): {same}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="dc463e0")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--searches", type=int, default=2,
                    help="searches whose filter inputs are recorded (0: no per-call timing)")
    ap.add_argument("--claim-repeats", type=int, default=1)
    ap.add_argument("--claims", nargs="*", default=[CLAIM])
    a = ap.parse_args(argv)
    load_all()
    old_f = load_old(a.base, "algorithms/aggregators/filtering.py", "byzpgd.algorithms.aggregators",
                     "_filtering_base")
    old_k = load_old(a.base, "audit/kappa.py", "byzpgd.audit", "_kappa_base")
    print(f"old: {a.base}; new: the imported byzpgd ({Path(filtering.__file__).parents[2]})")
    if a.searches > 0:
        per_call(old_f.iterative_filtering, filtering.iterative_filtering, record_inputs(a.searches),
                 a.repeats)
    for claim in a.claims:
        per_claim(claim, old_f.iterative_filtering, old_k.kappa_hat, a.claim_repeats)


if __name__ == "__main__":
    main()
