"""Hypothesis profiles: 'quick' (seconds, development), 'ci' (the default; minutes on 2 cores),
'deep' (hours; nightly or a cluster). ``examples`` is the number of instances drawn per claim."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = {
    "quick": {"examples": 50},
    "ci": {"examples": 120},
    "deep": {"examples": 3000},
}
DEFAULT_PROFILE = "ci"
MIN_NONVACUOUS = 20  # a claim is reported as holding only with at least this many


def examples(profile: str) -> int:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    return PROFILES[profile]["examples"]


def register_hypothesis_profiles() -> None:
    """Register the profiles with Hypothesis (used by the pytest suites: --hypothesis-profile)."""
    for name, spec in PROFILES.items():
        settings.register_profile(name, max_examples=spec["examples"], deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow,
                                                         HealthCheck.data_too_large],
                                  derandomize=(name != "deep"), print_blob=True)
