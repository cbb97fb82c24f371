"""byzpgd: a verification harness for Byzantine-robust non-convex optimization.

Reference: D. Yin, Y. Chen, K. Ramchandran, P. Bartlett, "Defending Against Saddle Point Attack
in Byzantine-Robust Distributed Learning", ICML 2019 (arXiv 1806.05358).

Sub-packages (the layout is the architecture, see ``docs/ARCHITECTURE.md``):

- :mod:`byzpgd.theory`      the paper's claims as SymPy objects, parameter formulas, certificates;
- :mod:`byzpgd.algorithms`  ByzantinePGD, exact-oracle PGD, robust GD;
- :mod:`byzpgd.oracles`     landscapes with certified constants and Δ-inexact gradient oracles;
- :mod:`byzpgd.properties`  Hypothesis strategies, profiles and the claim checks;
- :mod:`byzpgd.reports`     report output.
"""

__version__ = "0.1.0"
