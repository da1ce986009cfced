#!/usr/bin/env bash
# Runs the Python (training) tests with Debian's python3, which has torch, torchvision and onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, torchvision, onnx, pytest, jsonschema, pyflakes' 2>/dev/null; then
  echo "python tests need torch, torchvision, onnx, pytest, jsonschema and pyflakes for $PY (Debian: apt-get install python3-torch python3-torchvision python3-onnx python3-pytest python3-jsonschema python3-pyflakes)" >&2
  exit 1
fi
# Lint first: pyflakes (Debian's python3-pyflakes; ruff is not packaged for Debian 12 and PyPI is
# out of reach here) reports unused imports and names, undefined names and redefinitions.
"$PY" -m pyflakes training scripts/*.py
# Debian's torch 1.13 corrupts glibc's heap in convolution backward during a long session
# ("double free or corruption" in libtorch_cpu, seen in test_ensemble's training runs, whichever
# tests ran before); with tcmalloc, which the training runs use anyway for speed, it does not abort.
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ -z "${LD_PRELOAD:-}" ] && [ -f "$tcmalloc" ]; then export LD_PRELOAD="$tcmalloc"; fi
set +e
"$PY" -m pytest training/tests -q -p no:cacheprovider "$@"
status=$?
set -e
# pytest exits 5 when it collected no tests: that is a failure of the suite, not a pass.
if [ "$status" -eq 5 ]; then echo "no python tests were collected" >&2; exit 1; fi
exit "$status"
