"""Draw the gallery's images: every figure of ghostfast.figures.FIGURES into docs/_static/gallery/NAME.png.

Usage: python docs/make_gallery.py [--scale quick|default|paper] [--threads N] [FIG ...]
(default scale: a few minutes on 2 cores). The documentation build shows an image for each file present.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "_static" / "gallery"


def main() -> None:
    """Draw the requested figures (all by default) and save their PNGs."""
    from ghostfast import figures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", nargs="*", default=list(figures.FIGURES), metavar="FIG")
    parser.add_argument("--scale", default="default", choices=figures.SCALES)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.figures:
        start = time.perf_counter()
        res = figures.FIGURES[name](scale=args.scale, n_threads=args.threads)
        res.figure.savefig(OUT / f"{name}.png", dpi=90)
        print(f"{name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
