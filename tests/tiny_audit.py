"""A miniature audit battery for the tests of the Python API (byzpgd.api.audit, byzpgd.testing):
the 'quick' profile with fewer settings, repetitions and end-to-end runs, so that an audit takes
seconds. What the audit concludes at full size is tested in tests/test_audit.py."""

import numpy as np
import pytest

# two Byzantine counts and three repetitions under attack: the fewest with which the rate in alpha can
# be shown (a pass needs every graded rate shown: byzpgd.audit.verdict)
TINY = {"n_grid": (25, 400), "alpha_fractions": (0.5, 1.0), "m_grid": (10, 100), "reps_attack": 3,
        "reps_honest": 4, "probes": 1, "restarts": 1, "maxfev": 20, "e2e_instances": 2}


@pytest.fixture
def tiny_audit(monkeypatch):
    """The 'quick' audit profile, shrunk (module docstring)."""
    from byzpgd.audit import battery

    monkeypatch.setitem(battery.PROFILES, "quick", {**battery.PROFILES["quick"], **TINY})


def sound_median(X):
    """A user's coordinate-wise median that ignores non-finite rows (a sound rule)."""
    X = np.where(np.isfinite(X), X, np.nan)
    return np.nan_to_num(np.nanmedian(X, axis=0))


def plain_mean(X):
    return np.mean(X, axis=0)


class ScaledMedian:
    """An object with an aggregate method (audited by pickling an instance)."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def aggregate(self, X):
        return self.scale * sound_median(X)
