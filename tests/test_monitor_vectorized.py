"""BatchedDescentMonitor's array storage of each trial's last round window (experiments/monitor.py)
judged against the per-row rule: a scripted batch of four trials with windows of different widths,
a window that widens the storage, windows that shrink (escaped rounds end the later ones), an
'escape_round' naming a row, windows and single rounds after 'perturbation', and a violation in
one round row. The expectation is computed row by row from :func:`judge_steps` by a reference that
keeps each trial's last window as a Python list; subtly wrong monitors (row i against row i+1,
no clearing on 'perturbation', the escape row ignored, a wider window's prefix judged) disagree."""

from __future__ import annotations

import numpy as np
import pytest

from byzpgd.experiments.monitor import (
    STATUS,
    BatchedDescentMonitor,
    judge_steps,
    required_scale,
    rounding_scale,
)
from byzpgd.theory.mechanism import descent_required

D = 3
A = np.array([1.0, 2.0, 3.0, 1.5])          # F_b(w) = a_b ‖w‖²/2
L = np.array([2.0, 3.0, 4.0, 2.5])           # L_F >= a_b: the exact-ish steps descend
DELTA = np.array([0.01, 0.02, 0.0, 0.005])   # the oracle's error, ‖ĝ − ∇F‖ = Δ
BIAS = np.array([1.0, -2.0, 2.0]) / 3.0      # a unit vector: ĝ = a w + Δ·BIAS


class Quadratic:
    """F_b(w) = a_b ‖w‖²/2 for trial b; changes differenced term by term (as value_changes)."""

    dim = D

    def value_changes(self, P0, P1, idx):
        a = A[idx]
        return 0.5 * a * np.sum((P1 - P0) * (P1 + P0), axis=1), 0.5 * a * np.sum(P1 * P1 + P0 * P0, axis=1)

    def value(self, P, idx):
        return 0.5 * A[idx] * np.sum(P * P, axis=1)


class Inner:
    """A Δ-inexact batched oracle: ĝ = a w + Δ·BIAS for every row."""

    landscape = Quadratic()

    def query(self, W, idx, single):
        return A[idx][:, None] * W + DELTA[idx][:, None] * BIAS, {}


def grad(w, b):
    return A[b] * w + DELTA[b] * BIAS


# The script: per engine step, the events before the query, then each trial's query, described
# from the trial's current rows X (the query's rows, or the rows of its last window):
#   ("single", "start")       its start point             ("single", "step", j)  X[j] − ĝ/L
#   ("single", "new")         a window of one round w + ξ
#   ("batch", n)              a new window of n rows w + ξ ("batch", "step", k)   X[:k] − ĝ/L
#   ("batch", "step", k, j)   the same with row j pushed uphill (a violation of Lemma §8.1)
#   ("batch", "grow", n)      rows X[:] − ĝ/L and n − len(X) new rows (no perturbation)
SCRIPT = [
    ([], {0: ("single", "start"), 1: ("single", "start"), 2: ("single", "start"), 3: ("single", "start")}),
    ([], {0: ("single", "step", 0), 1: ("single", "step", 0), 2: ("single", "step", 0),
          3: ("single", "step", 0)}),
    ([("perturbation", 1), ("perturbation", 2), ("perturbation", 3)],
     {0: ("single", "step", 0), 1: ("batch", 3), 2: ("batch", 2), 3: ("single", "new")}),
    ([], {0: ("single", "step", 0), 1: ("batch", "step", 3), 2: ("batch", "step", 2),
          3: ("single", "step", 0)}),
    ([("perturbation", 0), ("perturbation", 3)],
     {0: ("batch", 4), 1: ("batch", "step", 2), 2: ("batch", "step", 2, 1), 3: ("batch", 2)}),
    ([], {0: ("batch", "step", 4), 1: ("batch", "step", 1), 3: ("batch", "step", 2)}),
    ([("escape_round", 1, 0), ("perturbation", 3)],
     {0: ("batch", "step", 3), 1: ("single", "step", 0), 3: ("batch", 2)}),
    ([("escape_round", 0, 2)], {0: ("single", "step", 2), 1: ("single", "step", 0),
                                3: ("batch", "step", 2)}),
    ([("perturbation", 1)], {0: ("single", "step", 0), 1: ("batch", 2), 3: ("batch", "step", 2)}),
    ([], {1: ("batch", "grow", 3), 3: ("batch", "step", 1)}),
    ([], {0: ("single", "step", 0), 1: ("batch", "step", 3), 3: ("batch", "step", 1)}),
]


def spread(n: int) -> np.ndarray:
    """The radii of a window's n perturbations, growing with the row (so the rows differ in F)."""
    return (0.1 + np.arange(n))[:, None]


def queries(seed: int = 0):
    """The script's (events, W, idx, single) per step (rows grouped by trial), with the points
    computed from the oracle's answers; trial 2's window breaks the lemma in its row 1."""
    rng = np.random.default_rng(seed)
    X = {b: rng.standard_normal((1, D)) for b in range(A.size)}
    out = []
    for events, plan in SCRIPT:
        rows, idx, single = [], [], []
        for b, q in sorted(plan.items()):
            x = X[b]
            if q[0] == "single":
                if q[1] == "start":
                    P = x
                elif q[1] == "new":      # a window of one round: w + ξ
                    P = x[:1] + 0.1 * rng.standard_normal((1, D))
                else:
                    j = q[2]
                    P = x[j:j + 1] - grad(x[j:j + 1], b) / L[b]
            elif q[1] == "step":
                P = x[:q[2]] - grad(x[:q[2]], b) / L[b]
                if len(q) == 4:
                    P[q[3]] = 1.2 * x[q[3]]          # F grows: no descent
            elif q[1] == "grow":
                P = np.vstack([x - grad(x, b) / L[b], x[:1] + 0.1 * rng.standard_normal((q[2] - len(x), D))])
            else:
                P = x[:1] + spread(q[1]) * rng.standard_normal((q[1], D))
            X[b] = P
            rows.append(P)
            idx += [b] * len(P)
            single += [q[0] == "single"] * len(P)
        out.append((events, np.vstack(rows), np.array(idx, dtype=np.int64), np.array(single)))
    return out


def judge_row(p0, p1, b, g0, rnd):
    """Lemma §8.1 on the one step p0 → p1 of trial b (ĝ(p0) = g0), as judge_steps rules it."""
    P0, P1, idx = p0[None], p1[None], np.array([b])
    gn = np.array([np.linalg.norm(g0)])
    change, scale = Quadratic().value_changes(P0, P1, idx)
    rs = required_scale(gn, DELTA[idx], L[idx]) + rounding_scale(gn, DELTA[idx], P1)
    req = descent_required(gn, DELTA[idx], L[idx])
    excess, broken = judge_steps(change, scale, req, rs)
    where = f"a step of perturbation round {rnd}" if rnd >= 0 else "a step"
    msg = (f"{where} changed F by {change[0]:.3g} where Lemma §8.1 requires "
           f"a decrease of at least {req[0]:.3g}")
    return float(excess[0]), bool(broken[0]), msg


def reference(script):
    """The per-row rule with each trial's last single query and last window held as lists."""
    B = A.size
    steps, worst, viol = np.zeros(B, dtype=np.int64), np.full(B, -np.inf), {}
    last_single: dict[int, tuple] = {}
    last_window: dict[int, list] = {}
    for events, W, idx, single in script:
        for ev in events:
            b = ev[1]
            if ev[0] == "perturbation":
                last_single.pop(b, None)
                last_window.pop(b, None)
            else:
                win = last_window.pop(b, None)
                if win is not None and ev[2] < len(win):
                    last_single[b] = win[ev[2]]
        for b in np.unique(idx).tolist():
            rows = np.flatnonzero(idx == b)
            G = A[b] * W[rows] + DELTA[b] * BIAS
            if single[rows[0]]:
                pairs = [(last_single[b], W[rows[0]], -1)] if b in last_single else []
            else:
                win = last_window.get(b)
                pairs = ([(win[k], W[r], k) for k, r in enumerate(rows)]
                         if win is not None and len(win) >= len(rows) else [])
            for (p0, g0), p1, rnd in pairs:
                excess, broken, msg = judge_row(p0, p1, b, g0, rnd)
                steps[b] += 1
                worst[b] = max(worst[b], excess)
                if broken and b not in viol:
                    viol[b] = msg
            if b in viol:                       # the monitor ended the trial: nothing remembered
                continue
            if single[rows[0]]:
                last_single[b] = (W[rows[0]], G[0])
                last_window.pop(b, None)
            else:
                last_single.pop(b, None)
                last_window[b] = [(W[r], G[i]) for i, r in enumerate(rows)]
    return steps, worst, viol


def monitored(cls, script):
    """The monitor's steps, worst and violations on the script (an ended trial's later rows are
    dropped, as the engine drops a finished trial), and the ended trials."""
    mon = cls(Inner(), L, DELTA)
    stopped: set[int] = set()
    for events, W, idx, single in script:
        for ev in events:
            if ev[1] not in stopped:
                data = {"index": ev[2]} if ev[0] == "escape_round" else {}
                assert mon.notify(ev[1], ev[0], **data) is None
        keep = ~np.isin(idx, list(stopped))
        _, ended = mon.query(W[keep], idx[keep], single[keep])
        assert set(ended.values()) <= {STATUS}
        stopped |= set(ended)
    return mon.steps.copy(), mon.worst.copy(), dict(mon.violations), stopped


def test_script_exercises_the_cases():
    """The script has windows of 1 to 4 rows, shrinking windows and single rounds (else the
    comparison below would not reach them)."""
    widths = {(int(b), int(np.count_nonzero(idx == b))) for _, _, idx, single in queries()
              for b in np.unique(idx[~single])}
    assert {w for _, w in widths} == {1, 2, 3, 4}
    steps, _, viol = reference(queries())
    assert list(viol) == [2] and "perturbation round 1" in viol[2]
    assert (steps > 0).all()


def test_batched_rounds_judged_row_by_row():
    """Same steps, worst excess (to the bit) and first broken row's message as the per-row rule."""
    script = queries()
    steps, worst, viol, stopped = monitored(BatchedDescentMonitor, script)
    r_steps, r_worst, r_viol = reference(script)
    np.testing.assert_array_equal(steps, r_steps)
    assert worst.tobytes() == r_worst.tobytes()
    assert viol == r_viol
    assert stopped == set(r_viol)


class NextRow(BatchedDescentMonitor):
    """Wrong: row i of a window judged against row i+1 of the previous one (the last row: itself)."""

    def _slots(self, t, k):
        return t * self.batch_points.shape[1] + np.minimum(k + 1, self.batch_rows[t] - 1)


class KeepOnPerturbation(BatchedDescentMonitor):
    """Wrong: 'perturbation' does not clear the trial's previous query."""

    def notify(self, b, event, **data):
        return None if event == "perturbation" else super().notify(b, event, **data)


class EscapeRowZero(BatchedDescentMonitor):
    """Wrong: the escaped point judged against row 0 of the window, whichever row escaped."""

    def notify(self, b, event, **data):
        return super().notify(b, event, **({**data, "index": 0} if event == "escape_round" else data))


class PrefixOfWider(BatchedDescentMonitor):
    """Wrong: a window wider than the previous one has its prefix judged."""

    def _judge_rounds(self, W, idx, b_rows, ended):
        t = idx[b_rows]
        k, _ = self._positions(t)
        ok = k < self.batch_rows[t]
        if ok.any():
            saved = self.batch_rows.copy()
            self.batch_rows[:] = np.iinfo(np.int64).max     # every previous window "wide enough"
            try:
                super()._judge_rounds(W, idx, b_rows[ok], ended)
            finally:
                self.batch_rows[:] = saved


@pytest.mark.parametrize("wrong", [NextRow, KeepOnPerturbation, EscapeRowZero, PrefixOfWider])
def test_wrong_monitors_are_caught(wrong):
    script = queries()
    steps, worst, viol, _ = monitored(wrong, script)
    r_steps, r_worst, r_viol = reference(script)
    assert not (np.array_equal(steps, r_steps) and worst.tobytes() == r_worst.tobytes() and viol == r_viol)
