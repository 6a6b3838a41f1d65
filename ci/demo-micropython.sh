#!/usr/bin/env bash
# MicroPython demo: build the unix port (1.26.1) with awaitq and run
# bind-micropython/demo/demo.py (native producer threads -> asyncio consumers + heartbeat).
. "$(dirname "$0")/lib.sh"

VERSION="${AWAITQ_MP_VERSION:-1.26.1+ds-1}"
timed "apt (clang for bindgen)" ensure_apt clang libclang-dev python3
export AWAITQ_CARGO_TARGET_DIR="$CACHE/cargo-micropython"
src="$(bash "$ROOT/ci/fetch-micropython.sh" "$VERSION" | tail -n 1)"
out="$CACHE/build/awaitq-$(basename "$src")"
timed "build unix port $(basename "$src")" bash "$ROOT/ci/build-micropython-unix.sh" "$src" "$out" "$ROOT" \
  AWAITQ_CARGO_TARGET_DIR="$AWAITQ_CARGO_TARGET_DIR" STRIP= >/dev/null
timed demo "$out/micropython" "$ROOT/bind-micropython/demo/demo.py"
