"""Sphinx configuration of the ghostfast documentation (build: python -m sphinx -W -b html docs docs/_build/html).

Pages generated at build time (into docs/_generated/, not committed):
  * figures.rst: the gallery, one entry per figure of ``ghostfast.figures.FIGURES`` (nothing is computed: an
    image is shown when ``docs/_static/gallery/<name>.png`` exists, see ``docs/make_gallery.py``);
  * benchmarks.rst: the benchmark table, read from the README (one definition of the numbers).
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

try:  # the installed package (CI), else the in-tree build (PYTHONPATH=python or python/ next to docs/)
    import ghostfast
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(ROOT / "python"))
    import ghostfast

project = "ghostfast"
author = "the ghostfast developers"
copyright = "2026, the ghostfast developers"
release = ghostfast.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
exclude_patterns = ["_build", "_generated/*.inc", "_generated/gallery"]
templates_path: list[str] = []
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {
    "description": "the ghost mechanism of abrupt learning, fast and exact",
    "github_user": "ghostfast",
    "github_repo": "ghostfast",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
nitpicky = False
default_role = "code"

# autodoc + numpydoc
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_class_members_toctree = False

# doctest: every ``>>>`` block of the pages and of the docstrings they include runs (sphinx -b doctest)
doctest_test_doctest_blocks = "default"
doctest_global_setup = """
import numpy as np
import matplotlib
matplotlib.use("Agg")
"""


# ------------------------------------------------------------------------------------ generated pages


def _rst_inline(text: str) -> str:
    """Markdown table cell -> reST: code spans, bold, escaped bars."""
    text = text.replace("\\|", "\x00")  # a literal bar, escaped in the Markdown source
    text = re.sub(r"`([^`]+)`", r"``\1``", text)
    return text.replace("\x00", r"\|")


def _markdown_table(md: str, header_start: str) -> list[list[str]]:
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append([_rst_inline(c) for c in cells])
    return rows


def _list_table(rows: list[list[str]], widths: str = "auto") -> str:
    out = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in rows:
        out.append("   * - " + (row[0] or " "))
        out.extend("     - " + (c or " ") for c in row[1:])
    return "\n".join(out) + "\n"


#: Figures cheap enough to draw at default scale while the docs build (< 0.5 s each, measured on 2 cores);
#: the others show an image when docs/make_gallery.py has drawn one into docs/_static/gallery/.
BUILD_TIME_FIGURES = ("fig1", "fig2_loss", "fig2_dynamics", "fig2d", "fig8a")


def _gallery() -> str:
    from ghostfast import figures

    out = []
    drawn = DOCS / "_generated" / "gallery"
    drawn.mkdir(parents=True, exist_ok=True)
    for name, func in figures.FIGURES.items():
        doc = inspect.getdoc(func) or ""
        summary = re.sub(r"(?<!\\)\|", r"\\|", doc.split("\n\n")[0].replace("\n", " "))
        out += [name, "-" * len(name), "", summary, ""]
        image = DOCS / "_static" / "gallery" / f"{name}.png"
        if name in BUILD_TIME_FIGURES and not image.exists():
            image = drawn / f"{name}.png"
            source = Path(inspect.getsourcefile(func) or __file__)
            if not image.exists() or image.stat().st_mtime < source.stat().st_mtime:  # redraw after edits
                res = func(scale="default")
                res.figure.savefig(image, dpi=80)
        if image.exists():
            rel = image.relative_to(DOCS).as_posix()
            out += [f".. image:: /{rel}", f"   :alt: {name}", "   :width: 85%", ""]
        out += [
            "::",
            "",
            f"    ghostfast reproduce {name} --scale default   # or --scale paper",
            f"    # Python: res = ghostfast.figures.{name}(scale='default'); res.figure, res.data",
            "",
            f"API: :func:`ghostfast.figures.{func.__name__}`",
            "",
        ]
    return "\n".join(out)


def _generate(app) -> None:  # noqa: ANN001 - sphinx application
    gen = DOCS / "_generated"
    gen.mkdir(exist_ok=True)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    bench = _list_table(_markdown_table(readme, "| workload |"))
    figs = _markdown_table(readme, "| figure |")
    _write(gen / "benchmarks.inc", bench)
    _write(gen / "figure_times.inc", _list_table(figs))
    _write(gen / "figures.inc", _gallery())


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:  # unchanged files keep the build incremental
        path.write_text(text, encoding="utf-8")


_TABLE_LINE = re.compile(r"^\s*[+|][-=+|]")


def _escape_bars(app, what, name, obj, options, lines) -> None:  # noqa: ANN001
    """Docstrings are written to read well in ``help()`` too: ``|F|`` means a norm, not a reST substitution.

    Escape every bar outside doctest examples and grid tables before numpydoc/docutils parse the text."""
    in_example = False
    for i, line in enumerate(lines):
        # numpydoc's section is "Examples" (some docstrings say "Example", which numpydoc would drop)
        if line.strip() == "Example" and i + 1 < len(lines) and lines[i + 1].strip() == "-------":
            lines[i], lines[i + 1] = line.replace("Example", "Examples"), lines[i + 1].replace("-------", "--------")
            continue
        stripped = line.lstrip()
        if stripped.startswith((">>>", "...")):
            in_example = True
            continue
        if not stripped:
            in_example = False
            continue
        if in_example or _TABLE_LINE.match(line):
            continue
        lines[i] = re.sub(r"(?<!\\)\|", r"\\|", line)


def setup(app):  # noqa: ANN001, ANN201
    app.connect("builder-inited", _generate)
    app.connect("autodoc-process-docstring", _escape_bars, priority=100)
