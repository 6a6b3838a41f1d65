#!/usr/bin/env bash
# Firmware suite (issue 6): awaitq inside MicroPython firmware.
#   1. qemu: the MPS2-AN385 (Cortex-M3) firmware with awaitq (ports/qemu/build.sh), run in
#      qemu-system-arm: MicroPython's own asyncio tests (the board's clock and idle wait), the
#      shared scenarios (tests/scenarios) and the ISR-producer tests (ports/qemu/tests);
#   2. size: the same firmware built for size, its tests, and awaitq's flash/RAM cost from the
#      map file (fails above 16 KiB of text), against the board without awaitq;
#   3. rtos: MicroPython (ports/embed) as one task of a cooperative RTOS next to a C producer
#      task (ports/rtos): its tests and the shared scenarios;
#   4. cmake: ports/micropython.cmake consumed the way rp2/esp32 do (ports/cmake-check).
# Every step runs even if an earlier one failed; the exit status says whether all passed.
# Environment: MICROPYTHON_VERSION (Debian source version, default: fetch-micropython's).
. "$(dirname "$0")/lib.sh"

# qemu and its test driver (tools/pyboard.py needs pyserial, from the system python3).
ensure_apt qemu-system-arm python3-serial gcc-arm-none-eabi libnewlib-arm-none-eabi \
    binutils-arm-none-eabi cmake gcc make libc6-dev dpkg-dev
SRC=$("$ROOT/ci/fetch-micropython.sh" ${MICROPYTHON_VERSION:+"$MICROPYTHON_VERSION"} | tail -1)
OUT=$CACHE/firmware
mkdir -p "$OUT"
export MICROPY_TEST_TIMEOUT=60   # per test, inside run-tests.py

# The shared scenarios, less those whose producer is awaitq.testing's pthread: awaitq.testing
# exists only on the unix port with threads (bind-micropython/README.md), and neither the qemu
# board nor the RTOS harness has threads. What those scenarios check with a pthread producer is
# checked here with the firmware's own producers: an ISR (ports/qemu/tests/isr_*.py) and an
# RTOS task (ports/rtos/tests/rtos_*.py).
SCENARIOS=() NOT_RUN=()
for f in "$ROOT"/tests/scenarios/*.py; do
  if grep -qE '^[^#]*awaitq\.testing' "$f"; then NOT_RUN+=("$(basename "$f")"); else SCENARIOS+=("$f"); fi
done
((${#SCENARIOS[@]})) || { echo "firmware: no scenarios found" >&2; exit 1; }
echo "firmware: ${#SCENARIOS[@]} shared scenarios; not run (need awaitq.testing's pthreads): ${NOT_RUN[*]:-none}" >&2

failed=()
step() {
  local name=$1; shift
  log "firmware: $name"
  local t0=$SECONDS
  if "$@"; then
    printf '[time] %s: %ss\n' "$name" "$((SECONDS - t0))" >&2
  else
    printf '[time] %s: %ss (FAILED)\n' "$name" "$((SECONDS - t0))" >&2
    failed+=("$name")
  fi
}

# run_in_qemu ELF RESULTS-DIR TEST...: MicroPython's test runner, one qemu instance, each test
# soft-resets the board. Each test is bounded (MICROPY_TEST_TIMEOUT), and so is the whole run
# (a board that stops answering fails the step instead of stalling CI). Prints the failures'
# diffs.
run_in_qemu() {
  local elf=$1 results=$2; shift 2
  rm -rf "$results"
  (cd "$SRC/tests" && timeout 900 /usr/bin/python3 ./run-tests.py -r "$results" \
    -t execpty:"qemu-system-arm -machine mps2-an385 -nographic -monitor null -semihosting -serial pty -kernel $elf" \
    "$@") && return 0
  (cd "$SRC/tests" && /usr/bin/python3 ./run-tests.py -r "$results" --print-failures) || true
  return 1
}

qemu_tests() {
  local elf=$1 results=$2 rc=0
  run_in_qemu "$elf" "$results/asyncio" -d extmod -i asyncio || rc=1
  run_in_qemu "$elf" "$results/awaitq" "${SCENARIOS[@]}" "$ROOT"/ports/qemu/tests/*.py || rc=1
  return $rc
}

size_report() {
  python3 "$ROOT/ports/qemu/size_report.py" "$OUT/qemu-awaitq/build/firmware.map" \
    --baseline "$OUT/qemu-plain/firmware.elf" "$OUT/qemu-awaitq/firmware.elf" || true  # stable: informational
  python3 "$ROOT/ports/qemu/size_report.py" "$OUT/qemu-size/build/firmware.map" --limit-text 16384 \
    --baseline "$OUT/qemu-plain/firmware.elf" "$OUT/qemu-size/firmware.elf"
}

step "qemu build (awaitq, stable Rust)" "$ROOT/ports/qemu/build.sh" "$SRC" "$OUT/qemu-awaitq" awaitq
step "qemu tests" qemu_tests "$OUT/qemu-awaitq/firmware.elf" "$OUT/results/qemu"
step "qemu build (awaitq, size-optimised)" "$ROOT/ports/qemu/build.sh" "$SRC" "$OUT/qemu-size" awaitq-size
step "qemu build (board without awaitq)" "$ROOT/ports/qemu/build.sh" "$SRC" "$OUT/qemu-plain" plain
step "qemu tests (size-optimised)" run_in_qemu "$OUT/qemu-size/firmware.elf" "$OUT/results/qemu-size" \
  "${SCENARIOS[@]}" "$ROOT"/ports/qemu/tests/*.py
step "awaitq flash/RAM cost" size_report
# The native awaitables (AWAITQ_CONT=1, off by default on MCU builds for their flash cost) and
# their C-API test extension, built for the board and run in qemu: the awaitq_aw.h C API and
# `async with` (tests/micropython/cont_with.py, which needs no awaitq.testing) next to the
# shared scenarios, on real Cortex-M code. AWAITQ_FIRMWARE_CONT=0 skips it (~3 min).
if [ "${AWAITQ_FIRMWARE_CONT:-1}" != 0 ]; then
  step "qemu build (native awaitables, AWAITQ_CONT=1)" "$ROOT/ports/qemu/build.sh" "$SRC" "$OUT/qemu-cont" awaitq-cont
  step "qemu tests (native awaitables)" run_in_qemu "$OUT/qemu-cont/firmware.elf" "$OUT/results/qemu-cont" \
    "$ROOT/tests/micropython/cont_with.py" "${SCENARIOS[@]}"
fi
step "rtos harness build" "$ROOT/ports/rtos/build.sh" "$SRC" "$OUT/rtos"
step "rtos harness tests" "$ROOT/ports/rtos/run-tests.sh" "$OUT/rtos/rtos_harness" \
  "$ROOT"/ports/rtos/tests/*.py "${SCENARIOS[@]}"
step "cmake check" "$ROOT/ports/cmake-check/check.sh" "$SRC" "$OUT/cmake"

if ((${#failed[@]})); then
  printf 'firmware: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "firmware: all steps passed"
