#!/usr/bin/env bash
# Every test of awaitq, on a fresh machine: each suite installs what it needs itself.
# Usage: ci/test.sh [suite...]   (default: all suites, in dependency order)
# Suites keep going after a failure so one run shows everything; the exit code is non-zero
# if any suite failed.
. "$(dirname "$0")/lib.sh"

ALL_SUITES=(core cpython windows micropython firmware)
suites=("${@:-${ALL_SUITES[@]}}")

passed=0; failed=0; failed_names=()
for s in "${suites[@]}"; do
  script="$ROOT/ci/test-$s.sh"
  [ -f "$script" ] || { echo "unknown suite: $s (no $script)" >&2; exit 2; }
  log "suite $s"
  t0=$SECONDS
  if bash "$script"; then
    passed=$((passed + 1)); status=ok
  else
    failed=$((failed + 1)); failed_names+=("$s"); status=FAILED
  fi
  printf '[suite] %-12s %-6s %ss\n' "$s" "$status" "$((SECONDS - t0))" >&2
done

[ "$failed" -eq 0 ] || echo "failed suites: ${failed_names[*]}" >&2
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
