"""Figures of the HTML report, drawn with matplotlib's Agg canvas (no pyplot, no global backend
state, no network) and returned as ``data:image/png;base64,...`` URIs. They draw given data and
compute nothing but positions on the page.

- :func:`tightness_plot`: :attr:`ClaimResult.worst_ratio` per claim and
  :attr:`GroupRow.worst_ratio` per adversary (``ClaimResult.adversaries``), the bound at 1.
- :func:`rate_fit_plot`: every :class:`~byzpgd.properties.result.Fit` of ``ClaimResult.fits``:
  its points on log-log axes, the fitted line y = constant·x^slope and a line of the theory's
  slope (``Fit.expected``) through the fitted line's middle. Whether a slope is acceptable is
  the check's verdict (the claim's status and details), not the plot's.
- :func:`escape_plot`: an :class:`EscapeFigure` (computed by
  :func:`byzpgd.experiments.figures.escape_illustration`): the runs on contour lines of F, and
  their distance from the saddle per oracle query.

The Protocols :class:`EscapeFigure`, :class:`EscapeRun`, :class:`SliceValues` and
:class:`CriticalMark` state the fields the drawings read (as ``algorithms.oracle.GradientOracle``
states the oracle contract); the data classes that have them (``EscapeData``, ``TracedRun``,
``SliceGrid``, ``Mark``) live in :mod:`byzpgd.experiments.figures`, which reports do not import.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..properties.result import ClaimResult, Fit

STATUS_COLORS = {"holds": "#1a7f37", "violated": "#cf222e", "error": "#9a6700",
                 "inconclusive": "#6e7781"}
RUN_COLORS = ("#0969da", "#cf222e")      # ByzantinePGD, the control (robust GD)


class SliceValues(Protocol):
    """F on a grid of a plane (:class:`byzpgd.experiments.figures.SliceGrid`)."""

    x: np.ndarray                  # (nx,)
    y: np.ndarray                  # (ny,)
    values: np.ndarray             # (ny, nx)
    x_label: str
    y_label: str


class CriticalMark(Protocol):
    """A known critical point in the slice (:class:`byzpgd.experiments.figures.Mark`)."""

    xy: np.ndarray                 # (2,)
    kind: str
    lambda_min: float


class EscapeRun(Protocol):
    """One traced run (:class:`byzpgd.experiments.figures.TracedRun`)."""

    name: str
    xy: np.ndarray                 # (k, 2) the oracle queries in the slice's coordinates
    w_xy: np.ndarray               # (2,) the output w̃ there
    grad_norms: np.ndarray         # (k,) ‖∇F‖ at each query
    lambda_mins: np.ndarray        # (k,) λ_min(∇²F) at each query
    saddle_distances: np.ndarray   # (k,) ‖w − saddle‖ at each query
    status: str
    calls: int
    escapes: int
    grad_norm: float               # ‖∇F(w̃)‖
    lambda_min: float              # λ_min(∇²F(w̃))
    params: dict


class EscapeFigure(Protocol):
    """ByzantinePGD and its control from a strict saddle
    (:class:`byzpgd.experiments.figures.EscapeData`)."""

    title: str
    description: str
    Delta: float
    byzantine_pgd: EscapeRun
    robust_gd: EscapeRun
    grid: SliceValues
    critical_points: Sequence[CriticalMark]
    grad_bound: float
    trapped_below: float
    r: float
    R: float


def png(fig: Figure) -> str:
    """The figure as a PNG data URI (no timestamp in the metadata: same data, same bytes)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def number(x) -> float | None:
    """A ratio or a fit value as a float: ClaimResult fields read back from report.json carry
    non-finite floats as the strings 'inf', '-inf', 'nan' (``float`` reads them)."""
    return None if x is None else float(x)


# --- (a) tightness ---------------------------------------------------------------------------
def _place(ratio: float, lo: float, hi: float) -> tuple[float, str]:
    """x position and marker on the log axis: ratios <= 0 at the left edge (◀), inf at the right
    edge (▶)."""
    if ratio <= 0:
        return lo, "<"
    if ratio == math.inf:
        return hi, ">"
    return ratio, "o"


def _ratio_range(claims: Sequence[ClaimResult]) -> tuple[float, float]:
    every = [number(c.worst_ratio) for c in claims]
    every += [number(row.worst_ratio) for c in claims for row in c.adversaries.values()]
    finite_pos = [r for r in every if r is not None and 0 < r < math.inf]
    return min([*finite_pos, 1e-2]) / 10, max([*finite_pos, 1.0]) * 10


def _adversary_styles(claims: Sequence[ClaimResult]) -> dict[str, tuple[str, str]]:
    names = list(dict.fromkeys(a for c in claims for a in c.adversaries))
    shapes = ["o", "s", "^", "D", "v", "P", "X", "h"]
    return {a: (f"C{i % 10}", shapes[(i // 10) % len(shapes)]) for i, a in enumerate(names)}


def tightness_plot(claims: Sequence[ClaimResult]) -> str | None:
    """Dot plot of the worst observed/bound per claim (log scale), one row per claim: a large
    marker (colour = status, value printed) for ``worst_ratio`` and small markers (one colour
    per adversary) for the rows of ``adversaries``. Ratios <= 0 (a bound that holds with a sign
    margin, e.g. λ_min >= 0 against a negative bound) are drawn at the left edge with ◀,
    infinite ratios at the right edge with ▶. None without claims."""
    if not claims:
        return None
    lo, hi = _ratio_range(claims)
    style = _adversary_styles(claims)
    fig = Figure(figsize=(8.5, 1.4 + 0.5 * len(claims)))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    for y, c in enumerate(claims):
        _adversary_markers(ax, y, c, style, lo, hi)
        ratio = number(c.worst_ratio)
        if ratio is None or math.isnan(ratio):
            ax.text(lo * 1.3, y, "no ratio", va="center", fontsize=8, color="#6e7781")
            continue
        x, marker = _place(ratio, lo, hi)
        ax.scatter([x], [y], s=90, marker=marker, color=STATUS_COLORS[c.status],
                   edgecolor="black", linewidth=0.8, zorder=3)
        ax.annotate(f"{ratio:.3g}", (x, y), xytext=(7, 5), textcoords="offset points", fontsize=8)
    line = ax.axvline(1.0, color="#cf222e", linestyle="--", linewidth=1.2, label="bound (ratio = 1)")
    ax.set_xlim(lo / 2, hi * 2)
    ax.set_yticks(range(len(claims)), [c.id for c in claims], fontsize=8)
    ax.set_ylim(len(claims) - 0.5, -0.5)
    ax.set_xlabel("worst observed / bound (log scale; ◀ = ratio <= 0, drawn at the left edge)")
    ax.set_title("Tightness per claim (worst instance)", fontsize=11)
    ax.grid(axis="x", which="major", alpha=0.3)
    handles = [ax.scatter([], [], s=60, color=col, edgecolor="black", label=f"claim: {s}")
               for s, col in STATUS_COLORS.items()]
    handles += [ax.scatter([], [], s=14, color=col, marker=shape, label=a)
                for a, (col, shape) in style.items()]
    ax.legend(handles=[*handles, line], fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="adversaries: small markers" if style else None, title_fontsize=7)
    fig.tight_layout()
    return png(fig)


def _adversary_markers(ax: Axes, y: int, c: ClaimResult, style, lo: float, hi: float) -> None:
    n = len(c.adversaries)
    for j, (name, row) in enumerate(c.adversaries.items()):
        r = number(row.worst_ratio)
        if r is None or math.isnan(r):
            continue
        x, marker = _place(r, lo, hi)
        color, shape = style[name]
        ax.scatter([x], [y + 0.32 * (j - (n - 1) / 2) / n], s=14,
                   marker=shape if marker == "o" else marker, color=color, alpha=0.85, zorder=2)


# --- (b) rate fits ---------------------------------------------------------------------------
def fits_of(claims: Sequence[ClaimResult]) -> list[tuple[ClaimResult, str, Fit]]:
    """Every (claim, fit name, fit) of the claims' ``fits``, in order."""
    return [(c, name, fit) for c in claims for name, fit in c.fits.items()]


def fit_points(fit: Fit) -> tuple[np.ndarray, np.ndarray]:
    """The fit's points with x > 0 and y > 0 finite (those a log-log axis can show)."""
    x = np.array([number(v) for v in fit.points.get("x", [])], dtype=float)
    y = np.array([number(v) for v in fit.points.get("y", [])], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    return x[keep], y[keep]


def rate_fit_plot(claims: Sequence[ClaimResult]) -> str | None:
    """One log-log panel per fit with at least one drawable point (None if there is none)."""
    panels = [(c, name, fit) for c, name, fit in fits_of(claims) if fit_points(fit)[0].size]
    if not panels:
        return None
    ncol = min(3, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    fig = Figure(figsize=(4.2 * ncol, 3.4 * nrow))
    for i, (c, name, fit) in enumerate(panels):
        _fit_panel(fig.add_subplot(nrow, ncol, i + 1), c.id, name, fit)
    fig.tight_layout()
    return png(fig)


def _fit_panel(ax: Axes, claim_id: str, name: str, fit: Fit) -> None:
    x, y = fit_points(fit)
    ax.loglog(x, y, "o", color="#0969da", label="points")
    xx = np.geomspace(x.min(), x.max(), 50) if x.size > 1 else x
    slope = number(fit.slope)
    if fit.constant is not None:
        const = number(fit.constant)
        ax.loglog(xx, const * xx**slope, "-", color="#cf222e",
                  label=f"fit: {const:.3g}·x^{slope:.3g}")
        if fit.expected is not None:   # the theory's slope, through the fitted line's middle
            mid = math.sqrt(x.min() * x.max())
            e = number(fit.expected)
            ax.loglog(xx, const * mid**slope * (xx / mid) ** e, ":", color="#6e7781",
                      label=f"theory slope {e:.3g}")
    else:
        ax.plot([], [], " ", label=f"fitted slope {slope:.3g} (no constant: no line)")
    ax.set_xlabel(name)
    ax.set_ylabel("observed")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    theory = "" if fit.expected is None else f", theory slope {number(fit.expected):.3g}"
    tol = "" if fit.tolerance is None else f", tolerance {number(fit.tolerance):.3g}"
    ax.set_title(f"{claim_id}\n{name}: slope {slope:.3g}{theory}{tol}", fontsize=8)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3, which="both")


# --- (c) escape trajectories -----------------------------------------------------------------
def draw_slice(ax: Axes, data: EscapeFigure) -> None:
    """The runs' queries and outputs on contour lines of F over the slice, with the known
    critical points."""
    g = data.grid
    cs = ax.contour(g.x, g.y, g.values, levels=18, cmap="viridis", linewidths=0.8)
    ax.clabel(cs, fontsize=6, fmt="%.2g")
    for run, color, width, out in zip(data_runs(data), RUN_COLORS, (0.9, 2.0), ("*", "X"),
                                      strict=True):
        ax.plot(run.xy[:, 0], run.xy[:, 1], ".-", color=color, markersize=3, linewidth=width,
                label=f"{run.name}: {run.calls} oracle calls, {run.escapes} escape(s)")
        ax.plot(*run.w_xy, marker=out, markersize=13, color=color, markeredgecolor="black",
                linestyle="none", label=f"{run.name} output: λ_min = {run.lambda_min:.3g}")
    for m in data.critical_points:
        ax.plot(*m.xy, marker="s" if "saddle" in m.kind else "D", color="white",
                markeredgecolor="black", markersize=6, linestyle="none")
        ax.annotate(m.kind.replace("_", " "), m.xy, xytext=(6, -10), textcoords="offset points",
                    fontsize=7)
    ax.set_xlim(g.x[0], g.x[-1])
    ax.set_ylim(g.y[0], g.y[-1])
    ax.set_xlabel(g.x_label)
    ax.set_ylabel(g.y_label)
    ax.legend(fontsize=6.5, loc="lower left", framealpha=0.9)


def data_runs(data: EscapeFigure) -> tuple[EscapeRun, EscapeRun]:
    """ByzantinePGD, then the control (drawn on top)."""
    return (data.byzantine_pgd, data.robust_gd)


def _distance_panel(ax: Axes, data: EscapeFigure) -> None:
    for run, color in zip(data_runs(data), RUN_COLORS, strict=True):
        dist = run.saddle_distances
        k = np.arange(1, dist.size + 1)
        pos = dist > 0
        if pos.any():
            ax.loglog(k[pos], dist[pos], color=color, marker="." if pos.sum() < 50 else None,
                      label=f"{run.name} ({pos.sum()} of {dist.size} queries off the saddle)")
        else:
            ax.plot([], [], color=color,
                    label=f"{run.name}: all {dist.size} queries at the saddle (distance 0)")
    ax.axhline(data.R, color="#6e7781", linestyle=":", label=f"escape radius R = {data.R:.3g}")
    ax.axhline(data.r, color="#6e7781", linestyle="--",
               label=f"perturbation radius r = {data.r:.3g}")
    ax.set_xlabel("oracle call (log scale)")
    ax.set_ylabel("‖w − saddle‖ (log scale; 0 not drawn)")
    ax.set_title("Distance from the saddle per oracle query", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def escape_plot(data: EscapeFigure) -> str:
    """Left: :func:`draw_slice`; right: the distance of each query from the saddle, with
    ByzantinePGD's r and R."""
    fig = Figure(figsize=(11, 4.6))
    ax = fig.add_subplot(1, 2, 1)
    draw_slice(ax, data)
    ax.set_aspect("equal")
    ax.set_title(f"{data.title}, on contour lines of F", fontsize=10)
    _distance_panel(fig.add_subplot(1, 2, 2), data)
    fig.tight_layout()
    return png(fig)
