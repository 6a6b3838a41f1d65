#!/usr/bin/env bash
# Soak test (issue 15), not part of ci/test.sh: tests/soak/soak.py for SECONDS (default 600)
# on CPython and on MicroPython at once: mixed native producers, cancels, timeouts, closes and
# re-created channels; each prints frames sent/received/lost (must be 0), RSS and fd counts at
# start and end, and "SOAK PASS" or "SOAK FAIL".
# Usage: ci/soak.sh [SECONDS]   (env AWAITQ_SOAK_WAIT_FOR=0: no asyncio.wait_for, see soak.py)
# Needs the builds of `ci/test.sh cpython` (the wheel in the venv) and `ci/test.sh
# micropython` (the unix port of the newest version); it builds neither.
. "$(dirname "$0")/lib.sh"
secs="${1:-600}"
ensure_venv
mp="$(ls -d "$CACHE"/build/awaitq-micropython-*/micropython 2>/dev/null | sort -V | tail -n 1)"
[ -x "$mp" ] || { echo "no MicroPython build: run ci/test.sh micropython first" >&2; exit 2; }
python -c 'import awaitq' || { echo "no awaitq wheel: run ci/test.sh cpython first" >&2; exit 2; }
log "soak: ${secs} s on CPython and on $mp"
python "$ROOT/tests/soak/soak.py" "$secs" >"$CACHE/soak-cpython.log" 2>&1 & cpy=$!
"$mp" "$ROOT/tests/soak/soak.py" "$secs" >"$CACHE/soak-micropython.log" 2>&1 & mpy=$!
rc=0
wait "$cpy" || rc=1
wait "$mpy" || rc=1
for t in cpython micropython; do
  echo "--- $t" && cat "$CACHE/soak-$t.log"
done
exit $rc
