#!/usr/bin/env bash
# Generates ports/include/awaitq.h (the producer C ABI) from core/capi with cbindgen.
# Usage: ci/cbindgen.sh           regenerate the committed header
#        ci/cbindgen.sh --check   fail (exit 1, with a diff) if the committed header is stale
# Installs the pinned cbindgen if the one on PATH is missing or another version: a different
# version may format the header differently, which --check would report as drift.
. "$(dirname "$0")/lib.sh"

CBINDGEN_VERSION=0.29.4
HEADER="$ROOT/ports/include/awaitq.h"

ensure_cbindgen() {
  if command -v cbindgen >/dev/null && [ "$(cbindgen --version)" = "cbindgen $CBINDGEN_VERSION" ]; then
    CBINDGEN=cbindgen
    return
  fi
  CBINDGEN="$CACHE/cbindgen-$CBINDGEN_VERSION/bin/cbindgen"
  # A debug build: half the compile time of a release one, and it only reads one small crate.
  [ -x "$CBINDGEN" ] || CARGO_PROFILE_DEV_DEBUG=0 cargo install -q --debug --locked \
    cbindgen --version "$CBINDGEN_VERSION" --root "$CACHE/cbindgen-$CBINDGEN_VERSION"
}

generate() { # OUT
  # Run from the capi crate so cbindgen's `cargo metadata` sees the workspace lock file.
  (cd "$ROOT/core/capi" && "$CBINDGEN" --quiet --config cbindgen.toml --crate awaitq-capi \
    --output "$1" .)
}

ensure_cbindgen
case "${1:-}" in
  --check)
    tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
    generate "$tmp"
    if ! diff -u "$HEADER" "$tmp"; then
      echo "ports/include/awaitq.h is out of date: run ci/cbindgen.sh and commit it" >&2
      exit 1
    fi
    echo "ports/include/awaitq.h is up to date"
    ;;
  "")
    mkdir -p "$(dirname "$HEADER")"
    generate "$HEADER"
    echo "wrote ports/include/awaitq.h"
    bash "$ROOT/ci/headers.sh"   # the wheel's copy (bind-cpython/python/awaitq/include)
    ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
