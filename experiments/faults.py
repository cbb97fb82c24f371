"""A catalogue of seeded faults, each injected into the code under test by a wrapper (never by
editing files), for the fault campaign (``byzpgd faults``, :mod:`byzpgd.properties.campaign`).

A check is only as good as the faults it catches (DESIGN, "Checking claims honestly"): every
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
    """Wrap perturbed_gd so that an option of the loop is forced (for rounds that perturb)."""
    def wrap(original):
        def faulty(oracle, w0, params, rng, **kwargs):
            if params.Q > 0:
                kwargs.update(forced)
            return original(oracle, w0, params, rng, **kwargs)
        return faulty
    return wrap


def _reused_perturbation(original):
    """uniform_ball in perturbed_gd: every round of a run gets the first round's ξ."""
    cache: dict = {}

    def faulty(rng, dim, radius, size=None):
        key = (id(rng), dim, radius)
        if key not in cache:
            cache.clear()
            cache[key] = original(rng, dim, radius)
        xi = cache[key]
        return xi if size is None else np.repeat(xi[None, :], size, axis=0)
    return faulty


def _round_off_by_one(original):
    """_perturbation_round / _batched_rounds run T_th − 1 steps instead of T_th."""
    def faulty(run, w_tilde, p, rng, reference, test):
        return original(run, w_tilde, dataclasses.replace(p, T_th=max(1, p.T_th - 1)), rng,
                        reference, test)
    return faulty


def _sup_norm_stop(original):
    """The stopping test ‖ĝ‖ <= ε on the sup norm: ``np`` in perturbed_gd replaced by a view of
    numpy whose linalg.norm of a 1-D vector (without other arguments) is ‖·‖_∞; every other use
    (2-D norms of the batched rounds, the rest of numpy) is numpy's own."""
    numpy_linalg = original.linalg

    def norm(x, *args, **kwargs):
        if not args and not kwargs and np.ndim(x) == 1:
            return float(np.max(np.abs(x)))
        return numpy_linalg.norm(x, *args, **kwargs)

    linalg = _Namespace(numpy_linalg, norm=norm)
    return _Namespace(original, linalg=linalg)


class _Namespace:
    """A module stand-in: the given attributes, everything else from ``base``."""

    def __init__(self, base, **overrides):
        self._base = base
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self._base, name)


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


# --- the catalogue ---------------------------------------------------------------------------
BPGD = "byzpgd.algorithms.byzantine_pgd:theorem_params"
EPGD = "byzpgd.algorithms.exact_pgd:theorem_params"
LOOP = "byzpgd.algorithms.perturbed_gd"
BPGD_CLAIMS = ("mechanism.candidate_cost", "mechanism.descent", "mechanism.escape",
               "byzantine_pgd.grad_norm", "byzantine_pgd.iterations", "end_to_end.",
               "saddle_attack.byzantine_pgd_escapes", "byzantine_pgd.lambda_min")
EPGD_CLAIMS = ("mechanism.candidate_cost", "mechanism.descent", "mechanism.exact_escape",
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
                  claims, ci=ci)
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
              (Patch(f"{LOOP}:perturbed_gd", _loop_option(escape_reference="perturbed")),),
              LOOP_CLAIMS, equivalent=EQUIV_REFERENCE),
        Fault("loop.escape_test_final_step_only", "reading",
              "the escape test only after the T_th-th step of a round",
              (Patch(f"{LOOP}:perturbed_gd", _loop_option(escape_test="final")),), LOOP_CLAIMS,
              equivalent=EQUIV_FINAL_TEST),
        Fault("loop.one_perturbation_for_all_rounds", "logic",
              "one perturbation ξ drawn once and reused for every round",
              (Patch(f"{LOOP}:uniform_ball", _reused_perturbation),), LOOP_CLAIMS, ci=True),
        Fault("loop.round_off_by_one", "logic", "a round runs T_th − 1 steps",
              (Patch(f"{LOOP}:_perturbation_round", _round_off_by_one),
               Patch(f"{LOOP}:_batched_rounds", _round_off_by_one)), LOOP_CLAIMS),
        Fault("loop.stop_on_sup_norm", "logic",
              "the stopping test ‖ĝ‖ <= ε on the sup norm instead of the Euclidean norm",
              (Patch(f"{LOOP}:np", _sup_norm_stop),), LOOP_CLAIMS, ci=True),
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
    return tuple(faults)


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
