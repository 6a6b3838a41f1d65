#!/usr/bin/env bash
# Build the cooperative-RTOS harness: MicroPython (ports/embed) as one task next to a C
# producer task, with awaitq. Prints the harness path as the last stdout line.
#
# Usage: ports/rtos/build.sh <mp-src-dir> <out-dir>
# Environment: JOBS (default 2).
set -euo pipefail
. "$(dirname "$0")/../../ci/lib.sh"

(($# == 2)) || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
JOBS=${JOBS:-2}
HERE=$ROOT/ports/rtos

ensure_apt gcc make libc6-dev dpkg-dev python3

flock "$SRC/mpy-cross/.awaitq-build.lock" make -C "$SRC/mpy-cross" -j"$JOBS" >&2

# Stage 1: the package (MicroPython + asyncio + awaitq), with MicroPython's embed.mk.
make -C "$HERE" -f package.mk -j"$JOBS" \
    MICROPYTHON_TOP="$SRC" \
    BUILD="$OUT/build-embed" \
    PACKAGE_DIR="$OUT/micropython_embed" \
    USER_C_MODULES="$ROOT" \
    FROZEN_MANIFEST="$ROOT/ports/manifest.py" \
    MICROPY_MANIFEST_AWAITQ_ROOT="$ROOT" \
    MICROPY_MPYCROSS="$SRC/mpy-cross/build/mpy-cross" >&2

# Stage 2: the harness, from the package.
make -C "$HERE" -j"$JOBS" PACKAGE_DIR="$OUT/micropython_embed" OUT="$OUT" >&2
echo "$OUT/rtos_harness"
