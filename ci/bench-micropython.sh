#!/usr/bin/env bash
# The MicroPython binding's benchmark (bind-micropython/bench/bench.py) on the unix port:
# streaming frames/s vs a ThreadSafeFlag + list pattern, idle poll calls/s (strace), bytes
# allocated per ready receive. Prints figures; asserts nothing (targets: bind-micropython/README.md).
# Run it on an otherwise idle machine: both patterns use two threads on two cores.
. "$(dirname "$0")/lib.sh"

VERSION="${AWAITQ_MP_VERSION:-1.26.1+ds-1}"
timed "apt (clang for bindgen, strace)" ensure_apt clang libclang-dev strace python3
export AWAITQ_CARGO_TARGET_DIR="$CACHE/cargo-micropython"
src="$(bash "$ROOT/ci/fetch-micropython.sh" "$VERSION" | tail -n 1)"
out="$CACHE/build/awaitq-$(basename "$src")"
timed "build unix port $(basename "$src")" bash "$ROOT/ci/build-micropython-unix.sh" "$src" "$out" "$ROOT" \
  AWAITQ_CARGO_TARGET_DIR="$AWAITQ_CARGO_TARGET_DIR" STRIP= >/dev/null
timed bench "$out/micropython" "$ROOT/bind-micropython/bench/bench.py"
