"""Calibration of ByzantinePGD's constant factors (``byzpgd calibrate``; a finding, kept apart from
the theorem checks; results in docs/calibration.md).

The factors (c_r, c_R, c_T, c_Q) scale Theorem 1's parameters with the theorem's exponents of Δ,
d, L_F and ρ_F (docs/paper.md §4; theory.parameters.byzantine_pgd_parameters with ``factors``):
r = c_r Δ^{3/5}d^{3/10}ρ^{-1/2}, R = c_R Δ^{2/5}d^{1/5}ρ^{-1/2},
T_th = ⌈c_T L/((√ρ+L)Δ^{2/5}d^{1/5})⌉, Q = ⌈c_Q log(ρ(F_0−F*)/(48Lδ Δ^{6/5}d^{3/5}))⌉.

A run (:func:`run`) is ByzantinePGD on one spec of the ablation family (drawn by
``byzpgd.properties.suites.ablations.calibration_instance``; the landscape, start and adversary
of :mod:`byzpgd.experiments.ablations`); it is *trapped* when λ_min(∇²F(w̃)) <= −γ/2 or the run
did not converge within :data:`MAX_CALLS` oracle calls.

The search (:func:`search`) is a fixed plan (:func:`plan`): from :data:`START`, for c_T, c_Q, c_r,
c_R in turn, every grid value below the current one is evaluated on the same search specs, and
the factor is lowered to the smallest value with no trapped run (unchanged if none). Every
candidate of the plan is run whatever the earlier ones gave, so the number of runs is known
before the first one: ``len(plan()) · search specs + verification specs`` (:func:`total_runs`).
The chosen factors are then run on fresh verification specs, which give the smallest C with
λ_min(w̃) >= −C(√ρ_F + L_F)Δ^{2/5}d^{1/5} on every run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from .ablations import CalibrationRun, run_calibration
from .loop import Executor, InstanceError, run_instances

DELTAS = (1e-4, 1e-3, 1e-2, 1e-1)
FACTOR_ORDER = ("c_T", "c_Q", "c_r", "c_R")   # the order of the search
FACTOR_NAMES = ("c_r", "c_R", "c_T", "c_Q")    # the order they are printed in
GRIDS = {"c_T": (1.0, 2.0, 4.0, 8.0, 16.0), "c_Q": (1.0, 2.0, 4.0, 8.0, 16.0),
         "c_r": (0.25, 0.5, 1.0, 2.0, 4.0), "c_R": (0.25, 0.5, 1.0, 2.0)}
START = {"c_r": 1.0, "c_R": 1.0, "c_T": 16.0, "c_Q": 16.0}
# A run's oracle-call cap (the default profile's). At the start factors every run of the default
# calibration converged within 65,842 calls, and every run of the chosen factors within 8,290
# (docs/calibration.md); a run that does not converge (too small an R: the escape test fires at
# every candidate and the run never stops) is trapped whatever the cap, and at the ablations' cap
# of 2,000,000 calls one such run took 160 s on this machine.
MAX_CALLS = 200_000


@dataclass(frozen=True)
class Profile:
    """Runs per (Δ, adversary) cell: ``per_cell`` for the search, ``verify_per_cell`` for the
    verification; ``max_calls``: a run's oracle-call cap."""

    per_cell: int
    verify_per_cell: int
    max_calls: int = MAX_CALLS


PROFILES = {"quick": Profile(1, 2, 100_000), "default": Profile(2, 6, MAX_CALLS)}


def plan(grids: dict | None = None, start: dict | None = None) -> tuple[dict[str, float] | None, ...]:
    """The candidates of the search in order, as changes to the current factors: None (the start,
    default :data:`START`), then ``{name: value}`` for every value of ``grids`` (default
    :data:`GRIDS`) of c_T, c_Q, c_r, c_R below its start value."""
    grids, start = grids or GRIDS, start or START
    steps: list[dict[str, float] | None] = [None]
    for name in FACTOR_ORDER:
        steps += [{name: v} for v in grids[name] if v < start[name]]
    return tuple(steps)


def total_runs(search_specs: int, verify_specs: int, grids: dict | None = None,
               start: dict | None = None) -> int:
    """Every run of a calibration: each candidate of :func:`plan` on the search specs, then the
    verification."""
    return len(plan(grids, start)) * search_specs + verify_specs


def run(spec: dict, factors: dict, max_calls: int = MAX_CALLS) -> CalibrationRun:
    """ByzantinePGD with the constant ``factors`` on one spec of the ablation family, capped at
    ``max_calls`` oracle calls: :func:`byzpgd.experiments.ablations.run_calibration` (the same
    landscape, start, adversary, parameters, monitor and certificate) with the calibration's cap."""
    return run_calibration(spec, factors, max_calls=max_calls)


@dataclass(frozen=True)
class Evaluation:
    """One factor set on a list of specs: trapped runs (a crashed run counts as trapped and is
    listed in ``errors``), runs stopped by the call cap, the worst C, the oracle calls, the most
    calls of a converging run, and a per-Δ summary."""

    factors: dict
    runs: int
    trapped: int
    capped: int
    worst_C: float
    oracle_calls: int
    max_calls_converged: int
    per_Delta: dict
    trapped_examples: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    seconds: float = field(default=0.0, compare=False)   # wall-clock time: not part of the result

    def __getitem__(self, key: str):
        """The field ``key`` of :meth:`to_json` (``ev["trapped"]``)."""
        return self.to_json()[key]

    def to_json(self) -> dict:
        return {"constants": dict(self.factors), "runs": self.runs, "trapped": self.trapped,
                "capped": self.capped, "worst_C": self.worst_C, "oracle_calls": self.oracle_calls,
                "max_calls_converged": self.max_calls_converged, "per_Delta": self.per_Delta,
                "trapped_examples": self.trapped_examples, "errors": self.errors}


def evaluate(factors: dict, specs: Sequence[dict], executor: Executor | None = None,
             tick: Callable[[], None] | None = None, max_calls: int = MAX_CALLS) -> Evaluation:
    """Run every spec with ``factors`` (:func:`run`) on ``executor`` (default: this process);
    ``tick()`` is called once per finished run."""
    progress = None if tick is None else (lambda done, total: tick())
    t0 = time.perf_counter()
    results = run_instances(specs, partial(run, factors=factors, max_calls=max_calls), executor,
                            progress=progress)
    trapped, errors, rows = [], [], {}
    worst_C, calls, capped, most = 0.0, 0, 0, 0
    for spec, res in zip(specs, results, strict=True):
        row = rows.setdefault(f"{spec['Delta']:g}", {"runs": 0, "trapped": 0, "worst_C": 0.0, "params": None})
        row["runs"] += 1
        if isinstance(res, InstanceError):
            errors.append(res.as_example())
            run_trapped = True
        else:
            r = res.value
            calls += r.calls
            capped += r.status == "max_oracle_calls"
            if r.status == "converged":
                most = max(most, r.calls)
            worst_C = max(worst_C, r.C)
            row["worst_C"] = max(row["worst_C"], r.C)
            row["params"] = row["params"] or r.params
            run_trapped = r.trapped
        if run_trapped:
            row["trapped"] += 1
            trapped.append(spec)
    return Evaluation(dict(factors), len(specs), len(trapped), capped, worst_C, calls, most, rows,
                      trapped[:3], errors[:3], time.perf_counter() - t0)


Evaluate = Callable[[dict, Sequence[dict]], Evaluation]


def search(specs: Sequence[dict], evaluate_fn: Evaluate | None = None,
           say: Callable[[str], None] = lambda msg: None, grids: dict | None = None,
           start: dict | None = None) -> tuple[dict, list[Evaluation]]:
    """The staged search of the module docstring on ``specs``: (chosen factors, the evaluation of
    every candidate of :func:`plan`, in that order). ``evaluate_fn(factors, specs)`` runs one
    candidate (default :func:`evaluate` in this process); ``say`` gets one line per candidate."""
    grids, start = grids or GRIDS, start or START
    evaluate_fn = evaluate_fn or evaluate
    n = len(plan(grids, start))

    def one(trial: dict) -> Evaluation:
        ev = evaluate_fn(trial, specs)
        history.append(ev)
        say(f"candidate {len(history)}/{n} {factors_text(trial)}: trapped {ev.trapped}/{ev.runs}, "
            f"{ev.seconds:.1f} s" + (f" ({ev.capped} stopped by the call cap)" if ev.capped else ""))
        return ev

    factors, history = dict(start), []
    one(factors)
    for name in FACTOR_ORDER:
        base = dict(factors)
        for value in (v for v in grids[name] if v < start[name]):
            if one({**base, name: value}).trapped == 0 and factors[name] == base[name]:
                factors[name] = value          # the smallest value of the grid with no trapped run
    return factors, history


def factors_text(factors: dict) -> str:
    """'(c_r, c_R, c_T, c_Q) = (1, 0.5, 2, 16)'."""
    return "(c_r, c_R, c_T, c_Q) = (" + ", ".join(f"{factors[k]:g}" for k in FACTOR_NAMES) + ")"


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`calibrate`: the chosen factors, every candidate's evaluation, the
    verification of the chosen factors, and the wall-clock seconds."""

    chosen: dict
    history: list[Evaluation]
    verification: Evaluation
    seconds: float

    @property
    def escaped_everywhere(self) -> bool:
        """Every verification run escaped (the command's exit 0)."""
        return self.verification.trapped == 0


def calibrate(search_specs: Sequence[dict], verify_specs: Sequence[dict], evaluate_fn: Evaluate | None = None,
              say: Callable[[str], None] = lambda msg: None, grids: dict | None = None,
              start: dict | None = None) -> Calibration:
    """The search on ``search_specs``, then the chosen factors on ``verify_specs``, each factor
    set run by ``evaluate_fn(factors, specs)`` (default :func:`evaluate` in this process; the
    command line passes one that runs on its executor and advances its progress bar by one per
    run: :func:`total_runs` runs in all); ``say`` gets one line per candidate and one for the
    verification."""
    evaluate_fn = evaluate_fn or evaluate
    t0 = time.perf_counter()
    chosen, history = search(search_specs, evaluate_fn, say, grids, start)
    final = evaluate_fn(chosen, verify_specs)
    say(f"chosen {factors_text(chosen)}: verification trapped {final.trapped}/{final.runs}, "
        f"worst C = {final.worst_C:.4g}")
    return Calibration(chosen, history, final, round(time.perf_counter() - t0, 1))
