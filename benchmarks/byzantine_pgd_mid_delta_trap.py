"""ByzantinePGD (Theorem 1's parameters, δ = 0.1) under the trap adversary from the fake basin, per Δ:
how many of 20 runs end trapped (λ_min(w̃) < −γ/2) on a cosine saddle (d = 4, L_F = ρ_F = 1).
The numbers docs/audit-optimizer.md quotes for the Δ range the optimizer audit does not grade.

    .venv/bin/python benchmarks/byzantine_pgd_mid_delta_trap.py
"""

from __future__ import annotations

import numpy as np

from byzpgd.algorithms import byzantine_pgd
from byzpgd.algorithms.byzantine_pgd import theorem_params
from byzpgd.experiments.saddle_attack import attack_start
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.inexact import CertifiedOracle
from byzpgd.oracles.landscapes import CosineSaddle
from byzpgd.theory.certify import certify

N = 20


def main() -> None:
    land = CosineSaddle.random(4, np.random.default_rng(1), n_neg=1, L=1.0, rho=1.0)
    for Delta in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8, 1e-10, 1e-12, 1e-13, 1e-14):
        p = theorem_params(Delta, land.L, land.rho, land.dim, 0.1, 0.5)
        trapped = 0
        for s in range(N):
            oracle = CertifiedOracle(make_adversary({"name": "trap", "seed": s}, land, Delta))
            w0, gamma = attack_start({"start_seed": s, "start_p": 0.1, "start_v": 0.5, "Delta": Delta}, land)
            rng = np.random.default_rng(100 + s)
            res = byzantine_pgd(oracle, w0, rng, delta=0.1, max_oracle_calls=200_000)
            trapped += certify(land, res.w).lambda_min < -gamma / 2
        print(f"Delta={Delta:g}: T_th={p.T_th} r={p.r:.3g} R={p.R:.3g}  trapped {trapped}/{N}")


if __name__ == "__main__":
    main()
