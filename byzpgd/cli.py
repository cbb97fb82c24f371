"""The ``byzpgd`` command line: verify, claims, replay, plus the commands of byzpgd.commands.

Exit codes of ``verify``: 0 every claim holds; 1 a claim is violated, errored or inconclusive;
2 usage error (unknown claim id or pattern, an --out that cannot hold the report); 3 --max-seconds
ran out (a partial report with every finished claim); 130 interrupted (Ctrl-C: the previous report
set is left untouched if no claim had finished, else the partial report, marked 'interrupted').

Every command stops on SIGTERM and SIGHUP as on Ctrl-C (:mod:`byzpgd.stopping`): its workers are
ended (none outlives it), no report is written, the previous one is untouched, and the exit code
is 128 + the signal number (143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import pkgutil
import sys
import time

from . import __version__, commands, scaleout, stopping
from ._malloc import tune_malloc
from .jsonsafe import dumps
from .properties.profiles import DEFAULT_PROFILE, PROFILES
from .properties.registry import claim_ids
from .theory import claims as claims_mod

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130   # 128 + SIGINT, as a shell reports a Ctrl-C (128 + SIGTERM/SIGHUP: 143/129)
EXIT_TIMEOUT = 3         # --max-seconds ran out: the report is partial


BATCHED_NOTE = ("byzpgd {command}: note: --batched is ignored: every run is batched (one engine; a run "
                "alone is a batch of one, to the bit)")
"""Printed when the former ``--batched`` switch is given (accepted so that old scripts still run)."""


def cmd_verify(ns) -> int:
    """``byzpgd verify``, built on :func:`byzpgd.api.verify`: the claims and --out are checked
    before any work (exit 2 with one line), progress goes to stderr (a bar on a terminal, lines
    otherwise, nothing with --quiet), and Ctrl-C leaves the previous report set untouched (the
    three files are written as one set at the end, :func:`byzpgd.reports.write_all`)."""
    from .api import ClaimSelectionError, select_claims, verify, verify_command
    from .outdir import OutDirError, check_out_dir
    from .progress import Progress
    from .reports.words import summary_text

    if (code := load_user_claims(ns, "verify")) is not None:
        return code
    if ns.batched:
        print(BATCHED_NOTE.format(command="verify"), file=sys.stderr)
    if ns.claims is not None and not ns.claims.replace(",", "").strip():
        print("byzpgd verify: error: --claims is empty: give claim ids or patterns, or leave --claims out "
              "to check every claim", file=sys.stderr)
        return EXIT_USAGE
    try:
        ids = select_claims(ns.claims)
    except ClaimSelectionError as exc:
        print(f"byzpgd verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        out = check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # the command that reproduces this report (from the parsed options, not sys.argv: the same
    # profile, seed and claims give the same command however verify was invoked)
    command = verify_command(ids if ns.claims else None, ns.profile, ns.seed, ns.out, claims_arg=ns.claims,
                             complete=ns.complete, max_seconds=ns.max_seconds,
                             claims_from=tuple(ns.claims_from or ()))
    written: list = []   # the last partial report written (after each finished claim)

    def write_partial(partial_report):
        partial_report.write(out.path, escape_illustration=False)
        written[:] = [partial_report]
    bar = Progress("byzpgd verify", total=len(ids), unit="claims", quiet=ns.quiet)
    if ns.claims:
        bar.say(f"byzpgd verify: --claims {ns.claims} matched {len(ids)} claim(s): {', '.join(ids)}")
    say = (lambda msg: None) if ns.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    try:
        with scaleout.executor_from_args(ns, ns.jobs) as executor:
            bar.say(f"byzpgd verify: {len(ids)} claims, profile {ns.profile}, seed {ns.seed}, "
                    f"on {scaleout.describe(executor)}")
            report = verify(ids, ns.profile, ns.seed, jobs=ns.jobs, progress=bar, command=command,
                            executor=executor if scaleout.uses_dask(ns) else None,
                            complete=ns.complete, max_seconds=ns.max_seconds, on_partial=write_partial,
                            claims_from=tuple(ns.claims_from or ()))
        bar.close()
        say(f"writing {out.path / 'report.json'}, report.md, report.html"
            + (f" (partial: --max-seconds {ns.max_seconds:g} ran out)" if report.partial else ""))
        paths = report.write(out.path, say=say)
    except KeyboardInterrupt:
        bar.close()
        return _interrupted(ns, out, written, t0)
    except scaleout.ScaleOutError as exc:
        bar.close()
        out.discard_if_empty()
        print(f"byzpgd verify: error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        bar.close()
    say(f"wrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - t0:.1f} s: "
        f"{summary_text(report.summary)}")
    if report.partial:
        print(f"byzpgd verify: --max-seconds {ns.max_seconds:g} ran out: the report is partial, "
              f"{len(report.pending)} claim(s) without a result: {', '.join(report.pending)}",
              file=sys.stderr, flush=True)
        return EXIT_TIMEOUT
    return EXIT_OK if report.ok else EXIT_FAIL


def _interrupted(ns, out, written: list, t0: float) -> int:
    """Ctrl-C / SIGTERM / SIGHUP during verify: the previous report set is untouched if no claim
    had finished; otherwise the partial report written after the last finished claim stays,
    re-marked 'interrupted' (never a report that looks complete)."""
    import dataclasses

    if written:
        with contextlib.suppress(BaseException):   # a second signal leaves the 'running' partial set
            written[0] = dataclasses.replace(written[0], partial="interrupted")
            written[0].write(out.path, escape_illustration=False)
    had = (out.path / "report.json").exists()
    out.discard_if_empty()
    where = (f"the partial report in {ns.out} has the {len(written[0].claims)} finished claim(s)" if written
             else f"the previous report in {ns.out} is untouched" if had
             else f"no report was written to {ns.out}")
    print(f"byzpgd verify: interrupted{stopping.signal_words()} after {time.perf_counter() - t0:.1f} s; "
          + where, file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def illustration(say):
    """The escape illustration of report.html (:func:`byzpgd.experiments.figures.
    escape_illustration`), or None with the reason said if computing it fails: the claims'
    report is written either way."""
    from ._verify import draw_escape_illustration
    return draw_escape_illustration(say)


def fmt_ratio(x) -> str:
    """A worst ratio for a progress line: the number, '∞', or '—' when no instance gave one
    (:func:`byzpgd.reports.words.ratio_text`)."""
    from .reports.words import ratio_text
    return ratio_text(x)


def load_user_claims(ns, command: str) -> int | None:
    """Load the files/modules of ``--claims-from`` (user claims, :mod:`byzpgd.claims`); None when
    they loaded, else EXIT_USAGE after one line saying which source failed and why."""
    from .properties.user import load_claims_from

    for source in getattr(ns, "claims_from", None) or ():
        try:
            load_claims_from(source)
        except Exception as exc:   # the user's file: any error is a usage error, said in one line
            print(f"byzpgd {command}: error: --claims-from {source}: {type(exc).__name__}: "
                  f"{' '.join(str(exc).split())}", file=sys.stderr)
            return EXIT_USAGE
    return None


def _claims_from_argument(parser) -> None:
    parser.add_argument("--claims-from", action="append", metavar="PATH_OR_MODULE",
                        help="load user-declared claims from a Python file or a module first (byzpgd.claims; "
                             "repeatable), e.g. docs/examples/claim_momentum.py")


def cmd_claims(ns) -> int:
    if (code := load_user_claims(ns, "claims")) is not None:
        return code
    if ns.where:
        return _claims_where(ns.where, ns.json)
    claims = [claims_mod.get(cid) for cid in claim_ids()]
    if ns.json:
        print(dumps([c.to_dict() for c in claims]))
        return EXIT_OK
    for c in claims:
        print(f"{c.id}  [{c.kind}, {c.provenance}]\n  {c.statement}\n"
              f"  bound: {c.formula()}\n  source: {c.source}\n")
    return EXIT_OK


def _claims_where(claim_id: str, as_json: bool) -> int:
    from .properties.where import where

    try:
        files = where(claim_id)
    except KeyError as exc:
        print(f"byzpgd claims: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        print(dumps(files))
        return EXIT_OK
    print(files.id)
    for label in ("statement", "check", "experiment", "tests"):
        paths = getattr(files, label) or ("(none)",)
        for k, path in enumerate(paths):
            print(f"  {label if k == 0 else '':<11} {path}")
    return EXIT_OK


def cmd_replay(ns) -> int:
    from .properties.registry import REPLAYS
    from .properties.replay_spec import SpecError, check_spec, missing_field
    from .properties.user import USER_CLAIMS

    if (code := load_user_claims(ns, "replay")) is not None:
        return code
    if ns.claim not in claim_ids():
        print(f"byzpgd replay: unknown claim {ns.claim!r}", file=sys.stderr)
        return EXIT_USAGE
    if ns.claim not in REPLAYS:
        print(f"byzpgd replay: claim {ns.claim!r} has no instance replay", file=sys.stderr)
        return EXIT_USAGE
    try:
        spec = json.loads(ns.spec)
    except json.JSONDecodeError as exc:
        print(f"byzpgd replay: SPEC is not valid JSON: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not isinstance(spec, dict):
        print("byzpgd replay: SPEC must be a JSON object", file=sys.stderr)
        return EXIT_USAGE
    try:    # every field's type and range first: one line naming the field (properties.replay_spec)
        if ns.claim not in USER_CLAIMS:     # a user claim's instances have the user's own fields
            check_spec(ns.claim, spec)
    except SpecError as exc:
        print(f"byzpgd replay: invalid SPEC: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        out = REPLAYS[ns.claim](spec)
    except KeyError as exc:
        why = missing_field(ns.claim, exc) or f"no entry {exc.args[0]!r} (KeyError)"
        print(f"byzpgd replay: invalid SPEC: {why}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as exc:
        print(f"byzpgd replay: invalid SPEC: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    print(dumps(out))
    return EXIT_OK if out["holds"] else EXIT_FAIL


def _int_at_least(low: int):
    """An argparse type: an integer >= ``low``; a bad value is one sentence ("argument --seed:
    must be an integer >= 0, got 'x'"), never argparse's "invalid <function name> value"."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {v}")
        return v
    parse.__name__ = f"integer >= {low}"
    return parse


_nonneg_int = _int_at_least(0)
_pos_int = _int_at_least(1)


def _pos_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}") from None
    if not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="byzpgd",
        description="Verification harness for Byzantine-robust non-convex optimization: checks "
                    "the claims of Yin et al. (ICML 2019) on generated instances.")
    p.add_argument("--version", action="version", version=f"byzpgd {__version__}",
                   help="print the installed version of byzpgd and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("verify", help="check every registered claim; write DIR/report.{json,md,html}",
                       description="Run every registered claim check on instances drawn for the "
                                   "profile and write DIR/report.json, report.md and report.html. "
                                   "The three files are rewritten after each finished claim, marked "
                                   "partial until the run ends. Exit 0 if all claims hold, 1 if any "
                                   "is violated, errored or inconclusive, 2 on a usage error, 3 when "
                                   "--max-seconds ran out (partial report: every finished claim), 130 "
                                   "(143/129) when interrupted (the partial report, marked "
                                   "'interrupted', if a claim had finished; else the previous report "
                                   "is untouched).")
    v.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                   help="instances per claim: " + ", ".join(
                       f"{k}={s['examples']}" for k, s in PROFILES.items())
                   + " where a claim sets no count of its own (the probabilistic theorem claims "
                     "set theirs for a power of 2δ on ci, 1.25δ on deep: properties/profiles.py)"
                   + f" (default {DEFAULT_PROFILE})")
    v.add_argument("--seed", type=_nonneg_int, default=0, help="seed of every random choice (default 0)")
    v.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    v.add_argument("--claims", metavar="ID[,ID...]",
                   help="only these claim ids or shell-style patterns, comma-separated, e.g. "
                        "'byzantine_pgd.*,exact_pgd.grad_norm' (default: all); the matched ids are "
                        "printed, a pattern matching nothing is a usage error")
    v.add_argument("--jobs", type=_pos_int, default=2,
                   help="worker processes (default 2; ignored with --scheduler or --workers)")
    v.add_argument("--quiet", action="store_true",
                   help="no progress output (default: a progress bar on a terminal, periodic lines "
                        "otherwise)")
    v.add_argument("--batched", action="store_true", help=argparse.SUPPRESS)   # the default since issue 24
    v.add_argument("--complete", action="store_true",
                   help="run every instance of the profile for every claim (tightness statistics). "
                        "Default: a claim stops drawing instances once its verdict cannot change (a "
                        "deterministic claim at its first violation, a probabilistic one once its "
                        "failures reject at any sample it could still reach); the instance counts "
                        "are printed")
    v.add_argument("--max-seconds", type=_pos_seconds, default=None, metavar="S",
                   help="wall-clock limit of the whole run: when it runs out, the claims still running "
                        "are ended and the report is written as partial (exit 3). Without it, and in "
                        "any case, DIR/report.{json,md,html} are rewritten after each finished claim, "
                        "marked partial until the run ends")
    _claims_from_argument(v)
    scaleout.add_arguments(v)
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser("claims", help="list the registered claims, or where one lives",
                       description="List every registered claim: id, statement, bound, source, "
                                   "provenance and kind. With --where ID: the files that state "
                                   "the claim, check it, run its experiment and test it (exit 2 "
                                   "for an unknown id).",
                       epilog="example: byzpgd claims --where byzantine_pgd.grad_norm")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--where", metavar="ID",
                   help="print the files of claim ID (statement, check, experiment, tests)")
    _claims_from_argument(c)
    c.set_defaults(func=cmd_claims)

    r = sub.add_parser("replay", help="re-run one instance of a claim check",
                       description="Re-run the instance SPEC (a JSON object, as printed in a "
                                   "report's 'replay' field) and print its observation. Exit 0 "
                                   "if the claim holds on it, 1 if not.")
    r.add_argument("claim", help="claim id, e.g. byzantine_pgd.grad_norm")
    r.add_argument("spec", help="instance spec as JSON")
    _claims_from_argument(r)
    r.set_defaults(func=cmd_replay)

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{mod.name}").register(sub)
    return p


def main(argv=None) -> int:
    """Parse ``argv`` and run the command. SIGTERM and SIGHUP stop it as Ctrl-C does (module
    docstring): the command's own clean-up runs, then any process still descending from this one
    is ended (:func:`byzpgd.stopping.end_descendants`), and the exit code is 128 + the signal
    (also when the clean-up itself fails, e.g. writing to the terminal a SIGHUP closed)."""
    ns = None
    tune_malloc()          # glibc's thresholds for this process and those it forks (byzpgd._malloc)
    with stopping.stop_on_signals():
        try:
            ns = build_parser().parse_args(argv)
            code = ns.func(ns)
        except KeyboardInterrupt:   # a command without its own handler (audit), or before it ran
            with contextlib.suppress(OSError):
                print(f"byzpgd {getattr(ns, 'command', None) or ''}".rstrip()
                      + f": interrupted{stopping.signal_words()}; no report was written",
                      file=sys.stderr, flush=True)
            code = EXIT_INTERRUPTED
        except Exception:
            if stopping.received() is None:
                raise
            code = EXIT_INTERRUPTED   # an error while stopping on a signal: the signal is the outcome
        finally:
            if stopping.received() is not None:
                stopping.end_descendants()
        signum = stopping.received()
    return code if signum is None else 128 + signum


if __name__ == "__main__":
    sys.exit(main())
