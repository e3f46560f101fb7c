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


# The RNN core's checks also run with its vector kernels capped (GHOSTFAST_MAX_KERNEL: 0 = portable std::fma
# code only, 1 = up to AVX2), so every path's bits are checked on this machine, not only the one it picks.
CASES = [(s, None) for s in SOURCES] + [(s, cap) for s in SOURCES if s.stem == "test_rnn_core" for cap in (0, 1)]


@pytest.mark.skipif(not SOURCES or COMPILER is None, reason="needs the source checkout and a C++17 compiler")
@pytest.mark.parametrize(
    "source,max_kernel", CASES, ids=[s.stem + ("" if cap is None else f"_max_kernel_{cap}") for s, cap in CASES]
)
def test_cpp_core(source, max_kernel, tmp_path):
    exe = tmp_path / source.stem
    # -ffp-contract=off as in CMakeLists.txt: the core's results are defined without compiler-chosen FMA
    flags = ["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-fopenmp", "-DGHOSTFAST_HAS_OPENMP"]
    # A newer compiler's new warning must not fail a user's test run: -Werror only when asked (CI sets it).
    if os.environ.get("GHOSTFAST_WERROR", "") not in ("", "0"):
        flags.append("-Werror")
    if max_kernel is not None:
        flags.append(f"-DGHOSTFAST_MAX_KERNEL={max_kernel}")
    cmd = [COMPILER, *flags, f"-I{ROOT / 'cpp' / 'include'}", str(source), "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    if build.returncode != 0 and "fopenmp" in build.stderr:
        cmd = [c for c in cmd if c not in ("-fopenmp", "-DGHOSTFAST_HAS_OPENMP")]
        build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
