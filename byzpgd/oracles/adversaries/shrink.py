"""The shrink adversary: e(w) = −f·min(Δ, ‖∇F(w)‖)·∇F/‖∇F‖, f ∈ (0, 1] (default 1).

ĝ = ∇F·(1 − fΔ/‖∇F‖): the reported gradient is shorter by fΔ, so the stopping test
‖ĝ‖ <= ε = 3Δ of Algorithm 1 (paper-spec §3) fires as early as possible, at ‖∇F‖ = 3Δ + fΔ.
With f = 1 the output of ByzantinePGD approaches ‖∇F(w̃)‖ = 4Δ: the bound of Theorem 1 is tight
(paper-spec §4, internal check: ‖∇F‖ <= ε + Δ).
"""

from __future__ import annotations

import numpy as np

from .base import Adversary, clip_to_budget, unit


class Shrink(Adversary):
    name = "shrink"

    def __init__(self, landscape, delta, rng, fraction: float = 1.0):
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        super().__init__(landscape, delta, rng, fraction=float(fraction))
        self.fraction = float(fraction)

    @classmethod
    def sample_params(cls, src):
        return {"fraction": 1.0 if src.uniform(0, 1) < 0.7 else src.uniform(0.5, 1.0)}

    def error(self, w, grad):
        size = np.minimum(self.fraction * self.delta, np.linalg.norm(grad, axis=-1, keepdims=True))
        return clip_to_budget(-size * unit(grad), self.delta)
