"""The saddle-point attack and the defence (docs/paper.md §2, §4, §9).

Claims (registered here; OWN formulations of the abstract's headline, docs/paper.md §2):

- ``saddle_attack.robust_gd_trapped``: started near a strict saddle c (curvature −γ, γ > 0)
  inside the fake basin of the trap adversary, robust GD (η = 1/L_F, ε = 3Δ, no perturbation)
  ends at a point with λ_min(∇²F(w̃)) <= −γ/2 in at least 99% of seeded runs.
- ``saddle_attack.jin_pgd_trapped``: the same for PGD of Jin et al. (2017) (docs/paper.md §9) with
  target accuracy ε = 4Δ (the accuracy Theorem 1 delivers) and c = 1 (its largest radius among
  c <= 1): its radius r = ε/(χ²ℓ) <= Δ/(36ℓ) is below the fake basin's width Δ/γ.
- ``saddle_attack.byzantine_pgd_escapes``: from the same kind of starts, under the trap and the
  target-field attack, ByzantinePGD with Theorem 1's parameters meets Theorem 1's λ_min bound
  with probability >= 1 − δ (δ = 0.1), in the non-vacuous regime of that bound (tiny Δ).

Both "trapped" claims are written ``λ_min(w̃) + γ <= γ/2`` and checked by the exact binomial test
with failure probability 0.01 (reject when P[Binomial(N, 0.01) >= k] < 1e-6). An instance is
*vacuous* when the same algorithm from the same start with the exact oracle is trapped as well
(then the adversary made no difference: e.g. a start whose gradient is already below the
stopping threshold); only non-vacuous instances count.

Starts: w_0 = c + a·u_P + b·u_V with u_P a random unit vector orthogonal to the negative
eigenspace V of ∇²F(c) (0 when V is the whole space), a ∈ [0.02, 0.3] (so that the gradient
exceeds the threshold), u_V a random unit vector of V and b = β·Δ/(2γ), β ∈ [0, 1] (inside the
fake basin |y| < Δ/γ).
"""

from __future__ import annotations

import math
import time
import traceback

import numpy as np
import sympy as sp

from ...algorithms import byzantine_pgd, robust_gd
from ...algorithms.jin_pgd import jin_pgd
from ...experiments.budget import FAILURE_PROBABILITY
from ...experiments.instances import build_landscape, make_oracle
from ...jsonsafe import spec_json
from ...oracles.adversaries import negative_eigenspace, sample_adversary
from ...oracles.inexact import CertifiedOracle, ExactOracle
from ...theory.certify import certify
from ...theory.claims import LAMBDA_SHAPE_BPGD, THM1_HYP, Claim, get, register
from ..checks import Observation, verdict
from ..registry import register_check, register_replay
from ..strategies import (
    DELTA_FLOOR,
    NumpySource,
    cosine_saddle,
    largest_nonvacuous,
    phase_retrieval,
)

gamma = sp.Symbol("gamma", positive=True)   # curvature −λ_min(∇²F(c)) of the attacked saddle
TRAPPED_FAILURE = 0.01                        # "trapped in at least 99% of runs"
MAX_CALLS = 2_000_000

ATTACK_HYP = ("F is L_F-smooth and rho_F-Hessian-Lipschitz; c a strict saddle with "
              "lambda_min(hess F(c)) = -gamma < 0",
              "the oracle is the trap adversary (docs/paper.md §2), Delta-inexact (certified at every call)",
              "start inside the fake basin: escape component of norm <= Delta/(2 gamma)")

ROBUST = register(Claim(
    id="saddle_attack.robust_gd_trapped",
    statement="Under the trap adversary, robust GD started near a strict saddle ends at a point "
              "with lambda_min <= -gamma/2 in at least 99% of runs",
    source="docs/paper.md §2 (abstract: 'Byzantine machines may create fake local minima near a "
           "saddle point'); OWN concrete attack",
    provenance="OWN", kind="probabilistic", observed="lambda_min_plus_gamma", constant=0.5,
    shape=gamma, hypotheses=ATTACK_HYP, failure_probability=sp.Float(TRAPPED_FAILURE),
    notes="observed = lambda_min(w~) + gamma; trapped iff observed <= gamma/2. Vacuous when "
          "robust GD with the exact oracle from the same start is trapped too."))

JIN = register(Claim(
    id="saddle_attack.jin_pgd_trapped",
    statement="Under the trap adversary, PGD of Jin et al. (2017) with epsilon = 4 Delta, c = 1, "
              "started near a strict saddle ends at a point with lambda_min <= -gamma/2 in at "
              "least 99% of runs",
    source="docs/paper.md §2 and §9 (Jin et al. 2017, Algorithm 2); OWN concrete attack",
    provenance="OWN", kind="probabilistic", observed="lambda_min_plus_gamma", constant=0.5,
    shape=gamma, hypotheses=ATTACK_HYP + ("Jin's function-decrease test uses exact F values",),
    failure_probability=sp.Float(TRAPPED_FAILURE),
    notes="Jin's radius r = sqrt(c) eps/(chi^2 l) <= Delta/(36 l) is below the fake basin Delta/gamma. "
          "Vacuous when Jin's PGD with the exact oracle from the same start is trapped too."))

ESCAPES = register(Claim(
    id="saddle_attack.byzantine_pgd_escapes",
    statement="Under the trap and target-field attacks, ByzantinePGD with Theorem 1's parameters, "
              "started near a strict saddle, satisfies lambda_min(hess F(w~)) >= "
              "-1900 (sqrt(rho_F) + L_F) Delta^(2/5) d^(1/5) log(10/Delta) with probability >= 1 - delta",
    source="Theorem 1 (docs/paper.md §4) against the attack of docs/paper.md §2",
    provenance="RECONSTRUCTED", kind="probabilistic", observed="neg_lambda_min", constant=1900.0,
    shape=LAMBDA_SHAPE_BPGD, hypotheses=THM1_HYP + ("Delta <= 1",) + ATTACK_HYP[1:],
    failure_probability=sp.Symbol("delta", positive=True),
    notes="Non-vacuous only for tiny Delta (the bound is < L_F); the report also gives the "
          "fraction of runs that left the saddle (lambda_min(w~) > -gamma/2)."))

COUNTS = {  # instances per profile
    ROBUST.id: {"quick": 30, "ci": 60, "deep": 2000},
    JIN.id: {"quick": 24, "ci": 36, "deep": 1000},
    ESCAPES.id: {"quick": 24, "ci": 40, "deep": 2000},
}


# --- instances ---------------------------------------------------------------------------------
def attack_instance(src, algorithm: str, adversary: str | None = None) -> dict:
    """An attack instance: landscape, Δ, start near the saddle inside the fake basin, seeds."""
    if algorithm == "byzantine_pgd":
        land = cosine_saddle(src)
        values = {"L_F": land["L"], "rho_F": land["rho"], "d": land["dim"]}
        hi = largest_nonvacuous(ESCAPES.id, {**values, "delta": FAILURE_PROBABILITY}, "Delta",
                                DELTA_FLOOR, 1e-12)
        Delta = src.log_uniform(DELTA_FLOOR, max(hi, DELTA_FLOOR))
        names = ("trap", "target_field")
    else:
        land = cosine_saddle(src) if src.uniform(0, 1) < 0.75 else phase_retrieval(src)
        lo = 1e-14 if algorithm == "robust_gd" else 1e-3
        Delta = src.log_uniform(lo, 1e-2)
        names = ("trap",)
    return {"family": "saddle_attack", "algorithm": algorithm, **land, "Delta": Delta,
            "start_p": src.uniform(0.02, 0.3), "start_v": src.uniform(0.0, 1.0),
            "start_seed": src.seed(), "run_seed": src.seed(),
            "adversary": sample_adversary(src, adversary, names)}


def attack_start(spec: dict, land) -> tuple[np.ndarray, float]:
    """w_0 = c + a u_P + β Δ/(2γ) u_V (module docstring) and γ = −λ_min(∇²F(c))."""
    c = land.saddle().point
    V, gammas = negative_eigenspace(land, c)
    gam = float(gammas.max())
    rng = np.random.default_rng(spec["start_seed"])
    u = rng.standard_normal(land.dim)
    u -= V @ (V.T @ u)
    # no positive directions (c is a local maximum): the start is c + b u_V
    u_p = u / np.linalg.norm(u) if V.shape[1] < land.dim else np.zeros(land.dim)
    v = V @ rng.standard_normal(V.shape[1])
    u_v = v / np.linalg.norm(v)
    return c + spec["start_p"] * u_p + spec["start_v"] * spec["Delta"] / (2 * gam) * u_v, gam


def _run_algorithm(name, oracle, w0, spec):
    rng = np.random.default_rng(spec["run_seed"])
    D = spec["Delta"]
    if name == "robust_gd":
        return robust_gd(oracle, w0, epsilon=3 * D, max_oracle_calls=MAX_CALLS)
    if name == "jin_pgd":
        return jin_pgd(oracle, w0, rng, epsilon=4 * D, delta=FAILURE_PROBABILITY,
                       max_oracle_calls=MAX_CALLS)
    if name == "byzantine_pgd":
        return byzantine_pgd(oracle, w0, rng, delta=FAILURE_PROBABILITY, max_oracle_calls=MAX_CALLS)
    raise ValueError(f"unknown algorithm {name!r}")


def run_attack(spec: dict, algorithm=None, control: bool = True) -> dict:
    """Run the spec's algorithm (or ``algorithm(spec, oracle, w0, rng)``) under the spec's
    adversary; with ``control``, also with the exact oracle from the same start and seed."""
    land = build_landscape(spec)
    w0, gam = attack_start(spec, land)
    oracle = make_oracle({**spec, "family": "byzantine_pgd"}, land)
    if algorithm is None:
        res = _run_algorithm(spec["algorithm"], oracle, w0, spec)
    else:
        res = algorithm(spec, oracle, w0, np.random.default_rng(spec["run_seed"]))
    cert = certify(land, res.w)
    out = {"lambda_min": cert.lambda_min, "lambda_min_error": cert.lambda_min_error,
           "grad_norm": cert.grad_norm, "gamma": gam, "status": res.status,
           "oracle_calls": res.grad_oracle_calls, "escapes": res.escapes, "params": res.params,
           "values": {"Delta": spec["Delta"], "L_F": land.L, "rho_F": land.rho, "d": land.dim,
                      "delta": FAILURE_PROBABILITY, "gamma": gam},
           "left_domain": bool(land.domain_radius is not None
                               and oracle.max_query_norm > land.domain_radius)}
    if control:
        exact = CertifiedOracle(ExactOracle(land))
        ctl = _run_algorithm(spec["algorithm"], exact, w0, spec)
        out["control_lambda_min"] = certify(land, ctl.w).lambda_min
    return out


def observe_trapped(claim, spec, out) -> Observation:
    """λ_min(w̃) + γ <= γ/2 (trapped); vacuous when the exact-oracle control is trapped too."""
    gam = out["gamma"]
    obs = out["lambda_min"] + gam
    bound = claim.bound(out["values"])
    holds = out["status"] == "converged" and obs - out["lambda_min_error"] <= bound * (1 + 1e-9)
    vacuous = out.get("control_lambda_min", math.inf) + gam <= bound
    inside = not out["left_domain"]
    return Observation(obs, bound, obs / bound, bool(holds), bool(vacuous), inside,
                       claim.empirical_constant(obs, out["values"]), spec,
                       "" if inside else "the run left the certified ball")


def observe_escape(claim, spec, out) -> Observation:
    """Theorem 1's λ_min bound (vacuous when it is >= L_F)."""
    obs = -out["lambda_min"]
    v = out["values"]
    bound = claim.bound(v)
    holds = out["status"] == "converged" and obs - out["lambda_min_error"] <= bound * (1 + 1e-9)
    inside = out["params"]["r"] <= out["params"]["R"] and not out["left_domain"]
    return Observation(obs, bound, obs / bound, bool(holds), bool(bound >= v["L_F"]), inside,
                       claim.empirical_constant(obs, v), spec, "" if inside else "r > R")


ALGORITHM_OF = {ROBUST.id: "robust_gd", JIN.id: "jin_pgd", ESCAPES.id: "byzantine_pgd"}


def sample_attack_specs(claim_id: str, n: int, seed: int) -> list[dict]:
    key = [int(b) for b in claim_id.encode()]
    return [attack_instance(NumpySource(np.random.default_rng([seed, i, *key])), ALGORITHM_OF[claim_id])
            for i in range(n)]


def check_attack(claim_id: str, profile: str = "ci", seed: int = 0, *, algorithm=None,
                 n: int | None = None, progress=None) -> dict:
    """Check one saddle-attack claim; ``algorithm`` replaces the algorithm under test."""
    claim = get(claim_id)
    t0 = time.perf_counter()
    specs = sample_attack_specs(claim_id, n or COUNTS[claim_id][profile], seed)
    escape = claim_id == ESCAPES.id
    observations, errors, outs = [], [], []
    for i, spec in enumerate(specs):
        try:
            out = run_attack(spec, algorithm, control=not escape)
            outs.append(out)
            observations.append((observe_escape if escape else observe_trapped)(claim, spec, out))
        except Exception as exc:  # reported, never hidden
            errors.append({"spec": spec_json(spec), "error": f"{type(exc).__name__}: {exc}",
                           "traceback": traceback.format_exc(limit=3)})
        if progress is not None:
            progress(i + 1, len(specs))
    fp = FAILURE_PROBABILITY if escape else TRAPPED_FAILURE
    entry = verdict(claim, observations, errors, fp)
    left = [o["lambda_min"] > -o["gamma"] / 2 for o in outs]
    entry["left_saddle_fraction"] = sum(left) / len(left) if left else None
    if not escape:
        ctl = [o["control_lambda_min"] > -o["gamma"] / 2 for o in outs]
        entry["control_left_saddle_fraction"] = sum(ctl) / len(ctl) if ctl else None
    entry["Delta_range"] = [min(s["Delta"] for s in specs), max(s["Delta"] for s in specs)]
    entry["seconds"] = round(time.perf_counter() - t0, 3)
    return entry


def replay_attack(claim_id: str, spec: dict) -> dict:
    claim = get(claim_id)
    escape = claim_id == ESCAPES.id
    out = run_attack(spec, control=not escape)
    obs = (observe_escape if escape else observe_trapped)(claim, spec, out)
    return {"claim": claim_id, "observed": obs.observed, "bound": obs.bound, "holds": obs.holds,
            "vacuous": obs.vacuous, "in_hypotheses": obs.in_hypotheses, "note": obs.note,
            "status": out["status"], "lambda_min": out["lambda_min"], "gamma": out["gamma"],
            "values": out["values"]}


def _register(claim_id):
    register_check(claim_id)(lambda profile, seed, progress: check_attack(
        claim_id, profile, seed, progress=progress))
    register_replay(claim_id)(lambda spec: replay_attack(claim_id, spec))


for _cid in ALGORITHM_OF:
    _register(_cid)
