#!/usr/bin/env bash
# Build mpy-cross and the MicroPython unix port (standard variant).
#
# Usage: ci/build-micropython-unix.sh <mp-src-dir> <out-dir> [USER_C_MODULES-dir] [make VAR=value ...]
#
#   <mp-src-dir>   tree from ci/fetch-micropython.sh (Debian "+ds" source)
#   <out-dir>      all build products go here; use one per version/config so
#                  builds never share object files:
#                    <out-dir>/build/        make's BUILD dir (objects, genhdr/)
#                    <out-dir>/micropython   the interpreter
#                    <out-dir>/mpy-cross     the matching cross-compiler
#   USER_C_MODULES optional dir whose */micropython.mk are compiled in
#   make args      anything further is passed to the unix make verbatim
#
# Environment: FROZEN_MANIFEST (default: ports/manifest.py of this repo),
#              JOBS (default 2).
#
# Why these settings:
# * The "+ds" tarball has empty lib/ submodules except a few (libm, littlefs,
#   oofatfs, uzlib, re1.5, crypto-algorithms, mbedtls_errors, a stub of
#   micropython-lib). That breaks:
#     - btree (lib/berkeley-db-1.xx)       -> MICROPY_PY_BTREE=0
#     - ssl   (lib/mbedtls or lib/axtls)   -> MICROPY_PY_SSL=0
#     - the default frozen manifest (needs micropython-lib's mip-cmdline
#       and ssl)                           -> our own FROZEN_MANIFEST
#   ffi uses the *system* libffi via pkg-config (MICROPY_STANDALONE=0 is the
#   default), so it stays enabled and just needs libffi-dev + pkg-config.
# * Debian's patch 0004 makes mpversion.h come from debian/changelog via
#   dpkg-parsechangelog, hence dpkg-dev.
# * mpy-cross is built explicitly (and MICROPY_MPYCROSS passed) because the
#   unix Makefile would otherwise recurse into mpy-cross with our BUILD=
#   inherited through MAKEFLAGS and build it into the same directory.
#
# Running MicroPython's own test-suite against the result (works from any
# cwd; absolute test paths are fine; -r keeps results out of the source tree;
# a test without a .exp file is compared against CPython's output):
#   MICROPY_MICROPYTHON=<out-dir>/micropython MICROPY_MPYCROSS=<out-dir>/mpy-cross \
#     python3 <mp-src-dir>/tests/run-tests.py -r <out-dir>/test-results \
#       <mp-src-dir>/tests/extmod/asyncio_basic.py
#   ...or a whole directory filtered by regex, run from <mp-src-dir>/tests:
#     ./run-tests.py -r <dir> -d extmod -i asyncio
set -euo pipefail

if (($# < 2)); then
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
USERMOD=
if (($# >= 3)) && [[ -n $3 ]]; then
    USERMOD=$(cd "$3" && pwd)
fi
shift $(($# < 3 ? $# : 3))
EXTRA_MAKE_ARGS=("$@")
JOBS=${JOBS:-2}
MANIFEST=${FROZEN_MANIFEST:-$ROOT/ports/manifest.py}
MANIFEST=$(cd "$(dirname "$MANIFEST")" && pwd)/$(basename "$MANIFEST")

log() { echo "build-micropython-unix: $*" >&2; }

[[ -f $SRC/ports/unix/Makefile ]] || { log "not a MicroPython tree: $SRC"; exit 1; }

ensure_packages() {
    local pkg missing=()
    for pkg in gcc make libc6-dev pkg-config libffi-dev dpkg-dev; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
}
ensure_packages

# mpy-cross depends only on the source version, so it is built once per
# tree (its default in-tree build/ dir); the lock serialises concurrent
# builds of different configs against the same tree.
log "mpy-cross"
flock "$SRC/mpy-cross/.awaitq-build.lock" make -C "$SRC/mpy-cross" -j"$JOBS" >&2
MPY_CROSS=$SRC/mpy-cross/build/mpy-cross

MAKE_ARGS=(
    -C "$SRC/ports/unix"
    -j"$JOBS"
    VARIANT=standard
    BUILD="$OUT/build"
    MICROPY_MPYCROSS="$MPY_CROSS"
    MICROPY_PY_BTREE=0
    MICROPY_PY_SSL=0
    FROZEN_MANIFEST="$MANIFEST"
    # Exposed to the manifest as $(AWAITQ_ROOT) (py/mkrules.mk turns every
    # MICROPY_MANIFEST_* make variable into a manifest path variable).
    MICROPY_MANIFEST_AWAITQ_ROOT="$ROOT"
)
if [[ -n $USERMOD ]]; then
    MAKE_ARGS+=(USER_C_MODULES="$USERMOD")
fi

log "unix port -> $OUT (usermod: ${USERMOD:-none})"
make "${MAKE_ARGS[@]}" "${EXTRA_MAKE_ARGS[@]}" >&2

cp -f "$OUT/build/micropython" "$OUT/micropython"
cp -f "$MPY_CROSS" "$OUT/mpy-cross"

# Smoke test: the frozen asyncio must import.
"$OUT/micropython" -c 'import asyncio' >&2 ||
    { log "smoke test failed: frozen asyncio missing"; exit 1; }

echo "$OUT/micropython"
