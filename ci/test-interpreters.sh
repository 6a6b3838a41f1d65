#!/usr/bin/env bash
# The CPython binding on every CPython users run (issue 13): one abi3 wheel built on the host,
# installed into 3.11 (the system's) and into Debian sid's binary 3.13, 3.14 and 3.15 (run in
# a sid root, ci/sid-root.sh: they need sid's libc), each running the full pytest suite
# (bind-cpython/tests + tests/test_scenarios.py, both event loops). Then the free-threaded
# build checks: the crate builds and passes clippy for a free-threaded 3.14 target (a PyO3
# interpreter config file with Py_GIL_DISABLED), and, when AWAITQ_FT_PYTHON names a
# free-threaded interpreter, the whole suite runs on it with PYTHON_GIL=0. Last, a wheel for an
# older glibc (maturin --zig), its tag checked with auditwheel.
#
# Env: AWAITQ_SID_ROOT (default ~/.cache/awaitq/sid-root, outside the clone: see sid-root.sh)
#      AWAITQ_FT_PYTHON  a free-threaded CPython (3.14t+) on this host; unset: that step is skipped
#      AWAITQ_SID_PYTHONS the sid versions to test (default "3.13 3.14 3.15")
# Benchmarks on the same interpreters: ci/bench-interpreters.sh.
. "$(dirname "$0")/lib.sh"

ensure_apt gcc libc6-dev debootstrap
ensure_pip "maturin>=1.9.4,<2" pytest pytest-timeout uvloop "trio>=0.22" "anyio>=4.7" sniffio auditwheel "ziglang<0.16"

cd "$ROOT"

. "$ROOT/ci/interpreters-lib.sh"

# pytest must print its summary line: an interpreter crash (no summary) fails the step.
# $1: a label, then the command that runs pytest.
run_suite() {
  local label=$1; shift
  local log="$W/pytest-$label.log"
  set +e
  "$@" -m pytest -q -p no:cacheprovider --timeout 300 \
    -W error::pytest.PytestUnraisableExceptionWarning \
    bind-cpython/tests tests/test_scenarios.py 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  grep -Eq '[0-9]+ passed' "$log" || { echo "$label: pytest printed no summary line" >&2; return 1; }
  return "$status"
}

failed=()
# 1. The wheel, built once; the sid root; a venv per interpreter (ci/interpreters-lib.sh).
prepare_interpreters

# 2. The system's CPython (3.11).
host_ver=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
timed "pytest on $host_ver (host)" run_suite "$host_ver" python || failed+=("$host_ver")

# 3. sid's 3.13, 3.14, 3.15 in the sid root.
for v in "${SID_PYTHONS[@]}"; do
  timed "pytest on $v (sid root)" run_suite "$v" in_tree "$(sid_venv "$v")/bin/python" || failed+=("$v")
done

# 4. Free-threaded: the crate must build and be clippy-clean for a free-threaded 3.14 (no such
#    interpreter can be had here, so PyO3 is told its configuration by a file).
ft_config=$W/pyo3-cpython-3.14t.txt
printf '%s\n' implementation=CPython version=3.14 shared=true abi3=false \
  build_flags=Py_GIL_DISABLED pointer_width=64 suppress_build_script_link_lines=true >"$ft_config"
ft_clippy() {
  PYO3_CONFIG_FILE=$ft_config CARGO_TARGET_DIR=$ROOT/target/ft314 \
    cargo clippy -q -p awaitq-cpython --all-targets --no-default-features --features spin-section \
    -- -D warnings
  # The crate's own build script must have switched its free-threaded code on (build.rs).
  grep -qx 'cargo:rustc-cfg=Py_GIL_DISABLED' "$ROOT"/target/ft314/debug/build/awaitq-cpython-*/output ||
    { echo "cfg(Py_GIL_DISABLED) was not set for awaitq-cpython" >&2; return 1; }
}
timed "clippy for a free-threaded 3.14 (PYO3_CONFIG_FILE, Py_GIL_DISABLED)" ft_clippy || failed+=("clippy-3.14t")

if [ -n "${AWAITQ_FT_PYTHON:-}" ]; then
  ft_run() {
    "$AWAITQ_FT_PYTHON" -c 'import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else "not a free-threaded build")'
    local ftv="$W/venv-ft"
    rm -rf "$ftv" "$W/wheel-ft"
    "$AWAITQ_FT_PYTHON" -m venv "$ftv"
    # A free-threaded interpreter cannot load an abi3 wheel: a version-specific one for it.
    (cd bind-cpython && maturin build -q --release -i "$AWAITQ_FT_PYTHON" -o "$W/wheel-ft")
    "$ftv/bin/python" -m pip install -q pytest pytest-timeout uvloop "trio>=0.22" "anyio>=4.7" sniffio "$W/wheel-ft"/*.whl
    # awaitq declares gil_used = false: importing it must leave the GIL off (checked without
    # PYTHON_GIL, which would force it off). The suite then runs with PYTHON_GIL=0, so a test
    # dependency that asks for the GIL (uvloop, pytest plugins) cannot switch it back on.
    "$ftv/bin/python" -c 'import sys, awaitq; assert not sys._is_gil_enabled(), "importing awaitq enabled the GIL"'
    PYTHON_GIL=0 run_suite free-threaded "$ftv/bin/python"
  }
  timed "pytest on $AWAITQ_FT_PYTHON (free-threaded, PYTHON_GIL=0)" ft_run || failed+=("free-threaded")
else
  echo "AWAITQ_FT_PYTHON unset: no free-threaded interpreter, its pytest run skipped" >&2
fi

# 5. A wheel for older glibc (manylinux2014 = glibc 2.17: Ubuntu 20.04, Debian 11, RHEL 8),
#    linked with zig's cc against an old glibc; auditwheel must agree with the tag.
old_wheel() {
  rm -rf "$W/wheel-old"
  (cd bind-cpython && CARGO_TARGET_DIR=$ROOT/target/zig \
    maturin build -q --release --zig --compatibility manylinux2014 -o "$W/wheel-old")
  local whl
  whl=$(ls "$W/wheel-old"/*.whl)
  echo "wheel: $(basename "$whl")"
  auditwheel show "$whl" | tee "$W/auditwheel.txt"
  grep -q 'manylinux_2_17_x86_64' "$W/auditwheel.txt"
  # And it still works: installed into 3.13 in the sid root, a smoke run.
  cp "$whl" "$SID/awaitq/"
  local py
  py=$(sid_venv "${SID_PYTHONS[0]}")/bin/python
  in_root "$py" -m pip install -q --no-deps --force-reinstall "/awaitq/$(basename "$whl")"
  in_tree "$py" -m pytest -q -p no:cacheprovider bind-cpython/tests/test_api.py \
    bind-cpython/tests/test_await.py | tail -1
  # Leave the abi3 wheel in place for whoever uses the venv next.
  in_root "$py" -m pip install -q --no-deps --force-reinstall "/awaitq/$(basename "$WHEEL")"
}
timed "wheel for manylinux2014 (maturin --zig) + auditwheel show" old_wheel || failed+=("manylinux2014")

[ ${#failed[@]} -eq 0 ] || { echo "interpreters: failed on ${failed[*]}" >&2; exit 1; }
