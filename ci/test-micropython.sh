#!/usr/bin/env bash
# The MicroPython binding's suite: for each MicroPython version of the matrix, build the unix
# port with the awaitq user C module (ports/micropython.mk) and run the shared scenarios
# (tests/scenarios) and the MicroPython-only tests (tests/micropython) with MicroPython's own
# test runner; then the same tests under valgrind on the newest version; and rustfmt + clippy
# on the Rust side (its own workspace, and clippy needs a firmware build's flags for bindgen,
# so they live here).
#
# Usage: ci/test-micropython.sh            (env AWAITQ_MP_VERSIONS overrides the matrix,
#                                            AWAITQ_MP_VALGRIND=0 skips the valgrind run,
#                                            AWAITQ_MP_ASAN=0 the AddressSanitizer run)
. "$(dirname "$0")/lib.sh"

VERSIONS=(${AWAITQ_MP_VERSIONS:-1.26.1+ds-1 1.25.0+ds-1})
# Under valgrind everything is ~30x slower: the stress test runs this many frames there
# (the full 1,000,000 runs natively on every version).
VALGRIND_STRESS_N=20000
# ... and the native-awaitable tests their long chains and leak loop with these.
VALGRIND_CONT_N=1000
VALGRIND_CONT_LEAK_N=5000

timed "apt (clang for bindgen, valgrind, strace)" ensure_apt clang libclang-dev valgrind strace python3
# Builds run one after the other and share cargo's target dir, so the Rust dependencies
# (bindgen above all) compile once (ports/micropython.mk documents the constraint).
export AWAITQ_CARGO_TARGET_DIR="$CACHE/cargo-micropython"

shopt -s nullglob
TESTS=("$ROOT"/tests/scenarios/*.py "$ROOT"/tests/micropython/*.py)
shopt -u nullglob

# run_tests SRC MICROPYTHON RESULTS [extra run-tests.py args...]
run_tests() {
  local src="$1" mp="$2" results="$3"; shift 3
  rm -rf "$results"
  # From outside the MicroPython tree, with absolute paths: run-tests.py compares each test's
  # output with the <test>.py.exp next to it.
  # The per-test timeout (run-tests.py's default is 30 s) only guards against hangs; the
  # 1,000,000-frame stress takes ~8 s on an idle machine, more on a busy one.
  if ! (cd "$CACHE" && MICROPY_TEST_TIMEOUT="${MICROPY_TEST_TIMEOUT:-120}" \
          MICROPY_MICROPYTHON="$mp" python3 "$src/tests/run-tests.py" \
          -r "$results" "$@" "${TESTS[@]}"); then
    (cd "$CACHE" && python3 "$src/tests/run-tests.py" -r "$results" --print-failures) || true
    return 1
  fi
}

# Like lib.sh's `timed`, but passes the command's exit status on (callers branch on it).
timed_rc() {
  local name="$1" t0=$SECONDS rc=0; shift
  "$@" || rc=$?
  printf '[time] %s: %ss\n' "$name" "$((SECONDS - t0))" >&2
  return $rc
}

# idle_check MICROPYTHON STRACE_OUT: a waiting receive, and a Rust future waiting on its Waker,
# sleep in poll(), they do not spin. Counts the poll-family calls of
# tests/micropython/idle/idle_consumer.py and idle_future.py (each woken once, then idle for
# 1 s): about a dozen when correct, thousands when the wait busy-polls.
IDLE_MAX_POLLS=50
idle_one() {
  local mp="$1" trace="$2" script="$3" expected="$4" out polls
  out="$(strace -f -c -o "$trace" "$mp" "$ROOT/tests/micropython/idle/$script")" || return 1
  [ "$out" = "$expected" ] || { echo "idle check output ($script): $out" >&2; return 1; }
  polls="$(awk '$NF ~ /^(poll|ppoll|epoll_wait|epoll_pwait|select|pselect6)$/ { n += $4 } END { print n + 0 }' "$trace")"
  echo "[idle] $script: poll calls while woken once and idle 1 s: $polls (max $IDLE_MAX_POLLS)" >&2
  [ "$polls" -le "$IDLE_MAX_POLLS" ]
}
idle_check() {
  idle_one "$1" "$2" idle_consumer.py $'woken: b\'wake\'\nidle 1 s: done' &&
    idle_one "$1" "$2.future" idle_future.py $'woken: wake\nidle 1 s: done'
}

status=0
tested=()
first_build=
for v in "${VERSIONS[@]}"; do
  log "MicroPython $v"
  src="$(timed "fetch $v" bash "$ROOT/ci/fetch-micropython.sh" "$v" | tail -n 1)"
  got="$(basename "$src")"
  if [ "$got" != "micropython-$v" ]; then
    echo "[matrix] WARNING: $v is no longer in the archive; fetched $got instead" >&2
  fi
  if [[ " ${tested[*]-} " == *" $got "* ]]; then
    echo "[matrix] WARNING: $got already tested; the matrix is short of $v" >&2
    continue
  fi
  tested+=("$got")
  out="$CACHE/build/awaitq-$got"
  # STRIP= keeps symbols, so valgrind reports name the functions.
  timed_rc "build unix port $got" bash "$ROOT/ci/build-micropython-unix.sh" "$src" "$out" "$ROOT" \
    AWAITQ_CARGO_TARGET_DIR="$AWAITQ_CARGO_TARGET_DIR" STRIP= >/dev/null
  [ -n "$first_build" ] || first_build="$src|$out"
  if timed_rc "tests $got" run_tests "$src" "$out/micropython" "$out/test-results" &&
     idle_check "$out/micropython" "$out/idle.strace"; then
    echo "[matrix] $got: PASS" >&2
  else
    echo "[matrix] $got: FAIL" >&2
    status=1
  fi
done
[ ${#tested[@]} -gt 0 ] || { echo "no MicroPython version could be fetched" >&2; exit 1; }

src="${first_build%%|*}"; out="${first_build#*|}"

log "rustfmt + clippy (awaitq-micropython, with $(basename "$src")'s flags)"
cargo fmt --manifest-path "$ROOT/bind-micropython/Cargo.toml" --check || status=1
# With the native awaitables (the unix build's default) and without (the MCU builds').
for features in "--features cont" ""; do
  timed_rc "clippy ${features:-(no features)}" env AWAITQ_MP_CFLAGS_FILE="$out/build/awaitq/cflags.txt" \
    cargo clippy --release --quiet --manifest-path "$ROOT/bind-micropython/Cargo.toml" \
    --target-dir "$AWAITQ_CARGO_TARGET_DIR" $features -- -D warnings || status=1
done

# AddressSanitizer: the newest version rebuilt with -fsanitize=address (the C shim, MicroPython;
# the Rust staticlib is not instrumented, valgrind covers it), every test at full size (ASan is
# ~2x slower, not ~30x). MicroPython's collector scans the stack on purpose and marks its scan
# no_sanitize_address; leak checking is off (the GC heap is one block the VM never frees).
if [ "${AWAITQ_MP_ASAN:-1}" != 0 ]; then
  log "AddressSanitizer ($(basename "$src"))"
  asan_out="$CACHE/build/awaitq-asan-$(basename "$src")"
  if timed_rc "build unix port with ASan" bash "$ROOT/ci/build-micropython-unix.sh" "$src" "$asan_out" "$ROOT" \
       AWAITQ_CARGO_TARGET_DIR="$AWAITQ_CARGO_TARGET_DIR" STRIP= \
       CFLAGS_EXTRA="-fsanitize=address -fno-omit-frame-pointer" LDFLAGS_EXTRA="-fsanitize=address" >/dev/null &&
     ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
       timed_rc "tests under ASan" run_tests "$src" "$asan_out/micropython" "$asan_out/test-results"; then
    echo "[asan] no invalid access" >&2
  else
    echo "[asan] FAIL" >&2
    status=1
  fi
fi

if [ "${AWAITQ_MP_VALGRIND:-1}" != 0 ]; then
  log "valgrind ($(basename "$src"))"
  wrapper="$out/micropython-valgrind"
  cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --suppressions="$ROOT/tests/micropython/valgrind.supp" "$out/micropython" "\$@"
EOF
  chmod +x "$wrapper"
  # thread_producer.py is left out: with Python threads (_thread) MicroPython's collector scans
  # the other threads' stacks from a signal handler, which memcheck reports as invalid reads of
  # another thread's stack in MicroPython's own gc code. The native-producer tests (pthreads
  # the VM does not know) run under valgrind.
  if AWAITQ_STRESS_N=$VALGRIND_STRESS_N AWAITQ_CONT_N=$VALGRIND_CONT_N \
      AWAITQ_CONT_LEAK_N=$VALGRIND_CONT_LEAK_N MICROPY_TEST_TIMEOUT=600 \
      timed_rc "tests under valgrind" run_tests "$src" "$wrapper" "$out/valgrind-results" \
      -e 'tests/micropython/thread_producer\.py$'; then
    echo "[valgrind] no invalid access" >&2
  else
    echo "[valgrind] FAIL (an error exits 99; see the output above)" >&2
    status=1
  fi
fi
exit $status
