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
"""

__version__ = "0.1.0"
