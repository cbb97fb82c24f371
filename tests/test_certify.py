"""theory.certify: exact gradient norms and λ_min with their stated accuracy.

- ``grad_norm`` is exactly ‖landscape.grad(w)‖ (same float64 computation);
- the dense (eigvalsh) and Lanczos (eigsh on Hessian-vector products) values of λ_min agree to
  the sum of their stated ``lambda_min_error`` plus a margin of MARGIN·(1 + L) on CosineSaddle
  with d ∈ {50, 300}, and both agree with the exact eigenvalue min(hess_diag(w));
- the Lanczos value, a Rayleigh quotient, is >= the dense λ_min minus the dense error;
- the agreement check is able to fail: against a landscape whose hvp is off by 1e-6 it reports
  the disagreement;
- method dispatch ('auto' by dimension) and validation (ValueError naming ``method``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import byzpgd.theory.certify as certify_module
from byzpgd.oracles.landscapes import CosineSaddle, PhaseRetrieval, RandomPhaseCosine
from byzpgd.theory.certify import Certificate, certify

SEEDS = st.integers(0, 2**32 - 1)
MARGIN = 1e-13  # absolute slack (times 1 + L) on top of the stated errors


def random_cosine(dim: int, rng: np.random.Generator) -> CosineSaddle:
    rotation = "dense" if rng.random() < 0.5 else "householder"
    return CosineSaddle.random(dim, rng, n_neg=int(rng.integers(1, min(dim, 3) + 1)),
                               L=rng.uniform(0.5, 3.0),
                               rho=rng.uniform(0.5, 5.0), rotation=rotation)


def random_point(land: CosineSaddle, rng: np.random.Generator) -> np.ndarray:
    """Near the saddle, at moderate distance, or several cosine periods away."""
    scale = rng.choice([1e-6, 0.1, 1.0, 3.0]) * max(1.0, float(land.s.max()))
    return rng.standard_normal(land.dim) * scale


def disagreement(dense: Certificate, lanczos: Certificate, L: float) -> list[str]:
    """Violations of the stated accuracies between a dense and a Lanczos certificate."""
    margin = MARGIN * (1 + L)
    out = []
    if abs(dense.lambda_min - lanczos.lambda_min) > (dense.lambda_min_error
                                                     + lanczos.lambda_min_error + margin):
        out.append(f"|{dense.lambda_min!r} - {lanczos.lambda_min!r}| exceeds the stated errors "
                   f"{dense.lambda_min_error:.3g} + {lanczos.lambda_min_error:.3g}")
    if lanczos.lambda_min < dense.lambda_min - dense.lambda_min_error - margin:
        out.append(f"Ritz value {lanczos.lambda_min!r} below dense λ_min {dense.lambda_min!r}")
    if not (np.isfinite(dense.lambda_min_error) and dense.lambda_min_error >= 0
            and np.isfinite(lanczos.lambda_min_error) and lanczos.lambda_min_error >= 0):
        out.append("stated errors must be finite and >= 0")
    return out


@pytest.mark.parametrize("dim", [50, 300])
@settings(max_examples=6, deadline=None)
@given(seed=SEEDS)
def test_eigvalsh_and_lanczos_agree_to_stated_error(dim, seed):
    rng = np.random.default_rng(seed)
    land = random_cosine(dim, rng)
    w = random_point(land, rng)
    dense = certify(land, w, method="eigvalsh")
    lanczos = certify(land, w, method="lanczos")
    assert (dense.method, lanczos.method) == ("eigvalsh", "lanczos")
    assert disagreement(dense, lanczos, land.L) == []
    # both against the exact spectrum: the Hessian is Q diag(h) Qᵀ
    exact = float(land.hess_diag(w).min())
    margin = MARGIN * (1 + land.L)
    assert abs(dense.lambda_min - exact) <= dense.lambda_min_error + margin
    assert abs(lanczos.lambda_min - exact) <= lanczos.lambda_min_error + margin
    # the stated dense error is d·eps·‖H‖ (not vacuous: far below the spectral gap scale)
    assert dense.lambda_min_error == pytest.approx(
        dim * np.finfo(float).eps * np.abs(land.hess_diag(w)).max(), rel=1e-9)
    assert dense.grad_norm == lanczos.grad_norm == np.linalg.norm(land.grad(w))


@pytest.mark.parametrize("dim", [50, 300])
def test_lanczos_at_the_saddle(dim):
    land = random_cosine(dim, np.random.default_rng(dim))
    cert = certify(land, np.zeros(dim), method="lanczos")
    assert cert.grad_norm == 0.0
    assert abs(cert.lambda_min - land.saddle().lambda_min) <= (cert.lambda_min_error
                                                               + MARGIN * (1 + land.L))


class _SkewedHvp(CosineSaddle):
    """A broken landscape: hvp is (1 + 1e-6)·∇²F v, hess is exact."""

    def hvp(self, w, v):
        return (1 + 1e-6) * super().hvp(w, v)


def test_agreement_check_catches_a_wrong_hvp():
    rng = np.random.default_rng(7)
    good = random_cosine(50, rng)
    bad = _SkewedHvp(good.a, good.gamma, good.s, good.rotation)
    w = np.zeros(50)  # λ_min = −γ_max, so the skew moves it by ~1e-6
    assert disagreement(certify(good, w, "eigvalsh"), certify(good, w, "lanczos"), good.L) == []
    found = disagreement(certify(bad, w, "eigvalsh"), certify(bad, w, "lanczos"), bad.L)
    assert found and "exceeds the stated errors" in found[0]


@settings(max_examples=30, deadline=None)
@given(seed=SEEDS, dim=st.integers(2, 12),
       family=st.sampled_from(["cosine", "random_phase", "phase_retrieval"]))
def test_grad_norm_is_the_norm_of_the_gradient(seed, dim, family):
    rng = np.random.default_rng(seed)
    if family == "cosine":
        land = random_cosine(dim, rng)
    elif family == "random_phase":
        land = RandomPhaseCosine.random(dim, 10 ** rng.uniform(-3, 0), rng)
    else:
        land = PhaseRetrieval.random(dim, rng)
    w = rng.standard_normal(dim)
    w_copy = w.copy()
    cert = certify(land, w)
    assert cert.method == "eigvalsh"
    assert cert.grad_norm == float(np.linalg.norm(land.grad(w)))
    assert cert.lambda_min == float(np.linalg.eigvalsh(land.hess(w))[0])
    assert np.array_equal(w, w_copy)  # the point is not modified


def test_auto_dispatches_by_dimension(monkeypatch):
    land = random_cosine(50, np.random.default_rng(3))
    w = np.full(50, 0.1)
    assert certify(land, w).method == "eigvalsh"
    monkeypatch.setattr(certify_module, "DENSE_MAX_DIM", 49)
    assert certify(land, w).method == "lanczos"


@pytest.mark.parametrize("method", ["EIGVALSH", "lanczoss", "", "dense", None])
def test_bad_method_raises_value_error(method):
    land = CosineSaddle([1.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="method"):
        certify(land, np.zeros(2), method=method)


def test_a_nonfinite_point_gets_the_worst_certificate_not_an_error():
    from byzpgd.oracles.landscapes import CosineSaddle
    from byzpgd.theory.certify import NONFINITE, certify

    land = CosineSaddle.random(3, np.random.default_rng(0))
    for w in (np.array([np.nan, 0.0, 0.0]), np.array([np.inf, 1.0, 0.0]), np.full(3, 1e308)):
        cert = certify(land, w)
        assert cert == NONFINITE, w
