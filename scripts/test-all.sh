#!/usr/bin/env bash
# `npm test`: format check, lint, typecheck, the Jest suites and the Python suite, every step run
# even when one before it failed, closing with one line that sums them all: "N passed, N failed".
# Jest's and pytest's tests count one each; a failed format check, lint or typecheck counts as one
# failure, and so does a test runner that crashed without reporting a failed test.
# Arguments go to Jest (e.g. `npm test -- functions/test/unit`); TEST_PYTHON=0 skips the Python suite.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0 status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() {
  local name=$1
  shift
  echo "--- ${name}: $*"
  if ! "$@"; then
    echo "--- ${name} failed" >&2
    failed=$((failed + 1))
    status=1
  fi
}
step format npx prettier --check "functions/**/*.ts" "pipeline/**/*.ts" "scripts/**/*.ts"
step lint npx eslint .
step typecheck npx tsc -p tsconfig.json --noEmit

# Jest: the counts come from its JSON report, which it writes even when tests fail; a suite that
# could not run at all (a syntax error, a crashed worker) counts as a failure.
run_jest() {
  local label=$1
  shift
  echo "--- ${label}"
  npx jest --json --outputFile="$work/${label}.json" "$@"
  local code=$?
  local counts
  counts=$(node -e '
    const fs = require("fs");
    try {
      const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites);
    } catch { console.log("0 0"); }
  ' "$work/${label}.json")
  local jest_passed jest_failed
  read -r jest_passed jest_failed <<<"$counts"
  if [ "$code" -ne 0 ]; then
    status=1
    [ "$jest_failed" -gt 0 ] || jest_failed=1
  fi
  passed=$((passed + jest_passed)) failed=$((failed + jest_failed))
  echo "${label}: ${jest_passed} passed, ${jest_failed} failed"
}
if [ "$#" -gt 0 ]; then
  run_jest jest "$@"
else
  # The tests that spawn real server processes and signal them (shutdown-process) run afterwards on
  # their own, one at a time: their grace periods are wall-clock, and two busy Jest workers beside
  # them can starve a child past its SIGKILL. Nothing is skipped: the second run is counted too.
  SPAWNED_SERVER_TESTS=apart run_jest jest
  run_jest jest-spawned-servers --runInBand functions/test/integration/shutdown-process.test.ts
fi

if [ "${TEST_PYTHON:-1}" != 0 ]; then
  echo "--- python"
  bash scripts/test-python.sh 2>&1 | tee "$work/python.log"
  code=${PIPESTATUS[0]}
  closing=$(grep -E '^python: [0-9]+ passed, [0-9]+ failed' "$work/python.log" | tail -n 1)
  py_passed=$(echo "$closing" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
  py_failed=$(echo "$closing" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
  if [ "$code" -ne 0 ]; then
    status=1
    [ "$py_failed" -gt 0 ] || py_failed=1
  fi
  passed=$((passed + py_passed)) failed=$((failed + py_failed))
fi

echo "${passed} passed, ${failed} failed"
exit "$status"
