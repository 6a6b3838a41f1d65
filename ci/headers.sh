#!/usr/bin/env bash
# The wheel ships awaitq's C headers (awaitq/include, `awaitq.get_include()`); their source is
# ports/include (awaitq.h is generated there by ci/cbindgen.sh). maturin does not follow a
# symlink out of the package into an sdist, so the wheel's copies are committed files.
# Usage: ci/headers.sh           copy ports/include/*.h into bind-cpython/python/awaitq/include
#        ci/headers.sh --check   fail (with a diff) if the copies differ from ports/include
. "$(dirname "$0")/lib.sh"

SRC="$ROOT/ports/include"
DST="$ROOT/bind-cpython/python/awaitq/include"

case "${1:-}" in
  --check)
    if ! diff -ru "$SRC" "$DST"; then
      echo "bind-cpython/python/awaitq/include differs from ports/include: run ci/headers.sh" >&2
      exit 1
    fi
    echo "the wheel's headers match ports/include"
    ;;
  "")
    mkdir -p "$DST"
    rm -f "$DST"/*.h
    cp "$SRC"/*.h "$DST"/
    echo "copied ports/include/*.h to bind-cpython/python/awaitq/include"
    ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
