"""The white-box adaptive adversary: it sees the algorithm's phase and its perturbation ξ
through ``notify`` (byzpgd.algorithms.perturbed_gd announces 'candidate', 'perturbation' with
ξ, and 'escape') and spends its whole budget against the escape.

- Descent phase (before a candidate, and after an escape): the saddle trap of
  :mod:`.trap` around the landscape's known strict saddle (fake local minimum, docs/paper.md §2).
- Candidate w̃ announced: it computes the negative eigenspace V of ∇²F(w̃) (white box: it knows F).
- Perturbation round from w̃ with perturbation ξ (u_0 = w̃ + ξ): at every query u,
  mode 'curvature': e = −Δ·P_V∇F(u)/‖P_V∇F(u)‖, the whole budget against the escape component
  of the gradient (the best a Δ-bounded error can do along the unstable direction: along
  curvature −γ the round is stuck iff γ|y_0| < Δ, docs/paper.md §8.3); when P_V∇F(u) = 0 or w̃ has
  no negative curvature it pulls u − w̃ back instead (e = Δ·(u − w̃)/‖u − w̃‖);
  mode 'distance': e = Δ·(u − w̃)/‖u − w̃‖, delaying the moving-distance test ‖u − w̃‖ >= R.

Adaptive, yet ``batchable``: its answer depends on the query and on the announced events only
(the phase and the candidate w̃; ξ is seen but the best error does not need it, since a round's
error above depends on u and w̃ alone). So the Q rounds of a candidate can run as one (Q, d)
batch, announced by one 'perturbation' event carrying every ξ (the white box then sees even
the later rounds' perturbations), with the same law of the run as the rounds one by one.
"""

from __future__ import annotations

import math

import numpy as np

from ..stacking import Stack, per_trial_product, take_rows
from .base import (
    BUDGET_FACTOR,
    Adversary,
    clip_to_budget,
    negative_eigenspace,
    norms,
    saddle_eigenspace,
    unit,
)
from .trap import escape_components, trap_errors


def round_errors(X, GV, use_curvature, Delta):
    """The errors of queries in a perturbation round: e = Δ·unit(−P_V∇F(u)) where the curvature
    mode has a negative eigenspace V at the candidate and P_V∇F(u) ≠ 0, else Δ·unit(u − w̃).
    ``X`` rows u − w̃, ``GV`` rows P_V∇F(u), ``use_curvature`` a bool per row (or one), Δ a number
    or a column."""
    use_v = np.asarray(use_curvature)[..., None] & (norms(GV)[..., None] > 0)
    return clip_to_budget(Delta * unit(np.where(use_v, -GV, X)), Delta)


def candidate_eigenspace(landscape, w):
    """V of the candidate: the eigenvectors of ∇²F(w̃) with negative curvature (None if none)."""
    V, gam = negative_eigenspace(landscape, w)
    return V[:, gam > 0] if np.any(gam > 0) else None


class AdaptiveStack(Stack):
    """The white-box adaptive adversary for many trials: the trap around the known saddle
    outside rounds, :func:`round_errors` inside one, its state (phase, candidate, the candidate's
    negative eigenspace) one row per trial, kept from the loop's events (:meth:`notify`) as the
    one-instance adversary keeps it."""

    def __init__(self, items, trials, landscape):
        super().__init__(items, trials, landscape)
        n, d = len(self.items), self.dim
        self.kappa = np.array([x.kappa for x in self.items])
        self.curvature = np.array([x.mode == "curvature" for x in self.items])
        self.V, self.VT = self.matrices([x.trap_V for x in self.items])
        self.in_round = np.zeros(n, dtype=bool)
        self.candidate = np.zeros((n, d))
        self.cand_V = np.zeros((n, d, d))             # zero columns add exact zeros
        self.cand_VT = np.zeros((n, d, d))            # its transposes (per_trial_product)
        self.has_cand_V = np.zeros(n, dtype=bool)

    def errors(self, W, grad, idx):
        at = self.at(idx)
        Dc = self.column(self.delta, idx)
        E = trap_errors(escape_components(grad, at, self.V, self.VT), Dc, self.column(self.kappa, idx))
        rnd = self.in_round[at]
        if rnd.any():
            r, ir = np.flatnonzero(rnd), at[rnd]
            GV = per_trial_product(per_trial_product(grad[r], ir, self.cand_V), ir, self.cand_VT)
            E[r] = round_errors(W[r] - take_rows(self.candidate, ir), GV,
                                self.curvature[ir] & self.has_cand_V[ir], Dc[r])
        return E

    def notify(self, b: int, event: str, **data) -> None:
        i = int(self.position[b])
        di = int(self.dims[i])
        if event == "candidate":
            V = candidate_eigenspace(self.items[i].landscape, np.asarray(data["w"])[:di])
            self.cand_V[i] = 0.0
            self.has_cand_V[i] = V is not None
            if V is not None:
                self.cand_V[i, :di, :V.shape[1]] = V
            self.cand_VT[i] = self.cand_V[i].T
            self.in_round[i] = False
        elif event == "perturbation":
            self.candidate[i] = data["candidate"]
            self.in_round[i] = True
        elif event == "escape":
            self.in_round[i] = False


class WhiteBoxAdaptive(Adversary):
    name = "adaptive"
    batchable = True
    Stack = AdaptiveStack

    def __init__(self, landscape, delta, rng, mode: str = "curvature", kappa: float = 2.0):
        if mode not in ("curvature", "distance"):
            raise ValueError(f"mode must be 'curvature' or 'distance', got {mode!r}")
        if not 1.0 < kappa < 3.0:
            raise ValueError(f"kappa must be in (1, 3), got {kappa}")
        super().__init__(landscape, delta, rng, mode=mode, kappa=float(kappa))
        self.mode, self.kappa = mode, float(kappa)
        self.trap_V = saddle_eigenspace(landscape)[1]
        self.phase = "descent"
        self.candidate = None
        self.cand_V = None
        self.xi = None
        self.events = {"candidate": 0, "perturbation": 0, "escape": 0}

    @classmethod
    def sample_params(cls, src):
        return {"mode": "curvature" if src.uniform(0, 1) < 0.75 else "distance",
                "kappa": src.uniform(1.5, 2.5)}

    def notify(self, event, **data):
        if event in self.events:
            self.events[event] += 1
        if event == "candidate":
            self.candidate = np.array(data["w"], dtype=np.float64)
            self.cand_V = candidate_eigenspace(self.landscape, self.candidate)
            self.phase = "candidate"
        elif event == "perturbation":
            self.candidate = np.array(data["candidate"], dtype=np.float64)
            self.xi = np.array(data["xi"], dtype=np.float64)
            self.phase = "round"
        elif event == "escape":
            self.phase, self.candidate, self.cand_V, self.xi = "descent", None, None, None

    def _error_1d(self, w, grad):
        """The same map for one query, with scalar arithmetic (the sequential loop's hot path)."""
        cap = self.delta * BUDGET_FACTOR
        if self.phase != "round":
            ev = (-self.kappa) * (self.trap_V @ (grad @ self.trap_V))
        else:
            ev = w - self.candidate
            if self.mode == "curvature" and self.cand_V is not None:
                gv = self.cand_V @ (grad @ self.cand_V)
                if gv @ gv > 0:
                    ev = -gv
        n = math.sqrt(float(ev @ ev))
        if n == 0.0:
            return ev * 0.0
        if self.phase != "round" and n <= cap:
            return ev
        return ev * (cap / n)

    def error(self, w, grad):
        if np.ndim(w) == 1:
            return self._error_1d(np.asarray(w, dtype=np.float64), grad)
        if self.phase != "round":
            return trap_errors((grad @ self.trap_V) @ self.trap_V.T, self.delta, self.kappa)
        curvature = self.mode == "curvature" and self.cand_V is not None
        gv = (grad @ self.cand_V) @ self.cand_V.T if curvature else np.zeros_like(grad)
        return round_errors(np.asarray(w) - self.candidate, gv, curvature, self.delta)
