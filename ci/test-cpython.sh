#!/usr/bin/env bash
# The CPython binding (bind-cpython): build the abi3 wheel in release mode, install it into the
# private venv the way a user would (`pip install ./bind-cpython`), then run its pytest suites
# (asyncio, uvloop, trio, anyio on both backends), the shared scenarios, the whole suite once
# more with the descriptor-free waker thread forced (AWAITQ_WAKE=thread: the path Windows'
# Proactor loop takes), stubtest, mypy, and Rust lints and unit tests.
# Installs what it needs itself; idempotent.
. "$(dirname "$0")/lib.sh"

ensure_apt gcc libc6-dev        # the C-extension producer test compiles a small module
ensure_pip "maturin>=1.9.4,<2" pytest pytest-timeout mypy uvloop "trio>=0.22" "anyio>=4.7" sniffio

cd "$ROOT"
# Release build of the wheel through pip (maturin is the PEP 517 backend; the same command
# works on a fresh machine). CARGO_TARGET_DIR keeps the build incremental across runs.
timed "pip install ./bind-cpython (release wheel)" \
  python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bind-cpython
python -c 'import awaitq, sys; print("awaitq from", awaitq.__file__, "on", sys.version.split()[0])'

# pytest must print its summary line: a crash of the interpreter (no summary) fails the step
# even if the exit status were lost. A test that hangs (a lost wake-up) fails after 300 s
# instead of eating the CI budget; the slowest test takes ~3 s.
run_pytest() {
  local log="$CACHE/pytest-cpython${AWAITQ_WAKE:+-$AWAITQ_WAKE}.log"
  set +e
  python -m pytest -q -p no:cacheprovider --timeout 300 -W error::pytest.PytestUnraisableExceptionWarning \
    bind-cpython/tests tests/test_scenarios.py "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  grep -Eq '^[0-9]+ (passed|failed)|[0-9]+ passed' "$log" || {
    echo "pytest printed no summary line (did the interpreter crash?)" >&2
    return 1
  }
  return "$status"
}
timed "pytest (bind-cpython/tests + tests/test_scenarios.py)" run_pytest
# The same suite on the wake path with no descriptor (a native thread calling
# call_soon_threadsafe), so the fallback Windows needs is tested here on Linux.
AWAITQ_WAKE=thread timed "pytest again, AWAITQ_WAKE=thread (waker-thread fallback forced)" run_pytest

timed "stubtest" python -m mypy.stubtest awaitq
timed "mypy --strict (stub usage)" \
  python -m mypy --strict --no-incremental bind-cpython/tests/typing/usage.py

timed "cargo fmt --check" cargo fmt -p awaitq-cpython --check
timed "clippy (std section)" \
  cargo clippy -q -p awaitq-cpython --all-targets -- -D warnings
timed "clippy (spin section, as in the wheel)" \
  cargo clippy -q -p awaitq-cpython --all-targets --no-default-features --features spin-section -- -D warnings
timed "cargo test (Rust unit tests)" cargo test -q -p awaitq-cpython
