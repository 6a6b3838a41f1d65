#!/usr/bin/env bash
# The core suite: awaitq-core and awaitq-capi. Formatting, clippy, unit + property tests, the
# generated C header, no_std builds for Cortex-M (thumbv6m has no CAS: critical-section only),
# loom model checks, Miri, and a short run of the benchmark and the demo.
# Installs what it needs (rustup components and targets, nightly Miri, cbindgen, a C compiler).
# Every step runs even if an earlier one failed, so one run shows everything; the exit code is
# non-zero if any failed. Budget: ~12 min on 2 cores from cold.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

PKGS=(-p awaitq-core -p awaitq-capi)
failed=()
rc=0
capture() { rc=0; "$@" || rc=$?; } # `timed` reports its own status, not the command's
step() { # NAME CMD...: run a step, time it, remember a failure and keep going
  local name="$1"; shift
  log "$name"
  timed "$name" capture "$@"
  [ "$rc" -eq 0 ] || { echo "step $name FAILED (exit $rc)" >&2; failed+=("$name"); }
}

setup() {
  local have
  have="$(rustup component list --installed)"
  for c in clippy rustfmt; do
    grep -q "^$c" <<<"$have" || rustup component add "$c"
  done
  ensure_rust_target thumbv7m-none-eabi thumbv6m-none-eabi
  ensure_nightly miri rust-src   # the pinned nightly (ci/nightly)
  command -v cc >/dev/null && command -v c++ >/dev/null || ensure_apt gcc g++
}

header() {
  bash "$ROOT/ci/cbindgen.sh" --check &&
    cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -I ports/include \
      core/capi/tests/header_check.c &&
    c++ -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I ports/include \
      core/capi/tests/header_check.c &&
    echo "header_check.c compiles as C99 and C++11"
}

no_std() {
  local t
  for t in thumbv7m-none-eabi thumbv6m-none-eabi; do
    # awaitq-capi without `alloc`: what firmware links.
    cargo build -q "${PKGS[@]}" --target "$t" || return 1
    echo "built awaitq-core + awaitq-capi for $t"
  done
}

step setup setup
step fmt cargo fmt "${PKGS[@]}" --check
step clippy cargo clippy -q "${PKGS[@]}" --all-targets -- -D warnings
step clippy-alloc cargo clippy -q "${PKGS[@]}" --all-targets --features awaitq-capi/alloc -- -D warnings
step test cargo test -q "${PKGS[@]}" --features awaitq-capi/alloc
step test-capi-no-alloc cargo test -q -p awaitq-capi
step header header
step no_std no_std
# Its own target dir: --cfg loom changes every crate's build, and would evict the normal ones.
step loom env RUSTFLAGS="--cfg loom -D warnings" LOOM_MAX_PREEMPTIONS=2 \
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/loom" cargo test -q -p awaitq-core --test loom --release
# Miri: the unit tests of both crates and every core/tests/*.rs (found by name, so a new test
# file is covered without editing this script) except MIRI_SKIP. Miri hides the host
# environment and file system: forward proptest's knobs so every property test runs a few
# cases and writes no regression files (tests may also shrink themselves under cfg(miri)).
# cont_stack: 100 000 chained awaits on a small stack, many minutes under Miri; remove it from
# here once it shrinks N under cfg(miri).
# stress: 60 000 frames through real threads; ThreadSanitizer runs it (step tsan) instead.
MIRI_SKIP=(cont_stack stress)
miri() {
  local targets=(--lib) f name
  for f in core/tests/*.rs; do
    name="$(basename "$f" .rs)"
    [[ " ${MIRI_SKIP[*]} " == *" $name "* ]] && { echo "miri: skipping $name"; continue; }
    targets+=(--test "$name")
  done
  PROPTEST_CASES=8 PROPTEST_DISABLE_FAILURE_PERSISTENCE=1 \
    MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-env-forward=PROPTEST_CASES -Zmiri-env-forward=PROPTEST_DISABLE_FAILURE_PERSISTENCE" \
    cargo +"$NIGHTLY" miri test -q "${PKGS[@]}" --features awaitq-capi/alloc "${targets[@]}"
}
step miri miri

# Fuzzing, bounded in time: many more random cases than the test step's default 256 of the
# producer C ABI against the header's rules (core/capi/tests/fuzz_abi.rs: arbitrary lengths,
# null channel/payload/out pointers) and of the receive state machine's inputs against the
# documented model (core/tests/model.rs). `timeout` bounds each run whatever the machine.
fuzz() {
  PROPTEST_CASES=${AWAITQ_FUZZ_CASES:-200000} PROPTEST_DISABLE_FAILURE_PERSISTENCE=1 \
    timeout 600 cargo test -q --release -p awaitq-capi --features alloc --test fuzz_abi &&
    PROPTEST_CASES=${AWAITQ_FUZZ_CASES:-200000} PROPTEST_DISABLE_FAILURE_PERSISTENCE=1 \
    timeout 600 cargo test -q --release -p awaitq-core --test model
}
step fuzz fuzz

# ThreadSanitizer on the pinned nightly, std rebuilt instrumented (-Zbuild-std): the tests
# that run real threads against a channel (core/tests/stress.rs: producers, a parked consumer,
# both overflow policies; cont_future.rs: wakers fired from threads). Its own target dir (every
# crate is rebuilt instrumented); the stress test shrinks (TSan is ~10x slower).
tsan() {
  local host
  host="$(rustc -vV | sed -n 's/^host: //p')"
  RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    AWAITQ_STRESS_FRAMES=20000 CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/tsan" \
    cargo +"$NIGHTLY" test -q -Zbuild-std --target "$host" -p awaitq-core \
    --test stress --test cont_future
}
step tsan tsan

# Not tests: figures for the log (the benchmark never fails on speed); the demo does fail if
# a frame is lost, duplicated or reordered.
step bench env AWAITQ_BENCH_QUICK=1 cargo bench -q -p awaitq-core --bench push_pop
step demo cargo run -q -p awaitq-core --release --example demo -- --secs 1

if [ ${#failed[@]} -gt 0 ]; then
  echo "core suite: FAILED steps: ${failed[*]}" >&2
  exit 1
fi
echo "core suite: all steps passed"
