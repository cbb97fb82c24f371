"""Claim checks: instance samplers/strategies, profiles, observations, verdicts, the runner."""
