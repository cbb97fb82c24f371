"""The paper's statements as data: claims, parameter formulas, certificates."""
