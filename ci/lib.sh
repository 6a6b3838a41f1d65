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
