"""Hypothesis profiles (quick / ci / deep, see byzpgd.properties.profiles); select one with
``pytest --hypothesis-profile=ci``. Without the option the 'quick' profile is used."""

import pytest
from hypothesis import settings

from byzpgd.properties.profiles import register_hypothesis_profiles

register_hypothesis_profiles()
settings.load_profile("quick")


@pytest.fixture(scope="session")
def profile(request) -> str:
    """The active profile name, used for the claim-level (runner) tests too."""
    name = request.config.getoption("hypothesis_profile", default=None)
    return name or "quick"
