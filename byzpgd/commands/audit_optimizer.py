"""``byzpgd audit-optimizer MODULE:CALLABLE [--profile quick|ci] [--seed N] [--out DIR]``: audit a
user's optimizer (byzpgd.audit.optimizer; docs/audit-optimizer.md).

Writes DIR/optimizer-audit.json and DIR/optimizer-audit.md (DIR default: ./optimizer-audit).
Exit codes as ``byzpgd audit``: 0 second-order, 1 any other verdict (first-order only,
inconclusive, fail), 2 usage error (malformed target, module or attribute not found, bad
arguments, unwritable --out).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

EXIT_PASS, EXIT_OTHER, EXIT_USAGE = 0, 1, 2


def _command(ns) -> str:
    parts = ["byzpgd", "audit-optimizer", ns.target, "--profile", ns.profile, "--seed", str(ns.seed)]
    if ns.time_limit is not None:
        parts += ["--time-limit", f"{ns.time_limit:g}"]
    for p in ns.path or []:
        parts += ["--path", p]
    return shlex.join([*parts, "--out", str(ns.out)])


def summary(audit) -> str:
    """The lines the command prints: verdict, c and λ_min scale, findings, reasons."""
    c = "–" if audit.c is None else f"{audit.c:.3g}"
    lam = "–" if audit.lambda_scale is None else f"{audit.lambda_scale:.3g}"
    lines = [f"{audit.verdict.upper()}: {audit.target} ({audit.description}), profile {audit.profile}, "
             f"{len(audit.rows)} runs, {audit.seconds:.1f} s",
             f"  c = max ‖∇F(w̃)‖/Δ = {c}; λ_min scale max(0, −λ_min(w̃))/γ = {lam}"]
    lines += [f"  finding {f.kind} ({f.count} run(s)): {f.message}" for f in audit.findings]
    lines += [f"  - [{r.grade}] {r.message}" for r in audit.reasons]
    for s in audit.per_delta:
        cs = "–" if s.c is None else f"{s.c:.3g}"
        lines.append(f"  Δ = {s.Delta:g}: {s.finished}/{s.runs} finished, c = {cs} (Theorem 1: 4, "
                     f"Observation 2: no method guarantees 0.5); attacks escaped {s.attacks_escaped}, "
                     f"trapped {s.attacks_trapped}, vacuous {s.attacks_vacuous} of {s.attacks}; "
                     f"max calls {s.max_calls}")
    return "\n".join(lines)


def cmd_audit_optimizer(ns) -> int:
    from ..audit.loader import UsageError
    from ..audit.optimizer import audit_optimizer
    from ..audit.optimizer_result import to_markdown
    from ..outdir import OutDirError, check_out_dir

    try:
        out_dir = check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd audit-optimizer: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    paths = [os.getcwd(), *[str(Path(p).resolve()) for p in (ns.path or [])]]
    t0 = time.perf_counter()
    progress = None if ns.quiet else (lambda msg: print(f"byzpgd audit-optimizer: {msg}", file=sys.stderr))
    try:
        audit = audit_optimizer(ns.target, profile=ns.profile, seed=ns.seed, time_limit=ns.time_limit,
                                paths=paths, progress=progress, command=_command(ns))
    except UsageError as exc:
        out_dir.discard_if_empty()
        print(f"byzpgd audit-optimizer: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(ns.out)
    try:
        (out / "optimizer-audit.json").write_text(audit.to_json() + "\n", encoding="utf-8")
        (out / "optimizer-audit.md").write_text(to_markdown(audit), encoding="utf-8")
    except OSError as exc:
        print(f"byzpgd audit-optimizer: error: cannot write the report to --out {ns.out}: {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    print(summary(audit))
    print(f"  report: {out / 'optimizer-audit.json'}, {out / 'optimizer-audit.md'} "
          f"({time.perf_counter() - t0:.1f} s)")
    return EXIT_PASS if audit.passed else EXIT_OTHER


def register(subparsers) -> None:
    from ..cli import _nonneg_int, _pos_seconds  # the CLI's own argument types

    p = subparsers.add_parser(
        "audit-optimizer", help="audit an optimizer (MODULE:CALLABLE) against the saddle-point attack",
        description="Audit a user optimizer fn(oracle, w0, rng, budget) -> point: every Delta-inexact "
                    "adversary, the saddle-point attack from a strict saddle's fake basin and from the "
                    "attack's fake minimum, and the lower-bound constructions of Observation 2, at "
                    "Delta over several decades on cosine saddles with certified constants. Each run "
                    "is a separate process with a time limit; oracle calls are counted outside the "
                    "user's code. Verdict: second-order (first-order everywhere and escapes every "
                    "saddle attack), first-order only (trapped by the attack), inconclusive, fail "
                    "(raises, hangs, NaN, wrong shape, writes into w0, or not first-order). Writes "
                    "DIR/optimizer-audit.json and .md. Exit 0 second-order, 1 otherwise, 2 usage error. "
                    "See docs/audit-optimizer.md.")
    p.add_argument("target", metavar="MODULE:CALLABLE",
                   help="the optimizer, e.g. mypkg.opt:my_method (imported from the current directory, "
                        "--path folders and the installed packages)")
    p.add_argument("--profile", choices=["quick", "ci"], default="quick",
                   help="battery size: quick (the default: 54 runs) or ci (150 runs, two landscapes)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of every random choice (default 0)")
    p.add_argument("--out", default="optimizer-audit", metavar="DIR",
                   help="output folder (default ./optimizer-audit, created if missing)")
    p.add_argument("--time-limit", type=_pos_seconds, default=None, metavar="SECONDS",
                   help="wall-clock limit per run (default: the profile's, quick 60, ci 120)")
    p.add_argument("--path", action="append", metavar="DIR", help="extra folder to import MODULE from")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_audit_optimizer)
