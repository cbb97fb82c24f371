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
from dataclasses import replace

from ...jsonsafe import sanitize
from ...theory import bound_comparisons as bc
from ...theory import gd_phase, pep_cache
from ...theory import parameter_derivations as pd
from ...theory.claims import get
from ...theory.prover import Derivation
from .. import hierarchy as hier
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


GD_PHASE = "parameters.gd_phase_worst_case"


def check_gd_phase(profile: str = "ci", seed: int = 0, *, cache: pep_cache.PepCache | None = None,
                   w_expr=None, search=None, quantities=tuple(hier.POINTS)) -> ClaimResult:
    """``parameters.gd_phase_worst_case``: the SymPy derivation of W (:func:`byzpgd.theory.gd_phase.
    derivation`, with the cached PEP values), the sub-checks on the cache (consecutive = full, scale
    invariance, step counts <= B), and the hierarchy O <= W <= B of the three quantities of
    :mod:`byzpgd.properties.hierarchy` (one sub-check per item; a breach is 'disproved'). The result
    carries the items in ``hierarchy``; ``details['hierarchy_summary']`` has the smallest O/W and
    the largest W/B. ``cache``, ``w_expr`` and ``search`` replace the cache, the closed form and
    the search (the able-to-fail tests)."""
    cache = pep_cache.load_cache() if cache is None else cache
    grads = [(p.N, p.Delta, p.L, p.D, p.value) for p in cache.points
             if p.metric == "grad" and p.relaxation == "full"]
    der = gd_phase.derivation(grads, rtol=hier.PEP_RTOL, w_expr=w_expr)
    der.subchecks.extend(hier.cache_subchecks(cache))
    items = [h for q in quantities for h in hier.items(q, profile, seed, cache=cache, search=search)]
    der.subchecks.extend(hier.hierarchy_subchecks(items))
    der.data = {**der.data, "pep_cache": cache.meta, "hierarchy_summary": hier.ratio_summary(items)}
    return replace(symbolic_result(GD_PHASE, der), hierarchy=tuple(items))


@register_check(GD_PHASE)
def _run_gd_phase(profile, seed, progress):
    result = check_gd_phase(profile, seed)
    if progress is not None:
        progress(1, 1)
    return result
