"""Time of ``byzpgd audit`` per profile against its budget (issue 12: quick < 1 min, ci < 10 min on a
2-core machine), for the project's median through the command line (sandbox, report included).

    .venv/bin/python benchmarks/audit_time.py [--profiles quick,ci] [--target MODULE:CALLABLE]

Prints, per profile, the wall-clock seconds, the verdict and the budget; exit 1 when a budget is
exceeded. No unit test times the audit: this is where its speed is measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = {"quick": 60.0, "ci": 600.0, "deep": None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", default="quick,ci")
    ap.add_argument("--target", default="byzpgd.algorithms.aggregators:coordinate_median")
    ns = ap.parse_args(argv)
    exe = str(Path(sys.executable).with_name("byzpgd"))
    over = False
    for profile in ns.profiles.split(","):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            rc = subprocess.run([exe, "audit", ns.target, "--profile", profile, "--out", out, "--quiet"],
                                capture_output=True, text=True).returncode
            wall = time.perf_counter() - t0
            verdict = json.loads((Path(out) / "audit.json").read_text())["verdict"]
        budget = BUDGET_SECONDS.get(profile)
        ok = budget is None or wall <= budget
        over |= not ok
        state = "" if ok else ", EXCEEDED"
        print(f"{profile}: {wall:.1f} s (budget {budget if budget else 'none'} s{state}), "
              f"verdict {verdict}, exit {rc}", flush=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
