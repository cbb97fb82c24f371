"""Checking a ``byzpgd replay`` SPEC before it runs (issue 23 item 5): a wrongly typed or
out-of-range field is one line naming the field, not a Python error from deep inside the run
(``'<=' not supported between instances of 'int' and 'str'``).

A SPEC is the JSON object a report prints for an instance (:func:`byzpgd.properties.strategies.
sample_specs` and the samplers of the suites draw them). :data:`FIELDS` lists every field a
sampler writes, with its JSON type and range; :func:`check_spec` refuses, with a
:class:`SpecError` whose message names the field (``adversary.kappa`` for a nested one):

- a field no sampler writes (a misspelt name would otherwise be ignored silently);
- a value of the wrong JSON type (a string for a number, a float for an integer, true/false for
  a number, NaN or ±Infinity, which Python's JSON reader accepts);
- a value out of range (a negative Δ or seed, dim < 1, n_neg > dim, an unknown landscape,
  adversary or aggregator name, ...) and ``dim`` above :data:`MAX_DIM` (a replay builds dense
  d × d Hessians: a huge dim would exhaust the memory instead of answering);
- an instance of another family than the claim's (``family`` 'exact_pgd' for a
  ``byzantine_pgd.*`` claim).

A field a replay needs but the SPEC lacks surfaces as a ``KeyError`` of the replay;
:func:`missing_field` turns it into the same kind of one-line message.
``tests/test_cli_input.py`` checks that every spec the samplers draw passes.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

from .strategies import SEED_MAX

MAX_DIM = 1000            # replays build dense d x d matrices; the samplers draw d <= 10


class SpecError(ValueError):
    """A SPEC field is wrongly typed, out of range or unknown (one-line message naming it)."""


@dataclass(frozen=True)
class Field:
    """One SPEC field: ``kind`` 'int', 'number', 'str' or 'object'; the bounds ``lo``/``hi``
    (``lo_open``: lo excluded); ``choices`` (a tuple, or a callable returning one) for strings;
    ``nullable``: JSON null allowed."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    nullable: bool = False


def _landscapes() -> tuple[str, ...]:
    return ("cosine_saddle", "phase_retrieval")     # experiments.instances.build_landscape


def _adversaries() -> tuple[str, ...]:
    from ..oracles.adversaries import CONSTRUCTIONS, NAMES
    return (*NAMES, *CONSTRUCTIONS)


def _aggregators() -> tuple[str, ...]:
    from ..algorithms.aggregators import AGGREGATORS
    return tuple(AGGREGATORS)


SEED = Field("int", 0, SEED_MAX)        # the seeds the samplers draw
POSITIVE = Field("number", 0.0, lo_open=True)
FINITE = Field("number")

FIELDS: dict[str, Field] = {
    "family": Field("str", choices=("byzantine_pgd", "exact_pgd", "saddle_attack", "calibration")),
    "landscape": Field("str", choices=_landscapes),
    "algorithm": Field("str", choices=("robust_gd", "jin_pgd", "byzantine_pgd")),
    "variant": Field("str", choices=("proved", "poster")),
    "aggregator": Field("str", choices=_aggregators),
    "start": Field("str", choices=("ball", "minimum", "saddle")),
    "dim": Field("int", 1, MAX_DIM),
    "n_neg": Field("int", 1),
    "L": Field("number", 0.0, lo_open=True, nullable=True),
    "rho": Field("number", 0.0, lo_open=True, nullable=True),
    "Delta": Field("number", 0.0),
    "epsilon": POSITIVE,
    "gamma": POSITIVE,
    "s": POSITIVE,
    "start_scale": Field("number", 0.0),      # 0: start exactly at the saddle or minimum
    "start_p": FINITE,
    "start_v": FINITE,
    "seed": SEED, "landscape_seed": SEED, "start_seed": SEED, "oracle_seed": SEED, "run_seed": SEED,
    "adversary": Field("object"),
}

ADVERSARY_FIELDS: dict[str, Field] = {
    "name": Field("str", choices=_adversaries),
    "seed": SEED,
    "kappa": POSITIVE,
    "offset": FINITE,
    "fraction": Field("number", 0.0, 1.0, lo_open=True),
    "candidates": Field("int", 1),
    "lookahead": Field("int", 0),
    "refine": Field("int", 0),
    "mode": Field("str", choices=("curvature", "distance")),
}

FAMILY_OF_GROUP = {"byzantine_pgd": "byzantine_pgd", "exact_pgd": "exact_pgd",
                   "saddle_attack": "saddle_attack", "ablation": "calibration"}


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value) -> str:
    import json
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _range(f: Field) -> str:
    lo = "" if f.lo is None else (f" > {_num(f.lo)}" if f.lo_open else f" >= {_num(f.lo)}")
    hi = "" if f.hi is None else f" <= {_num(f.hi)}"
    return (lo + (" and" if lo and hi else "") + hi).strip()


def check_field(name: str, value, f: Field) -> None:
    """Raise :class:`SpecError` naming ``name`` unless ``value`` fits ``f``."""
    if value is None and f.nullable:
        return
    got = f"got {_show(value)} ({_json_type(value)})"
    if f.kind == "str":
        choices = f.choices() if callable(f.choices) else f.choices
        if not isinstance(value, str):
            raise SpecError(f"field '{name}' must be a string, one of {', '.join(choices)}; {got}")
        if choices and value not in choices:
            raise SpecError(f"field '{name}' must be one of {', '.join(choices)}; got {_show(value)}")
        return
    if f.kind == "object":
        if not isinstance(value, dict):
            raise SpecError(f"field '{name}' must be a JSON object; {got}")
        return
    if f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"field '{name}' must be an integer{' ' + _range(f) if _range(f) else ''}; {got}")
    else:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"field '{name}' must be a number{' ' + _range(f) if _range(f) else ''}; {got}")
        if not math.isfinite(value):
            raise SpecError(f"field '{name}' must be a finite number; {got}")
    below = f.lo is not None and (value <= f.lo if f.lo_open else value < f.lo)
    above = f.hi is not None and value > f.hi
    if below or above:
        raise SpecError(f"field '{name}' must be {_range(f)}; got {_show(value)}")


def _adversary_params(name: str) -> set[str] | None:
    """The keyword parameters the adversary class ``name`` takes (None: any)."""
    from ..oracles.adversaries import ADVERSARIES, CONSTRUCTIONS
    cls = {**ADVERSARIES, **CONSTRUCTIONS}[name]
    params = list(inspect.signature(cls.__init__).parameters.values())[4:]   # self, landscape, delta, rng
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


def check_spec(claim_id: str, spec: dict) -> None:
    """Raise :class:`SpecError` (one line naming the field) unless every field of ``spec`` is a
    known field of the right JSON type and range, and the instance is of the claim's family
    (module docstring). Fields the spec lacks are left to :func:`missing_field`."""
    if not isinstance(spec, dict):
        raise SpecError(f"SPEC must be a JSON object; got {_show(spec)} ({_json_type(spec)})")
    for key, value in spec.items():
        if key not in FIELDS:
            raise SpecError(f"unknown field '{key}' (the fields of an instance: {', '.join(FIELDS)})")
        check_field(key, value, FIELDS[key])
    n_neg, dim = spec.get("n_neg"), spec.get("dim")
    if isinstance(n_neg, int) and isinstance(dim, int) and n_neg > dim:
        raise SpecError(f"field 'n_neg' must be <= dim = {spec['dim']}; got {spec['n_neg']}")
    want = FAMILY_OF_GROUP.get(claim_id.split(".")[0])
    if "family" in spec and want is not None and spec["family"] != want:
        raise SpecError(f"field 'family' is {spec['family']!r}, but {claim_id} replays '{want}' instances")
    adversary = spec.get("adversary")
    if adversary is None:
        return
    if "name" not in adversary:
        raise SpecError("field 'adversary.name' is missing: the adversary object needs a name")
    for key, value in adversary.items():
        if key in ADVERSARY_FIELDS:
            check_field(f"adversary.{key}", value, ADVERSARY_FIELDS[key])
    takes = _adversary_params(adversary["name"])
    for key in adversary:
        if key in ("name", "seed"):
            continue
        if takes is not None and key not in takes:
            raise SpecError(f"unknown field 'adversary.{key}': adversary {adversary['name']!r} takes "
                            + (", ".join(sorted(takes)) if takes else "no parameters"))


def missing_field(claim_id: str, exc: KeyError) -> str | None:
    """The message for a replay's ``KeyError`` on a SPEC field ('SPEC has no field ...'), or None
    when the key is not a SPEC field (some other lookup failed)."""
    key = exc.args[0] if exc.args else None
    if key in FIELDS:
        return f"SPEC has no field '{key}', which {claim_id} needs"
    if key in ADVERSARY_FIELDS:
        return f"SPEC has no field 'adversary.{key}', which {claim_id} needs"
    return None
