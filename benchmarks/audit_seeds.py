"""Seed stability and time of the audit's verdict (issue 12): the graded verdict of each rule on
seeds 0..K-1, measured with the audit's own functions (battery, rate fits, bias test, end to end,
grade) but with the rule called in-process instead of in the sandbox (the sandbox only carries the
calls: same inputs, same outputs), so that a 10 × 10 table fits in the time of this 2-core machine.

    .venv/bin/python benchmarks/audit_seeds.py --profile quick --seeds 10 [--rules NAME,...] [--jobs 2]

Rules: the project's aggregators by registry name (``median``, ``krum``, ...) or ``MODULE:CALLABLE``
(imported with tests/ on the path, e.g. ``fixtures_audit:one_worker``). Prints one line per
(rule, seed) (all rules of a seed run in one process, sharing the references' measurements, so
the seconds of the first rule of a seed include the references') and a table (rule, verdict per
seed, seconds) at the end; ``--json FILE`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1] / "tests")
RULES = ("median", "trimmed_mean", "iterative_filtering", "mean", "krum", "multi_krum", "bulyan",
         "geometric_median", "centered_clipping", "nnm_trimmed_mean",
         # broken on purpose (tests/fixtures_audit.py): biased in m, flat in n, NaN-broken
         "fixtures_audit:shifted_median", "fixtures_audit:middle_half_by_norm", "fixtures_audit:nan_median",
         # trust row positions (tests/fixtures_positional.py)
         "fixtures_positional:last_half_mean", "fixtures_positional:anchored_mean")


def factory_of(rule: str):
    from byzpgd.algorithms.aggregators import AGGREGATORS, make
    from byzpgd.audit import loader
    if rule in AGGREGATORS:
        return lambda m, f: make(rule, m, f)
    obj = loader.import_target(rule, [TESTS])
    return lambda m, f: loader.build(obj, m, f)


_CACHE: dict = {}     # the references' measurements, shared by the audits of this process


def audit_in_process(rule: str, seed: int, profile: str = "quick", f: int | None = None,
                     e2e: bool = True, reference_cache: dict | None = _CACHE) -> dict:
    """The verdict of ``rule`` at ``seed`` (:func:`byzpgd.audit.run.audit_in_process`): {'rule',
    'seed', 'verdict', 'kinds' (reason kinds), 'error_probability', 'seconds', 'inside'
    (end-to-end instances inside the hypotheses), 'slopes', 'max_ratio'}."""
    from byzpgd.audit.run import audit_in_process as run
    rep = run(factory_of(rule), profile=profile, seed=seed, f=f, end_to_end=e2e,
              reference_cache=reference_cache)
    slopes = {k: (v.user.slope, v.user.ci, v.evidence) for k, v in rep.slopes.items() if v.user is not None}
    e2e_sum = rep.end_to_end
    return {"rule": rule, "seed": seed, "verdict": rep.verdict,
            "kinds": sorted({r.kind for r in rep.reasons}),
            "error_probability": rep.grade.error_probability, "seconds": rep.seconds,
            "inside": None if e2e_sum is None else e2e_sum.inside_hypotheses, "slopes": slopes,
            "max_ratio": max((r.ratio_to_best_reference or 0) for r in rep.worst())}


def _short(slopes: dict) -> dict:
    return {k: (None if v[0] is None else round(v[0], 3), v[2]) for k, v in slopes.items()}


def _job(args):
    """All rules of one seed in one process (they share the references' measurements)."""
    rules, seed, profile, f, e2e = args
    _CACHE.clear()
    out = []
    for r in rules:
        out.append(audit_in_process(r, seed, profile, f, e2e))
        print(_line(out[-1]), flush=True)
    return out


def _line(row: dict) -> str:
    return (f"{row['rule']:>24} seed {row['seed']}: {row['verdict']:<10} {row['kinds']} "
            f"p_err={row['error_probability']} inside={row['inside']} max_ratio={row['max_ratio']:.3g} "
            f"slopes={_short(row['slopes'])} {row['seconds']} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=["quick", "ci", "deep"])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--f", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--json", default=None)
    ns = ap.parse_args(argv)
    sys.path.insert(0, TESTS)
    rules = [r for r in ns.rules.split(",") if r]
    seeds = range(ns.first_seed, ns.first_seed + ns.seeds)
    jobs = [(rules, s, ns.profile, ns.f, not ns.no_e2e) for s in seeds]
    rows = []
    with ProcessPoolExecutor(max_workers=ns.jobs) as ex:
        for batch in ex.map(_job, jobs):
            rows.extend(batch)
    print("\n| rule | verdicts (seeds) | same on every seed | seconds per audit (in-process) |")
    print("|---|---|---|---|")
    for r in rules:
        mine = [x for x in rows if x["rule"] == r]
        vs = [x["verdict"] for x in mine]
        print(f"| `{r}` | {' '.join(vs)} | {'yes' if len(set(vs)) == 1 else 'NO'} | "
              f"{min(x['seconds'] for x in mine):.1f}–{max(x['seconds'] for x in mine):.1f} |")
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
