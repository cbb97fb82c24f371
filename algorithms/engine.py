"""The loop of ByzantinePGD, exact-oracle PGD and robust GD (docs/paper.md §3), written once and
batch-native: B independent runs ("trials") advance together, one row per query, with masks for
finished trials. One run is a batch of one (:func:`byzpgd.algorithms.perturbed_gd`).

```
loop:
  g ← ĝ(w)                                    # one parallel iteration
  if ‖g‖ > ε: w ← w − η g; continue          # robust GD step
  w̃ ← w
  for k = 1..Q:                               # Q perturbation rounds
      u ← w̃ + ξ,  ξ ~ Uniform(B_0(r))
      for t = 1..T_th:
          u ← u − η ĝ(u)
          if ‖u − ref‖ >= R: escaped            # ref = w̃ (default) or w̃ + ξ
      if escaped: w ← u; next loop
  return w̃
```
Robust GD is the case Q = 0. The two uncertain details of the reconstruction (docs/paper.md §3,
"Points of uncertainty") are options: ``escape_reference`` ('candidate' = w̃, default, or
'perturbed' = w̃ + ξ) and ``escape_test`` ('every_step', default, or 'final' = only at t = T_th).

**Rounds in windows.** A trial's perturbation rounds run in windows: either all Q rounds of a
candidate as one (Q, d) window (``batch_rounds``, when the oracle's answers do not depend on the
order of the calls and ``calls + Q·T_th <= max_oracle_calls``), or one round per window. The
same code steps a window of either size; a window ends when its rounds all ran T_th steps or
the first round that escaped is known (later rounds of the window are what the sequential loop
would never have run). A window of Q rounds counts its oracle calls and rounds at its end as the
sequential loop would have made them (the rounds before the first escape in full, then that round
up to its escape); a window of one round counts each call as it is made, so the call budget
stops it exactly. Random draws: a window of Q rounds draws ``uniform_ball(rng, d, r, size=Q)``,
a round alone ``uniform_ball(rng, d, r)``, from the trial's own generator, so a trial's outcome
does not depend on the batch it runs in.

**The oracle** (:class:`BatchedOracle`) answers the rows of all trials at once and may end
trials (a status, as a :class:`StopRun` would carry, or ``ERROR_PREFIX + message`` for what
would have raised); its optional ``notify(b, event, **data)`` hears trial b's events:
'candidate' (w), 'perturbation' (candidate, xi: (d,) or (Q, d)), 'escape_round' (index: the row
of a Q-round window that escaped) and 'escape' (w); a hook that returns a status ends the trial
with it (the iterate stays the candidate).

**Budgets.** A trial stops at ``max_oracle_calls`` calls ('max_oracle_calls', looked at before
each single query), at ``max_seconds`` of the engine's time charged to it in equal shares per
step ('max_seconds', looked at every 256 calls; every trial alive has rows in every step, so
all have the same share), or at a non-finite query or answer ('nonfinite'): no divergence can
make a run hang.

**Jin et al.'s test** (docs/paper.md §9; :func:`byzpgd.algorithms.jin_pgd.jin_pgd`): with
``escape_values`` (F at query rows) a round is judged once, at its last query u (``escape_test``
'final'), by the decrease of F instead of the distance: it escaped when F(w̃) − F(u) >= R (R is
then Jin's f_thres), and the escaped iterate is that query's step u − ηĝ(u); else the candidate
is returned. With Q = 1 and T_th = t_thres + 1 this is Jin et al.'s Algorithm 2 exactly (its
t_thres steps after the perturbation, the test at the next query, the step it then takes).

**The steps** (:func:`exceeds_threshold`, :func:`gradient_phase`, :func:`round_plan`,
:func:`round_step`, :func:`escape_distance`, :func:`value_decrease`, :func:`settle_window`,
``uniform_ball``) are
module functions looked up at each call, so the fault catalogue (experiments/faults.py) can
replace one of them and reach every run of every claim.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from byzpgd.geometry import row_norms as _row_norms
from byzpgd.geometry import uniform_ball

from .result import OptimizeResult

DEFAULT_MAX_ORACLE_CALLS = 10**6
GD, ROUNDS, DONE = 0, 1, 2
ERROR_PREFIX = "error: "
"""An oracle ends a trial with status ``ERROR_PREFIX + message`` when a one-run oracle would have
raised (e.g. a certified oracle's OracleBudgetExceeded): the result's status is 'error' and the
message is in :attr:`BatchResult.errors`."""


@dataclass(frozen=True)
class PGDParams:
    """η (step), ε (gradient threshold), r (perturbation radius), Q (rounds), R (escape
    distance), T_th (steps per round)."""

    eta: float
    epsilon: float
    r: float
    Q: int
    R: float
    T_th: int

    def __post_init__(self):
        for name in ("eta", "epsilon", "R"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be finite and > 0, got {v}")
        if not (np.isfinite(self.r) and self.r >= 0):
            raise ValueError(f"r must be finite and >= 0, got {self.r}")
        if int(self.Q) != self.Q or self.Q < 0:
            raise ValueError(f"Q must be an integer >= 0, got {self.Q}")
        if int(self.T_th) != self.T_th or self.T_th < 1:
            raise ValueError(f"T_th must be an integer >= 1, got {self.T_th}")

    def as_dict(self) -> dict:
        """The six parameters by name (``dataclasses.asdict`` without its deep copy: they are
        numbers; a tenth of its time, which counted in short runs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class StopRun(Exception):
    """Ends a run early with result status ``status``: raised by a one-run oracle (e.g. an
    experiment's observer that has seen what it needed, or a non-finite landscape value); the
    run's current iterate is returned."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class BatchedOracle(Protocol):
    """The answers to the rows of B trials at once.

    ``query(W, idx, single) -> (G, ended)``: ``W`` (N, d) query points, ``idx`` (N,) the trial
    of each row (grouped by trial, in trial order and, within a trial, in round order),
    ``single`` (N,) True where a one-run loop makes a 1-D query (gradient phase, a round alone)
    and False for rows of a Q-round window. Returns ``G`` (N, d) and ``ended``: {trial: status}
    for the trials this call ends (their rows of G are ignored). Optional ``notify(b, event,
    **data)``: see the module docstring.
    """

    def query(self, W: np.ndarray, idx: np.ndarray, single: np.ndarray) -> tuple[np.ndarray, dict]: ...


class BatchResult(list):
    """The list of :class:`OptimizeResult` (one per trial, in order), with ``errors``:
    {trial: message} for trials ended with status 'error', and ``round_steps`` (B,): the steps
    u ← u − ηĝ(u) each trial made in its perturbation rounds (a Q-round window's counted as the
    sequential loop would have made them)."""

    errors: dict
    round_steps: np.ndarray


# --- the steps of the loop ----------------------------------------------------------------------
def row_norms(X: np.ndarray) -> np.ndarray:
    """‖x‖ of each row, summed in a defined order (:func:`byzpgd.geometry.row_norms`: the zeros
    of a batch's padding change no bit)."""
    return _row_norms(X)


def exceeds_threshold(G: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Algorithm 1's stopping test, row by row: True where ‖ĝ(w)‖ > ε (a gradient step)."""
    return row_norms(G) > eps


def gradient_phase(W: np.ndarray, G: np.ndarray, eta: np.ndarray, eps: np.ndarray):
    """One robust-GD iteration per row: (the new rows, moved). A row moves to w − ηĝ(w) where
    ‖ĝ(w)‖ > ε; elsewhere it stays, a candidate w̃ whose own ĝ passed the test."""
    moved = exceeds_threshold(G, eps)
    new = W.copy()
    new[moved] -= eta[moved, None] * G[moved]
    return new, moved


def round_plan(Q: np.ndarray, T: np.ndarray):
    """The rounds per candidate and the steps per round the loop runs: (Q, T_th)."""
    return Q, T


def round_step(G: np.ndarray, eta: np.ndarray, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The step η ĝ(u) of each active round row (u ← u − step). ``rows`` (the rows' places in the
    engine's round store) and ``t`` (each row's step number, 1..T_th) say which step it is."""
    return eta[:, None] * G


def escape_distance(U: np.ndarray, ref: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The escape test's left side ‖u − ref‖ for each round row after its step ``step``."""
    return row_norms(U - ref)


def value_decrease(values, U: np.ndarray, ref: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Jin et al.'s escape test's left side F(w̃) − F(u) for each tested round row: ``U`` the
    rows' last query points, ``ref`` their candidates, ``values(W, idx)`` F at rows of trials idx."""
    return np.asarray(values(ref, idx), dtype=np.float64) - np.asarray(values(U, idx), dtype=np.float64)


def settle_window(esc: np.ndarray, U: np.ndarray, first_round: int, Q: int):
    """A finished window of rounds: (j, the escaped point) for its first round j that escaped,
    or (-1, None). ``esc`` the step at which each round escaped (0: it did not), ``U`` the
    window's rows, ``first_round`` the round number of row 0, Q the rounds per candidate."""
    hit = np.flatnonzero(esc)
    if hit.size == 0:
        return -1, None
    j = int(hit[0])
    return j, U[j].copy()


def _distinct(sorted_idx):
    """The distinct values of a sorted index array (np.unique without its sort)."""
    if sorted_idx.size == 0:
        return sorted_idx
    keep = np.empty(sorted_idx.size, dtype=bool)
    keep[0] = True
    np.not_equal(sorted_idx[1:], sorted_idx[:-1], out=keep[1:])
    return sorted_idx[keep]


def check_options(escape_reference: str, escape_test: str) -> None:
    if escape_reference not in ("candidate", "perturbed"):
        raise ValueError(f"escape_reference must be 'candidate' or 'perturbed', got {escape_reference!r}")
    if escape_test not in ("every_step", "final"):
        raise ValueError(f"escape_test must be 'every_step' or 'final', got {escape_test!r}")


# --- the engine ---------------------------------------------------------------------------------
class _Trials:
    """The state of B trials: iterates, the round windows, the counters, the statuses."""

    def __init__(self, W0, params, rngs, cap, dims, batch_rounds, perturbed_ref):
        B, d = W0.shape
        self.B, self.d, self.rngs, self.dims, self.cap = B, d, rngs, dims, cap
        self.eta = np.array([p.eta for p in params], dtype=np.float64)
        self.eps = np.array([p.epsilon for p in params], dtype=np.float64)
        self.r = np.array([p.r for p in params], dtype=np.float64)
        self.R = np.array([p.R for p in params], dtype=np.float64)
        Q = np.array([int(p.Q) for p in params], dtype=np.int64)
        T = np.array([int(p.T_th) for p in params], dtype=np.int64)
        self.Q, self.T = (np.asarray(a, dtype=np.int64) for a in round_plan(Q, T))
        self.batch = np.broadcast_to(np.asarray(batch_rounds, dtype=bool), (B,)).copy()
        self.Qmax = max(1, int(self.Q.max(initial=1)))
        self.w = W0.copy()
        self.U = np.zeros((B, self.Qmax, d))
        self.U_rows = self.U.reshape(B * self.Qmax, d)       # a view
        self.REF = np.zeros((B, self.Qmax, d)) if perturbed_ref else None
        self.A = np.zeros((B, self.Qmax), dtype=bool)       # active rows of each window
        self.ESC = np.zeros((B, self.Qmax), dtype=np.int64)  # escape step of each row (0: none)
        self.size = np.ones(B, dtype=np.int64)               # window size: Q or 1
        self.k0 = np.zeros(B, dtype=np.int64)                # round number of the window's row 0
        self.t = np.zeros(B, dtype=np.int64)
        self.phase = np.full(B, GD, dtype=np.int8)
        self.calls = np.zeros(B, dtype=np.int64)
        self.gd_steps = np.zeros(B, dtype=np.int64)
        self.round_steps = np.zeros(B, dtype=np.int64)        # steps u ← u − ηĝ(u) made in rounds
        self.rounds = np.zeros(B, dtype=np.int64)
        self.escapes = np.zeros(B, dtype=np.int64)
        self.status = np.array(["converged"] * B, dtype=object)
        self.errors: dict[int, str] = {}
        self.changed = True        # which trials query which rows changed since the last step

    def finish(self, trials, why: str) -> None:
        self.changed = True
        for b in np.atleast_1d(trials):
            b = int(b)
            if self.phase[b] == DONE:
                continue
            self.phase[b] = DONE
            if why.startswith(ERROR_PREFIX):
                self.status[b] = "error"
                self.errors[b] = why[len(ERROR_PREFIX):]
            else:
                self.status[b] = why


def batched_perturbed_gd(oracle: BatchedOracle, W0, params: list[PGDParams],
                         rngs: list[np.random.Generator], *, escape_reference: str = "candidate",
                         escape_test: str = "every_step", max_oracle_calls=DEFAULT_MAX_ORACLE_CALLS,
                         max_seconds: float | None = None, dims=None, batch_rounds=True,
                         progress=None, escape_values=None) -> BatchResult:
    """Run B trials of the loop (module docstring). ``W0`` (B, d); ``params`` and ``rngs`` one
    per trial; ``max_oracle_calls`` and ``batch_rounds`` one for all or one per trial. ``dims``
    (B,): trial b lives in the first dims[b] coordinates (its perturbations are drawn in
    R^dims[b], the other coordinates stay 0; the oracle must answer 0 there), so instances of
    several dimensions share one batch; default d for every trial. Results have w of length
    dims[b]. ``progress(done)`` is called with the number of finished trials whenever it grows.
    ``escape_values(W, idx)``: F at rows W of trials idx, for Jin et al.'s test (module
    docstring; ``escape_test`` must be 'final'). An exception the oracle raises propagates (as
    from a one-run loop).

    Padding and bits: a trial's rows are padded with zeros up to the batch's widest trial, and
    every sum over coordinates in the batched path has a defined order (the per-trial products,
    :mod:`byzpgd.oracles.products`; the row norms and sums, :mod:`byzpgd.geometry`): zeros added
    at the end change no bit, so a trial's outcome is that of its run alone in any batch, on any
    CPU (numpy's own ``einsum`` and ``sum(axis=-1)`` change their order with the row width and
    the SIMD width: tests/test_geometry_rows.py)."""
    check_options(escape_reference, escape_test)
    if escape_values is not None and escape_test != "final":
        raise ValueError("Jin et al.'s test (escape_values) is made at a round's last query: "
                         "escape_test='final'")
    W0 = np.array(W0, dtype=np.float64)
    if W0.ndim != 2 or not np.all(np.isfinite(W0)):
        raise ValueError(f"W0 must be a finite (B, d) array, got shape {W0.shape}")
    B, d = W0.shape
    if len(params) != B or len(rngs) != B:
        raise ValueError(f"need one params and one rng per trial (B = {B}), got {len(params)}, {len(rngs)}")
    for g in rngs:
        if not isinstance(g, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(g).__name__}")
    dims = np.full(B, d, dtype=np.int64) if dims is None else np.asarray(dims, dtype=np.int64)
    if dims.shape != (B,) or np.any(dims < 1) or np.any(dims > d):
        raise ValueError(f"dims must hold one dimension in [1, {d}] per trial")
    if np.any([np.any(W0[b, dims[b]:]) for b in range(B)]):
        raise ValueError("W0 must be 0 beyond each trial's dimension")
    cap = np.broadcast_to(np.asarray(max_oracle_calls, dtype=np.int64), (B,)).copy()
    s = _Trials(W0, params, rngs, cap, dims, batch_rounds, escape_reference == "perturbed")
    _Engine(s, oracle, escape_test == "every_step", max_seconds, progress, escape_values).run()
    options = {"escape_reference": escape_reference, "escape_test": escape_test}
    out = BatchResult(
        OptimizeResult(w=s.w[b, :dims[b]].copy(), grad_oracle_calls=int(s.calls[b]),
                       gd_steps=int(s.gd_steps[b]), escape_rounds=int(s.rounds[b]),
                       escapes=int(s.escapes[b]), status=str(s.status[b]),
                       params={**params[b].as_dict(), **options})
        for b in range(B))
    out.errors = s.errors
    out.round_steps = s.round_steps.copy()
    return out


class _Engine:
    """Steps the trials of :class:`_Trials` until all are done: each step asks the oracle for
    every alive trial's rows at once, then moves the gradient-phase rows and the round rows; the
    rare events of one trial (a candidate, a window opened or settled) are methods of their own."""

    def __init__(self, s: _Trials, oracle, every_step: bool, max_seconds, progress, values=None):
        self.s, self.oracle, self.every, self.values = s, oracle, every_step, values
        self.max_seconds, self.progress = max_seconds, progress
        self.notify_hook = getattr(oracle, "notify", None)
        self.cols = np.arange(s.Qmax)
        self.reported = 0
        self.charged = 0.0         # each alive trial's share of the engine's time so far

    def notify(self, b: int, event: str, **data) -> bool:
        """Tell the oracle trial b's event; False if the oracle ended the trial (a hook that
        returns a status, as a one-run observer raising StopRun does through perturbed_gd)."""
        if self.notify_hook is None:
            return True
        why = self.notify_hook(b, event, **data)
        if why is None:
            return True
        self.s.finish(b, why)
        return False

    # --- events of one trial (rare: a loop over trials is fine) ---
    def candidate(self, b: int) -> None:
        s = self.s
        if not self.notify(b, "candidate", w=s.w[b].copy()):
            return
        if s.Q[b] <= 0:
            s.finish(b, "converged")
            return
        whole = s.batch[b] and s.calls[b] + s.Q[b] * s.T[b] <= s.cap[b]
        s.size[b] = s.Q[b] if whole else 1
        s.k0[b] = 0
        self.open_window(b)

    def open_window(self, b: int) -> None:
        s, n, dim = self.s, int(self.s.size[b]), int(self.s.dims[b])
        xi = np.zeros((n, s.d))
        if n == 1:
            xi[0, :dim] = uniform_ball(s.rngs[b], dim, s.r[b])
            s.rounds[b] += 1
        else:
            xi[:, :dim] = uniform_ball(s.rngs[b], dim, s.r[b], size=n)
        s.U[b, :n] = s.w[b] + xi
        if s.REF is not None:
            s.REF[b, :n] = s.U[b, :n]
        s.A[b] = self.cols < n
        s.ESC[b] = 0
        s.t[b] = 0
        s.phase[b] = ROUNDS
        s.changed = True
        self.notify(b, "perturbation", candidate=s.w[b].copy(), xi=xi[0] if n == 1 else xi)

    def close_window(self, b: int) -> None:
        s, n = self.s, int(self.s.size[b])
        j, point = settle_window(s.ESC[b, :n], s.U[b, :n], int(s.k0[b]), int(s.Q[b]))
        if n > 1:   # a Q-round window counts as the sequential loop would have
            ran = j if j >= 0 else n
            s.calls[b] += ran * s.T[b] + (s.ESC[b, j] if j >= 0 else 0)
            s.round_steps[b] += ran * s.T[b] + (s.ESC[b, j] if j >= 0 else 0)
            s.rounds[b] += ran + (1 if j >= 0 else 0)
        if j >= 0:
            # observers (the descent monitor) learn which row of a window the point left
            if n > 1 and not self.notify(b, "escape_round", index=j):
                return
            s.escapes[b] += 1
            if not self.notify(b, "escape", w=point.copy()):
                return
            s.w[b] = point
            s.phase[b] = GD
            s.changed = True
        elif s.k0[b] + n < s.Q[b]:
            s.k0[b] += n
            self.open_window(b)
        else:
            s.finish(b, "converged")

    # --- one engine step: every unfinished trial's rows, answered at once ---
    def run(self) -> None:
        s = self.s
        while self.step():
            if self.progress is not None:
                n_done = int(np.count_nonzero(s.phase == DONE))
                if n_done > self.reported:
                    self.reported = n_done
                    self.progress(n_done)

    def layout(self) -> None:
        """Which trials are alive, which make a single query (the gradient phase or a window of
        one round) and the rows of this and the following steps, recomputed only when an event
        changed them (``_Trials.changed``)."""
        s = self.s
        self.alive = alive = np.flatnonzero(s.phase != DONE)
        phase = s.phase[alive]
        single = (phase == GD) | (s.size[alive] == 1)
        self.single_trials = alive[single]
        self.gd_trials = alive[phase == GD]
        self.gd_slots = self.gd_trials * s.Qmax
        if single.all():                    # one row per trial
            bi, flat = alive, alive * s.Qmax
            self.row_single = np.ones(alive.size, dtype=bool)
            self.all_single = True
        else:
            QM = s.A & (s.phase == ROUNDS)[:, None]
            QM[self.gd_trials, 0] = True
            bi, qi = np.nonzero(QM)
            flat = bi * s.Qmax + qi
            self.row_single = (s.phase[bi] == GD) | (s.size[bi] == 1)
            self.all_single = False
        self.bi, self.flat = bi, flat
        self.row_gd = s.phase[bi] == GD
        s.changed = False

    def budgets(self) -> None:
        """The call cap and the wall-clock budget (the engine's time, charged to the trials alive
        in each step in equal shares: the same share for every trial alive) of the trials that
        make a single query."""
        s, one = self.s, self.single_trials
        if one.size == 0:
            return
        capped = one[s.calls[one] >= s.cap[one]]
        if capped.size:
            s.finish(capped, "max_oracle_calls")
        if self.max_seconds is not None and self.charged >= self.max_seconds:
            late = one[(s.calls[one] % 256 == 0) & (s.phase[one] != DONE)]
            if late.size:
                s.finish(late, "max_seconds")

    def step(self) -> bool:
        s = self.s
        t0 = time.perf_counter()
        if s.changed:
            self.layout()
        if self.alive.size == 0:
            return False
        self.budgets()
        if s.changed:
            self.layout()
            if self.alive.size == 0:
                return False
        bi, flat = self.bi, self.flat
        s.U_rows[self.gd_slots] = s.w[self.gd_trials]     # the gradient phase queries its iterate
        Wq = np.take(s.U_rows, flat, axis=0)
        row_single, row_gd = self.row_single, self.row_gd
        if not np.isfinite(Wq).all():       # a non-finite point is never queried
            s.finish(_distinct(bi[~np.isfinite(Wq).all(axis=1)]), "nonfinite")
            keep = s.phase[bi] != DONE
            bi, flat, Wq, row_single, row_gd = bi[keep], flat[keep], Wq[keep], row_single[keep], row_gd[keep]
            if bi.size == 0:
                return True
        s.calls[bi if self.all_single else bi[row_single]] += 1
        G, ended = self.oracle.query(Wq, bi, row_single)
        for b, why in ended.items():
            s.finish(b, why)
        if not np.isfinite(G).all():
            nonfinite = ~np.isfinite(G).all(axis=1) & (s.phase[bi] != DONE)
            if nonfinite.any():
                s.finish(_distinct(bi[nonfinite]), "nonfinite")
        sel_gd, sel_rounds = row_gd, ~row_gd
        if s.changed:                        # some trials ended in this step: only the others go on
            live = s.phase[bi] != DONE
            sel_gd, sel_rounds = live & row_gd, live & ~row_gd
        if sel_gd.any():
            self.gradient_rows(bi[sel_gd], Wq[sel_gd], G[sel_gd])
        if sel_rounds.any():
            self.round_rows(bi[sel_rounds], flat[sel_rounds], G[sel_rounds])
        self.charged += (time.perf_counter() - t0) / self.alive.size
        return True

    def gradient_rows(self, tb, W, G) -> None:
        s = self.s
        new, moved = gradient_phase(W, G, s.eta[tb], s.eps[tb])
        s.w[tb] = new
        s.gd_steps[tb[moved]] += 1
        for b in tb[~moved]:
            self.candidate(int(b))

    def round_rows(self, rb, rows, G) -> None:
        s = self.s
        tb = rb if self.all_single else _distinct(rb)      # one row per trial, or windows of Q
        s.t[tb] += 1
        s.round_steps[rb if self.all_single else rb[s.size[rb] == 1]] += 1   # Q-windows: at their end
        t_rows = s.t[rb]
        step = round_step(G, s.eta[rb], rows, t_rows)
        queried = np.take(s.U_rows, rows, axis=0)
        U = queried - step
        s.U_rows[rows] = U
        tested = None if self.every else t_rows == s.T[rb]
        hit = None
        if tested is None or tested.any():
            ref = (np.take(s.REF.reshape(-1, s.d), rows, axis=0) if s.REF is not None else s.w[rb])
            if tested is None:
                hit = escape_distance(U, ref, step) >= s.R[rb]
            elif self.values is not None:
                hit = np.zeros(rb.size, dtype=bool)
                hit[tested] = (value_decrease(self.values, queried[tested], ref[tested], rb[tested])
                               >= s.R[rb[tested]])
            else:
                hit = np.zeros(rb.size, dtype=bool)
                hit[tested] = escape_distance(U[tested], ref[tested], step[tested]) >= s.R[rb[tested]]
            if hit.any():
                hb, hc = rb[hit], rows[hit] - rb[hit] * s.Qmax
                s.ESC[hb, hc] = s.t[hb]
                # a window's rounds after its first escape are never needed: the first escape
                # ends the window (and the rows that escaped with it)
                first = np.full(s.B, s.Qmax)
                np.minimum.at(first, hb, hc)
                fb = _distinct(hb)
                s.A[fb] &= self.cols[None, :] < first[fb, None]
                s.changed = True
            else:
                hit = None
        if self.all_single:      # a window of one round ends at its escape or its T_th-th step
            done = t_rows >= s.T[rb]
            over = rb[done | hit] if hit is not None else rb[done]
        else:
            over = tb[~s.A[tb].any(axis=1) | (s.t[tb] >= s.T[tb])]
        for b in over:
            self.close_window(int(b))
