#!/usr/bin/env bash
# Runs the Python (training) tests with Debian's python3, which has torch, torchvision and onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, torchvision, onnx, pytest' 2>/dev/null; then
  echo "python tests need torch, torchvision, onnx and pytest for $PY (Debian: apt-get install python3-torch python3-torchvision python3-onnx python3-pytest)" >&2
  exit 1
fi
set +e
"$PY" -m pytest training/tests -q -p no:cacheprovider "$@"
status=$?
set -e
# pytest exits 5 when it collected no tests: that is a failure of the suite, not a pass.
if [ "$status" -eq 5 ]; then echo "no python tests were collected" >&2; exit 1; fi
exit "$status"
