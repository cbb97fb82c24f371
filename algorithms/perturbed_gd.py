"""The loop shared by ByzantinePGD, exact-oracle PGD and robust GD (docs/paper.md §3).

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
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from byzpgd.geometry import as_point, uniform_ball

from .oracle import GradientOracle
from .result import OptimizeResult

DEFAULT_MAX_ORACLE_CALLS = 10**6


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
        return asdict(self)


def _notify(oracle, event, **data):
    notify = getattr(oracle, "notify", None)
    if notify is not None:
        notify(event, **data)


class _Run:
    """Mutable bookkeeping of one run (oracle-call and wall-clock budgets, counters, optional
    trace). Every answer is checked: a non-finite gradient, or a non-finite point to query,
    ends the run at once (status 'nonfinite'), so no divergence can make a run hang."""

    def __init__(self, oracle, max_calls, trace, max_seconds=None):
        self.oracle, self.max_calls = oracle, max_calls
        self.deadline = None if max_seconds is None else time.monotonic() + float(max_seconds)
        self.calls = self.gd_steps = self.rounds = self.escapes = 0
        self.points: list | None = [] if trace else None
        self.phases: list | None = [] if trace else None

    def query(self, w, phase):
        if self.calls >= self.max_calls:
            raise StopRun("max_oracle_calls")
        if self.deadline is not None and self.calls % 256 == 0 and time.monotonic() > self.deadline:
            raise StopRun("max_seconds")
        if not np.isfinite(w).all():
            raise StopRun("nonfinite")
        self.calls += 1
        if self.points is not None:
            self.points.append(w.copy())
            self.phases.append(phase)
        return self.answer(w)

    def answer(self, w):
        g = self.oracle(w)
        if not np.isfinite(g).all():
            raise StopRun("nonfinite")
        return g


class StopRun(Exception):
    """Ends a run early with result status ``status``: raised by the loop when a budget runs
    out or a value becomes non-finite, and may be raised by an oracle (e.g. an experiment's
    observer that has seen what it needed); the run's current iterate is returned."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


def _perturbation_round(run, w_tilde, p: PGDParams, rng, reference, test):
    """One perturbation round from the candidate; returns the escaped point or None."""
    xi = uniform_ball(rng, w_tilde.size, p.r)
    u = w_tilde + xi
    run.rounds += 1
    _notify(run.oracle, "perturbation", candidate=w_tilde, xi=xi)
    ref = w_tilde if reference == "candidate" else w_tilde + xi
    for t in range(1, p.T_th + 1):
        u = u - p.eta * run.query(u, "round")
        if (test == "every_step" or t == p.T_th) and np.linalg.norm(u - ref) >= p.R:
            return u
    return None


def _batched_rounds(run, w_tilde, p: PGDParams, rng, reference, test):
    """All Q rounds at once, as a (Q, d) batch; returns the escaped point of the first round
    that escapes, or None. Oracle calls and rounds are counted as the sequential loop would
    have made them: the rounds before the first escape in full, then that round up to its
    escape. The rounds are announced by one 'perturbation' event whose ``xi`` is the (Q, d)
    batch. Valid only for oracles whose answers depend on the query and on the announced
    events, not on the order of the calls (``batchable``, algorithms/oracle.py)."""
    xi = uniform_ball(rng, w_tilde.size, p.r, size=p.Q)
    _notify(run.oracle, "perturbation", candidate=w_tilde, xi=xi)
    u = w_tilde + xi
    ref = w_tilde if reference == "candidate" else u.copy()
    # The rounds still running are always a prefix 0..K-1: a round that escapes ends itself and
    # every later round (the sequential loop would never have run them), so K drops to its index.
    K, escaped_t = p.Q, 0
    for t in range(1, p.T_th + 1):
        active = u[:K]                       # a view: updated in place
        if not np.isfinite(active).all():
            raise StopRun("nonfinite")
        active -= p.eta * run.answer(active)
        if test == "every_step" or t == p.T_th:
            diff = active - (ref if ref.ndim == 1 else ref[:K])
            hit = np.flatnonzero(np.sqrt(np.einsum("ij,ij->i", diff, diff)) >= p.R)
            if hit.size:
                K, escaped_t = int(hit[0]), t
        if K == 0:
            break
    escaped = escaped_t > 0
    k = K if escaped else p.Q
    run.calls += k * p.T_th + (escaped_t if escaped else 0)
    run.rounds += k + 1 if escaped else p.Q
    if escaped:   # observers (the descent monitor) learn which row of the last batch the point left
        _notify(run.oracle, "escape_round", index=k)
    return u[k] if escaped else None


def perturbed_gd(oracle: GradientOracle, w0, params: PGDParams, rng: np.random.Generator, *,
                 escape_reference: str = "candidate", escape_test: str = "every_step",
                 max_oracle_calls: int = DEFAULT_MAX_ORACLE_CALLS, batch_rounds: bool | None = None,
                 trace: bool = False, max_seconds: float | None = None) -> OptimizeResult:
    """Run the shared loop; see the module docstring. Deterministic given ``rng`` and oracle.

    ``batch_rounds`` runs the Q perturbation rounds of a candidate as one (Q, d) batch (the
    same law of the output, far fewer Python steps). Default: on when the oracle declares
    ``batchable = True`` (its answers depend on the query and the announced events, not on the
    order of the calls) and ``trace`` is off.

    Budgets: at most ``max_oracle_calls`` oracle calls (status 'max_oracle_calls') and, if
    given, ``max_seconds`` of wall-clock time (status 'max_seconds'); a non-finite oracle answer
    or iterate ends the run at once (status 'nonfinite'). In each of these cases ``w`` is the
    last iterate and the run has no output in the sense of the theorems.
    """
    if escape_reference not in ("candidate", "perturbed"):
        raise ValueError(f"escape_reference must be 'candidate' or 'perturbed', got {escape_reference!r}")
    if escape_test not in ("every_step", "final"):
        raise ValueError(f"escape_test must be 'every_step' or 'final', got {escape_test!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    dim = oracle.landscape.dim
    w = as_point(w0, dim, "w0")
    if batch_rounds is None:
        batch_rounds = bool(getattr(oracle, "batchable", False)) and not trace
    batch = batch_rounds
    run = _Run(oracle, int(max_oracle_calls), trace, max_seconds)
    status = "converged"
    try:
        while True:
            g = run.query(w, "gd")
            if np.linalg.norm(g) > params.epsilon:
                w = w - params.eta * g
                run.gd_steps += 1
                continue
            _notify(oracle, "candidate", w=w)
            escaped = None
            if batch and params.Q > 0 and run.calls + params.Q * params.T_th <= run.max_calls:
                escaped = _batched_rounds(run, w, params, rng, escape_reference, escape_test)
            else:
                for _ in range(params.Q):
                    escaped = _perturbation_round(run, w, params, rng, escape_reference,
                                                  escape_test)
                    if escaped is not None:
                        break
            if escaped is None:
                break
            run.escapes += 1
            _notify(oracle, "escape", w=escaped)
            w = escaped
    except StopRun as stop:
        status = stop.status
    options = {"escape_reference": escape_reference, "escape_test": escape_test}
    tr = None if not trace else {"points": np.array(run.points), "phase": run.phases}
    return OptimizeResult(w=w, grad_oracle_calls=run.calls, gd_steps=run.gd_steps,
                          escape_rounds=run.rounds, escapes=run.escapes, status=status,
                          params={**params.as_dict(), **options}, trace=tr)
