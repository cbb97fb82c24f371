"""``byzpgd calibrate``: practical constant factors for ByzantinePGD (a finding, kept apart from
the theorem checks).

1. With the paper's constants (r = 4Δ^{3/5}d^{3/10}ρ^{-1/2}, R = Δ^{2/5}d^{1/5}ρ^{-1/2},
   T_th = L/(384(√ρ+L)Δ^{2/5}d^{1/5}), Q = 2 log(·); docs/paper.md §4) it reports the largest Δ at
   which the λ_min bound 1900(√ρ+L)Δ^{2/5}d^{1/5}log(10/Δ) is below L_F (non-vacuous), and r, R,
   T_th at Δ = 1e-3.
2. It searches constant factors (c_r, c_R, c_T, c_Q), same exponents of Δ, d, L_F, ρ_F
   (theory.parameters.byzantine_pgd_parameters with ``factors``), with which ByzantinePGD escapes
   the attacked saddle (λ_min(w̃) > −γ/2) on every run, against every adversary of
   byzpgd.oracles.adversaries, at Δ ∈ {1e-4, 1e-3, 1e-2, 1e-1}, on the instance family of the
   ablations (properties.suites.ablations.calibration_instance: cosine saddles, L_F = 1,
   γ ∈ [0.5, 1], ρ_F = γ/s with s ∈ [1, 4], d ∈ [2, 6], starts inside the trap's fake basin; runs
   by experiments.ablations.run_calibration). Staged search from a generous start: each factor in
   turn is lowered to the smallest grid value that keeps every run escaping.
3. For the chosen factors it runs a larger verification and reports the smallest C with
   λ_min(w̃) >= −C(√ρ_F + L_F)Δ^{2/5}d^{1/5} on all runs, and the oracle calls used.
Writes DIR/calibration.json. The factors the ablations and the demo use are
theory.parameters.CALIBRATED_FACTORS (docs/calibration.md); this command reports a finding, it
does not change them.

Seeds: run k of cell (i_Δ, i_adversary) is drawn from
``instance_rng(seed, CALIBRATION_KEY, i_Δ, i_adversary, k)`` = default_rng([seed, i_Δ,
i_adversary, k]) (the empty key keeps the draws docs/calibration.md reports).
"""

from __future__ import annotations

import sys
import time
from functools import partial

DELTAS = (1e-4, 1e-3, 1e-2, 1e-1)
GRIDS = {"c_T": (1.0, 2.0, 4.0, 8.0, 16.0), "c_Q": (1.0, 2.0, 4.0, 8.0, 16.0),
         "c_r": (0.25, 0.5, 1.0, 2.0, 4.0), "c_R": (0.25, 0.5, 1.0, 2.0)}
START = {"c_r": 1.0, "c_R": 1.0, "c_T": 16.0, "c_Q": 16.0}
CALIBRATION_KEY = ""


def _specs(per_cell: int, seed: int) -> list[dict]:
    from ..oracles.adversaries import NAMES
    from ..properties.strategies import NumpySource
    from ..properties.suites.ablations import calibration_instance
    from ..seeding import instance_rng

    out = []
    for i, D in enumerate(DELTAS):
        for j, name in enumerate(NAMES):
            for k in range(per_cell):
                src = NumpySource(instance_rng(seed, CALIBRATION_KEY, i, j, k))
                out.append(calibration_instance(src, D, D, adversary=name, names=NAMES))
    return out


def evaluate(factors: dict, specs: list[dict], executor=None, bar=None) -> dict:
    """Run every spec with the constant ``factors``; trapped count, worst C, calls, per-Δ
    summaries. A run that crashed counts as trapped (and is listed under 'errors'). ``bar``: a
    :class:`byzpgd.progress.Progress` counting runs (advanced by one per run)."""
    from ..experiments.ablations import run_calibration
    from ..experiments.loop import InstanceError, run_instances

    tick = None if bar is None else (lambda done, total: bar.advance())
    results = run_instances(specs, partial(run_calibration, factors=factors), executor, progress=tick)
    trapped, errors, worst_C, calls, rows = [], [], 0.0, 0, {}
    for spec, res in zip(specs, results, strict=True):
        row = rows.setdefault(f"{spec['Delta']:g}", {"runs": 0, "trapped": 0, "worst_C": 0.0,
                                                      "params": None})
        row["runs"] += 1
        if isinstance(res, InstanceError):
            errors.append(res.as_example())
            run_trapped = True
        else:
            run = res.value
            calls += run.calls
            worst_C = max(worst_C, run.C)
            row["worst_C"] = max(row["worst_C"], run.C)
            row["params"] = row["params"] or run.params
            run_trapped = run.trapped
        if run_trapped:
            row["trapped"] += 1
            trapped.append(spec)
    return {"trapped": len(trapped), "runs": len(specs), "worst_C": worst_C, "oracle_calls": calls,
            "per_Delta": rows, "trapped_examples": trapped[:3], "errors": errors[:3]}


def claim_constant_findings() -> dict:
    from ..properties.strategies import NONVACUOUS_MARGIN, largest_nonvacuous
    from ..theory.parameters import byzantine_pgd_parameters

    rows = {}
    for d in (2, 10, 100):
        values = {"L_F": 1.0, "rho_F": 1.0, "d": d}
        hi = largest_nonvacuous("byzantine_pgd.lambda_min", values, "Delta", 1e-30, 1.0)
        p = byzantine_pgd_parameters(1e-3, 1.0, 1.0, d, 0.1, 1.0)
        rows[str(d)] = {"largest_nonvacuous_Delta": hi, "at_Delta_1e-3": p}
    return {"L_F": 1.0, "rho_F": 1.0, "nonvacuous_margin": NONVACUOUS_MARGIN, "by_dim": rows}


def max_candidates() -> int:
    """The most factor sets the staged search evaluates (START and every grid value below it)."""
    return 1 + sum(sum(1 for v in GRIDS[n] if v < START[n]) for n in ("c_T", "c_Q", "c_r", "c_R"))


def search(specs: list[dict], say=print, bar=None, executor=None) -> tuple[dict, list[dict]]:
    """Staged search (module docstring): from START, lower c_T, c_Q, c_r, c_R in turn to the
    smallest grid value with no trapped run; (chosen factors, history of the candidates).
    ``executor`` runs the instances (:func:`byzpgd.experiments.loop.run_instances`)."""
    factors = dict(START)
    first = evaluate(factors, specs, executor, bar=bar)
    say(f"start {factors}: trapped {first['trapped']}/{first['runs']}")
    history = [{"constants": dict(factors), "trapped": first["trapped"]}]
    if first["trapped"]:
        return factors, history
    for name in ("c_T", "c_Q", "c_r", "c_R"):
        for value in GRIDS[name]:
            if value >= factors[name]:
                break
            trial = {**factors, name: value}
            ev = evaluate(trial, specs, executor, bar=bar)
            history.append({"constants": trial, "trapped": ev["trapped"]})
            say(f"  {trial}: trapped {ev['trapped']}/{ev['runs']}")
            if ev["trapped"] == 0:
                factors = trial
                break
    return factors, history


def calibrate(per_cell: int = 2, verify_per_cell: int = 6, seed: int = 0, say=print, bar=None,
              executor=None) -> dict:
    """The whole calibration (module docstring): the paper-constant findings, the search on
    ``per_cell`` runs per (Δ, adversary) and the verification on ``verify_per_cell`` fresh ones.
    ``bar``: a :class:`byzpgd.progress.Progress` counting runs; its total is the most runs the
    search can take plus the verification's, lowered to the runs left once the search ends.
    ``executor`` runs the instances (default: this process; byzpgd.scaleout for Dask)."""
    t0 = time.perf_counter()
    search_specs, verify_specs = _specs(per_cell, seed), _specs(verify_per_cell, seed + 1)
    if bar is not None:
        bar.set(0, total=max_candidates() * len(search_specs) + len(verify_specs), note="search")
    factors, history = search(search_specs, say, bar, executor)
    if bar is not None:
        bar.set(bar.done, total=bar.done + len(verify_specs), note="verification")
    final = evaluate(factors, verify_specs, executor, bar=bar)
    say(f"chosen {factors}: verification trapped {final['trapped']}/{final['runs']}, "
        f"worst C = {final['worst_C']:.4g}")
    return {"claim_constants": claim_constant_findings(), "deltas": list(DELTAS),
            "instances": "cosine saddles L_F=1, gamma in [0.5,1], s in [1,4], d in [2,6], "
                         "starts in the fake basin; every adversary; seeds "
                         f"[{seed}, i_Delta, i_adversary, k] (search), [{seed + 1}, ...] (verification)",
            "search": {"per_cell": per_cell, "history": history},
            "chosen": factors, "verification": final,
            "seconds": round(time.perf_counter() - t0, 1)}


def cmd_calibrate(ns) -> int:
    from .. import scaleout
    from ..jsonsafe import dumps
    from ..outdir import OutDirError, check_out_dir
    from ..progress import Progress
    from ..reports.json_report import write_atomic
    from ..stopping import signal_words

    if ns.per_cell < 1 or ns.verify_per_cell < 1:
        print("byzpgd calibrate: --per-cell and --verify-per-cell must be >= 1", file=sys.stderr)
        return 2
    try:
        out_dir = check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd calibrate: error: {exc}", file=sys.stderr)
        return 2
    with Progress("byzpgd calibrate", unit="runs", quiet=ns.quiet) as bar:
        try:
            with scaleout.executor_from_args(ns, 1) as executor:
                bar.say(f"byzpgd calibrate: runs on {scaleout.describe(executor)}")
                out = calibrate(ns.per_cell, ns.verify_per_cell, ns.seed, bar.say, bar, executor)
        except scaleout.ScaleOutError as exc:
            bar.close()
            out_dir.discard_if_empty()
            print(f"byzpgd calibrate: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            bar.close()
            out_dir.discard_if_empty()
            print(f"byzpgd calibrate: interrupted{signal_words()}; nothing was written to {ns.out}",
                  file=sys.stderr)
            return 130   # the CLI's main makes it 128 + the signal for SIGTERM/SIGHUP
    path = out_dir.path / "calibration.json"
    write_atomic(path, dumps(out) + "\n")
    v = out["verification"]
    print(dumps({"chosen": out["chosen"], "trapped": v["trapped"], "runs": v["runs"],
                 "worst_C": v["worst_C"], "file": str(path)}, indent=None))
    return 0 if v["trapped"] == 0 else 1


def register(subparsers) -> None:
    from .. import scaleout

    p = subparsers.add_parser(
        "calibrate", help="search practical constant factors of r, R, T_th, Q (a finding)",
        description="Search constant factors of r, R, T_th and Q (Theorem 1's exponents) with which "
                    "ByzantinePGD escapes every adversary at Delta from 1e-4 to 1e-1, and measure "
                    "the smallest C with lambda_min >= -C (sqrt(rho)+L) Delta^(2/5) d^(1/5). Writes "
                    "DIR/calibration.json; exit 0 if the chosen factors escaped on every "
                    "verification run, 1 otherwise.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--per-cell", type=int, default=2,
                   help="search runs per (Delta, adversary) (default 2)")
    p.add_argument("--verify-per-cell", type=int, default=6,
                   help="verification runs per (Delta, adversary) (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (default: a progress bar on a terminal, periodic lines "
                        "otherwise)")
    scaleout.add_arguments(p)
    p.set_defaults(func=cmd_calibrate)
