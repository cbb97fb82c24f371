"""The figure of ``byzpgd demo saddle-attack``: the saddle-point attack of docs/paper.md §2,
drawn from the data :func:`byzpgd.experiments.figures.saddle_attack` computes (matplotlib's Agg
canvas, no pyplot; nothing is run here).

Left: robust GD and ByzantinePGD projected on the 2-D slice through the saddle, over the
contours of F. Middle: ‖∇F‖ at every oracle query, with Theorem 1's bound 4Δ (docs/paper.md §4).
Right: λ_min(∇²F) at every oracle query, with the trap level −γ/2 below which an output counts as
trapped.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plots import RUN_COLORS, EscapeFigure, data_runs, draw_slice

FILES = ("saddle_attack.png", "saddle_attack.svg")


def saddle_attack_figure(data: EscapeFigure) -> Figure:
    """The three panels of the module docstring."""
    fig = Figure(figsize=(15, 4.6))
    FigureCanvasAgg(fig)
    slice_ax, grad_ax, lam_ax = fig.subplots(1, 3)
    draw_slice(slice_ax, data)
    slice_ax.set_title(f"2-D slice through the saddle; {data.title}", fontsize=10)
    for run, color, width in zip(data_runs(data), RUN_COLORS, (1.0, 2.5), strict=True):
        style = ".-" if width > 1 else "-"
        grad_ax.semilogy(run.grad_norms.clip(min=1e-300), style, color=color, lw=width,
                         label=run.name)
        lam_ax.plot(run.lambda_mins, style, color=color, lw=width, label=run.name)
    grad_ax.axhline(data.grad_bound, color="k", ls="--", lw=0.8, label="4Δ (Theorem 1)")
    grad_ax.set_title("‖∇F‖ at each oracle query")
    lam_ax.axhline(data.trapped_below, color="k", ls=":", lw=0.8, label="−γ/2 (trapped below)")
    lam_ax.set_title("λ_min(∇²F) at each oracle query")
    for ax in (grad_ax, lam_ax):
        ax.set_xlabel("oracle query (parallel iteration)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_saddle_attack_figure(data: EscapeFigure, out_dir) -> list[Path]:
    """Write DIR/saddle_attack.png and DIR/saddle_attack.svg; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig = saddle_attack_figure(data)
    paths = [out / name for name in FILES]
    for p in paths:
        fig.savefig(p, dpi=120)
    return paths
