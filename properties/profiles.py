"""Hypothesis profiles: 'quick' (seconds, development), 'ci' (the default; minutes on 2 cores),
'deep' (hours; nightly or a cluster). ``examples`` is the number of instances drawn per claim."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from .result import MIN_NONVACUOUS  # noqa: F401  (re-exported: the status rule owns it)

PROFILES = {
    "quick": {"examples": 50},
    "ci": {"examples": 120},
    "deep": {"examples": 3000},
}
DEFAULT_PROFILE = "ci"
# instances per claim where a check's cost differs from the default's (per profile); the deep counts
# give every probabilistic claim a detectable excess c <= 1.5 (issue 22; measured: README, "Measured")
COUNTS = {
    "ablation": {"quick": 40, "ci": 100, "deep": 16000},
    "saddle_attack.robust_gd_trapped": {"quick": 30, "ci": 60, "deep": 22000},
    "saddle_attack.jin_pgd_trapped": {"quick": 24, "ci": 36, "deep": 20000},
    # the probabilistic theorem claims (failure bound δ): power <= 2δ on ci and <= 1.25δ on deep
    # (issue 24; the smallest failure rate detected with probability 0.8,
    # properties.checks.group_tests): 280-310 (ci) and 3530-4075 (deep) non-vacuous runs per group
    # at the Bonferroni level 1e-4/(G + 1)
    "byzantine_pgd.lambda_min": {"quick": 50, "ci": 2480, "deep": 32600},     # 8 adversaries x 310 / 4075
    "exact_pgd.lambda_min": {"quick": 50, "ci": 280, "deep": 3530},
    "saddle_attack.byzantine_pgd_escapes": {"quick": 36, "ci": 570, "deep": 7340},  # 2 x 285 / 3670
    "mechanism.descent": {"quick": 27, "ci": 90, "deep": 900},
    "mechanism.escape": {"quick": 40, "ci": 160, "deep": 1600},       # 8 adversaries in turn
    "mechanism.exact_escape": {"quick": 30, "ci": 400, "deep": 2000},   # cheap: power for R × 2
    "mechanism.candidate_cost": {"quick": 24, "ci": 72, "deep": 720},
    "mechanism.perturbation_radius": {"quick": 24, "ci": 72, "deep": 720},
    "exact_pgd.poster_lambda_min": {"quick": 30, "ci": 280, "deep": 3530},
    # 3 aggregators; about 57 % of the runs are non-vacuous and inside the hypotheses (median; deep:
    # 3782 needed per aggregator)
    "end_to_end.grad_norm_independent": {"quick": 150, "ci": 1560, "deep": 20800},
    "aggregator.robustness": {"quick": 20, "ci": 20, "deep": 60},   # adversarial searches per rule
}


def examples(profile: str, check: str | None = None) -> int:
    """Instances per claim on ``profile``; ``check`` names an entry of COUNTS (a claim id, or
    a group such as 'ablation'), else the profile's default."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
    if check is not None and check in COUNTS:
        return COUNTS[check][profile]
    return PROFILES[profile]["examples"]


def register_hypothesis_profiles() -> None:
    """Register the profiles with Hypothesis (used by the pytest suites: --hypothesis-profile)."""
    for name, spec in PROFILES.items():
        settings.register_profile(name, max_examples=spec["examples"], deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow,
                                                         HealthCheck.data_too_large],
                                  derandomize=(name != "deep"), print_blob=True)
