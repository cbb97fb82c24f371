"""Adversarial Δ-inexact oracles: one module per family, and a registry name -> class.

| name | module | idea | adaptive |
|---|---|---|---|
| random_direction | noise | worst-norm random noise, ‖e‖ = Δ | no |
| uniform_ball | noise | e ~ Uniform(B(Δ)) | no |
| shrink | shrink | e = −Δ∇F/‖∇F‖: stops the algorithm as early as possible (‖∇F(w̃)‖ → 4Δ) | no |
| trap | trap | fake local minimum at a strict saddle (docs/paper.md §2) | no |
| target_field | trap | fake minimum planted at a chosen point p near the saddle | no |
| pull_back | pullback | every step dragged toward the trap centre | no |
| adaptive | adaptive | white box: sees phase and ξ, fights the escape direction | yes |
| search | search | per-call optimization of e against escape progress | no |

Constructions (:data:`CONSTRUCTIONS`, resolved by :func:`make_adversary` but never in ``NAMES``,
so the claims' default draws are unchanged): ``pep_under_report`` (ĝ shorter by exactly Δ: with
the 1-D chain of ``pep_worst`` it attains the certified worst case of the gradient phase),
``pep_scripted`` (the k-th answer's error scripted: the adversarial search's oracle) and
``pep_ratio_one`` (ĝ = (3/4)∇F: ‖∇F(w̃)‖ = 4Δ exactly), all in :mod:`.pep_worst`.

A spec's adversary is a JSON-able dict ``{"name": ..., "seed": ..., **params}``;
:func:`make_adversary` builds it, :func:`sample_adversary` draws one through a property-suite
source. Runs always wrap the adversary in :class:`~byzpgd.oracles.inexact.CertifiedOracle`.
"""

from __future__ import annotations

import numpy as np

from .adaptive import WhiteBoxAdaptive
from .base import Adversary, clip_to_budget, negative_eigenspace, saddle_eigenspace, trap_centre
from .noise import RandomDirection, UniformBall
from .pep_worst import CONSTRUCTIONS
from .pullback import PullBack
from .search import SearchBased
from .shrink import Shrink
from .trap import TargetField, Trap

ADVERSARIES: dict[str, type[Adversary]] = {cls.name: cls for cls in (
    RandomDirection, UniformBall, Shrink, Trap, TargetField, PullBack, WhiteBoxAdaptive, SearchBased)}
NAMES = tuple(ADVERSARIES)


def make_adversary(desc: dict, landscape, Delta: float) -> Adversary:
    """Build the adversary described by ``desc`` ({'name', 'seed', **params}) with budget Δ."""
    if not isinstance(desc, dict) or "name" not in desc:
        raise ValueError(f"adversary must be a dict with a 'name', got {desc!r}")
    name = desc["name"]
    classes = {**ADVERSARIES, **CONSTRUCTIONS}
    if name not in classes:
        raise ValueError(f"unknown adversary {name!r}; known: {list(NAMES)} and the constructions "
                         f"{list(CONSTRUCTIONS)}")
    params = {k: v for k, v in desc.items() if k not in ("name", "seed")}
    rng = np.random.default_rng(desc.get("seed", 0))
    return classes[name](landscape, Delta, rng, **params)


def sample_adversary(src, name: str | None = None, names=NAMES) -> dict:
    """Draw an adversary description: ``name`` given, or uniform among ``names``."""
    if name is None:
        name = names[src.integer(0, len(names) - 1)]
    return {"name": name, **ADVERSARIES[name].sample_params(src), "seed": src.seed()}


__all__ = ["ADVERSARIES", "CONSTRUCTIONS", "NAMES", "Adversary", "make_adversary", "sample_adversary",
           "clip_to_budget", "negative_eigenspace", "saddle_eigenspace", "trap_centre",
           *(c.__name__ for c in ADVERSARIES.values())]
