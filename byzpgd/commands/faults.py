"""``byzpgd faults``: the seeded-fault campaign (byzpgd.properties.campaign) and its kill
matrix, written to DIR/faults.{json,md,html} after each finished fault (``partial`` until the
last) and at the end."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def cmd_faults(ns) -> int:
    from .. import scaleout
    from ..experiments.faults import BY_ID, CATALOGUE
    from ..outdir import OutDirError, check_out_dir
    from ..progress import Progress
    from ..properties.campaign import run_campaign
    from ..reports.faults import write_faults
    from ..stopping import signal_words

    if ns.list:
        for f in CATALOGUE:
            print(f"{f.id:42s} {f.kind:10s} {'ci ' if f.ci else '   '}{f.description}")
            if ns.verbose:
                print(f"{'':56s}reaches: {f.reaches}" + (f"\n{'':56s}why: {f.why}" if f.why else ""))
        return 0
    if ns.batched:
        from ..cli import BATCHED_NOTE

        print(BATCHED_NOTE.format(command="faults"), file=sys.stderr)
    if ns.out is None:
        print("byzpgd faults: --out DIR is required (or --list)", file=sys.stderr)
        return 2
    if ns.faults:
        ids = ns.faults.split(",")
        unknown = [f for f in ids if f not in BY_ID]
        if unknown:
            print(f"byzpgd faults: unknown fault id(s) {unknown}; see 'byzpgd faults --list'",
                  file=sys.stderr)
            return 2
    else:
        ids = [f.id for f in CATALOGUE if f.ci or not ns.subset]
    try:
        out_dir = check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd faults: error: {exc}", file=sys.stderr)
        return 2
    out = Path(ns.out)
    command = shlex.join(["byzpgd", "faults", "--profile", ns.profile, "--seed", str(ns.seed),
                          *(["--faults", ns.faults] if ns.faults else []),
                          *(["--subset"] if ns.subset else []),
                          *(["--all-claims"] if ns.all_claims else []),
                          "--out", str(out)])
    # the bar counts faults: the campaign's '[k/N] fault: status' lines move it
    with Progress("byzpgd faults", total=len(ids), unit="faults", quiet=ns.quiet) as bar:
        bar.say(f"byzpgd faults: {len(ids)} fault(s), profile {ns.profile}, seed {ns.seed}")
        try:
            with scaleout.executor_from_args(ns, 1) as executor:
                bar.say(f"byzpgd faults: faults run on {scaleout.describe(executor)}")
                campaign = run_campaign(ids, ns.profile, ns.seed, all_claims=ns.all_claims,
                                        command=command, progress=bar.messages(),
                                        executor=executor if scaleout.uses_dask(ns) else None,
                                        on_result=lambda partial: write_faults(out, partial))
        except scaleout.ScaleOutError as exc:
            bar.close()
            out_dir.discard_if_empty()
            print(f"byzpgd faults: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            bar.close()
            out_dir.discard_if_empty()
            print(f"byzpgd faults: interrupted{signal_words()}; {out} holds the faults finished so far "
                  "(faults.json 'partial': true), or the previous files if none finished",
                  file=sys.stderr)
            return 130   # the CLI's main makes it 128 + the signal for SIGTERM/SIGHUP
    paths = write_faults(out, campaign)
    say = (lambda msg: None) if ns.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    say(f"wrote {', '.join(str(p) for p in paths)}: {campaign.summary}, kill rate "
        f"{campaign.kill_rate:.1%} (of the whole catalogue {campaign.catalogue_kill_rate:.1%}); "
        f"killed by a guarantee-level claim {campaign.guarantee_kill_rate:.1%}"
        f"{'' if campaign.all_claims else ' (a lower bound without --all-claims)'}, by a conformance "
        f"check {campaign.conformance_kill_rate:.1%}; parameter faults of ByzantinePGD and exact PGD "
        f"killed by a guarantee-level claim {campaign.parameter_guarantee_kill_rate:.1%}"
        + (f"; readings a claim rejects: {list(campaign.readings_killed)}" if campaign.readings_killed
           else ""))
    return 0 if campaign.ok else 1


def register(subparsers) -> None:
    from .. import scaleout
    from ..properties.profiles import PROFILES

    p = subparsers.add_parser(
        "faults", help="seeded-fault campaign: which faults do the claims catch?",
        description="Inject each fault of the catalogue (parameters of ByzantinePGD and exact "
                    "PGD, logic of the loop, aggregators, theory) into a copy of the code under "
                    "test (by a wrapper, in a child process), run the claims that should notice "
                    "it, and write the kill matrix to DIR/faults.json, faults.md and faults.html. "
                    "The two readings of Algorithm 1 the paper leaves open run too and must "
                    "survive. Exit 0 if every fault is killed or argued equivalent and no reading "
                    "is killed, 1 otherwise, 2 on a usage error. A claim that crashes or runs out of "
                    "time under a fault does not kill it (the fault is 'errored').")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci",
                   help="profile of the claim checks (default ci)")
    p.add_argument("--seed", type=int, default=0, help="seed of every claim check (default 0)")
    p.add_argument("--out", metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--faults", metavar="ID[,ID...]", help="only these faults (default: all)")
    p.add_argument("--subset", action="store_true",
                   help="only the small subset marked 'ci' in the catalogue")
    p.add_argument("--all-claims", action="store_true",
                   help="run every relevant claim on every fault: the full kill matrix, with exact "
                        "guarantee-level and conformance kill rates (default: stop at a fault's "
                        "first kill, cheapest claim first)")
    p.add_argument("--list", action="store_true", help="list the catalogue and exit")
    p.add_argument("--verbose", action="store_true",
                   help="with --list: the engine each fault reaches and, for code slips, why it harms")
    p.add_argument("--batched", action="store_true", help=argparse.SUPPRESS)   # the default since issue 24
    p.add_argument("--quiet", action="store_true",
                   help="no progress output (default: a progress bar on a terminal, periodic lines "
                        "otherwise)")
    scaleout.add_arguments(p)
    p.set_defaults(func=cmd_faults)
