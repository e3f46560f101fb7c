"""Command line: ``ghostfast info``, ``ghostfast demo``, ``ghostfast reproduce FIG`` and
``ghostfast sweep config.toml`` (more subcommands register here).

Errors in what the user typed or wrote in a config file (ValueError, TypeError, a missing file, a TOML syntax
error) print one line ``ghostfast <command>: error: ...`` and exit with code 2, as argparse does for bad
arguments. ``GHOSTFAST_TRACEBACK=1`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import NoReturn, Optional, Sequence

_DESCRIPTION = (
    "Fast, exact and deterministic simulations of the ghost mechanism of abrupt learning in "
    "recurrent networks (Dinc et al., arXiv 2501.02378)."
)

KERNEL_NAMES = {
    "portable": "portable (std::fma; no AVX2/FMA on this CPU or build)",
    "avx2": "AVX2 + FMA",
    "avx512": "AVX-512",
}


def plain_text(doc: Optional[str]) -> str:
    """A docstring as plain text for ``--help``: no RST double backquotes, roles or ``::`` markers."""
    text = doc or ""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)  # :func:`x` -> x
    text = text.replace("``", "")
    text = re.sub(r"::\n", ":\n", text)
    return text


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``ghostfast sweep: error: ... (see ghostfast sweep --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _threads(text: str) -> int:
    """``--threads`` value: an int >= 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (omit it to use all cores), got {value}")
    return value


def _info(args: argparse.Namespace) -> int:
    import ghostfast

    print(f"ghostfast {ghostfast.__version__}")
    print(f"OpenMP: {'yes' if ghostfast.has_openmp else 'no'}")
    print(f"default threads: {ghostfast.default_threads()}")
    print(
        f"RNN kernels: {KERNEL_NAMES.get(ghostfast.vector_kernel(), ghostfast.vector_kernel())} "
        "(every path gives the same bits)"
    )
    from . import _core

    widths = [_core.rnn_lane_width(getattr(_core.RnnDtype, d)) for d in ("float64", "float32")]
    print(f"SIMD lane groups: {widths[0]} float64 / {widths[1]} float32 networks trained together")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(out_dir=args.out, quick=args.quick, n_threads=args.threads)


def _reproduce(args: argparse.Namespace) -> int:
    import os

    from . import _report

    if args.list:
        return _report.list_figures(n_threads=args.threads)
    if args.figure is None:
        raise SystemExit("ghostfast reproduce: give a figure name, 'all', or --list")
    if args.figure == "all":
        return _report.reproduce_all(
            args.scale, args.out, n_threads=args.threads, force=args.force, dry_run=args.dry_run
        )
    try:
        rec = _report.run_figure(args.figure, args.scale, args.out, args.threads)
    except KeyboardInterrupt:  # a figure stops on Ctrl-C rather than draw a partial run
        print(_report.interrupted_text(args.out, args.figure), file=sys.stderr)
        return 130
    print(f"{args.figure}: {os.path.join(args.out, rec['png'])} (data: {rec['npz']}) in {rec['wall_time_s']:.1f} s")
    print(_report.Check.from_dict(rec).explain())
    return 0


def _figure_names() -> list:
    from .figures import FIGURES

    return [*FIGURES, "all"]


def build_parser() -> argparse.ArgumentParser:
    """The ``ghostfast`` argument parser with its subcommands (info, demo, reproduce, sweep)."""
    from . import __version__

    parser = _Parser(prog="ghostfast", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"ghostfast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_info = sub.add_parser("info", help="print version, OpenMP support, default thread count and kernel path")
    p_info.set_defaults(func=_info)

    p_demo = sub.add_parser("demo", help="canonical model: learning-rate sweep around the critical rate")
    p_demo.add_argument("--out", default="ghostfast-demo", help="folder for the figure (default: %(default)s)")
    p_demo.add_argument("--quick", action="store_true", help="fewer seeds and delays (seconds, for smoke tests)")
    p_demo.add_argument("--threads", type=_threads, default=None, help="OpenMP threads (default: all cores)")
    p_demo.set_defaults(func=_demo)

    p_rep = sub.add_parser(
        "reproduce",
        help="draw the paper's figures (PNG + .npz data) and check their claims",
        description="Compute and draw a figure of the paper (FIG.png, FIG.npz), check its claim and record the "
        "check (FIG.check.json); "
        "'all' runs every figure (resumable) and writes REPORT.md and report.json.",
    )
    p_rep.add_argument("figure", metavar="FIG", nargs="?", choices=_figure_names(), help="one of: %(choices)s")
    p_rep.add_argument(
        "--scale",
        choices=("quick", "default", "paper"),
        default="default",
        help="quick: seconds per figure (what CI runs); default: scaled down, under a minute; paper: "
        "the authors' exact parameters (minutes to hours, see --list) (default: %(default)s)",
    )
    p_rep.add_argument("--out", default="ghostfast-figures", help="output folder (default: %(default)s)")
    p_rep.add_argument("--threads", type=_threads, default=None, help="OpenMP threads (default: all cores)")
    p_rep.add_argument(
        "--list", action="store_true", help="list the figures with their claims and estimated times at each scale"
    )
    p_rep.add_argument("--force", action="store_true", help="with 'all': redo figures already finished in --out")
    p_rep.add_argument("--dry-run", action="store_true", help="with 'all': print the plan and estimates only")
    p_rep.set_defaults(func=_reproduce)

    from ._sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (bad input raises ``SystemExit(2)`` after one line)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, OSError, ImportError) as err:
        if os.environ.get("GHOSTFAST_TRACEBACK", "") not in ("", "0"):
            raise
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, OSError) and err.filename is not None and err.strerror:
            message = f"{err.strerror}: {err.filename}"
        print(f"ghostfast {args.command}: error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
