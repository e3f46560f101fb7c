"""Command line: ``ghostfast info``, ``ghostfast demo``, ``ghostfast reproduce FIG`` and
``ghostfast sweep config.toml`` (more subcommands register here)."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _info(args: argparse.Namespace) -> int:
    import ghostfast

    print(f"ghostfast {ghostfast.__version__}")
    print(f"OpenMP: {'yes' if ghostfast.has_openmp else 'no'}")
    print(f"default threads: {ghostfast.default_threads()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(out_dir=args.out, quick=args.quick, n_threads=args.threads)


def _reproduce(args: argparse.Namespace) -> int:
    import os
    import time

    from . import _report, figures

    if args.list:
        return _report.list_figures(n_threads=args.threads)
    if args.figure is None:
        raise SystemExit("ghostfast reproduce: give a figure name, 'all', or --list")
    if args.figure == "all":
        return _report.reproduce_all(args.scale, args.out, n_threads=args.threads, force=args.force,
                                     dry_run=args.dry_run)
    start = time.perf_counter()
    result = figures.FIGURES[args.figure](scale=args.scale, n_threads=args.threads)
    elapsed = time.perf_counter() - start
    png, npz = result.save(args.out)
    print(f"{args.figure}: {png} (data: {os.path.basename(npz)}) in {elapsed:.1f} s")
    print(_report.check(result).explain())
    return 0


def _figure_names() -> list:
    from .figures import FIGURES

    return [*FIGURES, "all"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ghostfast", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p_info = sub.add_parser("info", help="print version, OpenMP support and default thread count")
    p_info.set_defaults(func=_info)

    p_demo = sub.add_parser("demo", help="canonical model: learning-rate sweep around the critical rate")
    p_demo.add_argument("--out", default="ghostfast-demo", help="folder for the figure (default: %(default)s)")
    p_demo.add_argument("--quick", action="store_true", help="fewer seeds and delays (seconds, for smoke tests)")
    p_demo.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: all cores)")
    p_demo.set_defaults(func=_demo)

    p_rep = sub.add_parser("reproduce", help="draw the paper's figures (PNG + .npz data) and check their claims",
                           description="Compute and draw a figure of the paper (FIG.png, FIG.npz) and check its claim; "
                                       "'all' runs every figure (resumable) and writes REPORT.md and report.json.")
    p_rep.add_argument("figure", metavar="FIG", nargs="?", choices=_figure_names(),
                       help="one of: %(choices)s")
    p_rep.add_argument("--scale", choices=("quick", "default", "paper"), default="default",
                       help="quick: seconds per figure (what CI runs); default: scaled down, under a minute; paper: "
                            "the authors' exact parameters (minutes to hours, see --list) (default: %(default)s)")
    p_rep.add_argument("--out", default="ghostfast-figures", help="output folder (default: %(default)s)")
    p_rep.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: all cores)")
    p_rep.add_argument("--list", action="store_true",
                       help="list the figures with their claims and estimated times at each scale")
    p_rep.add_argument("--force", action="store_true", help="with 'all': redo figures already finished in --out")
    p_rep.add_argument("--dry-run", action="store_true", help="with 'all': print the plan and estimates only")
    p_rep.set_defaults(func=_reproduce)

    from ._sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
