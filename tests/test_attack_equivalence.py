"""The fast paths of the end-to-end attack pipeline equal their straightforward formulations to
the bit (issue 24: the end-to-end claims must give identical results after the speed-up).

- :class:`RealiseTarget` (which lays the honest rows out once per call and writes b into the
  Byzantine rows of a copy, :class:`byzpgd.oracles.attacks._Rows`) against the loop written as
  the module docstring states it (``reference_realise``: ``broadcast_to`` rows,
  ``AttackContext.rows`` and ``np.linalg.norm`` at every iteration), on seeded inputs: several
  aggregators (one that sorts its input in place, one that is not permutation-invariant),
  placements, shapes, reachable and unreachable targets;
- :func:`norm2` against ``float(np.linalg.norm(v))`` (finite, huge, tiny, non-finite vectors);
- :func:`_byz` against ``np.broadcast_to(vec, (f, vec.size)).copy()``;
- :class:`ByzantineOracle`'s recorded error against ‖ĝ(w) − ∇F(w)‖ recomputed, also when an
  attack changes the true gradient its context holds.

Each equivalence is shown able to fail: a plausible wrong speed-up (a layout cached across calls,
one input buffer reused across iterations, the placement ignored, ``math.hypot`` for the norm,
the error measured against the context's true gradient) is caught on the same inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from byzpgd.algorithms.aggregators import make
from byzpgd.oracles import attacks
from byzpgd.oracles.attacks import AttackContext, RealiseTarget, SaddleTrapTarget, _byz, norm2
from byzpgd.oracles.pipeline import ByzantineOracle, Placement
from byzpgd.oracles.statistical import PhaseRetrievalModel
from byzpgd.oracles.workers import WorkerPool


def reference_realise(target, iters: int, honest, w, ctx: AttackContext) -> tuple[np.ndarray, float]:
    """RealiseTarget as its docstring states it: b starts at ĝ = target(w), b ← b + κ(ĝ − agg(X(b)))
    with κ = m/f, the best iterate kept; stop on a non-finite miss or a miss <= 1e-12(1 + ‖ĝ‖)."""
    goal = np.asarray(target(w), dtype=np.float64)
    if ctx.f == 0:
        return np.empty((0, honest.shape[1])), np.nan
    kappa = ctx.m / ctx.f
    b = goal.copy()
    best_b, best_miss = b, np.inf
    for _ in range(iters):
        out = ctx.aggregate(ctx.rows(np.broadcast_to(b, (ctx.f, b.size)).copy(), honest))
        r = goal - out
        miss = float(np.linalg.norm(r))
        if miss < best_miss:
            best_b, best_miss = b, miss
        if not np.isfinite(miss) or miss <= 1e-12 * (1 + np.linalg.norm(goal)):
            break
        b = b + kappa * r
    return np.broadcast_to(best_b, (ctx.f, best_b.size)).copy(), best_miss


def _sorting_median(X):
    """A coordinate median that sorts its input in place (an aggregator may change its input)."""
    X.sort(axis=0)
    return X[X.shape[0] // 2].copy()


def _positional(X):
    """Not permutation-invariant: the mean of the first three rows plus the coordinate median."""
    return 0.5 * X[:3].mean(axis=0) + np.median(X, axis=0)


AGGREGATORS = {
    "median": lambda m, f: make("median", m, f),
    "trimmed_mean": lambda m, f: make("trimmed_mean", m, f),
    "iterative_filtering": lambda m, f: make("iterative_filtering", m, f),
    "mean": lambda m, f: (lambda X: X.mean(axis=0)),
    "sorting_median": lambda m, f: _sorting_median,
    "positional": lambda m, f: _positional,
}
SHAPES = ((21, 2, 3), (20, 4, 5), (11, 1, 2))        # (m, f, d): κ = m/f is not an integer in two
PLACEMENTS = ("first", "last", "interleaved", "random")


class _Target:
    """ĝ(w) = ∇F(w) + shift, ∇F(w) = w − μ (a reachable target for the mean when shift is small)."""

    def __init__(self, mu, shift):
        self.mu, self.shift = mu, shift

    def __call__(self, w):
        return w - self.mu + self.shift


def _cases(seed: int = 0):
    """Seeded (name, target, iters, [(honest, w, ctx), ...]): two query points per case, with
    different honest rows (a call must not reuse the layout of another)."""
    rng = np.random.default_rng(seed)
    for name, factory in AGGREGATORS.items():
        for m, f, d in SHAPES:
            for placement in PLACEMENTS:
                for scale in (1e-3, 1.0):
                    mu = rng.standard_normal(d)
                    target = _Target(mu, scale * rng.standard_normal(d))
                    calls = []
                    for _ in range(2):
                        w = rng.standard_normal(d)
                        honest = w - mu + 0.1 * rng.standard_normal((m - f, d))
                        pos = None if placement == "first" else Placement(placement).positions(m, f, rng)
                        calls.append((honest, w, AttackContext(f=f, m=m, aggregate=factory(m, f),
                                                               positions=pos)))
                    yield f"{name}-m{m}-f{f}-d{d}-{placement}-{scale}", target, 12, calls


def mismatches(attack_cls=RealiseTarget) -> list[str]:
    """The cases where ``attack_cls(target, iters)`` differs from :func:`reference_realise` in a
    bit of its rows or of its recorded miss."""
    bad = []
    for name, target, iters, calls in _cases():
        attack = attack_cls(target, iters=iters)
        for k, (honest, w, ctx) in enumerate(calls):
            want_rows, want_miss = reference_realise(target, iters, honest.copy(), w, ctx)
            got = np.asarray(attack(honest.copy(), w, ctx))
            if (got.shape != want_rows.shape or got.tobytes() != want_rows.tobytes()
                    or np.float64(attack.last_miss).tobytes() != np.float64(want_miss).tobytes()):
                bad.append(f"{name} call {k}")
    return bad


def test_the_cases_reach_both_exits_of_the_loop():
    """The inputs exercise the tolerance exit (a reachable target) and the full iteration count."""
    exits = set()
    for _, target, iters, calls in _cases():
        for honest, w, ctx in calls:
            _, miss = reference_realise(target, iters, honest.copy(), w, ctx)
            goal = target(w)
            exits.add("tolerance" if miss <= 1e-12 * (1 + np.linalg.norm(goal)) else "iterations")
    assert exits == {"tolerance", "iterations"}


def test_realise_target_equals_the_reference_to_the_bit():
    assert mismatches() == []


def test_realise_target_f_zero_and_no_iterations():
    honest = np.random.default_rng(1).standard_normal((5, 3))
    ctx = AttackContext(f=0, m=5, aggregate=lambda X: X.mean(axis=0))
    att = RealiseTarget(lambda w: w, iters=5)
    assert att(honest, np.zeros(3), ctx).shape == (0, 3) and math.isnan(att.last_miss)
    ctx = AttackContext(f=2, m=7, aggregate=lambda X: X.mean(axis=0))
    att = RealiseTarget(lambda w: w + 1.0, iters=0)
    rows = att(np.zeros((5, 3)), np.arange(3.0), ctx)
    want, _ = reference_realise(att.target, 0, np.zeros((5, 3)), np.arange(3.0), ctx)
    assert rows.tobytes() == want.tobytes()
    assert att.last_miss == np.inf


def test_a_wrong_shape_from_the_aggregator_fails_as_the_reference_does():
    ctx = AttackContext(f=2, m=6, aggregate=lambda X: X[2:4])      # (2, d), not (d,)
    honest = np.zeros((4, 3))
    with pytest.raises(ValueError):
        reference_realise(lambda w: w, 5, honest, np.ones(3), ctx)
    with pytest.raises(ValueError):
        RealiseTarget(lambda w: w, iters=5)(honest, np.ones(3), ctx)


class _LayoutCachedPerShape(attacks._Rows):
    """Wrong: the layout 'depends only on the instance', so it is built once per (m, f, shape)."""

    cache: dict = {}

    def __init__(self, honest, ctx):
        key = (ctx.m, ctx.f, np.shape(honest))
        if key not in self.cache:
            super().__init__(honest, ctx)
            self.cache[key] = self.layout
        else:
            super().__init__(honest, ctx)
            self.layout = self.cache[key]


class _OneBuffer(attacks._Rows):
    """Wrong: one input array for every iteration of a call (no copy)."""

    def __call__(self, b):
        self.layout[self.index] = b
        return self.layout


class _FirstRows(attacks._Rows):
    """Wrong: the Byzantine rows written at the first f rows whatever the placement."""

    def __call__(self, b):
        X = self.layout.copy()
        X[: self.f] = b
        return X


@pytest.mark.parametrize("wrong", [_LayoutCachedPerShape, _OneBuffer, _FirstRows],
                         ids=lambda c: c.__name__)
def test_a_wrong_row_layout_is_caught(monkeypatch, wrong):
    wrong.cache = {}
    monkeypatch.setattr(attacks, "_Rows", wrong)
    assert mismatches() != []


def _vectors():
    rng = np.random.default_rng(2)
    out = [rng.standard_normal(d) * s for d in (1, 2, 3, 7, 64) for s in (1e-300, 1e-8, 1.0, 1e8, 1e200)]
    out += [np.array([np.nan, 1.0]), np.array([np.inf, 1.0]), np.array([-np.inf, np.nan]), np.zeros(3),
            np.array([5e-324, -5e-324]), np.array([1e308, 1e308])]
    return out


def _same_float(a: float, b: float) -> bool:
    return np.float64(a).tobytes() == np.float64(b).tobytes() or (math.isnan(a) and math.isnan(b))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_norm2_is_numpy_norm_to_the_bit():
    vecs = _vectors()
    assert all(_same_float(norm2(v), float(np.linalg.norm(v))) for v in vecs)
    others = [np.arange(6.0).reshape(2, 3), np.arange(3, dtype=np.float32), np.arange(3), [3.0, 4.0]]
    assert all(_same_float(norm2(v), float(np.linalg.norm(v))) for v in others)
    assert all(type(norm2(v)) is float for v in vecs + others)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_norm_by_hypot_is_caught():
    """math.hypot scales and does not overflow where ‖v‖² does: not NumPy's answer."""
    assert not all(_same_float(math.hypot(*v), float(np.linalg.norm(v))) for v in _vectors())


def test_byz_is_broadcast_to_copy():
    rng = np.random.default_rng(3)
    for vec in (rng.standard_normal(4), rng.standard_normal((1, 4)), np.arange(3, dtype=np.float32),
                np.float64(2.5), rng.standard_normal(0)):
        for f in (0, 1, 3):
            want = np.broadcast_to(vec, (f, np.size(vec))).copy()
            got = _byz(vec, f)
            assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()
            got[...] = 0.0            # a copy: writing it leaves vec alone
    with pytest.raises(ValueError):
        _byz(np.zeros((2, 3)), 2)


class _GradientThief:
    """An attack that changes the true gradient its context holds (in place) and sends it."""

    name, adaptive = "thief", False

    def __call__(self, honest, w, ctx):
        ctx.true_grad += 1.0
        return np.broadcast_to(ctx.true_grad, (ctx.f, honest.shape[1])).copy()

    def notify(self, event, **data):
        pass


def _pipeline(attack, seed=4):
    rng = np.random.default_rng([seed, 1])
    w_star = rng.standard_normal(3)
    w_star *= 0.1 / np.linalg.norm(w_star)
    model = PhaseRetrievalModel(w_star, 0.15)
    pool = WorkerPool(model, 20, 200, rng, f=2)
    agg = make("trimmed_mean", 20, 2)
    if attack == "trap":
        saddle = model.saddle_point()
        attack = RealiseTarget(SaddleTrapTarget(model, 1e-3, saddle=saddle), iters=10)
    return model, pool, agg, ByzantineOracle(pool, attack, agg, np.random.default_rng([seed, 4]))


@pytest.mark.parametrize("attack", ["trap", "thief"])
def test_the_recorded_error_is_the_error_recomputed(attack):
    """oracle(w) and oracle.error(w) record ‖ĝ(w) − ∇F(w)‖ as float(np.linalg.norm(...)) of the
    answer and the landscape's gradient, computed afresh, even when the attack changed its
    context's true gradient."""
    model, pool, agg, oracle = _pipeline(_GradientThief() if attack == "thief" else attack)
    pts = np.random.default_rng(5).uniform(-0.1, 0.1, size=(6, 3))
    visited_max = 0.0
    for w in pts:
        g = oracle(w)
        want = float(np.linalg.norm(g - model.grad(w)))
        visited_max = max(visited_max, want)
        assert _same_float(oracle.visited_max, visited_max)
        assert _same_float(oracle.error(w), want)
    assert oracle.calls == len(pts)
    assert _same_float(oracle.max_query_norm, max(float(np.linalg.norm(w)) for w in pts))


def test_an_error_against_the_contexts_gradient_is_caught(monkeypatch):
    """Wrong: measuring the error against the true gradient the attack's context held (no copy)."""
    def answer_without_copy(self, w):
        honest = self.pool.honest_gradients(w)
        true_grad = self.landscape.grad(w)
        ctx = AttackContext(f=self.pool.f, m=self.pool.m, aggregate=self.aggregate, true_grad=true_grad,
                            rng=self.rng)
        byz = np.asarray(self.attack(honest, w, ctx), dtype=np.float64)
        return np.asarray(self.aggregate(attacks.arrange(byz, honest)), dtype=np.float64), true_grad

    monkeypatch.setattr(ByzantineOracle, "_answer", answer_without_copy)
    model, _, _, oracle = _pipeline(_GradientThief())
    w = np.array([0.05, -0.02, 0.03])
    assert not _same_float(oracle.error(w), float(np.linalg.norm(oracle.gradient(w) - model.grad(w))))
