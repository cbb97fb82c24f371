"""Instances of a claim check as small JSON-able specs, and how to build and run them.

A spec fully determines a run (landscape, oracle, start point, seeds), so any violation can be
replayed from its spec alone (``byzpgd replay CLAIM_ID 'SPEC'``). The oracle is the adversary of
the spec's 'adversary' key (``{"name": ..., "seed": ..., **params}``, see
byzpgd.oracles.adversaries) with budget Δ (Δ = 0 for the exact-oracle family); a spec without
that key gets the foundation's worst-norm random-direction oracle seeded by 'oracle_seed'. Every
oracle is wrapped by the certifying layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..algorithms import byzantine_pgd, exact_pgd
from ..oracles.adversaries import make_adversary
from ..oracles.inexact import CertifiedOracle, ExactOracle, RandomDirectionOracle
from ..oracles.landscapes import CosineSaddle, PhaseRetrieval
from ..theory.certify import certify
from ..theory.claims import get as get_claim
from ..theory.hypotheses import requires_q_formula_above_one
from ..theory.parameters import byzantine_pgd_parameters, exact_pgd_parameters
from .budget import (
    BUDGET,
    CALL_CAPS,
    FAILURE_PROBABILITY,
    INSTANCE_SECONDS,
    CallCap,
    theorem_cap,
)
from .loop import only
from .monitor import DescentMonitor

MAX_ORACLE_CALLS = CALL_CAPS["theorems"]   # the safety stop (a run's cap is :func:`call_cap`)


def build_landscape(spec: dict):
    rng = np.random.default_rng(spec["landscape_seed"])
    if spec["landscape"] == "cosine_saddle":
        return CosineSaddle.random(spec["dim"], rng, n_neg=spec.get("n_neg", 1), L=spec["L"],
                                   rho=spec["rho"])
    if spec["landscape"] == "phase_retrieval":
        return PhaseRetrieval.random(spec["dim"], rng)
    raise ValueError(f"unknown landscape {spec['landscape']!r}")


def start_point(spec: dict, landscape) -> np.ndarray:
    """The spec's start (see :meth:`Landscape.sample_start`), from its own seed."""
    return landscape.sample_start(np.random.default_rng(spec["start_seed"]), spec["start"],
                                  spec["start_scale"])


@dataclass
class RunRecord:
    """Everything a claim check needs from one run."""

    spec: dict
    values: dict           # symbol name -> value (theorem_values: Delta, epsilon, r, R, L_F,
                           # rho_F, d, delta, F_gap, Q, T_th)
    grad_norm: float
    lambda_min: float
    lambda_min_error: float
    oracle_calls: int
    status: str
    start_grad_norm: float
    left_domain: bool
    max_calls: int
    cap_source: str = "theory"   # 'theory' (reaching max_calls violates the iteration claim) | 'safety'


def default_algorithm(spec, oracle, w0, rng):
    """The algorithm under test, as the theorem prescribes it, capped at :func:`call_cap` (the
    theorem's own call count at the instance's values) with the wall-clock guard."""
    land = oracle.landscape
    cap = call_cap(spec, land, land.value(w0) - land.f_star).calls
    if spec["family"] == "byzantine_pgd":
        return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY,
                             max_oracle_calls=cap, max_seconds=INSTANCE_SECONDS)
    return exact_pgd(oracle, w0, rng, epsilon=spec["epsilon"], delta=FAILURE_PROBABILITY,
                     variant=spec.get("variant", "proved"), max_oracle_calls=cap,
                     max_seconds=INSTANCE_SECONDS)


ITERATION_CLAIMS = {"byzantine_pgd": "byzantine_pgd.iterations", "exact_pgd": "exact_pgd.iterations"}


def q_formula_above_one(values: dict) -> bool:
    """Whether Theorem 1's Q formula, before rounding, is > 1 at ``values`` (the hypothesis
    :func:`byzpgd.theory.hypotheses.requires_q_formula_above_one` of ``byzantine_pgd.iterations``)."""
    return not requires_q_formula_above_one(values)


def cap_for_values(family: str, values: dict) -> CallCap:
    """The call cap of a run of ``family`` judged at ``values`` (:func:`theorem_values`): the
    iteration claim's bound there (Theorem 1: 2 (F_0 − F*) L_F Q/(3Δ²); Theorem 2:
    2 L_F (F_0 − F*)/ε² + T_th + 1, theory/claims/theorems.py) through
    :func:`byzpgd.experiments.budget.theorem_cap`, with the allowance 1 + Q·T_th only where
    Theorem 1's Q formula is <= 1 (outside the iteration claim's hypotheses)."""
    bound = get_claim(ITERATION_CLAIMS[family]).bound(values)
    allowance = 0
    if family == "byzantine_pgd" and not q_formula_above_one(values):
        allowance = 1 + int(values["Q"]) * int(values["T_th"])
    return theorem_cap(bound, allowance)


def spec_call_cap(spec: dict) -> CallCap:
    """:func:`call_cap` of a spec, built from the spec alone (landscape and start; nothing runs)."""
    land = build_landscape(spec)
    return call_cap(spec, land, land.value(start_point(spec, land)) - land.f_star)


def call_cap(spec: dict, land, gap: float) -> CallCap:
    """The call cap of the spec's run (:func:`cap_for_values` at :func:`theorem_values`): from the
    theory at the instance's values, never from the run."""
    return cap_for_values(spec["family"], theorem_values(spec, land, gap))


def adversary_name(spec: dict) -> str:
    """The name of the spec's adversary ('random_direction' for specs without one, 'exact' for
    exact-family specs without one)."""
    if "adversary" in spec:
        return spec["adversary"]["name"]
    return "random_direction" if spec.get("family") == "byzantine_pgd" else "exact"


def make_oracle(spec, landscape):
    """The spec's oracle, wrapped by :class:`CertifiedOracle`."""
    if "adversary" in spec:
        budget = 0.0 if spec["family"] == "exact_pgd" else spec["Delta"]
        return CertifiedOracle(make_adversary(spec["adversary"], landscape, budget))
    if spec["family"] == "byzantine_pgd":
        return CertifiedOracle(RandomDirectionOracle(landscape, spec["Delta"],
                                                     np.random.default_rng(spec["oracle_seed"])))
    return CertifiedOracle(ExactOracle(landscape))


def theorem_values(spec: dict, land, gap: float) -> dict:
    """The values a claim of the spec's family is judged at: the instance's Δ (or ε), L_F, ρ_F,
    d, δ and F_0 − F*, and the parameters r, R, Q, T_th the theorem prescribes there (Theorem 1,
    docs/paper.md §4; Theorem 2, docs/paper.md §7.3), never those a run reports: a run with
    other parameters is judged against the theorem's bound."""
    if spec["family"] == "byzantine_pgd":
        params = byzantine_pgd_parameters(spec["Delta"], land.L, land.rho, land.dim,
                                          FAILURE_PROBABILITY, gap)
    else:
        params = exact_pgd_parameters(spec["epsilon"], land.L, land.rho, land.dim,
                                      FAILURE_PROBABILITY, gap, spec.get("variant", "proved"))
    return {"Delta": spec.get("Delta", 0.0), "epsilon": spec.get("epsilon", 0.0),
            "r": params["r"], "R": params["R"], "L_F": land.L, "rho_F": land.rho, "d": land.dim,
            "delta": FAILURE_PROBABILITY, "F_gap": gap, "Q": params["Q"], "T_th": params["T_th"]}


def run(spec: dict, algorithm=None) -> RunRecord:
    """Build the instance, run ``algorithm`` (default: :func:`default_algorithm`) under the
    descent monitor (:mod:`.monitor`: a step that breaks Lemma §8.1 ends the run, status
    'descent_violated'), certify w̃; the record's values are :func:`theorem_values`.

    With the default algorithm the run is a batch of one of the batched trials
    (:func:`byzpgd.experiments.batched.run_batch`): the same arithmetic, row by row, as in any
    batch, so the run of a spec alone (``byzpgd replay``) is bit for bit its run inside the
    batched verify that found it (tests/test_batched_rows.py). Another ``algorithm`` (the
    able-to-fail tests), or an oracle without a batched form, runs one at a time
    (:func:`run_single`). A spec that cannot be built raises (KeyError, ValueError, ...) as the
    one-run path does; a run the batch ended with an error raises :class:`~.loop.BatchedRunError`."""
    if algorithm is not None:
        return run_single(spec, algorithm)
    from .batched import run_batch  # batched builds on this module
    return only(run_batch([spec], raise_build_errors=True))


def run_single(spec: dict, algorithm=None) -> RunRecord:
    """:func:`run` with the one-run oracles and landscapes (``perturbed_gd`` and the one-instance
    classes): the fallback of the batched trials and the run of an ``algorithm`` under test."""
    algorithm = algorithm or default_algorithm
    land = build_landscape(spec)
    w0 = start_point(spec, land)
    oracle = make_oracle(spec, land)
    monitored = DescentMonitor(oracle, land.L, oracle.delta)
    res = algorithm(spec, monitored, w0, np.random.default_rng(spec["run_seed"]))
    cert = certify(land, res.w)
    values = theorem_values(spec, land, land.value(w0) - land.f_star)
    cap = cap_for_values(spec["family"], values)
    left = land.domain_radius is not None and oracle.max_query_norm > land.domain_radius
    return RunRecord(spec, values, cert.grad_norm, cert.lambda_min, cert.lambda_min_error,
                     res.grad_oracle_calls, record_status(res.status, res.grad_oracle_calls, cap),
                     float(np.linalg.norm(land.grad(w0))), bool(left), cap.calls, cap.source)


def record_status(loop_status: str, calls: int, cap: CallCap) -> str:
    """The record's status: the loop's, except that a run which made ``cap.calls`` calls or more
    under a theory cap is ``ITERATION_CAP`` (whatever the algorithm's own cap was: an algorithm
    that ignores or raises the cap is judged at the theory's), and a run ended by the wall-clock
    guard or a safety stop is ``BUDGET`` (experiments/budget.py). A run an algorithm stopped at a
    smaller cap of its own keeps 'max_oracle_calls' (no output)."""
    if calls >= cap.calls:
        return cap.status("max_oracle_calls")
    return BUDGET if loop_status == "max_seconds" else loop_status
