"""Test landscapes with exact derivatives and certified constants."""

from .base import CriticalPoint, Landscape
from .cosine_saddle import CosineSaddle
from .phase_retrieval import PhaseRetrieval
from .random_phase import RandomPhaseCosine
from .rotation import DenseRotation, HouseholderRotation, Rotation, random_rotation

__all__ = ["CriticalPoint", "Landscape", "CosineSaddle", "PhaseRetrieval", "RandomPhaseCosine",
           "Rotation", "DenseRotation", "HouseholderRotation", "random_rotation"]
