"""A trial's arithmetic does not depend on the batch it runs in (issue 24, "determinism
independent of batching"): through the engine (algorithms/engine.py) with the batched landscape
and adversaries (oracles/batched.py), a trial run alone (a batch of one, padded to its own
dimension) and the same trial inside a mixed batch (other dimensions, other adversaries, other
search settings) end with the same status, the same oracle calls, rounds and escapes, and the
same final point bit for bit. What makes it hold: one row-times-matrix kernel
(``oracles.products.row_products``: each row summed in one order, whatever the other rows and
the zero padding), each trial's draws from its own generator in its own order, and the search
adversary's per-row masks. Able to fail: the former ``per_trial_product``, which switched between
a gathered einsum and per-trial BLAS products by the batch's rows per trial, is put back and a
trial's final point changes with the batch. Past 8 coordinates: trials of 5–7 coordinates padded
to 12 get every oracle answer to the bit of their run alone (row norms and sums of a defined
order, byzpgd/geometry.py); with numpy's einsum norms put back their answers change."""

import numpy as np
import pytest

from byzpgd import geometry
from byzpgd.algorithms import PGDParams
from byzpgd.algorithms.engine import batched_perturbed_gd
from byzpgd.oracles import products, stacking
from byzpgd.oracles.adversaries import make_adversary
from byzpgd.oracles.batched import BatchedCertifiedOracle, batch_adversaries, batch_landscapes, kind_order
from byzpgd.oracles.landscapes import CosineSaddle
from byzpgd.oracles.products import indexed_row_products, row_products

PARAMS = PGDParams(eta=0.5, epsilon=2e-3, r=2e-3, Q=20, R=0.05, T_th=40)
"""Q = 20 rounds: a trial's round batch has more rows than a single query (the old kernel
switched at 8 rows per trial)."""

SEARCH = [(4, 0, 0), (12, 2, 1), (6, 1, 2), (9, 0, 1), (5, 2, 0)]
"""(candidates, lookahead, refine) of the search trials: every setting differs."""


def _trials():
    """(landscape, adversary description, Δ, start) of the trials: search adversaries with
    several settings, the trap, and two other kinds to mix; dimensions 2 to 5, one or two
    negative directions (all below 8 coordinates, where numpy's row sums are sequential)."""
    descs = ([{"name": "search", "candidates": K, "lookahead": h, "refine": r} for K, h, r in SEARCH]
             + [{"name": "trap", "kappa": 1.7}, {"name": "trap", "kappa": 2.4},
                {"name": "random_direction"}, {"name": "shrink", "fraction": 0.6}])
    dims = [3, 5, 2, 4, 5, 4, 3, 5, 2]
    out = []
    for k, (desc, d) in enumerate(zip(descs, dims, strict=True)):
        land = CosineSaddle.random(d, np.random.default_rng(500 + k), n_neg=1 + k % 2 if d > 2 else 1)
        scale = (1e-3, 0.3, 0.05)[k % 3]              # near the saddle or descending first
        start = land.saddle().point + scale * np.random.default_rng(600 + k).standard_normal(d)
        out.append((land, {**desc, "seed": 700 + k}, 5e-4 * (1 + k % 3), start))
    return out


def _run(trials):
    """The engine's results for ``trials`` as one batch (fresh adversaries and generators)."""
    lands = [t[0] for t in trials]
    bl = batch_landscapes(lands)
    advs = [make_adversary(desc, land, delta) for land, desc, delta, _ in trials]
    cert = BatchedCertifiedOracle(batch_adversaries(advs, bl))
    return batched_perturbed_gd(cert, bl.pad([t[3] for t in trials]), [PARAMS] * len(trials),
                                [np.random.default_rng(900 + t[1]["seed"]) for t in trials],
                                max_oracle_calls=4000, dims=bl.dims)


def _outcome(r, d):
    return (r.status, r.grad_oracle_calls, r.gd_steps, r.escape_rounds, r.escapes, r.w[:d].tobytes())


def _alone(trials):
    """Each trial's outcome run alone: a batch of one, padded to its own dimension only."""
    return [_outcome(_run([t])[0], t[0].dim) for t in trials]


def _differing(trials, alone, order):
    """The trials of ``order`` whose outcome in one batch (in that order) differs from ``alone``."""
    batch = _run([trials[i] for i in order])
    return [i for j, i in enumerate(order) if _outcome(batch[j], trials[i][0].dim) != alone[i]]


@pytest.fixture(params=["compiled", "numpy"])
def kernel_path(request, monkeypatch):
    """Both paths of ``indexed_row_products`` and of the row reductions (byzpgd/geometry.py):
    numba's loops (when installed) and numpy's."""
    if request.param == "numpy":
        monkeypatch.setattr(products, "_indexed_compiled", lambda: None)
        monkeypatch.setattr(geometry, "_compiled_rows", lambda: None)
    elif products._indexed_compiled() is None or geometry._compiled_rows() is None:
        pytest.skip("numba is not installed (byzpgd[fast]) or BYZPGD_NO_NUMBA is set")
    return request.param


def test_a_trial_gives_the_same_outcome_alone_and_in_any_batch(kernel_path):
    trials = _trials()
    assert len({t[0].dim for t in trials}) == 4 and {t[0].n_neg for t in trials} == {1, 2}
    results = _run(trials)
    assert {r.status for r in results} == {"converged"}
    assert sum(r.escapes for r in results) > 0         # round batches ran (rows per trial vary)
    alone, order = _alone(trials), list(range(len(trials)))
    assert _differing(trials, alone, order) == []
    assert _differing(trials, alone, order[::-1]) == []       # another order
    assert _differing(trials, alone, [0, 5, 1, 6]) == []      # another composition: search and trap
    interleaved = [0, 5, 7, 1, 6, 8, 2, 3, 4]                  # kinds not contiguous: rows gathered
    assert _differing(trials, alone, interleaved) == []


def test_kind_order_makes_each_kinds_trials_contiguous_and_keeps_their_order():
    """The batch order of the experiments (each adversary kind's trials, hence rows, one slice)."""
    trials = _trials()
    advs = [make_adversary(desc, land, delta) for land, desc, delta, _ in trials]
    interleaved = [0, 5, 7, 1, 6, 8, 2, 3, 4]
    order = kind_order([advs[i] for i in interleaved])
    names = [advs[interleaved[k]].name for k in order]
    runs = [n for j, n in enumerate(names) if j == 0 or n != names[j - 1]]
    assert sorted(runs) == sorted(set(names))                  # each kind one run
    search = [interleaved[k] for k in order if advs[interleaved[k]].name == "search"]
    assert search == [0, 1, 2, 3, 4]                           # stable within a kind


def _old_per_trial_product(X, idx, mats):
    """The former kernel, put back as the wrong variant: one gathered einsum when the call has
    fewer than 8 rows per trial, one BLAS product per trial otherwise (``mats`` stored as the
    product's matrices, so the transpose flag of that version is not needed here)."""
    trials, starts, stops = stacking.segments(idx)
    if idx.size < 8 * trials.size:
        return np.einsum("nd,nde->ne", X, stacking.take_rows(mats, idx))
    out = np.empty((X.shape[0], mats.shape[2]))
    for b, s0, s1 in zip(trials.tolist(), starts.tolist(), stops.tolist(), strict=True):
        out[s0:s1] = X[s0:s1] @ mats[b]
    return out


def test_the_compiled_and_numpy_row_products_are_the_same_bits():
    """Row i times mats[idx[i]] by numba's loop and by numpy's gather and einsum. Able to fail:
    the loop with the sum in another order (k from d−1 down), which is the same product up to
    rounding, is caught."""
    if products._indexed_compiled() is None:
        pytest.skip("numba is not installed (byzpgd[fast]) or BYZPGD_NO_NUMBA is set")
    rng = np.random.default_rng(4)
    for d, e in ((1, 1), (2, 2), (5, 1), (6, 6), (9, 4), (20, 20)):
        mats, X = rng.standard_normal((7, d, e)), rng.standard_normal((300, d))
        idx = np.sort(rng.integers(0, 7, 300))
        fast = indexed_row_products(X, mats, idx, compiled=True)
        assert np.array_equal(fast, indexed_row_products(X, mats, idx, compiled=False))
        if d >= 5:
            reversed_sum = indexed_row_products(X[:, ::-1], mats[:, ::-1, :], idx, compiled=False)
            np.testing.assert_allclose(reversed_sum, fast, rtol=1e-12, atol=1e-12)
            assert not np.array_equal(reversed_sum, fast)


def test_the_former_switching_kernel_makes_outcomes_depend_on_the_batch(monkeypatch):
    rng = np.random.default_rng(1)
    X, M = rng.standard_normal((12, 5)), rng.standard_normal((5, 5))
    if np.array_equal(X @ M, row_products(X, M)):
        pytest.skip("this BLAS rounds as the one kernel does: the old switching changed nothing here")
    # every per-trial product (landscapes and adversaries' stacks) goes through this one name
    monkeypatch.setattr(stacking, "indexed_row_products",
                        lambda X, mats, idx: _old_per_trial_product(X, idx, mats))
    trials = _trials()
    differ = _differing(trials, _alone(trials), list(range(len(trials))))
    assert {trials[i][1]["name"] for i in differ} >= {"search", "trap"}


def _rows_alone_equal_rows_together(kernel, X, M) -> bool:
    """Row i of ``kernel(X, M)`` has the bits of ``kernel`` applied to row i alone."""
    alone = np.vstack([kernel(X[i:i + 1], M if M.ndim == 2 else M[i:i + 1]) for i in range(X.shape[0])])
    return np.array_equal(alone, kernel(X, M))


def test_row_products_depend_on_neither_the_other_rows_nor_zero_padding():
    """The kernel alone: rows computed one by one or together, or padded with zero coordinates
    (and zero columns: a 1-column product is the first column of a 2-column one), are the same
    bits. Able to fail: a BLAS product (gemv for one row, gemm for several) is caught by the
    same check on this machine's BLAS."""
    rng = np.random.default_rng(2)
    for d, e in ((2, 2), (5, 1), (5, 3), (6, 6), (7, 2)):
        X, M = rng.standard_normal((20, d)), rng.standard_normal((20, d, e))
        full = row_products(X, M)
        assert _rows_alone_equal_rows_together(row_products, X, M)
        assert _rows_alone_equal_rows_together(row_products, X, M[0])
        pad = np.zeros((20, 8))
        pad[:, :d] = X
        Mp = np.zeros((20, 8, max(e, 2)))
        Mp[:, :d, :e] = M
        assert np.array_equal(row_products(pad, Mp)[:, :e], full)
        shared = np.broadcast_to(M[0], M.shape).copy()     # one matrix for every row, or gathered
        assert np.array_equal(row_products(X, M[0]), row_products(X, shared))
    X, M = rng.standard_normal((12, 5)), rng.standard_normal((5, 5))
    if _rows_alone_equal_rows_together(np.matmul, X, M):
        pytest.skip("this BLAS gives a row alone the bits it has among several rows")
    assert not _rows_alone_equal_rows_together(np.matmul, X, M)


def test_the_landscape_rows_and_value_changes_do_not_depend_on_the_batch():
    """∇F, F and the monitor's F(w₁) − F(w₀) of a row are the same bits whether its trial is
    alone (its own dimension) or batched with others (padded to theirs)."""
    trials = _trials()
    lands = [t[0] for t in trials]
    bl = batch_landscapes(lands)
    rng = np.random.default_rng(3)
    counts = [1, 10, 3, 1, 12, 2, 1, 10, 4]
    idx = np.repeat(np.arange(len(lands)), counts)
    W0, W1 = np.zeros((idx.size, bl.dim)), np.zeros((idx.size, bl.dim))
    for i, b in enumerate(idx):
        W0[i, :lands[b].dim] = 0.1 * rng.standard_normal(lands[b].dim)
        W1[i, :lands[b].dim] = W0[i, :lands[b].dim] + 1e-3 * rng.standard_normal(lands[b].dim)
    G, F = bl.grad(W1, idx), bl.value(W1, idx)
    change, scale = bl.value_changes(W0, W1, idx)
    for b, land in enumerate(lands):
        rows, d = np.flatnonzero(idx == b), land.dim
        one = batch_landscapes([land])
        z = np.zeros(rows.size, dtype=np.int64)
        assert np.array_equal(one.grad(W1[rows, :d], z), G[rows, :d])
        assert np.array_equal(one.value(W1[rows, :d], z), F[rows])
        c1, s1 = one.value_changes(W0[rows, :d], W1[rows, :d], z)
        assert np.array_equal(c1, change[rows]) and np.array_equal(s1, scale[rows])


def _wide_trials():
    """Trials of 5 to 7 coordinates (where numpy's einsum changed its order once padded to 8 or
    more, on this kind of CPU) beside one of 12 coordinates: the batch pads them to 12."""
    descs = [{"name": "search", "candidates": 6, "lookahead": 1, "refine": 1},
             {"name": "shrink", "fraction": 0.6}, {"name": "random_direction"},
             {"name": "trap", "kappa": 2.0}, {"name": "uniform_ball"},
             {"name": "search", "candidates": 9, "lookahead": 2, "refine": 0}]
    dims = [5, 6, 7, 6, 5, 12]
    out = []
    for k, (desc, d) in enumerate(zip(descs, dims, strict=True)):
        land = CosineSaddle.random(d, np.random.default_rng(800 + k), n_neg=1 + k % 2)
        start = land.saddle().point + (1e-3, 0.05)[k % 2] * np.random.default_rng(850 + k).standard_normal(d)
        out.append((land, {**desc, "seed": 760 + k}, 5e-4 * (1 + k % 3), start))
    return out


def _answers(trials, order):
    """Every answer ĝ each trial of ``order`` got, in order, as bytes (its own coordinates), when
    they run as one batch: finer than the outcome (a round that does not escape leaves no trace
    in it)."""
    got = {b: [] for b in range(len(order))}
    real = BatchedCertifiedOracle.query

    def query(self, W, idx, single):
        g, ended = real(self, W, idx, single)
        for j, b in enumerate(idx.tolist()):
            got[b].append(g[j, :trials[order[b]][0].dim].tobytes())
        return g, ended

    BatchedCertifiedOracle.query = query
    try:
        _run([trials[i] for i in order])
    finally:
        BatchedCertifiedOracle.query = real
    return {order[b]: b"".join(v) for b, v in got.items()}


def _answers_differ(trials, order):
    alone = {i: _answers(trials, [i])[i] for i in order}
    batch = _answers(trials, order)
    return [i for i in order if batch[i] != alone[i]]


def test_a_trial_padded_past_8_coordinates_gives_the_same_outcome_as_alone(kernel_path):
    trials = _wide_trials()
    alone = _alone(trials)
    assert _differing(trials, alone, list(range(len(trials)))) == []
    assert _differing(trials, alone, [5, 0, 3, 1]) == []
    assert _answers_differ(trials, list(range(len(trials)))) == []     # every answer, to the bit


def test_the_einsum_norms_made_a_padded_trial_depend_on_the_batch(monkeypatch):
    """Able to fail: numpy's einsum norms (the engine's and the adversaries' before) put back."""
    from byzpgd.algorithms import engine
    from byzpgd.oracles.adversaries import base

    def einsum_norms(x):
        return np.sqrt(np.einsum("...i,...i->...", x, x))

    X = np.random.default_rng(0).standard_normal((200, 5))
    P = np.hstack([X, np.zeros((200, 7))])
    if np.array_equal(einsum_norms(X), einsum_norms(P)):
        pytest.skip("this CPU's einsum sums 5 and 12 columns in one order: nothing to show here")
    monkeypatch.setattr(engine, "_row_norms", einsum_norms)
    monkeypatch.setattr(base, "norms", einsum_norms)
    trials = _wide_trials()
    assert _answers_differ(trials, list(range(len(trials)))) != []


def test_numba_and_numpy_run_a_batch_to_the_same_bits(monkeypatch):
    """Every oracle answer of a mixed, padded batch is the same with the compiled kernels (the
    per-trial products, the row reductions) and with numpy alone: a claim's records do not
    depend on whether the ``fast`` extra is installed."""
    if products._indexed_compiled() is None or geometry._compiled_rows() is None:
        pytest.skip("numba is not installed (byzpgd[fast]) or BYZPGD_NO_NUMBA is set")
    trials = _wide_trials() + _trials()
    order = list(range(len(trials)))
    fast = _answers(trials, order)
    assert all(len(v) > 1000 for v in fast.values())          # every trial answered many rows
    monkeypatch.setattr(products, "_indexed_compiled", lambda: None)
    monkeypatch.setattr(geometry, "_compiled_rows", lambda: None)
    assert _answers(trials, order) == fast
