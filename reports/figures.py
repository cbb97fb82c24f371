"""Figures (matplotlib, Agg backend: no display needed).

:func:`saddle_attack_figure`: the saddle-point attack of docs/paper.md §2 on a cosine saddle
(identity rotation, so that the 2-D slice through the saddle spanned by the negative-curvature
direction e_1 and the first positive direction e_2 is a coordinate plane). Robust GD and
ByzantinePGD (Theorem 1's exponents with the calibrated constant factors of
byzpgd.properties.suites.ablations.CALIBRATED) start from the same point inside the trap's fake
basin under the trap adversary; left: their trajectories projected on the slice over the contours
of F; right: ‖∇F‖ and λ_min(∇²F) at every oracle query.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..algorithms import robust_gd  # noqa: E402
from ..algorithms.perturbed_gd import perturbed_gd  # noqa: E402
from ..oracles.adversaries import make_adversary  # noqa: E402
from ..oracles.inexact import CertifiedOracle  # noqa: E402
from ..oracles.landscapes import CosineSaddle  # noqa: E402


def saddle_attack_runs(Delta: float = 0.02, dim: int = 4, seed: int = 0) -> dict:
    """The two traced runs of the figure (and their landscape)."""
    from ..properties.suites.ablations import CALIBRATED, scaled_parameters

    a = np.linspace(0.25, 1.0, dim - 1)          # slow direction e_2 first: a visible trajectory
    land = CosineSaddle(a, [0.8], [2.0])          # L_F = 1, γ = 0.8, ρ_F = 0.4, saddle at 0
    w0 = np.zeros(dim)
    w0[0] = 0.3 * Delta / 0.8                     # inside the fake basin |y_1| < Δ/γ
    w0[1] = 1.5
    if dim > 2:
        w0[2] = -1.0

    def oracle():
        return CertifiedOracle(make_adversary({"name": "trap", "seed": seed}, land, Delta))

    gd = robust_gd(oracle(), w0, trace=True)
    p = scaled_parameters(Delta, land.L, land.rho, dim, 0.1, land.value(w0) - land.f_star, **CALIBRATED)
    bp = perturbed_gd(oracle(), w0, p, np.random.default_rng(seed), trace=True)
    return {"landscape": land, "robust_gd": gd, "byzantine_pgd": bp, "Delta": Delta, "params": p}


def _curves(land, points):
    g = np.linalg.norm(land.grad(points), axis=1)
    lam = np.array([land.hess_diag(w).min() for w in points])
    return g, lam


def saddle_attack_figure(out_dir, Delta: float = 0.02, seed: int = 0) -> list[Path]:
    """Write saddle_attack.png and saddle_attack.svg to ``out_dir``; return their paths."""
    runs = saddle_attack_runs(Delta, seed=seed)
    land = runs["landscape"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    s = float(land.s[0])
    x = np.linspace(-1.3 * np.pi * s, 1.3 * np.pi * s, 200)
    y = np.linspace(-2.0, 2.0, 160)
    X, Y = np.meshgrid(x, y)
    pts = np.zeros((X.size, land.dim))
    pts[:, 0], pts[:, 1] = X.ravel(), Y.ravel()
    Z = np.array([land.value(w) for w in pts]).reshape(X.shape)
    ax = axes[0]
    ax.contour(X, Y, Z, levels=25, cmap="Greys", linewidths=0.6)
    styles = {"byzantine_pgd": ("tab:blue", "ByzantinePGD (escapes)"),
              "robust_gd": ("tab:red", "robust GD (trapped)")}   # robust GD drawn on top
    for key, (color, label) in styles.items():
        P = runs[key].trace["points"]
        ax.plot(P[:, 0], P[:, 1], ".-", color=color, ms=3, lw=2.0 if key == "robust_gd" else 0.8,
                label=label)
        ax.plot(P[-1, 0], P[-1, 1], "o", color=color, ms=7, mfc="none")
    ax.plot([0], [0], "kx", ms=9, label="strict saddle (fake minimum)")
    ax.set_xlabel("e_1 (negative curvature)")
    ax.set_ylabel("e_2 (positive curvature)")
    ax.set_title(f"2-D slice through the saddle, trap adversary, Δ = {Delta:g}")
    ax.legend(loc="lower left", fontsize=8)
    for key, (color, label) in styles.items():
        g, lam = _curves(land, runs[key].trace["points"])
        lw = 2.5 if key == "robust_gd" else 1.0
        axes[1].semilogy(np.maximum(g, 1e-300), ".-" if key == "robust_gd" else "-", color=color,
                         lw=lw, label=label)
        axes[2].plot(lam, ".-" if key == "robust_gd" else "-", color=color, lw=lw, label=label)
    axes[1].axhline(4 * Delta, color="k", ls="--", lw=0.8, label="4Δ")
    axes[1].set_title("‖∇F‖ at each oracle query")
    axes[2].axhline(-0.4, color="k", ls=":", lw=0.8, label="−γ/2")
    axes[2].set_title("λ_min(∇²F) at each oracle query")
    for ax in axes[1:]:
        ax.set_xlabel("oracle query (parallel iteration)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths = [out / "saddle_attack.png", out / "saddle_attack.svg"]
    for p in paths:
        fig.savefig(p, dpi=120)
    plt.close(fig)
    return paths
