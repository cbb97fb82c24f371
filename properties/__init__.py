"""Claim checks (docs/ARCHITECTURE.md, "How claims are checked"): instance samplers (strategies), profiles,
observations and verdicts (checks), the one result type (result.ClaimResult), the theorem
runner, the registry of checks, and one module per group of claims in suites/."""
