"""Declare your own claims (about your own algorithm) in one file and check them like the
built-in ones: ``byzpgd verify --claims-from my_claims.py`` (or a dotted module name).

A claim file, as in PEPit's examples, holds the method, the instances and the bound::

    import sympy as sp
    from byzpgd.claims import Claim, Measurement, register_claim

    Delta = sp.Symbol("Delta", positive=True)
    CLAIM = Claim(id="mylab.momentum_gd.grad_norm", statement="...", source="my notes, Lemma 2",
                  provenance="OWN", kind="deterministic", observed="||grad F(w_out)||",
                  constant=4.0, shape=Delta, hypotheses=("Delta-inexact oracle", "eta = 1/L"))

    def sample(src):                      # every draw from src: instance i of seed s is fixed
        return {"dim": src.integer(2, 6), "Delta": src.log_uniform(1e-4, 1e-2), "seed": src.seed()}

    def run(spec):                        # your algorithm on the instance
        ...
        return Measurement(observed=grad_norm, values={"Delta": spec["Delta"]})

    register_claim(CLAIM, sample=sample, run=run)

The harness computes the bound (``constant · shape + offset`` at ``values``), decides the claim
with the built-in statistics (zero tolerance beyond rounding for deterministic claims; exact
binomial tests per ``group`` and pooled for probabilistic ones, with their stated false-alarm
rate and relative power), stops early once decided, and reports, replays
(``byzpgd replay ID SPEC --claims-from FILE``) and scales out as for the built-in claims.
docs/examples/claim_momentum.py is a worked example that CI verifies.

Building blocks for ``sample``/``run`` (the ones the built-in checks use):
:func:`cosine_saddle_spec` / :func:`build_landscape` (test functions with certified L, ρ, known
saddles), :func:`sample_adversary` / :func:`inexact_oracle` (a Δ-inexact oracle of the library,
certified at every call), :func:`certify` (exact ‖∇F‖ and λ_min of a point).
"""

from __future__ import annotations

from .experiments.budget import INSTANCE_SECONDS
from .experiments.instances import build_landscape
from .oracles.adversaries import NAMES as ADVERSARY_NAMES
from .oracles.adversaries import make_adversary, sample_adversary
from .oracles.inexact import CertifiedOracle
from .properties.strategies import NumpySource as Source
from .properties.strategies import cosine_saddle as cosine_saddle_spec
from .properties.user import Measurement, UserClaim, current_origin, load_claims_from, register_user_claim
from .theory.certify import certify
from .theory.claims import Claim

__all__ = ["Claim", "Measurement", "Source", "UserClaim", "register_claim", "load_claims_from",
           "cosine_saddle_spec", "build_landscape", "sample_adversary", "inexact_oracle", "certify",
           "ADVERSARY_NAMES"]


def register_claim(claim: Claim, *, sample, run, group=None,
                   examples: dict[str, int] | None = None, seconds: float = INSTANCE_SECONDS) -> UserClaim:
    """Register a user claim (see the module docstring and :mod:`byzpgd.properties.user`):
    ``sample(src) -> spec`` (JSON-able dict), ``run(spec) -> Measurement``, optional
    ``group(spec) -> str``, ``examples`` ({'quick': n, 'ci': n, 'deep': n} instances) and
    ``seconds``, the wall-clock limit of one run (a run past it is an instance error)."""
    return register_user_claim(claim, sample=sample, run=run, group=group, examples=examples,
                               origin=current_origin(), seconds=seconds)


def inexact_oracle(landscape, Delta: float, adversary: dict) -> CertifiedOracle:
    """A Δ-inexact oracle of the library (``adversary``: a dict from :func:`sample_adversary`)
    on ``landscape``, certified at every call (an answer farther than Δ from ∇F raises)."""
    return CertifiedOracle(make_adversary(adversary, landscape, Delta))
