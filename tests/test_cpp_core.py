"""The C++ core is testable alone: compile each cpp/tests/*.cpp against cpp/include (no Python headers, no
pybind11) and run it. Skipped only when the checkout's C++ sources or a compiler are not available."""

import os
import re
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
# The kernels the uncapped build picks on this CPU (its last line says "kernels K": 1 = AVX2, 2 = AVX-512).
# Capping at 1 only changes what runs on an AVX-512 CPU; elsewhere that build repeats the uncapped one.
CAP_NEEDS_AVX512 = 1


def _case_id(case):
    source, cap = case
    return source.stem + ("" if cap is None else f"_max_kernel_{cap}")


def _compile_command(source, max_kernel, exe, openmp=True):
    # -ffp-contract=off as in CMakeLists.txt: the core's results are defined without compiler-chosen FMA
    flags = ["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Wextra"]
    if openmp:
        flags += ["-fopenmp", "-DGHOSTFAST_HAS_OPENMP"]
    # A newer compiler's new warning must not fail a user's test run: -Werror only when asked (CI sets it).
    if os.environ.get("GHOSTFAST_WERROR", "") not in ("", "0"):
        flags.append("-Werror")
    if max_kernel is not None:
        flags.append(f"-DGHOSTFAST_MAX_KERNEL={max_kernel}")
    return [COMPILER, *flags, f"-I{ROOT / 'cpp' / 'include'}", str(source), "-o", str(exe)]


class _Builds:
    """Compiles the cases on demand, several at once: each compile is single-threaded and takes minutes at -O2,
    so compiling them side by side on the machine's cores saves most of the suite's time spent here."""

    def __init__(self, folder):
        self.folder = folder
        self.started = {}

    def start(self, cases):
        for case in cases:
            if case not in self.started:
                exe = self.folder / _case_id(case)
                cmd = _compile_command(*case, exe)
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                self.started[case] = (exe, proc)

    def exe(self, case):
        self.start([case])
        exe, proc = self.started[case]
        _, err = proc.communicate()
        if proc.returncode != 0 and "fopenmp" in err:  # a compiler without OpenMP: the serial build
            build = subprocess.run(_compile_command(*case, exe, openmp=False), capture_output=True, text=True)
            proc.returncode, err = build.returncode, build.stderr
        assert proc.returncode == 0, err
        return exe


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    b = _Builds(tmp_path_factory.mktemp("cpp_core"))
    b.start([case for case in CASES if case[1] != CAP_NEEDS_AVX512])  # the always-needed ones, side by side
    yield b
    for _, proc in b.started.values():  # a test stopped early must not leave compilers running
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _run(exe):
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


@pytest.mark.skipif(not SOURCES or COMPILER is None, reason="needs the source checkout and a C++17 compiler")
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_cpp_core(case, builds):
    source, max_kernel = case
    if max_kernel == CAP_NEEDS_AVX512:
        uncapped = _run(builds.exe((source, None)))
        picked = re.search(r"kernels (\d)", uncapped)
        assert picked, uncapped
        if int(picked.group(1)) <= max_kernel:
            pytest.skip(f"this CPU's kernels are {picked.group(1)} <= the cap {max_kernel}: same code as uncapped")
    _run(builds.exe(case))
