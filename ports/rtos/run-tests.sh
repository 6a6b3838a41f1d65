#!/usr/bin/env bash
# Run Python test files in the RTOS harness and compare each one's output with <file>.exp.
# A test whose output starts with "SKIP" is skipped (the MicroPython test convention).
#
# Usage: ports/rtos/run-tests.sh <rtos_harness> <test.py>...
# Environment: TEST_TIMEOUT seconds per test (default 60).
set -uo pipefail
(($# >= 2)) || { echo "usage: $0 <rtos_harness> <test.py>..." >&2; exit 2; }
HARNESS=$1
shift
passed=0 skipped=0 failed=()
for t in "$@"; do
    out=$(timeout "${TEST_TIMEOUT:-60}" "$HARNESS" "$t" 2>&1)
    rc=$?
    if [[ $out == SKIP* ]]; then
        echo "skip  $t"
        skipped=$((skipped + 1))
    elif ((rc == 0)) && [[ -f $t.exp ]] && diff -u "$t.exp" - <<<"$out" >/dev/null; then
        echo "pass  $t"
        passed=$((passed + 1))
    else
        echo "FAIL  $t (exit $rc)"
        if [[ -f $t.exp ]]; then diff -u "$t.exp" - <<<"$out" | sed 's/^/    /'; else echo "    (no $t.exp)"; fi
        failed+=("$t")
    fi
done
echo "rtos harness: $passed passed, $skipped skipped, ${#failed[@]} failed"
((${#failed[@]} == 0))
