"""``byzpgd calibrate``: the command line of :mod:`byzpgd.experiments.calibration` (practical
constant factors for ByzantinePGD; a finding, kept apart from the theorem checks;
docs/calibration.md). It parses the options, draws the specs, runs the calibration, prints and
writes DIR/calibration.json.

Also reported (section ``claim_constants``): with the paper's constants (r = 4Δ^{3/5}d^{3/10}ρ^{-1/2},
R = Δ^{2/5}d^{1/5}ρ^{-1/2}, T_th = L/(384(√ρ+L)Δ^{2/5}d^{1/5}), Q = 2 log(·); docs/paper.md §4) the
largest Δ at which the λ_min bound 1900(√ρ+L)Δ^{2/5}d^{1/5}log(10/Δ) is below L_F (non-vacuous),
and r, R, T_th at Δ = 1e-3.

Seeds: run k of cell (i_Δ, i_adversary) is drawn from
``instance_rng(seed, CALIBRATION_KEY, i_Δ, i_adversary, k)`` = default_rng([seed, i_Δ,
i_adversary, k]) (the empty key keeps the draws docs/calibration.md reports); the verification
uses seed + 1.

Exit codes: 0 every verification run of the chosen factors escaped; 1 at least one was trapped
(a finding about the factors, not a failure of the command; the default run traps some at
Δ = 0.1, docs/calibration.md); 2 usage error; 130 interrupted (143/129 on SIGTERM/SIGHUP).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from ..experiments import calibration as _calibration
from ..experiments.calibration import DELTAS, GRIDS, PROFILES, START, Calibration, Evaluation, total_runs

CALIBRATION_KEY = ""
DEFAULT_JOBS = 2
HEARTBEAT_SECONDS = 10.0   # a status line at least this often, even while one long run is going on


def _specs(per_cell: int, seed: int) -> list[dict]:
    """``per_cell`` specs per (Δ, adversary) cell (module docstring: seeds)."""
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


def evaluate(factors: dict, specs: list[dict], executor=None, bar=None,
             max_calls: int = _calibration.MAX_CALLS) -> Evaluation:
    """One factor set on ``specs`` (:func:`byzpgd.experiments.calibration.evaluate`) on
    ``executor``, each run capped at ``max_calls`` oracle calls, advancing ``bar`` (a
    :class:`byzpgd.progress.Progress`) by one per run."""
    return _calibration.evaluate(factors, specs, executor, None if bar is None else bar.advance, max_calls)


def calibrate(search_specs: list[dict], verify_specs: list[dict], executor=None, bar=None,
              say=lambda msg: None, max_calls: int = _calibration.MAX_CALLS) -> Calibration:
    """:func:`byzpgd.experiments.calibration.calibrate` with this module's grid and start, every
    factor set run by :func:`evaluate` on ``executor`` with ``bar``."""
    def run(factors: dict, specs: list[dict]) -> Evaluation:
        return evaluate(factors, specs, executor, bar=bar, max_calls=max_calls)
    return _calibration.calibrate(search_specs, verify_specs, run, say, GRIDS, START)


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


def to_json(result: Calibration, profile: str, per_cell: int, verify_per_cell: int, seed: int) -> dict:
    """calibration.json (the keys docs/calibration.md reads)."""
    return {"claim_constants": claim_constant_findings(), "deltas": list(DELTAS), "profile": profile,
            "instances": "cosine saddles L_F=1, gamma in [0.5,1], s in [1,4], d in [2,6], "
                         "starts in the fake basin; every adversary; seeds "
                         f"[{seed}, i_Delta, i_adversary, k] (search), [{seed + 1}, ...] (verification)",
            "max_calls": PROFILES[profile].max_calls,
            "search": {"per_cell": per_cell,
                       "history": [{**ev.to_json(), "seconds": round(ev.seconds, 1)}
                                   for ev in result.history]},
            "chosen": result.chosen,
            "verification": {**result.verification.to_json(), "per_cell": verify_per_cell,
                             "seconds": round(result.verification.seconds, 1)},
            "seconds": result.seconds}


def cmd_calibrate(ns) -> int:
    from .. import scaleout
    from ..jsonsafe import dumps
    from ..outdir import OutDirError, check_out_dir
    from ..progress import Progress
    from ..reports.json_report import write_atomic
    from ..stopping import signal_words

    profile = PROFILES[ns.profile]
    per_cell = ns.per_cell or profile.per_cell
    verify_per_cell = ns.verify_per_cell or profile.verify_per_cell
    try:
        out_dir = check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd calibrate: error: {exc}", file=sys.stderr)
        return 2
    search_specs, verify_specs = _specs(per_cell, ns.seed), _specs(verify_per_cell, ns.seed + 1)
    total = total_runs(len(search_specs), len(verify_specs), GRIDS, START)
    with Progress("byzpgd calibrate", total=total, unit="runs", quiet=ns.quiet) as bar:
        try:
            with scaleout.executor_from_args(ns, DEFAULT_JOBS) as executor:
                bar.say(f"byzpgd calibrate: runs on {scaleout.describe(executor)}: profile {ns.profile}, "
                        f"{total} runs ({len(search_specs)} per candidate, {len(verify_specs)} to verify)")
                with heartbeat(bar):
                    result = calibrate(search_specs, verify_specs, executor, bar, say=bar.say,
                                       max_calls=profile.max_calls)
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
    write_atomic(path, dumps(to_json(result, ns.profile, per_cell, verify_per_cell, ns.seed)) + "\n")
    v = result.verification
    print(dumps({"chosen": result.chosen, "trapped": v.trapped, "runs": v.runs, "worst_C": v.worst_C,
                 "seconds": result.seconds, "file": str(path)}, indent=None))
    if not result.escaped_everywhere:
        print(f"byzpgd calibrate: exit 1: the chosen factors were trapped on {v.trapped} of {v.runs} "
              "verification runs (a finding about the factors, see docs/calibration.md)", file=sys.stderr)
    return 0 if result.escaped_everywhere else 1


@contextlib.contextmanager
def heartbeat(bar, seconds: float = HEARTBEAT_SECONDS):
    """Re-show ``bar`` (same count, elapsed and ETA brought up to date) every ``seconds`` while the
    block runs: a run stopped only by the call cap can take many seconds, and the display must
    not fall silent meanwhile."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(seconds):
            bar.set(bar.done)

    thread = threading.Thread(target=beat, name="byzpgd-calibrate-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _count(text: str) -> int:
    """An integer >= 1 (argparse type; its name is what argparse prints for a bad value)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {n}")
    return n


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {n}")
    return n


def register(subparsers) -> None:
    from .. import scaleout

    runs = {name: total_runs(len(_cells()) * p.per_cell, len(_cells()) * p.verify_per_cell, GRIDS, START)
            for name, p in PROFILES.items()}
    p = subparsers.add_parser(
        "calibrate", help="search practical constant factors of r, R, T_th, Q (a finding)",
        description="Search constant factors of r, R, T_th and Q (Theorem 1's exponents) with which "
                    "ByzantinePGD escapes every adversary at Delta from 1e-4 to 1e-1, and measure "
                    "the smallest C with lambda_min >= -C (sqrt(rho)+L) Delta^(2/5) d^(1/5). Writes "
                    "DIR/calibration.json. Exit 0 if the chosen factors escaped on every "
                    "verification run; 1 if any verification run was trapped (a finding about the "
                    "factors, not a failure: docs/calibration.md); 2 on a usage error.")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="default",
                   help="runs per (Delta, adversary): " + "; ".join(
                       f"{name}: {pr.per_cell} in the search, {pr.verify_per_cell} to verify, "
                       f"{runs[name]} runs in all, each capped at {pr.max_calls:,} oracle calls"
                       for name, pr in PROFILES.items())
                   + " (default: the default profile; measured times in docs/calibration.md)")
    p.add_argument("--per-cell", type=_count, default=None, metavar="N",
                   help="search runs per (Delta, adversary) (default: the profile's)")
    p.add_argument("--verify-per-cell", type=_count, default=None, metavar="N",
                   help="verification runs per (Delta, adversary) (default: the profile's)")
    p.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    p.add_argument("--jobs", type=_count, default=DEFAULT_JOBS, metavar="N",
                   help=f"local worker processes (default {DEFAULT_JOBS}; 1 runs in this process; "
                        "ignored with --scheduler or --workers)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (default: a progress bar on a terminal, periodic lines "
                        "otherwise)")
    scaleout.add_arguments(p)
    p.set_defaults(func=cmd_calibrate)


def _cells() -> list[tuple[float, str]]:
    """The (Δ, adversary) cells."""
    from ..oracles.adversaries import NAMES
    return [(D, name) for D in DELTAS for name in NAMES]

