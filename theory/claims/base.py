"""The :class:`Claim` type and the claim registry (the statements are in the sibling modules,
one per group of claims).

Every checked claim has the form ``observed <= bound`` with ``bound = C·shape + offset``:
``C`` is the paper's constant (4 in 4Δ, 1900, 2, ...), ``shape`` and ``offset`` are SymPy
expressions in the symbols of :mod:`byzpgd.theory.symbols`. The *empirical constant* of a run is
the smallest C for which the bound would still hold: (observed − offset)/shape.
Provenance follows docs/paper.md §0: CONFIRMED, CONFIRMED-INDIRECT, POSTER, RECONSTRUCTED, OWN.

A claim's provenance is the *weakest* tag among the parts it depends on (:func:`weakest`, in the
order of :data:`PROVENANCES`, strongest first): the bound's constant and shape, the parameters its
value is computed with, and the hypotheses without which it is false. The shared framework
(Assumption A, Def 1, the protocol of docs/paper.md §1) is not counted, and neither is a proof
(an OWN proof of a RECONSTRUCTED statement leaves the statement RECONSTRUCTED) nor a hypothesis
the check uses only to keep runs finite. A claim that lists its ``parts`` (description, tag) is
checked at construction: a provenance stronger than its weakest part is an error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from .quantities import Quantity

KINDS = ("symbolic", "deterministic", "probabilistic", "rate", "construction")
PROVENANCES = ("CONFIRMED", "CONFIRMED-INDIRECT", "POSTER", "RECONSTRUCTED", "OWN")  # strongest first


def weakest(tags) -> str:
    """The weakest of provenance ``tags`` (the last in :data:`PROVENANCES` order)."""
    tags = list(tags)
    bad = [t for t in tags if t not in PROVENANCES]
    if bad or not tags:
        raise ValueError(f"tags must be a non-empty list of {PROVENANCES}, got {tags!r}")
    return max(tags, key=PROVENANCES.index)


@dataclass(frozen=True)
class Claim:
    """One checkable statement of the paper.

    ``observed`` names the measured quantity ('grad_norm' = ‖∇F(w̃)‖, 'neg_lambda_min' =
    −λ_min(∇²F(w̃)), 'oracle_calls' = parallel iterations); a run-level claim carries it as
    ``measures`` (:class:`~.quantities.Quantity`: how to read it off a run, its accuracy, when a
    run is vacuous) and its machine-checked hypotheses as ``requires`` (callables on the
    instance's values returning '' or the reason the instance is outside them), so a check reads
    the claim, never its id. ``failure_probability`` is the δ of
    "with probability >= 1 − δ" for probabilistic claims, else None.
    """

    id: str
    statement: str
    source: str
    provenance: str
    kind: str
    observed: str
    constant: float
    shape: sp.Expr
    offset: sp.Expr = sp.Integer(0)
    hypotheses: tuple[str, ...] = ()
    failure_probability: sp.Expr | None = None
    notes: str = ""
    parts: tuple[tuple[str, str], ...] = ()     # (what, provenance tag) of what it depends on
    measures: Quantity | None = None            # what a run-level claim observes on a run
    requires: tuple[Callable[[dict], str], ...] = ()   # machine-checked hypotheses: '' or why not
    _fns: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.provenance not in PROVENANCES:
            raise ValueError(f"provenance must be one of {PROVENANCES}, got {self.provenance!r}")
        if self.measures is not None and self.measures.name != self.observed:
            raise ValueError(f"claim {self.id}: observed {self.observed!r} but measures "
                             f"{self.measures.name!r}")
        if self.parts and self.provenance != weakest(tag for _, tag in self.parts):
            raise ValueError(f"claim {self.id}: provenance {self.provenance} is not the weakest tag of "
                             f"its parts, {weakest(tag for _, tag in self.parts)} "
                             f"({', '.join(f'{w}: {t}' for w, t in self.parts)})")

    @property
    def bound_expr(self) -> sp.Expr:
        return sp.nsimplify(self.constant) * self.shape + self.offset

    def _fn(self, name, expr):
        if name not in self._fns:
            syms = sorted(expr.free_symbols, key=lambda s: s.name)
            self._fns[name] = (tuple(s.name for s in syms), sp.lambdify(syms, expr, "math"))
        return self._fns[name]

    def _eval(self, name, expr, values: dict) -> float:
        names, f = self._fn(name, expr)
        missing = [n for n in names if n not in values]
        if missing:
            raise KeyError(f"claim {self.id} needs values for {missing}")
        return float(f(*(values[n] for n in names)))

    def shape_value(self, values: dict) -> float:
        return self._eval("shape", self.shape, values)

    def offset_value(self, values: dict) -> float:
        return self._eval("offset", self.offset, values)

    def bound(self, values: dict, constant: float | None = None) -> float:
        """The bound at the given symbol values (keys are symbol names, e.g. 'Delta')."""
        c = self.constant if constant is None else constant
        return c * self.shape_value(values) + self.offset_value(values)

    def empirical_constant(self, observed: float, values: dict) -> float:
        """Smallest C with observed <= C·shape + offset (0 if the offset alone suffices)."""
        return max(0.0, (observed - self.offset_value(values)) / self.shape_value(values))

    def formula(self) -> str:
        return f"{self.observed} <= {sp.sstr(self.bound_expr)}"

    def to_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "source": self.source,
                "provenance": self.provenance, "kind": self.kind, "formula": self.formula(),
                "hypotheses": list(self.hypotheses), "notes": self.notes,
                **({"provenance_parts": [list(p) for p in self.parts]} if self.parts else {})}


REGISTRY: dict[str, Claim] = {}
DEFINED_IN: dict[str, str] = {}   # claim id -> file of the statement (for `byzpgd claims --where`)


def register(claim: Claim) -> Claim:
    if claim.id in REGISTRY:
        raise ValueError(f"claim {claim.id!r} is already registered")
    REGISTRY[claim.id] = claim
    DEFINED_IN[claim.id] = sys._getframe(1).f_code.co_filename
    return claim


def get(claim_id: str) -> Claim:
    try:
        return REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}; known: {sorted(REGISTRY)}") from None
