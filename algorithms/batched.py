"""B independent runs of the shared loop of :mod:`.perturbed_gd` (docs/paper.md §3) as one
vectorised computation: a leading batch dimension, one row per query, masks for finished runs.

Trial b is the run ``perturbed_gd(oracle_b, w0[b], params[b], rngs[b], ...)`` would make, with
the same rule for when the Q perturbation rounds run as one (Q, d) batch (``batch_rounds``: when
``calls + Q·T_th <= max_oracle_calls``, as for a batchable oracle) or one after another, the same
random draws from trial b's own generator (``uniform_ball(rng, d, r, size=Q)`` per candidate, or
``uniform_ball(rng, d, r)`` per sequential round), the same counts of oracle calls, rounds and
escapes, and the same statuses ('converged', 'max_oracle_calls', 'max_seconds', 'nonfinite', or
one the oracle ends a run with). The results agree with one-at-a-time runs up to rounding
(reductions over a row may be summed in another order than in a 1-D product);
tests/test_batched.py compares them.

Per engine step every unfinished trial contributes its query rows: one row in the gradient
phase or a sequential round, its active rounds in a batched round phase. The oracle answers all
rows at once (:class:`BatchedOracle`); the bookkeeping of the loop (step or candidate, escape
tests, the end of the rounds and their call counts) is done with array operations over trials;
only the rare events (a new candidate's perturbation draws) loop over trials.

Wall-clock budget: each engine step's time is charged to the trials that took part in it in
equal shares; a trial whose share reaches ``max_seconds`` stops with 'max_seconds' (looked at,
as in the loop, before a single query when its call count is a multiple of 256).
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from byzpgd.geometry import uniform_ball

from .perturbed_gd import DEFAULT_MAX_ORACLE_CALLS, PGDParams
from .result import OptimizeResult

GD, ROUNDS, ROUND, DONE = 0, 1, 2, 3
ERROR_PREFIX = "error: "
"""An oracle ends a trial with status ``ERROR_PREFIX + message`` when the one-at-a-time run
would have raised (e.g. a certified oracle's OracleBudgetExceeded): the result's status is
'error' and the message is in :attr:`BatchResult.errors`."""


class BatchedOracle(Protocol):
    """The answers to the rows of B trials at once.

    - ``query(W, idx, single) -> (G, ended)``: ``W`` (N, d) query points, ``idx`` (N,) the
      trial of each row (rows grouped by trial, in trial order and, within a trial, in the
      order of its rounds), ``single`` (N,) True where the one-at-a-time run would make a 1-D
      query (gradient phase, sequential round) and False for rows of a (Q, d) round batch.
      Returns ``G`` (N, d) and ``ended``: {trial: status} for the trials this call ends (their
      rows of G are ignored); the status is what a ``StopRun`` would carry, or
      ``ERROR_PREFIX + message`` for what would have raised.
    - ``perturbation(trials)``: the loop's 'perturbation' event of a sequential round.
    - ``escape_round(b, k)`` (optional): trial b's round batch ended with row k escaping (the
      loop's 'escape_round' event); its next query is the escaped point.
    """

    def query(self, W: np.ndarray, idx: np.ndarray, single: np.ndarray) -> tuple[np.ndarray, dict]: ...

    def perturbation(self, trials) -> None: ...


def _distinct(sorted_idx):
    """The distinct values of a sorted index array (np.unique without its sort)."""
    if sorted_idx.size == 0:
        return sorted_idx
    keep = np.empty(sorted_idx.size, dtype=bool)
    keep[0] = True
    np.not_equal(sorted_idx[1:], sorted_idx[:-1], out=keep[1:])
    return sorted_idx[keep]


class BatchResult(list):
    """The list of :class:`OptimizeResult` (one per trial, in order), with ``errors``:
    {trial: message} for trials ended with status 'error'."""

    errors: dict


def batched_perturbed_gd(oracle: BatchedOracle, W0, params: list[PGDParams],
                         rngs: list[np.random.Generator], *, escape_reference: str = "candidate",
                         escape_test: str = "every_step", max_oracle_calls=DEFAULT_MAX_ORACLE_CALLS,
                         max_seconds: float | None = None, dims=None, progress=None) -> BatchResult:
    """Run B trials (module docstring). ``W0`` (B, d); ``params`` and ``rngs`` one per trial;
    ``max_oracle_calls`` an int or one per trial. ``dims`` (B,): trial b lives in the first
    dims[b] coordinates (its perturbations are drawn in R^dims[b], the other coordinates stay
    0; the oracle must answer 0 there), so instances of several dimensions share one batch;
    default d for every trial. Results have w of length dims[b]. ``progress(done)`` is called
    with the number of finished trials whenever it grows."""
    if escape_reference not in ("candidate", "perturbed"):
        raise ValueError(f"escape_reference must be 'candidate' or 'perturbed', got {escape_reference!r}")
    if escape_test not in ("every_step", "final"):
        raise ValueError(f"escape_test must be 'every_step' or 'final', got {escape_test!r}")
    W0 = np.array(W0, dtype=np.float64)
    if W0.ndim != 2 or not np.all(np.isfinite(W0)):
        raise ValueError(f"W0 must be a finite (B, d) array, got shape {W0.shape}")
    B, d = W0.shape
    if len(params) != B or len(rngs) != B:
        raise ValueError(f"need one params and one rng per trial (B = {B}), got {len(params)}, {len(rngs)}")
    for g in rngs:
        if not isinstance(g, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(g).__name__}")
    eta = np.array([p.eta for p in params], dtype=np.float64)
    eps = np.array([p.epsilon for p in params], dtype=np.float64)
    r = np.array([p.r for p in params], dtype=np.float64)
    R = np.array([p.R for p in params], dtype=np.float64)
    Q = np.array([int(p.Q) for p in params], dtype=np.int64)
    T = np.array([int(p.T_th) for p in params], dtype=np.int64)
    dims = np.full(B, d, dtype=np.int64) if dims is None else np.asarray(dims, dtype=np.int64)
    if dims.shape != (B,) or np.any(dims < 1) or np.any(dims > d):
        raise ValueError(f"dims must hold one dimension in [1, {d}] per trial")
    if np.any([np.any(W0[b, dims[b]:]) for b in range(B)]):
        raise ValueError("W0 must be 0 beyond each trial's dimension")
    cap = np.broadcast_to(np.asarray(max_oracle_calls, dtype=np.int64), (B,)).copy()
    perturbed_ref = escape_reference == "perturbed"
    every = escape_test == "every_step"

    Qmax = max(1, int(Q.max(initial=1)))
    w = W0.copy()
    U = np.zeros((B, Qmax, d))
    U_rows = U.reshape(B * Qmax, d)     # a view
    REF = np.zeros((B, Qmax, d)) if perturbed_ref else None
    A = np.zeros((B, Qmax), dtype=bool)
    ESC = np.zeros((B, Qmax), dtype=np.int64)
    t = np.zeros(B, dtype=np.int64)
    kq = np.zeros(B, dtype=np.int64)
    phase = np.full(B, GD, dtype=np.int8)
    calls = np.zeros(B, dtype=np.int64)
    gd_steps = np.zeros(B, dtype=np.int64)
    rounds = np.zeros(B, dtype=np.int64)
    escapes = np.zeros(B, dtype=np.int64)
    status = np.array(["converged"] * B, dtype=object)
    charged = np.zeros(B)
    errors: dict[int, str] = {}
    cols = np.arange(Qmax)
    reported = 0
    escape_round = getattr(oracle, "escape_round", None)

    def finish(trials, why):
        for b in np.atleast_1d(trials):
            b = int(b)
            if phase[b] == DONE:
                continue
            phase[b] = DONE
            if why.startswith(ERROR_PREFIX):
                status[b] = "error"
                errors[b] = why[len(ERROR_PREFIX):]
            else:
                status[b] = why

    def start_round(b):
        xi = np.zeros(d)
        xi[:dims[b]] = uniform_ball(rngs[b], int(dims[b]), r[b])
        U[b, kq[b]] = w[b] + xi
        if perturbed_ref:
            REF[b, kq[b]] = w[b] + xi
        rounds[b] += 1
        t[b] = 0
        oracle.perturbation([b])

    def candidate(b):
        if Q[b] == 0:
            finish(b, "converged")
        elif calls[b] + Q[b] * T[b] <= cap[b]:
            xi = np.zeros((int(Q[b]), d))
            xi[:, :dims[b]] = uniform_ball(rngs[b], int(dims[b]), r[b], size=int(Q[b]))
            U[b, :Q[b]] = w[b] + xi
            if perturbed_ref:
                REF[b, :Q[b]] = U[b, :Q[b]]
            A[b] = cols < Q[b]
            ESC[b] = 0
            t[b] = 0
            phase[b] = ROUNDS
        else:
            kq[b] = 0
            phase[b] = ROUND
            start_round(b)

    while True:
        t0 = time.perf_counter()
        alive = phase != DONE
        if not alive.any():
            break
        single_trial = (phase == GD) | (phase == ROUND)
        capped = single_trial & (calls >= cap)
        if capped.any():
            finish(np.flatnonzero(capped), "max_oracle_calls")
        if max_seconds is not None:
            # as the loop: looked at every 256 calls of a single query (a budget of 0: at once)
            late = single_trial & (phase != DONE) & (calls % 256 == 0) & (charged >= max_seconds)
            if late.any():
                finish(np.flatnonzero(late), "max_seconds")
        gd = phase == GD
        rs = phase == ROUND
        rb = phase == ROUNDS
        U[gd, 0] = w[gd]
        QM = np.zeros((B, Qmax), dtype=bool)
        QM[gd, 0] = True
        QM[rs, kq[rs]] = True
        QM[rb] = A[rb]
        bi, qi = np.nonzero(QM)
        if bi.size == 0:
            break
        flat = bi * Qmax + qi               # row of U viewed as (B·Qmax, d)
        Wq = np.take(U_rows, flat, axis=0)
        bad_rows = ~np.isfinite(Wq).all(axis=1)
        if bad_rows.any():   # a non-finite point is never queried (the loop's check)
            finish(_distinct(bi[bad_rows]), "nonfinite")
            keep = phase[bi] != DONE
            bi, qi, flat, Wq = bi[keep], qi[keep], flat[keep], Wq[keep]
            if bi.size == 0:
                continue
        single = (phase[bi] == GD) | (phase[bi] == ROUND)
        calls[bi[single]] += 1
        G, ended = oracle.query(Wq, bi, single)
        for b, why in ended.items():
            finish(b, why)
        nonfinite = ~np.isfinite(G).all(axis=1) & (phase[bi] != DONE)
        if nonfinite.any():
            finish(_distinct(bi[nonfinite]), "nonfinite")
        row_phase = phase[bi]           # the phase each row was queried in (handlers change it)
        live = row_phase != DONE
        # gradient phase: a step, or a candidate
        sel = live & (row_phase == GD)
        if sel.any():
            tb, g = bi[sel], G[sel]
            gn = np.sqrt(np.einsum("ij,ij->i", g, g))
            move = gn > eps[tb]
            mv = tb[move]
            w[mv] = w[mv] - eta[mv, None] * g[move]
            gd_steps[mv] += 1
            for b in tb[~move]:
                candidate(int(b))
        # sequential rounds
        sel = live & (row_phase == ROUND) & (phase[bi] == ROUND)
        if sel.any():
            tb = bi[sel]
            u = U[tb, kq[tb]] - eta[tb, None] * G[sel]
            U[tb, kq[tb]] = u
            t[tb] += 1
            ref = REF[tb, kq[tb]] if perturbed_ref else w[tb]
            dist = np.sqrt(np.einsum("ij,ij->i", u - ref, u - ref))
            esc = (dist >= R[tb]) & (every | (t[tb] == T[tb]))
            for j, b in enumerate(tb):
                b = int(b)
                if esc[j]:
                    escapes[b] += 1
                    w[b] = u[j]
                    phase[b] = GD
                elif t[b] == T[b]:
                    kq[b] += 1
                    if kq[b] == Q[b]:
                        finish(b, "converged")
                    else:
                        start_round(b)
        # batched rounds
        sel = live & (row_phase == ROUNDS) & (phase[bi] == ROUNDS)
        if sel.any():
            rows = flat[sel]
            U_rows[rows] = np.take(U_rows, rows, axis=0) - eta[bi[sel], None] * G[sel]
            tb = _distinct(bi[sel])
            t[tb] += 1
            test = tb if every else tb[t[tb] == T[tb]]
            if test.size:
                ref = REF[test] if perturbed_ref else w[test][:, None, :]
                diff = U[test] - ref
                dist = np.sqrt(np.einsum("bqi,bqi->bq", diff, diff))
                newly = A[test] & (dist >= R[test, None])
                esc_t = ESC[test]
                esc_t[newly] = t[test, None].repeat(Qmax, axis=1)[newly]
                ESC[test] = esc_t
                act = A[test] & ~newly
                has = (esc_t > 0).any(axis=1)
                first = np.where(has, np.argmax(esc_t > 0, axis=1), Qmax)
                act &= cols[None, :] < first[:, None]
                A[test] = act
            over = tb[~A[tb].any(axis=1) | (t[tb] >= T[tb])]
            for b in over:
                b = int(b)
                hit = np.flatnonzero(ESC[b])
                if hit.size:
                    k = int(hit[0])
                    calls[b] += k * T[b] + ESC[b, k]
                    rounds[b] += k + 1
                    escapes[b] += 1
                    w[b] = U[b, k]
                    phase[b] = GD
                    if escape_round is not None:   # observers (the descent monitor) learn the row
                        escape_round(b, k)
                else:
                    calls[b] += Q[b] * T[b]
                    rounds[b] += Q[b]
                    finish(b, "converged")
        took = time.perf_counter() - t0
        part = _distinct(bi)
        charged[part] += took / max(1, part.size)
        if progress is not None and (n_done := int(np.count_nonzero(phase == DONE))) > reported:
            reported = n_done
            progress(n_done)

    options = {"escape_reference": escape_reference, "escape_test": escape_test}
    out = BatchResult(
        OptimizeResult(w=w[b, :dims[b]].copy(), grad_oracle_calls=int(calls[b]), gd_steps=int(gd_steps[b]),
                       escape_rounds=int(rounds[b]), escapes=int(escapes[b]), status=str(status[b]),
                       params={**params[b].as_dict(), **options})
        for b in range(B))
    out.errors = errors
    return out
