"""The one JSON sanitizer: every file byzpgd writes (report.json, audit.json, faults.json,
calibration results) goes through :func:`sanitize`, so it stays strict JSON."""

from __future__ import annotations

import dataclasses
import json
import math


def sanitize(x):
    """Plain-JSON copy of ``x``: numpy scalars and arrays to Python, dataclasses to dicts, tuples
    and sets to lists, non-finite floats to the strings 'inf', '-inf', 'nan'."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        x = dataclasses.asdict(x)
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):
        x = x.tolist()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {str(k): sanitize(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [sanitize(v) for v in x]
    return x


def dumps(x, *, indent: int | None = 2) -> str:
    """``json.dumps`` of :func:`sanitize` (x), strict (no NaN/Infinity tokens)."""
    return json.dumps(sanitize(x), indent=indent, allow_nan=False)


def spec_json(spec: dict) -> str:
    """The canonical one-line JSON of an instance spec (sorted keys, no spaces): what replay
    commands carry."""
    return json.dumps(sanitize(spec), sort_keys=True, separators=(",", ":"))
