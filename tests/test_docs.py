"""The API reference is complete: every public function has numpydoc Parameters (when it takes any),
Returns and Examples sections, and every public class a docstring. The examples themselves run in the
documentation's doctest build (``.ci/run``: ``sphinx -b doctest docs``)."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

MODULES = [
    "ghostfast",
    "ghostfast.canonical",
    "ghostfast.tasks",
    "ghostfast.rnn",
    "ghostfast.sweep",
    "ghostfast.analysis",
    "ghostfast.plotting",
    "ghostfast.figures",
]


def _public(module_name):
    mod = importlib.import_module(module_name)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield f"{module_name}.{name}", obj


CASES = [case for m in MODULES for case in _public(m)]


@pytest.mark.parametrize("name,obj", CASES, ids=[c[0] for c in CASES])
def test_public_api_is_documented(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    if inspect.isclass(obj):
        return
    takes_args = bool(inspect.signature(obj).parameters)
    if takes_args:
        assert "\nParameters\n----------\n" in doc, f"{name}: no numpydoc Parameters section"
    assert "\nReturns\n-------\n" in doc, f"{name}: no numpydoc Returns section"
    assert "\nExamples\n--------\n" in doc and ">>> " in doc, f"{name}: no Examples section with an example"


def test_every_documented_parameter_exists():
    # a renamed argument must not leave a stale entry in the Parameters section
    for name, obj in CASES:
        if inspect.isclass(obj):
            continue
        doc = inspect.getdoc(obj) or ""
        if "\nParameters\n----------\n" not in doc:
            continue
        section = doc.split("\nParameters\n----------\n", 1)[1].split("\n\n")[0]
        params = set(inspect.signature(obj).parameters)
        for line in section.splitlines():
            if line and not line.startswith(" ") and not line.startswith("*"):
                for entry in line.split(":")[0].split(","):
                    assert entry.strip() in params, f"{name}: documents {entry.strip()!r}, not an argument"


REPORTS = sorted((Path(__file__).resolve().parents[1] / "docs").glob("report-*/REPORT.md"))


@pytest.mark.skipif(not REPORTS, reason="the committed reports (docs/report-*) are not in this tree")
@pytest.mark.parametrize("report", REPORTS, ids=[p.parent.name for p in REPORTS])
def test_committed_report_has_every_file_it_links(report):
    # A reader opens REPORT.md first: each image and file it links must be in the repository (a fresh clone
    # has only what git tracks, and *.png is ignored outside its exceptions in .gitignore).
    links = re.findall(r"\]\(([^)#:]+)\)", report.read_text())
    missing = sorted({f for f in links if not (report.parent / f).is_file()})
    assert not missing, f"{report.parent.name}/REPORT.md links files that are not in the tree: {missing}"
