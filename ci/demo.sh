#!/usr/bin/env bash
# The main job: native producers feeding asyncio consumers — in Rust, on CPython, on MicroPython.
# Each part installs and builds what it needs itself.
. "$(dirname "$0")/lib.sh"

log "Rust: producer threads -> one parked consumer (awaitq-core)"
cargo run -q -p awaitq-core --release --example demo
log "CPython: native producers -> asyncio consumers"
bash "$ROOT/ci/demo-cpython.sh"
log "MicroPython (unix port): native producers -> asyncio consumers"
bash "$ROOT/ci/demo-micropython.sh"
