"""The one seeding scheme: every random choice of a check flows from (seed, key, i, streams).

``instance_rng(seed, key, i)`` is the generator of instance ``i`` of the check named ``key``
(a claim id, or a claim id and a sub-name joined by '/'); independent streams inside one
instance are ``instance_rng(seed, key, i, stream)``. The key enters as its UTF-8 bytes, so
instance i of claim c depends only on (seed, c, i): adding claims or instances elsewhere never
changes it.
"""

from __future__ import annotations

import numpy as np


def seed_words(seed: int, key: str, i: int, *streams: int) -> list[int]:
    if int(seed) < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return [int(seed), int(i), *key.encode(), *(int(s) for s in streams)]


def instance_rng(seed: int, key: str, i: int, *streams: int) -> np.random.Generator:
    """The generator of instance ``i`` of check ``key`` (see the module docstring)."""
    return np.random.default_rng(seed_words(seed, key, i, *streams))
