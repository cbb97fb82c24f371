"""Proven (f, κ)-robustness bounds of aggregation rules (statements; the proofs are in the
docstring of :mod:`byzpgd.audit.kappa`, provenance OWN, and the search that checks them is there).

A rule F is (f, κ)-robust (Allouah et al., AISTATS 2023, "Fixing by Mixing") if for all
x_1..x_n and every S ⊆ [n] with |S| = n − f,

    ‖F(x_1..x_n) − x̄_S‖² <= κ/|S| · Σ_{i∈S} ‖x_i − x̄_S‖².

Every bound here is valid for integers n > 2f >= 2; the rules' own parameters are the project's
(median: coordinate-wise, the mean of the two middle values for even n; trimmed mean: b = f
values trimmed per side and coordinate).
"""

from __future__ import annotations

import math


def kappa_lower_bound(n: int, f: int) -> float:
    """f/(n − 2f): no rule has a smaller κ (two-configuration argument, audit/kappa.py)."""
    return f / (n - 2 * f)


def median_kappa_bound(n: int, f: int) -> float:
    """(n − f − k)/k with k = ⌊(n+1)/2⌋ − f: Cantelli's inequality per coordinate (∞ if k < 1)."""
    k = (n + 1) // 2 - f
    return (n - f - k) / k if k >= 1 else math.inf


def trimmed_mean_kappa_bound(n: int, f: int) -> float:
    """max over a ∈ [max(0, n − 3f), n − 2f] of a(n − f − a)/(n − 2f)²: kept Byzantine values
    matched to trimmed honest ones, then Cauchy–Schwarz, per coordinate."""
    lo, hi = max(0, n - 3 * f), n - 2 * f
    return max(a * (n - f - a) for a in range(lo, hi + 1)) / (n - 2 * f) ** 2


def geometric_median_kappa_bound(n: int, f: int) -> float:
    """4((n − f)/(n − 2f))²: optimality of the geometric median and the triangle inequality."""
    return 4.0 * ((n - f) / (n - 2 * f)) ** 2


__all__ = ["kappa_lower_bound", "median_kappa_bound", "trimmed_mean_kappa_bound",
           "geometric_median_kappa_bound"]
