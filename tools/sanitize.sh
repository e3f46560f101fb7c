#!/usr/bin/env bash
# Sanitizer run anyone can repeat: builds the extension and the C++ tests with AddressSanitizer +
# UndefinedBehaviorSanitizer and -D_GLIBCXX_ASSERTIONS (bounds-checked std containers), runs the C++ tests and
# the Python suite under them, and checks that the clean-warning sources stay clean under -Wshadow -Wconversion.
#
#   tools/sanitize.sh                 # everything (about 5-10 min on 2 cores)
#   tools/sanitize.sh tests/test_fuzz.py -k rnn   # extra arguments go to pytest instead of the whole suite
#
# The instrumented module is built in build/sanitize and imported from there (a copy of python/ghostfast), so
# it never replaces the development build. Exit status: non-zero on any sanitizer report or test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python}
BUILD=$ROOT/build/sanitize
PKG=$BUILD/pkg
JOBS=${JOBS:-2}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -D_GLIBCXX_ASSERTIONS"

echo "== warnings: -Wshadow -Wconversion -Werror on every binding and the core headers they include"
PYINC=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
PBINC=$("$PY" -c "import pybind11; print(pybind11.get_include())")
for src in cpp/bindings/*.cpp; do
  ${CXX:-c++} -std=c++17 -fsyntax-only -fopenmp -DGHOSTFAST_HAS_OPENMP -Icpp/include -isystem "$PYINC" \
    -isystem "$PBINC" -Wall -Wextra -Wshadow -Wconversion -Werror "$src"
done
echo "   clean"

echo "== build (ASan + UBSan + _GLIBCXX_ASSERTIONS) in $BUILD"
mkdir -p "$PKG"
rm -rf "$PKG/ghostfast"
cp -r python/ghostfast "$PKG/ghostfast"
rm -f "$PKG"/ghostfast/_core*.so
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE="$(command -v "$PY")" \
  -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_MODULE_LINKER_FLAGS="-fsanitize=address,undefined" -DGHOSTFAST_IPO_ENABLE=OFF \
  -DGHOSTFAST_CPP_TESTS=ON -DGHOSTFAST_MODULE_DIR="$PKG/ghostfast" > "$BUILD.cmake.log"
cmake --build "$BUILD" -j"$JOBS" > "$BUILD.build.log"

# allocator_may_return_null: an impossible allocation (a careless size in the fuzz tests) must fail as it does
# without ASan (numpy raises MemoryError) instead of aborting the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== C++ tests"
(cd "$BUILD" && ctest --output-on-failure)

echo "== Python suite (the interpreter preloads the ASan runtime; leaks are not checked: CPython keeps its own)"
LIBASAN=$(${CXX:-c++} -print-file-name=libasan.so)
LIBUBSAN=$(${CXX:-c++} -print-file-name=libubsan.so)
ARGS=("$@")
[[ ${#ARGS[@]} -eq 0 ]] && ARGS=(tests)
LD_PRELOAD="$LIBASAN:$LIBUBSAN" PYTHONPATH="$PKG" GHOSTFAST_SANITIZED=1 "$PY" -m pytest -q -x -p no:cacheprovider "${ARGS[@]}"
echo "== sanitizer run clean"
