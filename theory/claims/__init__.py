"""The paper's claims as data (docs/ARCHITECTURE.md, "Claims and where each part lives"): the
:class:`Claim` type, the registry, and the statements, one module per group of claims (the same
group names as the checks in :mod:`byzpgd.properties.suites`, the experiments in
:mod:`byzpgd.experiments` and the tests in tests/: ``byzpgd claims --where ID`` lists them).
Importing this package registers every claim. Provenance follows docs/paper.md §0: CONFIRMED,
CONFIRMED-INDIRECT, POSTER, RECONSTRUCTED, OWN.
"""

from .base import DEFINED_IN, KINDS, PROVENANCES, REGISTRY, Claim, get, register
from .theorems import LAMBDA_SHAPE_BPGD, N_EXACT, THM1_HYP, THM2_HYP

__all__ = ["Claim", "REGISTRY", "DEFINED_IN", "KINDS", "PROVENANCES", "get", "register",
           "LAMBDA_SHAPE_BPGD", "N_EXACT", "THM1_HYP", "THM2_HYP"]
from . import (  # noqa: F401,E402  (each registers its group's claims)
    ablations,
    aggregation,
    end_to_end,
    lower_bounds,
    mechanism,
    monitor,
    parameters,
    robustness,
    saddle_attack,
)
