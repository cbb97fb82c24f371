"""Optimizers: ByzantinePGD, exact-oracle PGD, robust GD (one result object for all)."""

from byzpgd.geometry import uniform_ball

from .byzantine_pgd import byzantine_pgd
from .exact_pgd import exact_pgd
from .perturbed_gd import PGDParams, StopRun, perturbed_gd
from .result import OptimizeResult
from .robust_gd import robust_gd

__all__ = ["byzantine_pgd", "exact_pgd", "robust_gd", "perturbed_gd", "PGDParams", "StopRun",
           "OptimizeResult", "uniform_ball"]
