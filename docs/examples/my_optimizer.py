"""A user's optimizer, as ``byzpgd audit-optimizer`` audits it (docs/audit-optimizer.md).

Robust gradient descent with heavy-ball momentum: it stops when the oracle's gradient is below 3Δ
(the only stopping rule a Δ-inexact oracle allows: ‖∇F‖ <= ‖ĝ‖ + Δ). It never perturbs its
iterate, so the saddle-point attack traps it; the audit says so::

    byzpgd audit-optimizer my_optimizer:momentum_gd --path docs/examples --out /tmp/momentum

``momentum_gd`` follows the audit's Protocol ``fn(oracle, w0, rng, budget) -> point``;
``plain_gradient_descent`` takes a plain gradient callable and is adapted with
``byzpgd.audit.optimizer.from_gradient_callable`` (``adapted_gd`` below).
"""

from __future__ import annotations

import numpy as np

from byzpgd.audit.optimizer import from_gradient_callable


def momentum_gd(oracle, w0, rng, budget, beta: float = 0.5):
    """Heavy ball: v ← β v − ĝ(w)/L_F, w ← w + v, until ‖ĝ(w)‖ <= 3Δ or the budget is spent."""
    step = 1.0 / oracle.landscape.L
    w = np.array(w0, dtype=np.float64)       # a copy: never write into w0
    v = np.zeros_like(w)
    for _ in range(budget - 1):
        g = oracle(w)
        if np.linalg.norm(g) <= 3 * oracle.delta:
            return w
        v = beta * v - step * g
        w = w + v
    return w


def plain_gradient_descent(grad, x0, lr=0.5, max_iter=1000, tol=1e-12):
    """Textbook GD on a gradient callable (knows nothing of Δ): stops at ‖grad‖ <= tol."""
    x = x0.copy()
    for _ in range(max_iter - 1):
        g = grad(x)
        if np.linalg.norm(g) <= tol:
            break
        x = x - lr * g
    return x


adapted_gd = from_gradient_callable(plain_gradient_descent, lr=0.5)
