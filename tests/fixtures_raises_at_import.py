"""A rule module that raises when imported (tests/test_audit.py: one load_error outcome)."""

raise RuntimeError("this module cannot be imported: a broken dependency")


def rule(X):  # pragma: no cover - never reached
    return X[0]
