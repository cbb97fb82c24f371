"""The PEP of the gradient phase solved live with PEPit (extra byzpgd[pep], which `make venv` and
CI install): cached points recomputed, the consecutive-only relaxation against the full PEP, scale
invariance as a metamorphic property, and the encoding's input checks. Small N only (each solve
takes well under a second)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import pytest

from byzpgd.experiments import pep
from byzpgd.properties.hierarchy import PEP_RTOL
from byzpgd.theory import gd_phase, pep_cache

REQUIRE_ENV = "BYZPGD_REQUIRE_PEP"   # set to 1 by the Makefile's test target (CI installs the pep extra)


def have_pepit() -> bool:
    try:
        import PEPit  # noqa: F401
    except ImportError:
        return False
    return True


def pep_requirement(have: bool, env: Mapping[str, str]) -> str | None:
    """The failure message when these tests would be skipped although ``env`` requires them
    (``BYZPGD_REQUIRE_PEP=1``); None when they run or may be skipped."""
    if have or env.get(REQUIRE_ENV, "").strip() != "1":
        return None
    return (f"PEPit is not installed but {REQUIRE_ENV}=1: the PEP tests would be skipped silently "
            "(install the extra: pip install 'byzpgd[pep]')")


if (_message := pep_requirement(have_pepit(), os.environ)) is not None:
    pytest.fail(_message, pytrace=False)      # a collection error: the run fails, loudly

pytestmark = pytest.mark.skipif(not have_pepit(),
                                reason="PEPit is not installed (pip install 'byzpgd[pep]')")

CACHE = pep_cache.load_cache()
LIVE_RTOL = 1e-5       # the same solver on the same problem: agreement well inside PEP_RTOL


@pytest.mark.parametrize("metric,N,Delta,L,D,relaxation", [
    ("grad", 5, 0.1, 1.0, 1.0, "full"),
    ("grad", 10, 0.2, 1.0, 1.0, "consecutive"),
    ("grad", 5, 0.2, 4.0, 0.25, "full"),
    ("grad", 1, 0.5, 0.25, 0.25, "full"),          # the regime 2LD < Delta^2
    ("oracle", 10, 0.2, 1.0, 1.0, "consecutive"),  # the certified step count at Delta = 0.2 ...
    ("oracle", 11, 0.2, 1.0, 1.0, "consecutive"),  # ... and one step more
])
def test_cached_points_are_recomputed_live(metric, N, Delta, L, D, relaxation):
    cached = CACHE._find(metric, N, Delta, L, D, relaxation)
    live = pep.solve_gd_phase(N, Delta, L, D, metric=metric, relaxation=relaxation)
    assert live.status.startswith("optimal")
    assert live.value == pytest.approx(cached.value, rel=LIVE_RTOL)


def test_certified_step_count_is_recomputed_live():
    cached = CACHE.steps_point(0.2, 1.0, 1.0)
    live, solved = pep.certified_steps(0.2, 1.0, 1.0)
    assert live.steps == cached.steps == 10
    assert live.value_at_steps > 0.6 >= live.value_above
    assert len(solved) <= 6                      # the bracket from the guess needs few solves


@pytest.mark.parametrize("N,Delta", [(2, 0.1), (4, 0.3), (6, 0.05)])
def test_consecutive_relaxation_matches_the_full_pep_and_the_closed_form(N, Delta):
    full = pep.solve_gd_phase(N, Delta, relaxation="full").value
    cons = pep.solve_gd_phase(N, Delta, relaxation="consecutive").value
    assert cons >= full * (1 - LIVE_RTOL)        # a relaxation: never below the full PEP
    assert cons == pytest.approx(full, rel=PEP_RTOL)
    assert full == pytest.approx(gd_phase.w_value(N, Delta, 1.0, 1.0), rel=PEP_RTOL)


@pytest.mark.parametrize("s,t", [(2.0, 1.0), (0.5, 3.0), (1.0, 0.25)])
def test_scale_invariance_of_the_pep(s, t):
    """Metamorphic: (Delta, L, D) -> (s Delta, t L, s^2 D / t) keeps N and L D/Delta^2, so the PEP
    value scales by s (min-gradient) and the oracle metric by s as well."""
    base = pep.solve_gd_phase(3, 0.1, 1.0, 1.0).value
    moved = pep.solve_gd_phase(3, 0.1 * s, t, s * s / t).value
    assert moved == pytest.approx(s * base, rel=PEP_RTOL)
    base_o = pep.solve_gd_phase(3, 0.1, 1.0, 1.0, metric="oracle", relaxation="consecutive").value
    moved_o = pep.solve_gd_phase(3, 0.1 * s, t, s * s / t, metric="oracle", relaxation="consecutive").value
    assert moved_o == pytest.approx(s * base_o, rel=PEP_RTOL)


def test_a_wrong_encoding_is_caught():
    """A step of 1/(2L) instead of 1/L (a wrong encoding) changes the value beyond the tolerance:
    the closed-form agreement would reject it."""
    from PEPit import PEP
    from PEPit.functions import SmoothFunction
    from PEPit.primitive_steps import inexact_gradient_step
    problem = PEP()
    f = problem.declare_function(SmoothFunction, L=1.0)
    x = problem.set_initial_point()
    _, f0 = f.oracle(x)
    grads, values = [], []
    for _ in range(3):
        x_next, _, fx = inexact_gradient_step(x, f, gamma=0.5, epsilon=0.1, notion="absolute")
        g, _ = f.oracle(x)
        grads.append(g)
        values.append(fx)
        x = x_next
    g, fx = f.oracle(x)
    grads.append(g)
    values.append(fx)
    for gi, fi in zip(grads, values, strict=True):
        problem.set_initial_condition(f0 - fi + gi**2 / 2 <= 1.0)
    for gi in grads:
        problem.set_performance_metric(gi**2)
    wrong = math.sqrt(problem.solve(wrapper="cvxpy", solver=pep.SOLVER, verbose=0))
    assert abs(wrong - gd_phase.w_value(3, 0.1, 1.0, 1.0)) > 10 * PEP_RTOL * wrong


def test_encoding_rejects_bad_input():
    with pytest.raises(ValueError, match="metric 'oracle' needs N >= 1"):
        pep.solve_gd_phase(0, 0.1, metric="oracle")
    with pytest.raises(ValueError, match="relaxation"):
        pep.solve_gd_phase(2, 0.1, relaxation="pairs")
    with pytest.raises(ValueError, match="metric"):
        pep.solve_gd_phase(2, 0.1, metric="value")
    with pytest.raises(ValueError):
        pep.solve_gd_phase(2, -0.1)
