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

    from . import figures

    names = list(figures.FIGURES) if args.figure == "all" else [args.figure]
    total = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        result = figures.FIGURES[name](scale=args.scale, n_threads=args.threads)
        elapsed = time.perf_counter() - start
        png, npz = result.save(args.out)
        print(f"{name}: {png} (data: {os.path.basename(npz)}) in {elapsed:.1f} s")
    if len(names) > 1:
        print(f"all done in {time.perf_counter() - total:.1f} s")
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

    p_rep = sub.add_parser("reproduce", help="draw one of the paper's figures (PNG + .npz data)",
                           description="Compute and draw a figure of the paper; writes FIG.png and FIG.npz.")
    p_rep.add_argument("figure", metavar="FIG", choices=_figure_names(),
                       help="one of: %(choices)s")
    p_rep.add_argument("--scale", choices=("quick", "default", "paper"), default="default",
                       help="quick: seconds (smoke test); default: scaled down, under a minute; paper: the "
                            "authors' exact parameters (minutes to hours, see ghostfast.figures) "
                            "(default: %(default)s)")
    p_rep.add_argument("--out", default="ghostfast-figures", help="output folder (default: %(default)s)")
    p_rep.add_argument("--threads", type=int, default=None, help="OpenMP threads (default: all cores)")
    p_rep.set_defaults(func=_reproduce)

    from ._sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
