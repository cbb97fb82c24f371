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
  and ``byzpgd.audit_aggregator(rule, f=None, alpha=None, profile="ci", seed=0, ...)`` ->
  :class:`byzpgd.api.AuditResult` (:mod:`byzpgd.api`; the command line is built on them;
  ``byzpgd.audit`` is the audit package, whose ``byzpgd.audit.audit`` is the same function);
- :mod:`byzpgd.testing`      ``assert_claim_holds``, ``assert_aggregator_passes`` for pytest;
- :mod:`byzpgd.strategies`   Hypothesis strategies for Byzantine inputs;
- :mod:`byzpgd.progress`, :mod:`byzpgd.outdir`  progress display and the early ``--out`` check.
"""

from importlib import metadata as _metadata

try:   # the installed distribution's version (pyproject.toml [project] version), one source of truth
    __version__: str = _metadata.version("byzpgd")
except _metadata.PackageNotFoundError:   # imported from a source tree that was never installed
    __version__ = "0+unknown"

# --- the Python API (byzpgd.api): byzpgd.verify(...) and byzpgd.audit_aggregator(...) -----------
# Imported lazily: the pytest plugin imports this package in every pytest session.
#
# ``byzpgd.audit`` is the audit sub-package (audit/) and nothing else: the import system binds that
# name here whenever ``byzpgd.audit.<module>`` is imported, so the audit function has its own name,
# ``byzpgd.audit_aggregator`` (also ``byzpgd.audit.audit``). ``byzpgd.verify`` and
# ``byzpgd.audit_aggregator`` are the functions of :mod:`byzpgd.api`, looked up on first use.


_API_NAMES = ("verify", "audit_aggregator", "VerifyReport", "AuditResult", "RuleNotAuditable",
              "ClaimSelectionError")


def __getattr__(name):
    if name in ("api", "audit", "testing", "strategies", "progress", "outdir"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    if name in _API_NAMES:
        from . import api
        return getattr(api, name)
    if name in ("audit_optimizer", "OptimizerAudit"):   # ``byzpgd audit-optimizer`` (docs/audit-optimizer.md)
        from .audit import optimizer, optimizer_result
        return optimizer.audit_optimizer if name == "audit_optimizer" else optimizer_result.OptimizerAudit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", *_API_NAMES, "audit_optimizer", "OptimizerAudit"]
