"""Figures of the HTML report, rendered with matplotlib's Agg canvas (no pyplot, no global
backend state, no network) and returned as ``data:image/png;base64,...`` URIs.

- :func:`tightness_plot`: worst observed/bound per claim (and per adversary where the entry has a
  per-adversary breakdown), with the bound at 1.
- :func:`rate_fits` / :func:`rate_fit_plot`: log-log points and fitted line of rate-kind claims,
  taken from whatever fit data the entries carry (nothing is invented when there is none).
- :func:`escape_illustration` / :func:`escape_plot`: a small deterministic run computed at
  report time, ByzantinePGD against robust GD from the strict saddle of a 2-D CosineSaddle.
"""

from __future__ import annotations

import base64
import io
import math
from numbers import Real

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

STATUS_COLORS = {"holds": "#1a7f37", "violated": "#cf222e", "error": "#9a6700",
                 "inconclusive": "#6e7781"}


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def as_number(x) -> float | None:
    """A float for numbers and for the strings that stand for non-finite floats ('inf', ...);
    None otherwise (None, booleans, other strings, containers)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, Real):
        return float(x)
    if isinstance(x, str) and x.strip().lower() in ("inf", "+inf", "-inf", "nan", "infinity",
                                                     "-infinity"):
        return float(x.strip().lower().replace("infinity", "inf"))
    return None


# --- (a) tightness ---------------------------------------------------------------------------
def adversary_names(entry: dict) -> list[str]:
    """The adversaries a claim was checked against: ``adversaries`` as a list of names or as a
    dict keyed by name."""
    adv = entry.get("adversaries")
    if isinstance(adv, dict):
        return [str(k) for k in adv]
    if isinstance(adv, list):
        return [str(a.get("adversary", a.get("name"))) if isinstance(a, dict) else str(a) for a in adv]
    return []


def _record(v) -> dict | None:
    """A per-adversary record with 'worst_ratio' from a number or a dict; None if neither."""
    if isinstance(v, dict):
        return {**v, "worst_ratio": as_number(v.get("worst_ratio", v.get("ratio")))}
    if v is None or as_number(v) is not None:
        return {"worst_ratio": as_number(v)}
    return None


def per_adversary_records(entry: dict) -> dict[str, dict]:
    """Per-adversary results, each a dict with at least 'worst_ratio' (None when unknown), from
    whichever shape the entry uses: ``adversaries`` as a dict ``{name: {worst_ratio, ...}}`` or
    ``{name: ratio}``, or a list of ``{"adversary"|"name": ..., "worst_ratio": ...}`` records;
    another key naming adversaries holding such a dict or list; or any dict keyed by exactly the
    listed adversary names. Empty if the entry has no per-adversary breakdown."""
    names = set(adversary_names(entry))
    candidates = [("adversaries", entry.get("adversaries"))] + [
        (k, v) for k, v in entry.items() if k != "adversaries"]
    for key, val in candidates:
        if isinstance(val, dict) and val and ("adversar" in key or (names and set(map(str, val)) <= names)):
            recs = {str(k): _record(v) for k, v in val.items()}
            if all(r is not None for r in recs.values()) and (
                    key != "adversaries" or any(r["worst_ratio"] is not None for r in recs.values())):
                return recs
        if isinstance(val, list) and val and "adversar" in key and all(
                isinstance(r, dict) and ("adversary" in r or "name" in r) for r in val):
            return {str(r.get("adversary", r.get("name"))): _record(r) for r in val}
    return {}


def per_adversary_ratios(entry: dict) -> dict[str, float | None]:
    """The worst observed/bound per adversary (see :func:`per_adversary_records`)."""
    return {k: r["worst_ratio"] for k, r in per_adversary_records(entry).items()}


def _place(ratio: float, lo: float, hi: float) -> tuple[float, str]:
    """x position and marker on the log axis: ratios <= 0 at the left edge (◀), inf at the right
    edge (▶)."""
    if ratio <= 0:
        return lo, "<"
    if ratio == math.inf:
        return hi, ">"
    return ratio, "o"


def tightness_plot(claims: list[dict]) -> str | None:
    """Dot plot of the worst observed/bound per claim (log scale), one row per claim: a large
    marker (colour = status, value printed) for the claim, and small markers (one colour per
    adversary) for the per-adversary worst ratios when the entry has that breakdown. Ratios <= 0
    (a bound that holds with a sign margin, e.g. λ_min >= 0 against a negative bound) are drawn
    at the left edge with ◀; infinite ratios at the right edge with ▶."""
    claims = [c for c in claims if isinstance(c, dict)]
    if not claims:
        return None
    per_adv = [per_adversary_ratios(c) for c in claims]
    mains = [as_number(c.get("worst_ratio")) for c in claims]
    every = [r for r in mains if r is not None] + [r for d in per_adv for r in d.values() if r is not None]
    finite_pos = [r for r in every if 0 < r < math.inf]
    lo = min([*finite_pos, 1e-2]) / 10
    hi = max([*finite_pos, 1.0]) * 10
    adv_names = list(dict.fromkeys(a for d in per_adv for a in d))
    palette = [f"C{i}" for i in range(10)]
    shapes = ["o", "s", "^", "D", "v", "P", "X", "h"]
    style = {a: (palette[i % 10], shapes[(i // 10) % len(shapes)]) for i, a in enumerate(adv_names)}
    fig = Figure(figsize=(8.5, 1.4 + 0.5 * len(claims)))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    for y, (c, ratio, advs) in enumerate(zip(claims, mains, per_adv, strict=True)):
        n = len(advs)
        for j, (a, r) in enumerate(advs.items()):
            if r is None or math.isnan(r):
                continue
            x, marker = _place(r, lo, hi)
            color, shape = style[a]
            ax.scatter([x], [y + 0.32 * (j - (n - 1) / 2) / max(n, 1)], s=14,
                       marker=shape if marker == "o" else marker, color=color, alpha=0.85, zorder=2)
        if ratio is None or math.isnan(ratio):
            ax.text(lo * 1.3, y, "no ratio", va="center", fontsize=8, color="#6e7781")
            continue
        x, marker = _place(ratio, lo, hi)
        ax.scatter([x], [y], s=90, marker=marker, color=STATUS_COLORS.get(c.get("status"), "#6e7781"),
                   edgecolor="black", linewidth=0.8, zorder=3)
        ax.annotate(f"{ratio:.3g}", (x, y), xytext=(7, 5), textcoords="offset points", fontsize=8)
    line = ax.axvline(1.0, color="#cf222e", linestyle="--", linewidth=1.2, label="bound (ratio = 1)")
    ax.set_xlim(lo / 2, hi * 2)
    ax.set_yticks(range(len(claims)), [str(c.get("id", "?")) for c in claims], fontsize=8)
    ax.set_ylim(len(claims) - 0.5, -0.5)
    ax.set_xlabel("worst observed / bound (log scale; ◀ = ratio <= 0, drawn at the left edge)")
    ax.set_title("Tightness per claim (worst instance)", fontsize=11)
    ax.grid(axis="x", which="major", alpha=0.3)
    handles = [ax.scatter([], [], s=60, color=col, edgecolor="black", label=f"claim: {s}")
               for s, col in STATUS_COLORS.items()]
    handles += [ax.scatter([], [], s=14, color=style[a][0], marker=style[a][1], label=a) for a in adv_names]
    ax.legend(handles=[*handles, line], fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="adversaries: small markers" if adv_names else None, title_fontsize=7)
    fig.tight_layout()
    return _png(fig)


# --- (b) rate fits ---------------------------------------------------------------------------
X_KEYS = ("x", "xs", "n", "ns", "m", "ms", "alpha", "alphas", "d", "ds", "dims", "values",
          "sweep_values", "param_values", "parameter_values")
Y_KEYS = ("y", "ys", "observed", "observations", "delta", "deltas", "Delta", "errors", "measured",
          "values_observed", "empirical_delta")
SLOPE_KEYS = ("fitted", "slope", "fitted_slope", "fit_slope", "exponent", "fitted_exponent", "observed_slope")
EXPECTED_KEYS = ("theory", "expected_slope", "theory_slope", "theory_exponent", "expected_exponent",
                 "paper_exponent", "paper_slope", "predicted_slope")
CONST_KEYS = ("fitted_constant", "constant", "fit_constant", "prefactor", "coefficient")
INTERCEPT_KEYS = ("intercept", "log_intercept", "fitted_intercept")
LABEL_KEYS = ("label", "name", "parameter", "param", "variable", "over", "sweep", "x_name")


def _numeric_list(v) -> list[float] | None:
    if isinstance(v, list) and len(v) >= 2:
        xs = [as_number(u) for u in v]
        if all(x is not None for x in xs):
            return xs
    return None


def _points_of(d: dict):
    """(x, y, x_name, y_name) from a dict with parallel lists, or from a list of [x, y] pairs /
    {"x":..,"y":..} records under 'points'/'data'; None if the dict has no such data."""
    for key in ("points", "data", "sweep"):
        v = d.get(key)
        if isinstance(v, list) and len(v) >= 2:
            if all(isinstance(p, (list, tuple)) and len(p) == 2 for p in v):
                xs, ys = [as_number(p[0]) for p in v], [as_number(p[1]) for p in v]
                if None not in xs and None not in ys:
                    return xs, ys, "x", "y"
            if all(isinstance(p, dict) for p in v):
                xk = next((k for k in X_KEYS if all(k in p for p in v)), None)
                yk = next((k for k in Y_KEYS if k != xk and all(k in p for p in v)), None)
                if xk and yk:
                    xs = [as_number(p[xk]) for p in v]
                    ys = [as_number(p[yk]) for p in v]
                    if None not in xs and None not in ys:
                        return xs, ys, xk, yk
    for xk in X_KEYS:
        xs = _numeric_list(d.get(xk))
        if xs is None:
            continue
        for yk in Y_KEYS:
            ys = _numeric_list(d.get(yk)) if yk != xk else None
            if ys is not None and len(ys) == len(xs):
                return xs, ys, xk, yk
    return None


def _first_number(d: dict, keys) -> float | None:
    for k in keys:
        v = as_number(d.get(k))
        if v is not None and math.isfinite(v):
            return v
    return None


def rate_fits(claims: list[dict]) -> list[dict]:
    """Every fit found in the claims: a dict with points (x, y) of at least two positive pairs
    and, where the entry states them, the fitted slope, the theory's exponent and the constant
    (y = C·x^slope) or intercept (of log y against log x, natural log unless stated).
    Searched in each entry and in its nested dicts/lists (e.g. ``fits: [{...}, ...]``)."""
    fits = []

    def walk(d, claim, path, inherited):
        if not isinstance(d, dict):
            return
        ctx = {**inherited, **{k: d[k] for k in (*SLOPE_KEYS, *EXPECTED_KEYS, *CONST_KEYS,
                                                  *INTERCEPT_KEYS, "tolerance") if k in d}}
        pts = _points_of(d)
        if pts is not None:
            xs, ys, xk, yk = pts
            keep = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0
                    and math.isfinite(x) and math.isfinite(y)]
            if len(keep) >= 2:
                label = next((str(d[k]) for k in LABEL_KEYS if isinstance(d.get(k), str)), None)
                const = _first_number(ctx, CONST_KEYS)
                if const is None and path:  # e.g. slopes.n with fitted_constants.n beside it
                    for key in ("fitted_constants", "constants"):
                        if isinstance(claim.get(key), dict):
                            const = as_number(claim[key].get(path[-1]))
                            break
                fits.append({
                    "claim": claim.get("id", "?"), "status": claim.get("status"),
                    "label": label or ".".join(path) or xk, "x_name": xk, "y_name": yk,
                    "x": [p[0] for p in keep], "y": [p[1] for p in keep],
                    "dropped": len(xs) - len(keep),
                    "slope": _first_number(ctx, SLOPE_KEYS),
                    "expected_slope": _first_number(ctx, EXPECTED_KEYS),
                    "constant": const, "intercept": _first_number(ctx, INTERCEPT_KEYS),
                    "tolerance": _first_number(ctx, ("tolerance",)),
                    "matches": d.get("matches") if isinstance(d.get("matches"), bool) else None})
                return
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, claim, [*path, str(k)], ctx)
            elif isinstance(v, list):
                for i, u in enumerate(v):
                    walk(u, claim, [*path, f"{k}[{i}]"], ctx)

    for c in claims:
        if isinstance(c, dict):
            walk(c, c, [], {})
    return fits


def rate_summaries(claims: list[dict]) -> list[dict]:
    """Rate-kind claims with whatever slope information they state (for a table; also those
    without points)."""
    out = []
    for c in claims:
        if c.get("kind") != "rate":
            continue
        out.append({"claim": c.get("id", "?"), "status": c.get("status"),
                    "slope": _first_number(c, SLOPE_KEYS),
                    "expected_slope": _first_number(c, EXPECTED_KEYS),
                    "constant": _first_number(c, CONST_KEYS)})
    return out


def fitted_line(fit: dict) -> tuple[float, float, str]:
    """(slope, log-intercept, how) of the line drawn through a fit's points: the entry's slope
    with its stated intercept (of log y against log x) or a least-squares intercept, else a
    least-squares fit computed here (and labelled so). A stated 'constant' is shown in the
    tables but never used for the line: it may refer to the claim's formula, not to y = C·x^s."""
    lx, ly = np.log(fit["x"]), np.log(fit["y"])
    if fit["slope"] is not None:
        s = fit["slope"]
        if fit["intercept"] is not None:
            return s, fit["intercept"], "reported slope and intercept"
        return s, float(np.mean(ly - s * lx)), "reported slope"
    s, b = np.polyfit(lx, ly, 1)
    return float(s), float(b), "least-squares fit by the report"


def rate_fit_plot(fits: list[dict]) -> str | None:
    if not fits:
        return None
    ncol = min(3, len(fits))
    nrow = math.ceil(len(fits) / ncol)
    fig = Figure(figsize=(4.2 * ncol, 3.4 * nrow))
    for i, fit in enumerate(fits):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        x, y = np.asarray(fit["x"]), np.asarray(fit["y"])
        ax.loglog(x, y, "o", color="#0969da", label="points")
        s, b, how = fitted_line(fit)
        xx = np.geomspace(x.min(), x.max(), 50)
        ax.loglog(xx, np.exp(b) * xx**s, "-", color="#cf222e", label=f"fit: slope {s:.3g} ({how})")
        if fit["expected_slope"] is not None:
            e = fit["expected_slope"]
            be = float(np.mean(np.log(y) - e * np.log(x)))
            ax.loglog(xx, np.exp(be) * xx**e, ":", color="#6e7781", label=f"theory slope {e:.3g}")
        xname = fit["x_name"]
        if xname in ("x", "xs", "values", "sweep_values", "param_values", "parameter_values"):
            xname = str(fit["label"]).split(".")[-1]
        ax.set_xlabel(xname)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(fit["y_name"])
        verdict = {True: "matches: yes", False: "matches: NO"}.get(fit.get("matches"), "")
        tol = f" (tolerance {fit['tolerance']:.3g})" if fit.get("tolerance") is not None else ""
        ax.set_title(f"{fit['claim']}\n{fit['label']}" + (f", {verdict}{tol}" if verdict else ""),
                     fontsize=8, color="#cf222e" if fit.get("matches") is False else "black")
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _png(fig)


# --- (c) escape trajectories -----------------------------------------------------------------
ESCAPE_PARAMS = {"dim": 2, "landscape_seed": 0, "Delta": 1e-10, "oracle_seed": 1, "run_seed": 2,
                 "delta": 0.1}


def escape_illustration(params: dict | None = None) -> dict:
    """ByzantinePGD (Theorem 1's parameters) and robust GD (η = 1/L_F, ε = 3Δ, no perturbation)
    from the strict saddle w = 0 of ``CosineSaddle.random(2, default_rng(landscape_seed))``, each
    with ``CertifiedOracle(RandomDirectionOracle(land, Delta, default_rng(oracle_seed)))``;
    ByzantinePGD's perturbations use ``default_rng(run_seed)``. Deterministic in the params."""
    from ..algorithms import byzantine_pgd, robust_gd
    from ..oracles.inexact import CertifiedOracle, RandomDirectionOracle
    from ..oracles.landscapes import CosineSaddle
    from ..theory.certify import certify

    p = {**ESCAPE_PARAMS, **(params or {})}
    land = CosineSaddle.random(p["dim"], np.random.default_rng(p["landscape_seed"]))
    w0 = np.zeros(p["dim"])

    def oracle():
        return CertifiedOracle(RandomDirectionOracle(land, p["Delta"],
                                                     np.random.default_rng(p["oracle_seed"])))

    bpgd = byzantine_pgd(oracle(), w0, np.random.default_rng(p["run_seed"]), delta=p["delta"],
                         trace=True)
    rgd = robust_gd(oracle(), w0, trace=True)
    runs = {}
    for name, res in (("ByzantinePGD", bpgd), ("robust GD", rgd)):
        cert = certify(land, res.w)
        runs[name] = {"points": np.asarray(res.trace["points"]), "w": res.w, "status": res.status,
                      "calls": res.grad_oracle_calls, "escapes": res.escapes,
                      "grad_norm": cert.grad_norm, "lambda_min": cert.lambda_min,
                      "params": {k: v for k, v in res.params.items()}}
    crit = [(c.point, c.kind, c.lambda_min) for c in land.critical_points()]
    return {"params": p, "landscape": land, "runs": runs, "critical_points": crit,
            "L_F": land.L, "rho_F": land.rho}


def escape_plot(ill: dict) -> str:
    land = ill["landscape"]
    runs = ill["runs"]
    pts = np.vstack([r["points"] for r in runs.values()] + [c[0][None, :] for c in ill["critical_points"]])
    half = 1.35 * float(np.max(np.abs(pts))) + 0.5
    g = np.linspace(-half, half, 81)
    X, Y = np.meshgrid(g, g)
    Z = np.array([[land.value(np.array([x, y])) for x, y in zip(rx, ry, strict=True)]
                  for rx, ry in zip(X, Y, strict=True)])
    fig = Figure(figsize=(11, 4.6))
    ax = fig.add_subplot(1, 2, 1)
    cs = ax.contour(X, Y, Z, levels=18, cmap="viridis", linewidths=0.8)
    ax.clabel(cs, fontsize=6, fmt="%.2g")
    styles = {"ByzantinePGD": ("#0969da", "-"), "robust GD": ("#cf222e", "none")}
    for name, r in runs.items():
        color, ls = styles.get(name, ("black", "-"))
        P = r["points"]
        ax.plot(P[:, 0], P[:, 1], linestyle=ls, marker=".", markersize=3, color=color, linewidth=1.2,
                label=f"{name}: {r['calls']} oracle calls, {r['escapes']} escape(s)")
        ax.plot(*r["w"], marker="*" if name == "ByzantinePGD" else "X", markersize=13, color=color,
                markeredgecolor="black", linestyle="none",
                label=f"{name} output: λ_min = {r['lambda_min']:.3g}")
    for point, kind, _ in ill["critical_points"]:
        ax.plot(*point, marker="s" if "saddle" in kind else "D", color="white", markeredgecolor="black",
                markersize=6, linestyle="none")
        ax.annotate(kind.replace("_", " "), point, xytext=(6, -10), textcoords="offset points", fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlabel("w₁")
    ax.set_ylabel("w₂")
    ax.set_title("Escape from the strict saddle, on contour lines of F", fontsize=10)
    ax.legend(fontsize=6.5, loc="upper left", framealpha=0.9)
    ax2 = fig.add_subplot(1, 2, 2)
    saddle = next((c[0] for c in ill["critical_points"] if "saddle" in c[1]), np.zeros(2))
    for name, r in runs.items():
        color, _ = styles.get(name, ("black", "-"))
        dist = np.linalg.norm(r["points"] - saddle, axis=1)
        k = np.arange(1, len(dist) + 1)
        pos = dist > 0
        if np.any(pos):
            ax2.loglog(k[pos], dist[pos], color=color, marker="." if pos.sum() < 50 else None,
                       label=f"{name} ({pos.sum()} of {len(dist)} queries off the saddle)")
        else:
            ax2.plot([], [], color=color, label=f"{name}: all {len(dist)} queries at the saddle (distance 0)")
    ax2.axhline(runs["ByzantinePGD"]["params"]["R"], color="#6e7781", linestyle=":",
                label=f"escape radius R = {runs['ByzantinePGD']['params']['R']:.3g}")
    ax2.axhline(runs["ByzantinePGD"]["params"]["r"], color="#6e7781", linestyle="--",
                label=f"perturbation radius r = {runs['ByzantinePGD']['params']['r']:.3g}")
    ax2.set_xlabel("oracle call (log scale)")
    ax2.set_ylabel("‖w − saddle‖ (log scale; 0 not drawn)")
    ax2.set_title("Distance from the saddle per oracle query", fontsize=10)
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)
