"""``byzpgd audit``: audit a user's robust aggregator against the attack library, a black-box
worst-case search, the reference aggregators, the paper's rates and the statistical lower
bound, and ByzantinePGD end to end (Theorem 1 with the measured Δ).

- :mod:`.loader`: ``MODULE:CALLABLE`` import, class and ByzFL-style adapters, usage errors;
- :mod:`.sandbox`: the user code runs in a separate process with a per-call time limit on
  read-only input; every misbehaviour becomes a :class:`~.sandbox.Finding`;
- :mod:`.battery`: settings × attacks, empirical Δ of the user's rule and of the references;
- :mod:`.end_to_end`: ByzantinePGD with the user's rule under the saddle-point attack;
- :mod:`.verdict`: pass/fail with reasons;
- :mod:`.run`: the whole audit as one function (used by ``byzpgd audit``).

This package imports nothing heavy at import time: the sandbox child imports only
:mod:`.loader` and :mod:`.sandbox`.
"""
