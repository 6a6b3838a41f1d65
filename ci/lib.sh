# Shared helpers for the ci/ scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
# Every script installs what it needs itself (CI starts from a fresh machine), idempotently.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AWAITQ_CACHE:-$ROOT/.cache}"
VENV="$CACHE/venv"
mkdir -p "$CACHE"

log() { printf '\n=== %s ===\n' "$*" >&2; }

# ensure_apt PKG...: install the Debian packages that are missing (runs `apt-get update` once).
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ! -e "$CACHE/.apt-updated" ]; then
    apt-get update -qq && touch "$CACHE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv: a private virtualenv for the Python tools and the wheel under test.
ensure_venv() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  export PATH="$VENV/bin:$PATH"
}

# ensure_pip PKG...: pip-install into the venv (specs may carry versions).
ensure_pip() {
  ensure_venv
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"
}

# ensure_rust_target TRIPLE...
ensure_rust_target() {
  local installed
  installed="$(rustup target list --installed)"
  for t in "$@"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t" >/dev/null
  done
}

# timed NAME CMD...: run a step and print how long it took (the CI budget is 90 min on 2 cores).
timed() {
  local name="$1"; shift
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  printf '[time] %s: %ss%s\n' "$name" "$((SECONDS - t0))" "$([ $rc -eq 0 ] || echo " (failed: $rc)")" >&2
  return $rc
}

# The pinned nightly behind Miri, the sanitizers and the size-optimised firmware (-Zbuild-std):
# one line in ci/nightly, so a new nightly cannot break CI by itself. ensure_nightly COMPONENT...
# sets NIGHTLY to a toolchain name for `cargo +$NIGHTLY` / `rustup run $NIGHTLY`: the pinned
# one, or an installed `nightly` built from the same day's manifest (the same compiler, no
# download), else it installs the pinned one.
NIGHTLY_PIN="$(tr -d '[:space:]' <"$ROOT/ci/nightly")"
ensure_nightly() {
  NIGHTLY="$NIGHTLY_PIN"
  if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    local sysroot manifest
    sysroot="$(rustup run nightly rustc --print sysroot 2>/dev/null || true)"
    manifest="$sysroot/lib/rustlib/multirust-channel-manifest.toml"
    if [ -n "$sysroot" ] && grep -qx "date = \"${NIGHTLY_PIN#nightly-}\"" "$manifest" 2>/dev/null; then
      NIGHTLY=nightly
    else
      rustup toolchain install "$NIGHTLY" --profile minimal >&2
    fi
  fi
  local have missing=()
  have="$(rustup component list --toolchain "$NIGHTLY" --installed)"
  for c in "$@"; do
    grep -q "^$c" <<<"$have" || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || rustup component add --toolchain "$NIGHTLY" "${missing[@]}" >&2
  export NIGHTLY
}
