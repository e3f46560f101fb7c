#!/usr/bin/env bash
# Build a wheel of this checkout, repair it with auditwheel (bundling libgomp), install it into a fresh venv,
# and smoke-test it there with NO compiler on PATH. Checks that:
#   - the repaired wheel imports and trains (canonical model, one RNN, a 2-thread sweep equal to 1 thread);
#   - its OpenMP runtime is the copy bundled inside the wheel (ghostfast.libs/), not the system's libgomp;
#   - `ghostfast info` and `ghostfast --version` work from the installed console script.
# Linux only (auditwheel). macOS (delocate) and Windows (delvewheel) are covered by .github/workflows/wheels.yml.
#
# Usage: tools/check_wheel.sh [WORKDIR]     (default: a new temporary directory; PYTHON=... picks the builder)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d -t ghostfast-wheel-XXXXXX)}"
PYTHON="${PYTHON:-python}"
mkdir -p "$WORK"
echo "== work dir: $WORK"

echo "== 1. build the wheel (pip wheel, isolated build)"
rm -rf "$WORK/dist" "$WORK/wheelhouse"
start=$(date +%s)
"$PYTHON" -m pip wheel "$ROOT" --no-deps -w "$WORK/dist" -Cbuild-dir="$WORK/build" \
  -Ccmake.define.GHOSTFAST_OPENMP=ON -q
echo "   built in $(( $(date +%s) - start )) s: $(ls "$WORK/dist")"

echo "== 2. auditwheel repair"
"$PYTHON" -m auditwheel show "$WORK"/dist/ghostfast-*.whl | sed 's/^/   /'
"$PYTHON" -m auditwheel repair -w "$WORK/wheelhouse" "$WORK"/dist/ghostfast-*.whl 2>&1 | tail -n 2 | sed 's/^/   /'
WHEEL="$(ls "$WORK"/wheelhouse/ghostfast-*.whl)"
echo "   repaired: $(basename "$WHEEL")"
"$PYTHON" -m zipfile -l "$WHEEL" > "$WORK/wheel-files.txt"
grep -E "ghostfast\.libs/|_core|licenses/" "$WORK/wheel-files.txt" | sed 's/^/   /'
grep -q "ghostfast.libs/libgomp" "$WORK/wheel-files.txt" || { echo "FAIL: libgomp not bundled"; exit 1; }
grep -q "dist-info/licenses/LICENSE" "$WORK/wheel-files.txt" || { echo "FAIL: LICENSE missing"; exit 1; }

echo "== 3. fresh venv, install the repaired wheel (dependencies from the index)"
rm -rf "$WORK/venv"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q "$WHEEL"
grep -E "^(License-Expression|License-File|Requires-Dist: tomli)" \
  "$WORK"/venv/lib/python*/site-packages/ghostfast-*.dist-info/METADATA | sed 's/^/   /'

echo "== 4. smoke test with no compiler on PATH"
# PATH holds only the venv's bin directory: no gcc, g++, cc, clang, make or cmake can be found.
export PATH="$WORK/venv/bin"
unset CC CXX CFLAGS CXXFLAGS LDFLAGS PYTHONPATH || true
for tool in gcc g++ cc c++ clang clang++ cmake; do
  if command -v "$tool" >/dev/null 2>&1; then echo "FAIL: $tool is on PATH"; exit 1; fi
done
echo "   no compiler on PATH: $PATH"
cd "$WORK"  # not the checkout: python/ghostfast must not shadow the installed package
python - <<'EOF'
import os
import numpy as np
import ghostfast
from ghostfast import canonical, rnn, sweep, tasks

here = os.path.dirname(ghostfast.__file__)
assert "site-packages" in here, here
assert ghostfast.has_openmp, "the wheel was built without OpenMP"
# the OpenMP runtime loaded into this process must be the wheel's bundled copy
gomp = sorted({line.split()[-1] for line in open("/proc/self/maps") if "gomp" in line and "/" in line})
assert gomp and all("ghostfast.libs" in p for p in gomp), gomp
assert canonical.critical_lr(100, normalized=False) == 3 * np.pi**4 / (32 * 100**5)
model = rnn.Model(N=100, rank=1, alpha=0.5, readout="latent", confidence=10.0, threshold=1.0, read="after",
                  x0=-0.3)
res = rnn.train(model, tasks.delayed_activation(T=20), lr=0.003, epochs=200, seed=40)
assert res.loss.shape == (200,) and 0.99 < res.loss[0] < 1.0
kw = dict(epochs=300, lr=[1e-2, 2e-2], seed=range(3), record_every=50)
a = sweep.sweep(model, tasks.delayed_activation(T=20), n_threads=1, **kw)
b = sweep.sweep(model, tasks.delayed_activation(T=20), n_threads=2, **kw)
np.testing.assert_array_equal(a.loss, b.loss)  # bit-identical on any thread count
print(f"   ghostfast {ghostfast.__version__} from {here}")
print(f"   OpenMP runtime: {gomp[0]}")
print(f"   kernel path: {ghostfast.vector_kernel()}; threads: {ghostfast.default_threads()}; sweep 1 == 2 threads")
EOF
ghostfast --version
ghostfast info
echo "== OK: ${WHEEL##*/} repaired, installed without a compiler, smoke test passed, OpenMP bundled"
