#!/usr/bin/env bash
# Runs the Python (training) tests with Debian's python3, which has torch, torchvision and onnx,
# one test module per Python process, and closes with one line:
#   "python: N passed, N failed, N skipped in Ns (M processes)".
#
# Why one process per module: Debian's torch 1.13 corrupts the heap in convolution backward during
# a long session that trains several models (seen as "double free or corruption" and as a
# segmentation fault in test_ensemble's trainings, whichever tests ran before). A process that
# trains only one module's models has not crashed; and should one crash all the same, only that
# module is lost, the tests it had finished still count, and the crash counts as one failure.
# A crash is never retried: it fails the run.
#
# Counting: each test's outcome is read from pytest's verbose lines as they are printed
# ("path::test PASSED"), so a module that dies part way still reports what ran before the crash.
# Where pytest reaches its own closing line, that line's counts are used instead.
#
# Arguments are passed to every pytest process (e.g. `-k ensemble`); TEST_MODULES="a.py b.py"
# runs only those modules.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, torchvision, onnx, pytest, jsonschema, pyflakes, black' 2>/dev/null; then
  echo "python tests need torch, torchvision, onnx, pytest, jsonschema, pyflakes and black for $PY (Debian: apt-get install python3-torch python3-torchvision python3-onnx python3-pytest python3-jsonschema python3-pyflakes black)" >&2
  echo "python: 0 passed, 1 failed, 0 skipped in 0s (0 processes)"
  exit 1
fi
passed=0 failed=0 skipped=0 status=0 processes=0
started=$(date +%s)

# Lint first: pyflakes (Debian's python3-pyflakes; ruff is not packaged for Debian 12) reports
# unused imports and names, undefined names and redefinitions. A lint finding is one failure.
if ! "$PY" -m pyflakes training scripts/fixtures/*.py; then
  echo "pyflakes found problems (above)" >&2
  failed=$((failed + 1))
  status=1
fi

# Format: Black (Debian's `black`, settings in pyproject.toml), as Prettier is for TypeScript; a
# file it would rewrite is one failure. `npm run format` rewrites.
if ! "$PY" -m black --check --quiet training scripts/fixtures; then
  echo "black would reformat the files above: run npm run format" >&2
  failed=$((failed + 1))
  status=1
fi

# tcmalloc: the training runs use it for speed, and with it the heap corruption above no longer aborts.
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ -z "${LD_PRELOAD:-}" ] && [ -f "$tcmalloc" ]; then export LD_PRELOAD="$tcmalloc"; fi
# Each verbose line reaches the log as it is printed, so a crash loses none of them.
export PYTHONUNBUFFERED=1

if [ -n "${TEST_MODULES:-}" ]; then
  read -r -a modules <<<"$TEST_MODULES"
else
  mapfile -t modules < <(find training/tests -name 'test_*.py' | sort)
fi

# The number before `word` in pytest's closing line ("3 passed, 1 failed in 2.0s"), or 0.
count_in() { echo "$1" | grep -oE "[0-9]+ $2" | head -n 1 | grep -oE '[0-9]+' || echo 0; }

for module in "${modules[@]}"; do
  processes=$((processes + 1))
  log=$(mktemp)
  "$PY" -m pytest "$module" -v -p no:cacheprovider "$@" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  closing=$(grep -E '^=+ .*[0-9]+ (passed|failed|skipped|errors?|deselected|xfailed|xpassed).* in [0-9.]+s' "$log" | tail -n 1)
  if [ -n "$closing" ] || [ "$code" -eq 5 ]; then
    p=$(count_in "$closing" passed)
    f=$(( $(count_in "$closing" failed) + $(count_in "$closing" errors?) ))
    s=$(count_in "$closing" skipped)
  else
    # No closing line: the process died. Count the tests it finished; the crash is one failure.
    p=$(grep -cE '::.* PASSED( |$)' "$log")
    f=$(grep -cE '::.* (FAILED|ERROR)( |$)' "$log")
    s=$(grep -cE '::.* SKIPPED( |$)' "$log")
    echo "$module: python exited with status $code before pytest finished (crashed); ${p} passed before the crash, counted as one failure" >&2
    f=$((f + 1))
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  # 5: no tests collected (e.g. all deselected by -k), not a failure.
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then
    status=1
    [ "$f" -gt 0 ] || failed=$((failed + 1))
  fi
  rm -f "$log"
done

if [ $((passed + failed)) -eq 0 ] && [ -z "${TEST_MODULES:-}" ] && [ "$#" -eq 0 ]; then
  echo "no python tests were collected" >&2
  failed=1 status=1
fi
echo "python: ${passed} passed, ${failed} failed, ${skipped} skipped in $(($(date +%s) - started))s (${processes} processes)"
exit "$status"
