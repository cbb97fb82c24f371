"""The audit's verdict of the references and of rules broken in one way each, on two profiles
(issue 21: pass is positive evidence, and no profile is more lenient than a larger one), with
the audit's own functions in this process (end-to-end runs off: they do not depend on the
profile's grids). The same rules as tests/test_audit_evidence.py.

    .venv/bin/python benchmarks/audit_profiles.py [--profiles quick,ci] [--seed 0]

Prints one line per (rule, profile) and a Markdown table (rule, verdict per profile, the reasons'
kinds); exit 1 when a quick verdict is more lenient than the ci one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main(argv=None) -> int:
    import fixtures_audit as fa
    import fixtures_positional as fp

    from byzpgd.algorithms.aggregators import make
    from byzpgd.audit.result import leniency
    from byzpgd.audit.run import audit_in_process

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", default="quick,ci")
    ap.add_argument("--seed", type=int, default=0)
    ns = ap.parse_args(argv)
    profiles = [p for p in ns.profiles.split(",") if p]
    rules = {name: (lambda m, f, name=name: make(name, m, f))
             for name in ("median", "trimmed_mean", "iterative_filtering", "krum")}
    for name, fn in (("shifted_median", fa.shifted_median), ("middle_half_by_norm", fa.middle_half_by_norm),
                     ("one_worker", fa.one_worker), ("last_half_mean", fp.last_half_mean),
                     ("anchored_mean", fp.anchored_mean), ("nan_median", fa.nan_median)):
        rules[name] = lambda m, f, fn=fn: fn
    out: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for profile in profiles:
        cache: dict = {}
        for name, factory in rules.items():
            t0 = time.perf_counter()
            res = audit_in_process(factory, profile=profile, seed=ns.seed, end_to_end=False,
                                   reference_cache=cache)
            kinds = sorted({f"{r.kind} ({r.grade})" for r in res.reasons})
            out[name, profile] = (res.verdict, kinds)
            print(f"{name:>20} {profile:>5}: {res.verdict:<12} {kinds} {time.perf_counter() - t0:.1f} s",
                  flush=True)
    print("\n| rule | " + " | ".join(profiles) + " | reasons (" + profiles[-1] + ") |")
    print("|---|" + "---|" * len(profiles) + "---|")
    inverted = []
    for name in rules:
        vs = [out[name, p][0] for p in profiles]
        print(f"| `{name}` | " + " | ".join(vs) + f" | {', '.join(out[name, profiles[-1]][1]) or '—'} |")
        if any(leniency(a) < leniency(b) for a, b in zip(vs, vs[1:], strict=False)):
            inverted.append(name)
    if inverted:
        print(f"\nINVERTED (a smaller profile more lenient): {', '.join(inverted)}")
    return 1 if inverted else 0


if __name__ == "__main__":
    sys.exit(main())
