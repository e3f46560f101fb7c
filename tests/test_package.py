"""The package itself: build facts, CLI info, argument helpers shared by every area."""

import subprocess
import sys

import numpy as np
import pytest

import ghostfast
from ghostfast import _seeding, _validation


def test_build_facts():
    assert isinstance(ghostfast.has_openmp, bool)
    assert ghostfast.default_threads() >= 1
    assert isinstance(ghostfast.__version__, str) and ghostfast.__version__


def test_cli_info_reports_openmp_and_threads():
    out = subprocess.run([sys.executable, "-m", "ghostfast", "info"], check=True, capture_output=True, text=True).stdout
    assert f"ghostfast {ghostfast.__version__}" in out
    assert ("OpenMP: yes" in out) == ghostfast.has_openmp
    assert f"default threads: {ghostfast.default_threads()}" in out


def test_omp_num_threads_is_honoured():
    code = "import ghostfast; print(ghostfast.default_threads())"
    import os

    env = {**os.environ, "OMP_NUM_THREADS": "3"}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    assert int(out) == (3 if ghostfast.has_openmp else 1)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)])
def test_check_threads_rejects(bad, exc):
    with pytest.raises(exc, match="n_threads"):
        _validation.check_threads(bad)


def test_check_threads_accepts():
    assert _validation.check_threads(None) == 0
    assert _validation.check_threads(1) == 1


def test_seed_key_is_deterministic_and_validated():
    a, b = _seeding.seed_key(7), _seeding.seed_key(np.random.SeedSequence(7))
    assert (a.key0, a.key1) == (b.key0, b.key1) and a.entropy == 7
    assert _seeding.seed_key(8).key0 != a.key0
    with pytest.raises(ValueError, match="seed"):
        _seeding.seed_key(-1)
    with pytest.raises(TypeError, match="seed"):
        _seeding.seed_key("7")


def test_as_float_array_messages():
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        _validation.as_float_array(np.zeros(4), "x", shape=(3,))
    with pytest.raises(ValueError, match="x must be finite"):
        _validation.as_float_array([1.0, np.nan], "x")
    with pytest.raises(ValueError, match="x must be a 2-D array"):
        _validation.as_float_array([1.0], "x", ndim=2)


def test_core_stub_matches_module():
    """python/ghostfast/_core.pyi must list exactly the compiled module's public names (regenerate it with
    pybind11-stubgen when a binding is added or removed)."""
    import ast
    from pathlib import Path

    from ghostfast import _core

    stub = Path(ghostfast.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    listed = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "__all__"
    )
    stub_names = set(ast.literal_eval(listed))
    module_names = {name for name in dir(_core) if not name.startswith("_")}
    assert stub_names == module_names


@pytest.mark.parametrize("n_threads", [1, 2])
def test_exception_in_openmp_region_reaches_python(n_threads):
    from ghostfast import _core

    assert _core._parallel_error_probe(64, -1, n_threads) == 64  # no failure: the loop completes
    with pytest.raises(ValueError, match="probe failure at iteration 37"):
        _core._parallel_error_probe(64, 37, n_threads)
    assert _core._parallel_error_probe(8, -1, n_threads) == 8  # and the module is still usable afterwards


def test_threads_warning_only_without_openmp(monkeypatch):
    import warnings

    monkeypatch.setattr(_validation, "_warned_no_openmp", False)
    if ghostfast.has_openmp:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert _validation.check_threads(2) == 2  # no warning when threads are real
    else:
        with pytest.warns(RuntimeWarning, match="built without OpenMP"):
            _validation.check_threads(2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _validation.check_threads(2)  # warned once only


def test_missing_optional_dependency_names_the_extra():
    from ghostfast._optional import require

    with pytest.raises(
        ImportError, match=r"X\.to_xarray needs ghostfast_no_such_module: pip install 'ghostfast\[io\]'"
    ):
        require("ghostfast_no_such_module", "io", "X.to_xarray")
    assert require("json", "io", "anything").__name__ == "json"
