"""``byzpgd audit MODULE:CALLABLE [--f F | --alpha A] [--profile quick|ci|deep] [--seed N] --out DIR``:
audit a user aggregator (byzpgd.audit; the report: byzpgd.reports.audit_report).

Exit codes: 0 pass, 1 fail, 2 usage error (malformed target, unknown module or attribute, bad
arguments), 3 suboptimal (robust, but shown not to be at the rate: docs/audit.md, "The verdict"),
4 inconclusive (the profile's data cannot show the rate: a larger profile decides);
``--accept-suboptimal`` makes a suboptimal verdict exit 0 (for CI jobs that only need robustness);
nothing makes an inconclusive verdict exit 0.

``--assume-finite``: the server drops non-finite Byzantine rows before aggregating, so a rule that
NaN/±Inf rows break gets a note instead of a fail (the report says which mode was used).

``--memory-limit MIB`` (default 2048, 0 = none) bounds the address space of the sandbox process
that runs the rule (RLIMIT_AS): a rule that exceeds it gets a ``memory`` finding and its process is
restarted. The other limits (file size, processes, CPU time per call, no network, read-only file
system outside a temporary working directory, scrubbed environment) are fixed: docs/audit.md,
"Sandbox limits".

``--scheduler ADDRESS`` / ``--workers N`` (byzpgd.scaleout, docs/scale-out.md): the battery's
settings and the end-to-end runs go as Dask tasks to a cluster, each task with its own sandbox
for the rule on its worker (byzpgd.audit.tasks); the report is the same as a local run's (timings
aside). Default: this process and one sandbox, as before.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_SUBOPTIMAL, EXIT_INCONCLUSIVE = 0, 1, 2, 3, 4


def exit_code(verdict: str, accept_suboptimal: bool = False) -> int:
    """0 pass, 1 fail, 3 suboptimal (0 with ``accept_suboptimal``), 4 inconclusive; anything else is
    a fail."""
    if verdict == "pass":
        return EXIT_PASS
    if verdict == "suboptimal":
        return EXIT_PASS if accept_suboptimal else EXIT_SUBOPTIMAL
    if verdict == "inconclusive":
        return EXIT_INCONCLUSIVE
    return EXIT_FAIL
DEFAULT_MEMORY_LIMIT_MIB = 2048   # = audit.sandbox.DEFAULT_MEMORY_LIMIT_MIB (tested)


def _pos_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def _int_at_least(lo):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v
    return parse


def _command(ns) -> str:
    parts = ["byzpgd", "audit", ns.target]
    if ns.f is not None:
        parts += ["--f", str(ns.f)]
    if ns.alpha is not None:
        parts += ["--alpha", repr(ns.alpha)]
    if ns.m is not None:
        parts += ["--m", str(ns.m)]
    parts += ["--profile", ns.profile, "--seed", str(ns.seed), "--call-timeout", f"{ns.call_timeout:g}",
              "--memory-limit", str(ns.memory_limit)]
    for p in ns.path or []:
        parts += ["--path", p]
    if ns.references:
        parts += ["--references", ns.references]
    if ns.torch:
        parts.append("--torch")
    if getattr(ns, "accept_suboptimal", False):
        parts.append("--accept-suboptimal")
    if getattr(ns, "assume_finite", False):
        parts.append("--assume-finite")
    if getattr(ns, "scheduler", None) is not None:
        parts += ["--scheduler", ns.scheduler]
    elif getattr(ns, "workers", None) is not None:
        parts += ["--workers", str(ns.workers)]
    parts += ["--out", str(ns.out)]
    return shlex.join(parts)


def cmd_audit(ns) -> int:
    from .. import scaleout
    from ..audit.loader import UsageError
    from ..audit.run import run_audit
    from ..audit.sandbox import Limits, default_limits
    from ..outdir import OutDirError, check_out_dir
    from ..progress import Progress
    from ..reports.audit_report import write_audit

    try:                       # a bad --out is a usage error before any work
        out_dir = check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    paths = [os.getcwd(), *[str(Path(p).resolve()) for p in (ns.path or [])]]
    refs = None
    if ns.references:
        refs = tuple(r.strip() for r in ns.references.split(",") if r.strip())
    t0 = time.perf_counter()
    kwargs = {} if refs is None else {"references": refs}
    try:
        with Progress("byzpgd audit", unit="measurements", quiet=ns.quiet) as bar, \
                default_limits(Limits(memory_mib=ns.memory_limit)), \
                scaleout.executor_from_args(ns, 1) as executor:
            if scaleout.uses_dask(ns):
                bar.say("byzpgd audit: battery and end-to-end runs as tasks on "
                        f"{scaleout.describe(executor)}")
            report = run_audit(ns.target, f=ns.f, alpha=ns.alpha, profile=ns.profile, seed=ns.seed, m=ns.m,
                               paths=paths, call_timeout=ns.call_timeout,
                               input_kind="torch" if ns.torch else "numpy",
                               progress=bar.messages("byzpgd audit: "), command=_command(ns),
                               executor=executor if scaleout.uses_dask(ns) else None,
                               assume_finite=ns.assume_finite, **kwargs)
    except UsageError as exc:
        out_dir.discard_if_empty()
        print(f"byzpgd audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except scaleout.ScaleOutError as exc:    # unreachable scheduler, other code, a task lost for good
        out_dir.discard_if_empty()
        print(f"byzpgd audit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        paths_out = write_audit(ns.out, report)
    except OSError as exc:
        print(f"byzpgd audit: error: cannot write the report to --out {ns.out}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(summary(report, ns.profile, time.perf_counter() - t0))
    print(f"  report: {', '.join(str(p) for p in paths_out)}")
    code = exit_code(report.verdict, ns.accept_suboptimal)
    if report.verdict == "suboptimal":
        print("  exit code " + (f"{code} (--accept-suboptimal)" if code == EXIT_PASS else
                                f"{code}: suboptimal (pass --accept-suboptimal to accept it)"))
    elif report.verdict == "inconclusive":
        print(f"  exit code {code}: inconclusive (the {ns.profile} profile's data cannot show the rate; "
              "a larger --profile decides)")
    return code


def summary(result, profile: str, seconds: float) -> str:
    """The lines the command prints: verdict, target, findings (all of them), reasons and notes."""
    s = result.settings
    lines = [f"{result.verdict.upper()}: {s.target} ({s.description or 'not loaded'}), profile {profile}, "
             f"f_max = {s.f_max}, {len(result.findings)} finding(s), {seconds:.1f} s"]
    lines += [f"  finding {f.kind} ({f.severity}, {f.count} call(s)): {f.message}" for f in result.findings]
    lines += [f"  - {r.kind} [{r.grade}]: {r.message}" for r in result.reasons]
    lines += [f"  note: {note}" for note in result.notes]
    if result.kappa is not None:
        k = result.kappa
        up = "" if k.upper_bound is None else f", proven upper bound {k.upper_bound:.4g}"
        lines.append(f"  kappa: empirical lower bound {k.kappa_hat:.4g} at n = {k.n}, f = {k.f} (no rule "
                     f"beats {k.lower_bound:.4g}{up})")
    return "\n".join(lines)


def register(subparsers) -> None:
    from .. import scaleout

    p = subparsers.add_parser(
        "audit", help="audit a robust aggregator (MODULE:CALLABLE) and write DIR/audit.json",
        description="Audit a user aggregator: a callable taking an (m, d) array and returning a (d,) "
                    "array, a class with an aggregate method, or a ByzFL-style aggregator. It runs in a "
                    "separate, contained process (scrubbed environment, temporary working directory, "
                    "no network, memory/file/process/CPU limits, captured output) with a time limit "
                    "per call on read-only input. Battery: the "
                    "attack library (NaN/Inf rows, line-search ALIE/IPM, ...), the omniscient "
                    "oracle-realising attack and a black-box worst-case search, on Gaussian-location "
                    "settings (alpha, n and m sweeps, with and without attack, repeated on independent "
                    "data); its empirical Delta is compared with the "
                    "reference aggregators on identical inputs, the paper's rates and the statistical "
                    "lower bound; then ByzantinePGD runs end to end with it under the saddle-point "
                    "attack (Theorem 1 with the measured Delta). Writes DIR/audit.json, audit.md and "
                    "audit.html. Verdict: pass (robust and the rates in n, m and alpha shown by the "
                    "data), suboptimal (robust, but a slope or a constant is shown to be off), "
                    "inconclusive (the profile's data cannot show a rate: a larger profile decides), "
                    "fail (breakdown, a non-finite output on NaN/Inf rows, bias, an error finding or "
                    "Theorem 1 violated). Exit 0 pass, 1 fail, 2 usage error, 3 suboptimal (0 with "
                    "--accept-suboptimal), 4 inconclusive. See docs/audit.md.")
    p.add_argument("target", metavar="MODULE:CALLABLE",
                   help="the aggregator, e.g. mypkg.agg:my_rule (imported from the current directory, "
                        "--path folders and the installed packages)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--f", type=_int_at_least(1), default=None,
                   help="number of Byzantine workers f_max at m0 workers (1 <= F < m0/2); the alpha and n "
                        "sweeps run at m0 with f <= F, the m sweeps at the same fraction F/m0 "
                        "(f = floor(F/m0 * m), e.g. 10 at m = 100 for F = 5, m0 = 50)")
    g.add_argument("--alpha", type=_pos_float, default=None,
                   help="largest Byzantine fraction to audit at, in (0, 0.5) (default 0.1)")
    p.add_argument("--m", type=_int_at_least(3), default=None,
                   help="number of workers m0 of the alpha and n sweeps (default: the profile's, quick 30, "
                        "ci 50, deep 100); the m sweeps add the profile's grid (quick 10, 30, 100)")
    p.add_argument("--profile", choices=["quick", "ci", "deep"], default="ci",
                   help="battery size: quick (< 1 min), ci (the default, minutes), deep")
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of every random choice (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--call-timeout", type=_pos_float, default=10.0, metavar="SECONDS",
                   help="time limit per call of the aggregator (default 10); after 3 timeouts the "
                        "remaining calls are skipped")
    p.add_argument("--memory-limit", type=_int_at_least(0), default=DEFAULT_MEMORY_LIMIT_MIB, metavar="MIB",
                   help="address space of the process running the aggregator, in MiB (default "
                        f"{DEFAULT_MEMORY_LIMIT_MIB}; 0 = no limit); exceeding it is a 'memory' finding "
                        "and the process is restarted")
    p.add_argument("--path", action="append", metavar="DIR",
                   help="extra folder to import MODULE from (repeatable)")
    p.add_argument("--references", metavar="NAME[,NAME...]",
                   help="reference aggregators (default: median,trimmed_mean,iterative_filtering)")
    p.add_argument("--torch", action="store_true",
                   help="hand the aggregator a torch.float64 tensor instead of a numpy array (needs torch)")
    p.add_argument("--accept-suboptimal", action="store_true",
                   help="exit 0 on a suboptimal verdict too (default: exit 3), e.g. for CI jobs that only "
                        "require robustness")
    p.add_argument("--assume-finite", action="store_true",
                   help="the server drops non-finite rows before aggregating: a rule that Byzantine rows of "
                        "NaN/+-Inf break gets a note instead of a fail (default: such rows are attacks)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    scaleout.add_arguments(p)
    p.set_defaults(func=cmd_audit)
