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
# The patch-detector tests run in a Python process of their own: with tcmalloc the corruption no
# longer aborts, but one session holding both their trainings and test_ensemble's crashed (a
# segmentation fault in convolution backward), and test_ensemble alone fails the same way, while
# each of these two groups passes in its own process. One summary line at the end sums their
# counts; a group that crashes counts as a failure.
groups=("training/tests --ignore=training/tests/test_patches.py" "training/tests/test_patches.py")
set +e
passed=0 failed=0 skipped=0 status=0 modules=0
started=$(date +%s)
for group in "${groups[@]}"; do
  modules=$((modules + 1))
  # shellcheck disable=SC2086 # a group is a path and its options
  output=$("$PY" -m pytest $group -q -p no:cacheprovider "$@" 2>&1)
  code=$?
  echo "$output"
  summary=$(echo "$output" | grep -E '^=*\s*[0-9]+ (passed|failed|skipped|deselected)' | tail -n 1)
  for kind in passed failed skipped; do
    n=$(echo "$summary" | grep -oE "[0-9]+ $kind" | grep -oE '[0-9]+' || true)
    eval "$kind=\$(( $kind + ${n:-0} ))"
  done
  n=$(echo "$summary" | grep -oE "[0-9]+ errors?" | grep -oE '[0-9]+' || true)
  failed=$((failed + ${n:-0}))
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then
    status=1
    if [ -z "$summary" ] || ! echo "$summary" | grep -qE '[0-9]+ (failed|errors?)'; then
      echo "$group: pytest exited with status $code without reporting a failure (crashed?)" >&2
      failed=$((failed + 1))
    fi
  fi
done
set -e
if [ "$modules" -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then echo "no python tests were collected" >&2; exit 1; fi
echo "===== ${passed} passed, ${failed} failed, ${skipped} skipped in $(( $(date +%s) - started ))s (${modules} processes) ====="
exit "$status"
