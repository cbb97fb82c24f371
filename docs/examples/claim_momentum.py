"""A user's own claim, in one file: robust gradient descent with heavy-ball momentum, stopped by
the rule ‖ĝ‖ <= 3Δ, returns a point with ‖∇F‖ <= 4Δ against every Δ-inexact oracle.

Why it should hold: at the stop, ‖∇F(w)‖ <= ‖ĝ(w)‖ + ‖ĝ(w) − ∇F(w)‖ <= 3Δ + Δ (Definition 1 of
docs/paper.md §1), whatever the momentum did before. A method that stops at a looser threshold
(4Δ) or tests ‖ĝ‖ in another norm (the sup norm) breaks it; tests/test_user_claims.py shows both
caught.

Run it::

    byzpgd verify --claims-from docs/examples/claim_momentum.py --claims 'example.*' --profile quick --out r
    byzpgd replay example.momentum_gd.grad_norm 'SPEC' --claims-from docs/examples/claim_momentum.py
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from byzpgd.claims import (
    Claim,
    Measurement,
    build_landscape,
    certify,
    cosine_saddle_spec,
    inexact_oracle,
    register_claim,
    sample_adversary,
)

Delta = sp.Symbol("Delta", positive=True)
MAX_ITERATIONS = 20_000


def momentum_gd(oracle, w0, L: float, Delta: float, beta: float = 0.2, stop: float = 3.0):
    """Heavy ball: w⁺ = w − (1 − β) ĝ(w)/L + β (w − w⁻), until ‖ĝ(w)‖ <= stop·Δ; returns (w,
    iterations) or (None, iterations) when the budget ran out."""
    w, w_prev = np.array(w0, dtype=np.float64), np.array(w0, dtype=np.float64)
    for t in range(MAX_ITERATIONS):
        g = oracle(w)
        if np.linalg.norm(g) <= stop * Delta:
            return w, t
        w, w_prev = w - (1 - beta) * g / L + beta * (w - w_prev), w
    return None, MAX_ITERATIONS


CLAIM = Claim(
    id="example.momentum_gd.grad_norm",
    statement="Robust GD with heavy-ball momentum (beta in [0, 0.5], step (1 - beta)/L_F), stopped "
              "when ||g|| <= 3 Delta, returns w with ||grad F(w)|| <= 4 Delta, for every "
              "Delta-inexact oracle",
    source="docs/examples/claim_momentum.py (the stopping rule and Definition 1, docs/paper.md §1)",
    provenance="OWN", kind="deterministic", observed="||grad F(w_out)|| (certified)",
    constant=4.0, shape=Delta,
    hypotheses=("the oracle is Delta-inexact at every query (certified at every call)",
                "the run stops within 20,000 iterations"))


def sample(src) -> dict:
    land = cosine_saddle_spec(src)
    return {**land, "Delta": src.log_uniform(1e-4, 1e-2), "beta": src.uniform(0.0, 0.5),
            "start_scale": src.uniform(0.5, 3.0), "start_seed": src.seed(),
            "adversary": sample_adversary(src)}


def run(spec: dict) -> Measurement:
    land = build_landscape(spec)
    w0 = land.sample_start(np.random.default_rng(spec["start_seed"]), "ball", spec["start_scale"])
    oracle = inexact_oracle(land, spec["Delta"], spec["adversary"])
    w, iterations = momentum_gd(oracle, w0, land.L, spec["Delta"], spec["beta"])
    if w is None:
        return Measurement(float("nan"), {"Delta": spec["Delta"]}, in_hypotheses=False,
                           note=f"did not stop within {iterations} iterations")
    start_norm = float(np.linalg.norm(land.grad(w0)))
    return Measurement(certify(land, w).grad_norm, {"Delta": spec["Delta"]},
                       vacuous=start_norm <= 4 * spec["Delta"])


def adversary(spec: dict) -> str:
    return spec["adversary"]["name"]


register_claim(CLAIM, sample=sample, run=run, group=adversary,
               examples={"quick": 24, "ci": 120, "deep": 1200})
