"""Command line: ``ghostfast info`` and ``ghostfast demo`` (more subcommands register here)."""
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

    from ._sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
