"""The C++ core is testable alone: compile each cpp/tests/*.cpp against cpp/include (no Python headers, no
pybind11) and run it. Skipped only when the checkout's C++ sources or a compiler are not available."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "cpp" / "tests").glob("*.cpp"))
COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")


@pytest.mark.skipif(not SOURCES or COMPILER is None, reason="needs the source checkout and a C++17 compiler")
@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_cpp_core(source, tmp_path):
    exe = tmp_path / source.stem
    flags = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-fopenmp", "-DGHOSTFAST_HAS_OPENMP"]
    cmd = [COMPILER, *flags, f"-I{ROOT / 'cpp' / 'include'}", str(source), "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    if build.returncode != 0 and "fopenmp" in build.stderr:
        cmd = [c for c in cmd if c not in ("-fopenmp", "-DGHOSTFAST_HAS_OPENMP")]
        build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
