"""Faults that are *not* in the catalogue of ``byzpgd faults`` (issue 11: "faults outside your
catalogue, of the same kinds, are caught by plain ``byzpgd verify --profile ci``"): each parameter
of ByzantinePGD moved 1.7x (and 4x, 5x) in its harmful direction, and steps 1.7x and 2x the
theorem's. Each is injected with the campaign's own wrapper (no file edited) and the claims a
ByzantinePGD fault concerns run, on the ci profile and seed 0 (exactly as ``byzpgd verify``
runs them), until one is not 'holds'; the script prints the killing claim, or None.

    .venv/bin/python benchmarks/unseen_faults.py            # all (about 8 minutes on one core)
    .venv/bin/python benchmarks/unseen_faults.py R_x1.5     # one
"""
import sys
import time

from byzpgd.experiments import faults as fm
from byzpgd.properties.campaign import expand_claims
from byzpgd.properties.registry import claim_ids, load_all, run_check

load_all()
H = [   # none of these factors is in the catalogue (experiments/faults.py)
    ("Q_div1.7", {"Q": fm._int(lambda q: q / 1.7)}),
    ("T_th_div1.7", {"T_th": fm._int(lambda t: t / 1.7)}),
    ("r_div1.7", {"r": lambda r: r / 1.7}),
    ("R_x1.7", {"R": lambda R: 1.7 * R}),
    ("eta_x1.7", {"eta": lambda h: 1.7 * h}),
    ("eta_x2", {"eta": lambda h: 2.0 * h}),
    ("epsilon_x1.7", {"epsilon": lambda e: 1.7 * e}),
    ("Q_div4", {"Q": fm._int(lambda q: q / 4)}),
    ("T_th_div4", {"T_th": fm._int(lambda t: t / 4)}),
    ("R_x4", {"R": lambda R: 4 * R}),
    ("r_div5", {"r": lambda r: r / 5}),
]
only = sys.argv[1:]
unknown = sorted(set(only) - {name for name, _ in H})
if unknown:
    sys.exit(f"unknown fault(s) {unknown}; known: {[name for name, _ in H]}")
claims = expand_claims(fm.BPGD_CLAIMS, claim_ids())
missed = 0
for name, change in H:
    if only and name not in only:
        continue
    fault = fm.Fault("unseen." + name, "parameter", name, (fm.Patch(fm.BPGD, fm._params(**change)),),
                     fm.BPGD_CLAIMS)
    t0, killer = time.perf_counter(), None
    with fm.inject(fault):
        for c in claims:
            r = run_check(c, "ci", 0)
            if r.status != "holds":
                killer = (c, r.status)
                break
    print(f"{name:14s} killed_by={killer} {time.perf_counter() - t0:.0f}s", flush=True)
    missed += killer is None
sys.exit(1 if missed else 0)
