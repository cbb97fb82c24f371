"""byzpgd: a verification harness for Byzantine-robust non-convex optimization.

Reference: D. Yin, Y. Chen, K. Ramchandran, P. Bartlett, "Defending Against Saddle Point Attack
in Byzantine-Robust Distributed Learning", ICML 2019 (arXiv 1806.05358).

Sub-packages (the layout is the architecture, see ``docs/ARCHITECTURE.md``; each sits at the
repository root and is mapped to ``byzpgd.<name>``):

- :mod:`byzpgd.theory`       the paper's statements: claims, SymPy formulas, prover, certificates;
- :mod:`byzpgd.algorithms`   ByzantinePGD, exact-oracle PGD, robust GD, Jin's PGD; aggregators;
- :mod:`byzpgd.oracles`      landscapes with certified constants, Δ-inexact oracles, workers;
- :mod:`byzpgd.experiments`  running an algorithm against an oracle (one instance loop);
- :mod:`byzpgd.properties`   claim checks returning one typed ``ClaimResult``;
- :mod:`byzpgd.reports`      rendering a typed ``Report`` (JSON, Markdown, HTML);
- :mod:`byzpgd.audit`        the aggregator audit (``byzpgd audit``).

For a user's own tests and CI (docs/ci.md):

- ``byzpgd.verify(claims=None, profile="ci", seed=0, ...)`` -> :class:`byzpgd.api.VerifyReport`
  and ``byzpgd.audit(rule, f=None, alpha=None, profile="ci", seed=0, ...)`` ->
  :class:`byzpgd.api.AuditResult` (:mod:`byzpgd.api`; the command line is built on them);
- :mod:`byzpgd.testing`      ``assert_claim_holds``, ``assert_aggregator_passes`` for pytest;
- :mod:`byzpgd.strategies`   Hypothesis strategies for Byzantine inputs;
- :mod:`byzpgd.progress`, :mod:`byzpgd.outdir`  progress display and the early ``--out`` check.
"""

from importlib import metadata as _metadata

try:   # the installed distribution's version (pyproject.toml [project] version), one source of truth
    __version__: str = _metadata.version("byzpgd")
except _metadata.PackageNotFoundError:   # imported from a source tree that was never installed
    __version__ = "0+unknown"

# --- the Python API (byzpgd.api): byzpgd.verify(...) and byzpgd.audit(...) --------------------
# Imported lazily: the pytest plugin imports this package in every pytest session.
#
# ``byzpgd.audit`` is also the name of the audit sub-package (audit/), which the import system
# binds here whenever ``byzpgd.audit.<module>`` is imported. So that both work, the package is made
# callable: ``byzpgd.audit(rule, ...)`` calls :func:`byzpgd.api.audit`, while ``byzpgd.audit.run``,
# ``from byzpgd.audit.sandbox import Sandbox``, ... stay the package's modules.
import types as _types


class _CallableAuditPackage(_types.ModuleType):
    """The ``byzpgd.audit`` package, callable as :func:`byzpgd.api.audit`."""

    def __call__(self, rule, *args, **kwargs):
        from .api import audit
        return audit(rule, *args, **kwargs)


from . import audit as _audit_package  # noqa: E402  (the light package __init__ only)

_audit_package.__class__ = _CallableAuditPackage


def verify(claims=None, profile="ci", seed=0, **kwargs):
    """Check claims and return the report: :func:`byzpgd.api.verify` (same arguments)."""
    from .api import verify as _verify
    return _verify(claims, profile, seed, **kwargs)


def __getattr__(name):
    if name in ("api", "testing", "strategies", "progress", "outdir"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("VerifyReport", "AuditResult", "RuleNotAuditable", "ClaimSelectionError"):
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", "verify", "audit", "VerifyReport", "AuditResult", "RuleNotAuditable",
           "ClaimSelectionError"]
