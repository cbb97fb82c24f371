"""Checks of the symbolic claims ``parameters.*`` (statements in
:mod:`byzpgd.theory.claims.parameters`; derivations in :mod:`byzpgd.theory.parameter_derivations`
and :mod:`byzpgd.theory.bound_comparisons`, proved with :mod:`byzpgd.theory.prover`).

A symbolic claim's ``instances`` (and ``nonvacuous_instances``) is the number of sub-checks
proved; it holds only if every sub-check is proved (``min_nonvacuous`` = the number of
sub-checks): a sub-check SymPy cannot decide makes it 'inconclusive', a disproved one
'violated', a SymPy exception 'error'. ``details`` lists every sub-check with its SymPy evidence
(``subchecks``) and the derived data (``data``: e.g. the regime table of parameters.regimes).
"""

from __future__ import annotations

from collections.abc import Callable

from ...jsonsafe import sanitize
from ...theory import bound_comparisons as bc
from ...theory import parameter_derivations as pd
from ...theory.claims import get
from ...theory.prover import Derivation
from ..registry import register_check
from ..result import ClaimResult

DERIVATIONS: dict[str, Callable[[], Derivation]] = {
    "parameters.inexact_descent": pd.check_inexact_descent,
    "parameters.exponents": pd.check_exponents,
    "parameters.consistency": pd.check_consistency,
    "parameters.regimes": pd.check_regimes,
    "parameters.exact_vs_jin": bc.check_exact_vs_jin,
    "parameters.upper_vs_lower": bc.check_upper_vs_lower,
    "parameters.aggregator_rates": bc.check_aggregator_rates,
}


def symbolic_result(claim_id: str, derivation: Derivation) -> ClaimResult:
    """The :class:`ClaimResult` of a symbolic claim from its derivation (see the module
    docstring); the sub-checks that failed are listed first in ``details['failed']``."""
    claim = get(claim_id)
    proved = derivation.count("proved")
    errors = [{"error": s.evidence, "subcheck": s.name} for s in derivation.subchecks if s.status == "error"]
    return ClaimResult.build(
        claim, violated=derivation.disproved, min_nonvacuous=max(1, len(derivation.subchecks)),
        instances=proved, nonvacuous_instances=proved, outside_hypotheses=0,
        violations=derivation.count("disproved"), errors=len(errors), claim_constant=claim.constant,
        error_examples=tuple(errors[:3]),
        details=sanitize({"failed": [s.name for s in derivation.failed()], "subchecks": derivation.subchecks,
                          "data": derivation.data}))


def check(claim_id: str, derivation: Derivation | None = None) -> ClaimResult:
    """Check ``claim_id`` on its derivation (default: the project's formulas; a derivation of a
    wrong variant can be passed in by the able-to-fail tests)."""
    return symbolic_result(claim_id, DERIVATIONS[claim_id]() if derivation is None else derivation)


def _register(claim_id: str) -> None:
    def run(profile, seed, progress):
        result = check(claim_id)
        if progress is not None:
            progress(1, 1)
        return result
    register_check(claim_id)(run)


for _cid in DERIVATIONS:
    _register(_cid)
