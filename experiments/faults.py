"""A catalogue of seeded faults, each injected into the code under test by a wrapper (never by
editing files), for the fault campaign (``byzpgd faults``, :mod:`byzpgd.properties.campaign`).

A check is only as good as the faults it catches (docs/ARCHITECTURE.md, "How claims are checked"): every
fault here is a plausible bug, most of them subtle (a constant off by 1.5–3×, an off-by-one,
the wrong reference point), and the campaign runs the claims that should notice it.

Injection. A :class:`Patch` names a module attribute ("module:attr") and a function
``wrap(original) -> replacement``. While a fault is active the replacement stands in for the
original in *every* loaded byzpgd module that binds the same object (so ``from x import f``
copies are patched too; a module object such as ``np`` only in the target module), and
everything is restored afterwards. An injection point that does
not exist raises :class:`InjectionError`: the campaign reports it as an 'error' row, never as a
kill or a survivor.

Kinds: 'parameter' (a parameter of ByzantinePGD or exact PGD moved in its harmful direction),
'logic' (the loop of docs/paper.md §3 done wrong), 'aggregator' (a GradAGG rule done wrong),
'theory' (a wrong constant or exponent in a claim or a parameter formula), and 'reading': *not*
a fault but a reading of Algorithm 1 that docs/paper.md §3 leaves open (its "points of
uncertainty"). A reading runs like a fault but must survive: a claim that kills it is stricter
than the paper. Readings are not part of the catalogue's kill rate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

KINDS = ("parameter", "logic", "aggregator", "theory", "reading")


class InjectionError(RuntimeError):
    """The fault's injection point does not exist (or is not what the fault expects)."""


@dataclass(frozen=True)
class Patch:
    target: str                      # "package.module:attribute"
    wrap: Callable                   # original -> replacement


@dataclass(frozen=True)
class Fault:
    """One seeded fault: ``claims`` are the claim ids (or id prefixes ending in '.') the
    campaign runs against it, cheapest first; ``equivalent`` is the argument when the fault is
    documented as equivalent (no claim can tell it from the correct code)."""

    id: str
    kind: str
    description: str
    patches: tuple[Patch, ...]
    claims: tuple[str, ...]
    ci: bool = False                 # in the small subset run by the test suite
    equivalent: str = ""
    reaches: str = ""                # which engine the fault reaches (one-at-a-time loop, batched, both)
    why: str = ""                    # one line on why the slip is harmful (logic faults)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "reading" and not self.equivalent:
            raise ValueError(f"{self.id}: a reading needs the argument why no claim tells it apart")

    @property
    def is_reading(self) -> bool:
        return self.kind == "reading"


def _resolve(target: str):
    modname, _, attr = target.partition(":")
    if not attr:
        raise InjectionError(f"target must be 'module:attribute', got {target!r}")
    try:
        module = importlib.import_module(modname)
    except ImportError as exc:
        raise InjectionError(f"injection point {target!r}: no module {modname!r} ({exc})") from None
    if not hasattr(module, attr):
        raise InjectionError(f"injection point {target!r}: module {modname!r} has no {attr!r}")
    return module, attr, getattr(module, attr)


def _bindings(obj) -> list[tuple[object, str]]:
    """(module, name) of every loaded byzpgd module attribute that is ``obj``."""
    out = []
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name == "byzpgd" or name.startswith("byzpgd.")):
            continue
        for attr, value in list(vars(mod).items()):
            if value is obj:
                out.append((mod, attr))
    return out


@contextlib.contextmanager
def inject(fault: Fault) -> Iterator[None]:
    """Activate ``fault`` for the duration of the block (see the module docstring)."""
    saved: list[tuple[object, str, object]] = []
    try:
        for patch in fault.patches:
            module, attr, original = _resolve(patch.target)
            replacement = patch.wrap(original)
            # a module object (e.g. ``np``) is shared by every module: patch the target only
            places = [(module, attr)] if isinstance(original, types.ModuleType) else \
                (_bindings(original) or [(module, attr)])
            for mod, name in places:
                saved.append((mod, name, getattr(mod, name)))
                setattr(mod, name, replacement)
        yield
    finally:
        for mod, name, value in reversed(saved):
            setattr(mod, name, value)


# --- wrappers ------------------------------------------------------------------------------
def _params(**change: Callable) -> Callable:
    """Wrap a ``theorem_params(...) -> PGDParams`` so that each named parameter is mapped."""
    def wrap(original):
        def faulty(*args, **kwargs):
            p = original(*args, **kwargs)
            return dataclasses.replace(p, **{k: f(getattr(p, k)) for k, f in change.items()})
        return faulty
    return wrap


def _int(f: Callable[[float], float]) -> Callable[[int], int]:
    return lambda v: max(1, int(math.ceil(f(v) - 1e-12)))


def _loop_option(**forced) -> Callable:
    """The engine (algorithms/engine.py) with an option of the loop forced for every batch that
    has rounds (a run of robust GD, Q = 0, has no escape test to read)."""
    def wrap(original):
        def faulty(oracle, W0, params, rngs, **kwargs):
            if any(p.Q > 0 for p in params):
                kwargs.update(forced)
            return original(oracle, W0, params, rngs, **kwargs)
        return faulty
    return wrap


def _reused_perturbation(original):
    """uniform_ball in the engine: every round of a trial gets the trial's first ξ (the first
    draw from its generator; a bounded cache keeps the generator, so its id is not reused)."""
    cache: dict = {}

    def faulty(rng, dim, radius, size=None):
        key = (id(rng), dim, radius)
        if key not in cache:
            if len(cache) >= 4096:
                cache.pop(next(iter(cache)))
            cache[key] = (rng, original(rng, dim, radius))
        xi = cache[key][1]
        return xi.copy() if size is None else np.repeat(xi[None, :], size, axis=0)
    return faulty


def _trim_one_less(original):
    def faulty(m, f, beta=None):
        agg = original(m, f, beta)
        b = max(0, agg.trim - 1)
        from byzpgd.algorithms.aggregators.trimmed_mean import trimmed_mean

        def aggregate(X):
            return trimmed_mean(X, b)
        aggregate.trim = b
        return aggregate
    return faulty


def _filter_threshold(factor):
    def wrap(original):
        def faulty(X, f, sigma2=None, C=4.0, **kwargs):
            return original(X, f, sigma2=sigma2, C=factor * C, **kwargs)
        return faulty
    return wrap


def _median_drops_nan(original):
    def faulty(X):
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(all="ignore"), _quiet():
            return np.nanmedian(np.where(np.isinf(X), np.nan, X), axis=0)
    return faulty


def _median_biased(original):
    """The median plus a fixed offset of 0.05 on every coordinate: bounded, robust, but its
    error does not shrink with n or m."""
    def faulty(X):
        return original(X) + 0.05
    return faulty


@contextlib.contextmanager
def _quiet():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _claim_constant(claim_id, factor):
    def wrap(registry):
        claim = registry[claim_id]
        return {**registry, claim_id: dataclasses.replace(claim, constant=claim.constant * factor,
                                                          _fns={})}
    return wrap


def _formula(name, transform):
    """Theorem 1's SymPy formula table (theory.parameters.BYZANTINE_PGD) with entry ``name``
    replaced by transform(expr): a wrong statement, seen by the symbolic parameters.* claims."""
    def wrap(table):
        return {**table, name: transform(table[name])}
    return wrap


# --- logic faults: one slip each in a copy of the code under test ------------------------------
# Each wrapper below re-implements one step of the code under test with one slip a careful
# line-by-line reviewer would look for (the rest of the copy is the original, line for line). The
# loop's steps are functions of algorithms/engine.py that every run calls (``Fault.reaches``).
LOOP_REACH = ("every run: the one loop (algorithms/engine.py) runs a single run as a batch of "
              "one and batched trials alike")
CERTIFIER = ("the one-at-a-time engine's certifying layer (oracles/inexact.py CertifiedOracle; "
             "the batched engine certifies with oracles/batched.py, not reached)")
AGGREGATOR = "both engines (the worker pipeline calls the aggregator by name)"
PARAMETER = "both engines (theorem_params is looked up at each call, experiments/batched.py too)"
STATEMENT = "both engines (a statement or formula of the theory)"


def _stop_slip(slip: str) -> Callable:
    """exceeds_threshold (the stopping test ‖ĝ‖ > ε) with one slip: 'sup_norm' (‖ĝ‖_∞ instead of
    the Euclidean norm) or 'squared' (‖ĝ‖² compared with ε)."""
    def wrap(original):
        def faulty(G, eps):
            if slip == "sup_norm":
                return np.max(np.abs(G), axis=1) > eps
            return np.einsum("ij,ij->i", G, G) > eps
        return faulty
    return wrap


def _step_before_test(original):
    """gradient_phase with the step w − ηĝ taken before the stopping test: a row that passes the
    test is a candidate one step past the point whose ĝ passed it."""
    mod = sys.modules[original.__module__]

    def faulty(W, G, eta, eps):
        moved = mod.exceeds_threshold(G, eps)
        return W - eta[:, None] * G, moved
    return faulty


def _round_plan_slip(slip: str) -> Callable:
    """round_plan with one slip: 'rounds_Q_minus_1' (the round loop runs range(Q − 1)) or
    'T_th_minus_1' (a round runs T_th − 1 steps)."""
    def wrap(original):
        def faulty(Q, T):
            Q, T = original(Q, T)
            if slip == "rounds_Q_minus_1":
                return np.maximum(Q - 1, 0), T
            return Q, np.maximum(T - 1, 1)
        return faulty
    return wrap


def _distance_slip(slip: str) -> Callable:
    """escape_distance with one slip: 'ref_previous_step' (‖u_t − u_(t−1)‖, the step length, not
    the distance from the reference) or 'escape_squared' (‖u − ref‖² compared with R)."""
    def wrap(original):
        def faulty(U, ref, step):
            diff = step if slip == "ref_previous_step" else U - ref
            sq = np.einsum("ij,ij->i", diff, diff)
            return sq if slip == "escape_squared" else np.sqrt(sq)
        return faulty
    return wrap


def _stale_round_gradient(original):
    """round_step reusing the answer at each round's first point for all its steps (the step
    reads the variable of the first query): rows are keyed by their place in the round store,
    and a row's first step (t = 1) sets its stored answer."""
    first: dict = {}

    def faulty(G, eta, rows, t):
        G = G.copy()
        for j, (row, step_no) in enumerate(zip(rows.tolist(), t.tolist(), strict=True)):
            if step_no == 1 or row not in first:
                first[row] = G[j].copy()
            else:
                G[j] = first[row]
        return original(G, eta, rows, t)
    return faulty


def _settle_slip(slip: str) -> Callable:
    """settle_window with one slip: 'no_break' (the break after an escaping round is missing, so
    the result is the last round's: an escape counts only when the candidate's last round is the
    window's first escape) or 'row_off_by_one' (a window of Q rounds returns row j − 1 for its
    escaping round j: the row before it, the window's last row when j = 0)."""
    def wrap(original):
        def faulty(esc, U, first_round, Q):
            j, point = original(esc, U, first_round, Q)
            if j < 0:
                return j, point
            if slip == "no_break":
                return (j, point) if first_round + j == Q - 1 else (-1, None)
            if slip == "row_off_by_one" and U.shape[0] > 1:
                return j, U[j - 1].copy()
            return j, point
        return faulty
    return wrap


def _cube_perturbation(original):
    """uniform_ball in the engine: ξ uniform in the cube [−r, r]^d instead of the ball B_0(r)
    (its norm reaches r√d, so with r√d >= R a perturbation alone can pass the escape test)."""
    def faulty(rng, dim, radius, size=None):
        shape = (dim,) if size is None else (size, dim)
        return rng.uniform(-radius, radius, shape)
    return faulty


class _GradByIdentity:
    """A landscape whose ``grad`` is memoised by the query array's identity (``id(w)``)."""

    def __init__(self, landscape):
        self._landscape, self._cache = landscape, {}

    def grad(self, w):
        key = (id(w), np.shape(w))
        if key not in self._cache:
            self._cache[key] = self._landscape.grad(w)
        return self._cache[key]

    def __getattr__(self, name):
        return getattr(self._landscape, name)


def _certifier_slip(slip: str) -> Callable:
    """CertifiedOracle (oracles/inexact.py) with one slip: 'grad_by_identity' (∇F memoised by the
    query array's ``id``, to avoid recomputing it for a repeated query: numpy reuses the id of a
    freed array, so a new point can get an old point's gradient, in the answer built on it and in
    the check alike); 'error_sup_norm' (the error ‖ĝ − ∇F‖ measured in the sup norm: an answer
    off by up to Δ√d passes)."""
    def wrap(original):
        class Faulty(original):
            def __init__(self, oracle, slack: float = 0.0):
                super().__init__(oracle, slack)
                if slip == "grad_by_identity":
                    self.landscape = _GradByIdentity(self.landscape)

            def __call__(self, w):
                if slip != "error_sup_norm":
                    return super().__call__(w)
                w = np.asarray(w, dtype=np.float64)
                g = np.asarray(self.oracle(w), dtype=np.float64)
                self.calls += 1 if w.ndim == 1 else w.shape[0]
                true = self.landscape.grad(w)
                if g.shape != w.shape or not np.isfinite(g).all() or not np.isfinite(true).all():
                    return super().__call__(w)
                err = np.max(np.abs(g - true), axis=-1)
                if np.any(err > self.delta * (1.0 + self.slack) + 4 * EPS_F * np.max(np.abs(g))):
                    raise _oracle_budget_exceeded()(f"oracle error exceeds Δ = {self.delta:.6g}")
                self._record(float(np.max(err)), float(np.max(np.einsum("...i,...i->...", w, w))))
                return g
        Faulty.__name__ = Faulty.__qualname__ = original.__name__
        return Faulty
    return wrap


EPS_F = float(np.finfo(np.float64).eps)


def _oracle_budget_exceeded():
    from byzpgd.oracles.inexact import OracleBudgetExceeded
    return OracleBudgetExceeded


def _trim_divides_by_m(original):
    """trimmed_mean: the kept values summed and divided by m instead of m − 2b."""
    def faulty(X, b, method=None):
        X = np.asarray(X, dtype=np.float64)
        m = X.shape[0]
        with np.errstate(invalid="ignore", over="ignore"):
            return np.sort(X, axis=0)[b:m - b].sum(axis=0) / m
    return faulty


def _median_unpartitioned_row(original):
    """coordinate_median, even m: the lower middle value read from the unpartitioned X[k − 1]
    (a worker's own row) instead of the partitioned P[:k].max(axis=0)."""
    def faulty(X):
        X = np.asarray(X, dtype=np.float64)
        m = X.shape[0]
        k = m // 2
        P = np.partition(X, k, axis=0)
        if m % 2:
            return P[k].copy()
        return 0.5 * X[k - 1] + 0.5 * P[k]
    return faulty


def _trim_keeps_one_more(original):
    """trimmed_mean: the kept slice [b, m − b + 1) of each sorted column (one value of the top
    side kept: an off-by-one in the slice end, so one extreme Byzantine value enters the mean)."""
    def faulty(X, b, method=None):
        X = np.asarray(X, dtype=np.float64)
        m = X.shape[0]
        if b == 0:
            return X.mean(axis=0)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.sort(X, axis=0)[b:m - b + 1].mean(axis=0)
    return faulty


def _filter_output_unfiltered(original):
    """iterative_filtering: the rounds compute the weights c, but the output is formed with the
    weights of before the first round (the variable ``w`` of the loop's first line reused): the
    mean of the rows that are not far."""
    def faulty(X, f, sigma2=None, C=4.0, method="auto", seed=0, return_info=False):
        from byzpgd.algorithms.aggregators.basic import centred
        original(X, f, sigma2=sigma2, C=C, method=method, seed=seed)   # validation, same work
        centre, Xc, far = centred(X)
        out = centre + Xc[~far].mean(axis=0) if (~far).any() else np.full(np.shape(X)[1], np.nan)
        return (out, {"rounds": 0}) if return_info else out
    return faulty


# --- the catalogue ---------------------------------------------------------------------------
BPGD = "byzpgd.algorithms.byzantine_pgd:theorem_params"
EPGD = "byzpgd.algorithms.exact_pgd:theorem_params"
LOOP = "byzpgd.algorithms.engine"
BPGD_CLAIMS = ("mechanism.candidate_cost", "mechanism.perturbation_radius", "mechanism.descent",
               "monitor.descent", "mechanism.escape",
               "byzantine_pgd.grad_norm", "byzantine_pgd.iterations", "end_to_end.",
               "saddle_attack.byzantine_pgd_escapes", "byzantine_pgd.lambda_min")
EPGD_CLAIMS = ("mechanism.candidate_cost", "mechanism.perturbation_radius", "mechanism.descent",
               "monitor.descent", "mechanism.exact_escape",
               "exact_pgd.grad_norm", "exact_pgd.iterations", "exact_pgd.lambda_min")
LOOP_CLAIMS = EPGD_CLAIMS + BPGD_CLAIMS + ("ablation.",)
# The two readings of Algorithm 1 that docs/paper.md §3 leaves open ("points of uncertainty"):
# the reconstruction cannot call either one a fault, so no claim may kill it; the argument why no
# claim can tell them apart on the checked instances is stated with the fault.
EQUIV_REFERENCE = (
    "docs/paper.md §3 leaves the reference point of the escape test open (w~ or w~ + xi): with "
    "r <= R the two tests differ by at most r in the distance, so they decide differently only "
    "for rounds that end within r of the escape distance; Theorem 1's guarantees hold for both "
    "readings (the proof's coupling argument, §8.3, bounds the stuck set either way)")
EQUIV_FILTER = (
    "the rate of iterative filtering (docs/paper.md §6) is stated up to a constant factor; a "
    "filter that stops at twice the spectral threshold (C = 8 instead of 4) keeps the same rate "
    "with a constant at most sqrt(2) larger, so no order-of-magnitude claim can tell them apart; "
    "constants are the aggregator audit's business (issue 12: graded verdict against references)")
EQUIV_NAN_MEDIAN = (
    "dropping the non-finite rows and taking the median of the rest is itself a robust rule with "
    "the median's rate: of the m - k finite rows at most f - k are Byzantine, so the Byzantine "
    "fraction can only fall (docs/paper.md §6). It departs from the documented NaN semantics "
    "(NaN ranks above +Inf), which the aggregator unit tests check (tests/test_aggregators.py), "
    "not a claim of the paper")
EQUIV_FINAL_TEST = (
    "docs/paper.md §3 leaves open whether the escape test runs every step or after the T_th-th: "
    "along the escape direction the distance grows monotonically once it exceeds Delta/gamma "
    "(§8.3), so a round that reaches R at some step is still beyond R at step T_th; the two "
    "readings give the same escapes on every round that escapes by the mechanism the claims check")
RATE_CLAIMS = ("aggregator.", "end_to_end.", "lower_bound.statistical")


def _param_faults(prefix, target, claims, table):
    return [Fault(f"{prefix}.{name}", "parameter", text, (Patch(target, _params(**change)),),
                  claims, ci=ci, reaches=PARAMETER)
            for name, text, change, ci in table]


_BPGD_TABLE = [
    ("Q_1", "Q = 1 perturbation round", {"Q": lambda q: 1}, True),
    ("Q_half", "Q halved", {"Q": _int(lambda q: q / 2)}, False),
    ("Q_div1.5", "Q / 1.5", {"Q": _int(lambda q: q / 1.5)}, False),
    ("T_th_div10", "T_th / 10", {"T_th": _int(lambda t: t / 10)}, True),
    ("T_th_div2", "T_th / 2", {"T_th": _int(lambda t: t / 2)}, False),
    ("T_th_div1.5", "T_th / 1.5", {"T_th": _int(lambda t: t / 1.5)}, False),
    ("r_div10", "r / 10", {"r": lambda r: r / 10}, False),
    ("r_div3", "r / 3", {"r": lambda r: r / 3}, False),
    ("r_div1.5", "r / 1.5", {"r": lambda r: r / 1.5}, False),
    ("R_x10", "R × 10", {"R": lambda R: 10 * R}, False),
    ("R_x2", "R × 2", {"R": lambda R: 2 * R}, False),
    ("R_x1.5", "R × 1.5", {"R": lambda R: 1.5 * R}, False),
    ("epsilon_x1.5", "ε × 1.5", {"epsilon": lambda e: 1.5 * e}, True),
    ("epsilon_x2", "ε × 2", {"epsilon": lambda e: 2 * e}, False),
    ("eta_x2.5", "unstable step η = 2.5/L_F", {"eta": lambda h: 2.5 * h}, True),
    ("eta_x1.5", "step η = 1.5/L_F", {"eta": lambda h: 1.5 * h}, False),
    ("eta_div10", "step η = 1/(10 L_F)", {"eta": lambda h: h / 10}, False),
]
_EPGD_TABLE = [   # Theorem 2's Q is 1: no Q fault
    ("T_th_div10", "T_th / 10", {"T_th": _int(lambda t: t / 10)}, False),
    ("T_th_div2", "T_th / 2", {"T_th": _int(lambda t: t / 2)}, False),
    ("T_th_div1.5", "T_th / 1.5", {"T_th": _int(lambda t: t / 1.5)}, False),
    ("r_div10", "r / 10", {"r": lambda r: r / 10}, False),
    ("r_div3", "r / 3", {"r": lambda r: r / 3}, False),
    ("r_div1.5", "r / 1.5", {"r": lambda r: r / 1.5}, False),
    ("R_x10", "R × 10", {"R": lambda R: 10 * R}, False),
    ("R_x2", "R × 2", {"R": lambda R: 2 * R}, False),
    ("R_x1.5", "R × 1.5", {"R": lambda R: 1.5 * R}, False),
    ("epsilon_x1.5", "ε × 1.5", {"epsilon": lambda e: 1.5 * e}, True),
    ("epsilon_x2", "ε × 2", {"epsilon": lambda e: 2 * e}, False),
    ("eta_x2.5", "unstable step η = 2.5/L_F", {"eta": lambda h: 2.5 * h}, False),
    ("eta_x1.5", "step η = 1.5/L_F", {"eta": lambda h: 1.5 * h}, False),
    ("eta_div10", "step η = 1/(10 L_F)", {"eta": lambda h: h / 10}, False),
]


def _r_at_epsilon(original):
    def faulty(*args, **kwargs):
        p = original(*args, **kwargs)
        return dataclasses.replace(p, r=p.epsilon)
    return faulty


def _catalogue() -> tuple[Fault, ...]:
    faults = _param_faults("byzantine_pgd", BPGD, BPGD_CLAIMS, _BPGD_TABLE)
    faults.insert(6, Fault("byzantine_pgd.r_exact_scale", "parameter",
                           "r at the exact-oracle scale (r = ε = 3Δ), the radius the saddle-point "
                           "attack defeats (docs/paper.md §2)", (Patch(BPGD, _r_at_epsilon),),
                           BPGD_CLAIMS, ci=True))
    faults += _param_faults("exact_pgd", EPGD, EPGD_CLAIMS, _EPGD_TABLE)
    faults += [
        Fault("loop.escape_from_perturbed_point", "reading",
              "escape distance measured from w̃ + ξ instead of the candidate w̃",
              (Patch(f"{LOOP}:batched_perturbed_gd", _loop_option(escape_reference="perturbed")),),
              LOOP_CLAIMS, equivalent=EQUIV_REFERENCE),
        Fault("loop.escape_test_final_step_only", "reading",
              "the escape test only after the T_th-th step of a round",
              (Patch(f"{LOOP}:batched_perturbed_gd", _loop_option(escape_test="final")),), LOOP_CLAIMS,
              equivalent=EQUIV_FINAL_TEST),
        Fault("loop.one_perturbation_for_all_rounds", "logic",
              "one perturbation ξ drawn once and reused for every round",
              (Patch(f"{LOOP}:uniform_ball", _reused_perturbation),), LOOP_CLAIMS, ci=True),
        Fault("loop.round_off_by_one", "logic", "a round runs T_th − 1 steps",
              (Patch(f"{LOOP}:round_plan", _round_plan_slip("T_th_minus_1")),), LOOP_CLAIMS),
        Fault("loop.stop_on_sup_norm", "logic",
              "the stopping test ‖ĝ‖ <= ε on the sup norm instead of the Euclidean norm",
              (Patch(f"{LOOP}:exceeds_threshold", _stop_slip("sup_norm")),), LOOP_CLAIMS, ci=True),
        Fault("aggregator.trim_one_less", "aggregator",
              "the trimmed mean trims b − 1 values per side instead of b",
              (Patch("byzpgd.algorithms.aggregators.trimmed_mean:make_trimmed_mean",
                     _trim_one_less),), RATE_CLAIMS, ci=True),
        Fault("aggregator.filter_threshold_x2", "aggregator",
              "iterative filtering stops at twice its spectral threshold",
              (Patch("byzpgd.algorithms.aggregators.filtering:iterative_filtering",
                     _filter_threshold(2.0)),), RATE_CLAIMS, equivalent=EQUIV_FILTER),
        Fault("aggregator.median_drops_nan", "aggregator",
              "the coordinate median ignores NaN/Inf entries (np.nanmedian) instead of ranking "
              "them as extremes", (Patch("byzpgd.algorithms.aggregators.basic:coordinate_median",
                                         _median_drops_nan),), RATE_CLAIMS,
              equivalent=EQUIV_NAN_MEDIAN),
        Fault("aggregator.median_biased", "aggregator",
              "the coordinate median plus a fixed bias of 0.05 (error does not shrink with n, m)",
              (Patch("byzpgd.algorithms.aggregators.basic:coordinate_median", _median_biased),),
              RATE_CLAIMS, ci=True),
        Fault("theory.grad_norm_constant_3", "theory",
              "Theorem 1's gradient bound stated as 3Δ instead of 4Δ",
              (Patch("byzpgd.theory.claims.base:REGISTRY",
                     _claim_constant("byzantine_pgd.grad_norm", 0.75)),),
              ("byzantine_pgd.grad_norm", "end_to_end.grad_norm"), ci=True),
        Fault("theory.iterations_constant_half", "theory",
              "Theorem 2's iteration bound with constant 1 instead of 2",
              (Patch("byzpgd.theory.claims.base:REGISTRY",
                     _claim_constant("exact_pgd.iterations", 0.5)),), ("exact_pgd.iterations",)),
        Fault("theory.R_exponent", "theory",
              "R's exponent of Δ written 1/3 instead of 2/5 in Theorem 1's formulas",
              (Patch("byzpgd.theory.parameters:BYZANTINE_PGD",
                     _formula("R", lambda e: e.replace(
                         lambda x: x.is_Pow and x.exp == _q(2, 5), lambda x: x.base ** _q(1, 3)))),),
              ("parameters.",)),
        Fault("theory.T_th_constant", "theory",
              "T_th's constant 384 written 192 in Theorem 1's formulas",
              (Patch("byzpgd.theory.parameters:BYZANTINE_PGD",
                     _formula("T_th", lambda e: 2 * e)),), ("parameters.",)),
    ]
    faults += _logic_faults()
    return tuple(_with_reach(f) for f in faults)


def _with_reach(f: Fault) -> Fault:
    """The engine a fault of the original catalogue reaches (set where it was not given)."""
    if f.reaches:
        return f
    reach = {"logic": LOOP_REACH, "reading": LOOP_REACH, "aggregator": AGGREGATOR,
             "theory": STATEMENT, "parameter": PARAMETER}[f.kind]
    return dataclasses.replace(f, reaches=reach)


EQUIV_SUP_NORM_CERTIFIER = (
    "the certifying layer is the harness's check of the adversaries, not the algorithm: every "
    "adversary of the library stays within Delta in the Euclidean norm (by construction), so a "
    "laxer check (sup norm) changes no run and no claim can see it. What would see it is an "
    "over-budget oracle, which tests/test_oracles.py feeds to CertifiedOracle; no claim does")


def _logic_faults() -> list[Fault]:
    """Slips in the loop (algorithms/engine.py), the certifying layer (oracles/inexact.py)
    and the aggregators, found by reading each function line by line; none is a parameter
    scaling. ``why``: one line on the harm."""
    L, C = LOOP_REACH, CERTIFIER
    return [
        Fault("loop.rounds_Q_minus_1", "logic", "the round loop runs range(Q - 1): Q − 1 rounds",
              (Patch(f"{LOOP}:round_plan", _round_plan_slip("rounds_Q_minus_1")),), LOOP_CLAIMS,
              reaches=L, why="exact PGD (Q = 1) never perturbs, and ByzantinePGD's failure "
              "probability p^Q becomes p^(Q-1): a saddle is returned more often than δ allows"),
        Fault("loop.no_break_after_escape", "logic",
              "the break after an escaping round is missing: escaped is the last round's result",
              (Patch(f"{LOOP}:settle_window", _settle_slip("no_break")),), LOOP_CLAIMS, reaches=L,
              why="an escape is forgotten unless the Q-th round escapes too, so w~ is returned at a "
              "saddle with probability near the per-round failure p, not p^Q"),
        Fault("loop.step_before_stop_test", "logic",
              "the gradient step is taken before the stopping test (w̃ is one step past the tested point)",
              (Patch(f"{LOOP}:gradient_phase", _step_before_test),), LOOP_CLAIMS,
              reaches=L, why="the output is not the point whose ĝ passed ‖ĝ‖ <= ε: along curvature "
              "−L its gradient is up to twice as large, beyond 4Δ, and a local minimum is not "
              "returned as it was found"),
        Fault("loop.stop_on_squared_norm", "logic",
              "the stopping test compares ‖ĝ‖² (not ‖ĝ‖) with ε",
              (Patch(f"{LOOP}:exceeds_threshold", _stop_slip("squared")),), LOOP_CLAIMS, reaches=L,
              why="with ε < 1 the loop stops at ‖ĝ‖ up to √ε >> ε, so the output's gradient can "
              "exceed 4Δ (Theorem 1) or ε (Theorem 2)"),
        Fault("loop.escape_distance_from_previous_step", "logic",
              "the escape test measures ‖u_t − u_(t−1)‖ (the step) instead of ‖u_t − w~‖",
              (Patch(f"{LOOP}:escape_distance", _distance_slip("ref_previous_step")),), LOOP_CLAIMS,
              reaches=L,
              why="a step is at most η(‖∇F‖ + Δ), far below R near a saddle: rounds never escape "
              "and the saddle is returned"),
        Fault("loop.escape_test_squared", "logic",
              "the escape test compares ‖u − w~‖² (not ‖u − w~‖) with R",
              (Patch(f"{LOOP}:escape_distance", _distance_slip("escape_squared")),), LOOP_CLAIMS, reaches=L,
              why="with R < 1 a round must move √R >> R, which T_th steps do not reach from a "
              "shallow saddle: escapes are missed"),
        Fault("loop.stale_round_gradient", "logic",
              "every step of a round uses the answer at the round's first point",
              (Patch(f"{LOOP}:round_step", _stale_round_gradient),), LOOP_CLAIMS, reaches=L,
              why="the round moves in a straight line along −ĝ(w~ + ξ), which near a saddle is "
              "tiny and does not follow the negative curvature: escapes are missed"),
        Fault("loop.perturbation_in_cube", "logic",
              "ξ drawn uniformly from the cube [−r, r]^d instead of the ball B_0(r)",
              (Patch(f"{LOOP}:uniform_ball", _cube_perturbation),), LOOP_CLAIMS, reaches=L,
              why="‖ξ‖ reaches r√d: the law of the round (and the coupling bound of §8.3) changes, "
              "and with r√d >= R a perturbation alone passes the escape test (Theorem 1's "
              "iteration instances have r >= 0.8 R): candidates are left without descent and the "
              "loop does not settle"),
        Fault("certifier.grad_by_identity", "logic",
              "CertifiedOracle memoises ∇F by the query array's id()",
              (Patch("byzpgd.oracles.inexact:CertifiedOracle", _certifier_slip("grad_by_identity")),),
              LOOP_CLAIMS, reaches=C,
              why="numpy reuses the id of a freed array, so a new query can get an old point's "
              "gradient: the answer is wrong and the check, built on the same stale value, passes"),
        Fault("certifier.error_sup_norm", "logic",
              "CertifiedOracle measures ‖ĝ − ∇F‖ in the sup norm",
              (Patch("byzpgd.oracles.inexact:CertifiedOracle", _certifier_slip("error_sup_norm")),),
              LOOP_CLAIMS, reaches=C, equivalent=EQUIV_SUP_NORM_CERTIFIER,
              why="an answer off by up to Δ√d would pass as Δ-inexact, so a run outside Theorem 1's "
              "hypotheses would be judged as inside them"),
        Fault("loop.batched_escaped_row_off_by_one", "logic",
              "the (Q, d) round batch returns row k − 1 for the escaping round k",
              (Patch(f"{LOOP}:settle_window", _settle_slip("row_off_by_one")),), LOOP_CLAIMS,
              reaches=L + "; within it only the windows of Q rounds (batchable oracles)",
              why="the returned point is a round that did not escape (or the last round when k = 0): "
              "the loop continues next to the saddle and an escape is lost"),
        Fault("aggregator.trim_divides_by_m", "aggregator",
              "the trimmed mean divides the kept sum by m instead of m − 2b",
              (Patch("byzpgd.algorithms.aggregators.trimmed_mean:trimmed_mean", _trim_divides_by_m),),
              RATE_CLAIMS, reaches=AGGREGATOR,
              why="the aggregate is shrunk by (m − 2b)/m: an error proportional to ‖∇F‖ that does "
              "not vanish with n or m"),
        Fault("aggregator.median_reads_unpartitioned_row", "aggregator",
              "for even m the median's lower middle value is read from X[k − 1], not the partition",
              (Patch("byzpgd.algorithms.aggregators.basic:coordinate_median", _median_unpartitioned_row),),
              RATE_CLAIMS, reaches=AGGREGATOR,
              why="half of the aggregate is one worker's own row: its noise does not shrink with m, "
              "and if that worker is Byzantine the aggregate is unbounded"),
        Fault("aggregator.trim_keeps_one_more", "aggregator",
              "the trimmed mean keeps the slice [b, m − b + 1) of each sorted column",
              (Patch("byzpgd.algorithms.aggregators.trimmed_mean:trimmed_mean", _trim_keeps_one_more),),
              RATE_CLAIMS, reaches=AGGREGATOR,
              why="one value of the top side enters the mean: a Byzantine worker at +large moves the "
              "aggregate by (its value)/(m − 2b + 1), unbounded"),
        Fault("aggregator.filter_output_unfiltered", "aggregator",
              "iterative filtering forms its output with the weights of before its first round",
              (Patch("byzpgd.algorithms.aggregators.filtering:iterative_filtering",
                     _filter_output_unfiltered),), RATE_CLAIMS, reaches=AGGREGATOR,
              why="the output is the mean of the finite rows: the filter's work is discarded and a "
              "Byzantine fraction α moves it by α times the attackers' offset"),
    ]


def _q(p, q):
    import sympy as sp
    return sp.Rational(p, q)


CATALOGUE: tuple[Fault, ...] = _catalogue()
BY_ID = {f.id: f for f in CATALOGUE}


def get_fault(fault_id: str) -> Fault:
    try:
        return BY_ID[fault_id]
    except KeyError:
        raise KeyError(f"unknown fault {fault_id!r}; known: {sorted(BY_ID)}") from None
