"""``byzpgd demo saddle-attack --out DIR``: the figure of the saddle-point attack. The runs are
an experiment (:func:`byzpgd.experiments.figures.saddle_attack`); the drawing is a report
(:func:`byzpgd.reports.figures.write_saddle_attack_figure`)."""

from __future__ import annotations

import sys


def cmd_demo(ns) -> int:
    from ..experiments.figures import saddle_attack
    from ..outdir import OutDirError, check_out_dir
    from ..reports.figures import write_saddle_attack_figure

    if not (0 < ns.delta <= 0.1):
        print(f"byzpgd demo: --delta must be in (0, 0.1], got {ns.delta}", file=sys.stderr)
        return 2
    try:
        check_out_dir(ns.out)
    except OutDirError as exc:
        print(f"byzpgd demo: error: {exc}", file=sys.stderr)
        return 2
    for p in write_saddle_attack_figure(saddle_attack(Delta=ns.delta, seed=ns.seed), ns.out):
        print(p)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="write a demonstration figure",
        description="Write a demonstration figure. 'saddle-attack': trajectories of robust GD "
                    "(trapped) and ByzantinePGD (escaping) under the trap adversary on a 2-D slice "
                    "through a strict saddle, with |grad F| and lambda_min over the iterations; "
                    "writes DIR/saddle_attack.png and DIR/saddle_attack.svg.")
    p.add_argument("which", choices=["saddle-attack"], help="the demo to run")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--delta", type=float, default=0.02, help="oracle inexactness Delta (default 0.02)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.set_defaults(func=cmd_demo)
