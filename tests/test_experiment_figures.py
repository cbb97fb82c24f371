"""experiments/figures.py: the runs behind the figures, as plain data (reports only draw them)."""

import numpy as np
import pytest

from byzpgd.experiments.budget import FAILURE_PROBABILITY
from byzpgd.experiments.figures import escape_illustration, saddle_attack
from byzpgd.oracles.landscapes import CosineSaddle
from byzpgd.theory.parameters import CALIBRATED_FACTORS, byzantine_pgd_parameters


@pytest.fixture(scope="module")
def escape():
    return escape_illustration()


def test_escape_illustration_is_deterministic(escape):
    again = escape_illustration()
    for a, b in ((escape.byzantine_pgd, again.byzantine_pgd), (escape.robust_gd, again.robust_gd)):
        assert np.array_equal(a.xy, b.xy) and np.array_equal(a.lambda_mins, b.lambda_mins)
    assert np.array_equal(escape.grid.values, again.grid.values)
    other = escape_illustration(run_seed=3).byzantine_pgd.xy     # other perturbations
    assert other.shape != escape.byzantine_pgd.xy.shape or not np.array_equal(other, escape.byzantine_pgd.xy)


def test_byzantine_pgd_escapes_where_robust_gd_stops(escape):
    bp, gd = escape.byzantine_pgd, escape.robust_gd
    assert bp.escapes >= 1 and bp.lambda_min > 0 and bp.grad_norm <= escape.grad_bound
    assert gd.escapes == 0 and gd.calls == 1 and gd.lambda_min <= escape.trapped_below
    assert np.all(gd.saddle_distances == 0)                      # it never left w = 0
    assert bp.saddle_distances.max() > escape.R > escape.r > 0   # left the saddle past R
    assert bp.params["T_th"] == 12 and (escape.r, escape.R) == (bp.params["r"], bp.params["R"])


def test_the_traced_curves_are_the_landscape_at_the_queries(escape):
    land = CosineSaddle.random(2, np.random.default_rng(0))
    bp = escape.byzantine_pgd
    for k in (0, len(bp.xy) // 2, len(bp.xy) - 1):
        w = bp.xy[k]                                             # d = 2: the slice is the plane
        assert bp.grad_norms[k] == pytest.approx(np.linalg.norm(land.grad(w)), rel=1e-12)
        assert bp.lambda_mins[k] == pytest.approx(land.hess_diag(w).min(), abs=1e-12)
        assert bp.saddle_distances[k] == pytest.approx(np.linalg.norm(w), rel=1e-12)
    g = escape.grid
    i, j = 7, 60
    assert g.values.shape == (g.y.size, g.x.size)
    assert g.values[i, j] == pytest.approx(land.value(np.array([g.x[j], g.y[i]])), rel=1e-12)
    kinds = sorted(m.kind for m in escape.critical_points)
    assert kinds == ["global_min", "strict_saddle"]


def test_saddle_attack_uses_theorem1_with_the_calibrated_factors():
    data = saddle_attack(Delta=0.02, dim=4, seed=0)
    land = CosineSaddle(np.linspace(0.25, 1.0, 3), [0.8], [2.0])
    w0 = np.array([0.3 * 0.02 / 0.8, 1.5, -1.0, 0.0])
    expected = byzantine_pgd_parameters(0.02, land.L, land.rho, 4, FAILURE_PROBABILITY,
                                        land.value(w0) - land.f_star, factors=CALIBRATED_FACTORS)
    assert data.byzantine_pgd.params == expected
    assert np.allclose(data.robust_gd.xy[0], w0[:2]) and data.grad_bound == 4 * 0.02
    with pytest.raises(ValueError, match="dim must be >= 3"):
        saddle_attack(dim=2)
