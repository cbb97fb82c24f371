"""What a run-level claim measures on a run (:class:`Quantity`): the observed value, the accuracy of
its measurement, and when a run could not have violated the bound (vacuity). A claim carries its
quantity (``Claim.measures``), so the check reads the claim instead of dispatching on its id.

A run is any record with the fields of :class:`byzpgd.experiments.instances.RunRecord` (duck-typed:
this layer runs nothing): ``grad_norm``, ``lambda_min`` and ``lambda_min_error`` (the exact
certificate of the output, theory.certify), ``oracle_calls``, ``max_calls`` (the run's theory
cap), ``start_grad_norm`` and ``values`` (the instance's symbol values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quantity:
    """``value(run)``: the observed quantity; ``error(run)``: its measurement's stated accuracy
    (subtracted before comparing with the bound); ``vacuous(run, bound)``: the run could not have
    violated the bound; ``counts_capped``: a run stopped at its call cap is observed (an iteration
    claim: it made at least that many calls) rather than having no output."""

    name: str
    value: Callable[[Any], float]
    error: Callable[[Any], float]
    vacuous: Callable[[Any, float], bool]
    counts_capped: bool = False


def _grad_norm(run) -> float:
    return run.grad_norm


def _neg_lambda_min(run) -> float:
    return -run.lambda_min


def _oracle_calls(run) -> float:
    return float(run.oracle_calls)


def _exact(run) -> float:
    return 0.0


def _lambda_error(run) -> float:
    return run.lambda_min_error


def _start_satisfies(run, bound: float) -> bool:
    """Returning the start point would satisfy ‖∇F‖ <= bound."""
    return run.start_grad_norm <= bound


def _beyond_smoothness(run, bound: float) -> bool:
    """Every L_F-smooth function has λ_min >= −L_F."""
    return bound >= run.values["L_F"]


def _beyond_cap(run, bound: float) -> bool:
    """The run is capped below the bound."""
    return bound >= run.max_calls


GRAD_NORM = Quantity("grad_norm", _grad_norm, _exact, _start_satisfies)
NEG_LAMBDA_MIN = Quantity("neg_lambda_min", _neg_lambda_min, _lambda_error, _beyond_smoothness)
ORACLE_CALLS = Quantity("oracle_calls", _oracle_calls, _exact, _beyond_cap, counts_capped=True)
