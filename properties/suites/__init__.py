"""One module per group of claims; each registers its claims' checks (see ..registry)."""
