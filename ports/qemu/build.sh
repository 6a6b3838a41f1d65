#!/usr/bin/env bash
# Build MicroPython's qemu firmware for the awaitq board (MPS2-AN385, Cortex-M3).
#
# Usage: ports/qemu/build.sh <mp-src-dir> <out-dir> [plain|awaitq|awaitq-size|awaitq-cont]
#
#   <mp-src-dir>  tree from ci/fetch-micropython.sh (Debian "+ds" source); not modified
#   <out-dir>     build products: <out-dir>/build/ (objects, firmware.map), <out-dir>/firmware.elf
#   plain         (default) the board alone: asyncio on a hardware clock, no awaitq
#   awaitq        also awaitq as a user C module (ports/micropython.mk; the Rust staticlib
#                 cross-compiled for thumbv7m-none-eabi with stable Rust, opt-level "s") and the
#                 board's `isrbus` ISR producer
#   awaitq-size   the same, built for size: nightly Rust rebuilds `core` (-Zbuild-std) with
#                 panic = "immediate-abort", so no panic messages or formatting machinery of the
#                 precompiled core are linked. A Rust panic (a bug) then traps (HardFault)
#                 instead of reporting through nlr_jump_fail.
#   awaitq-cont   `awaitq` with the native awaitables (AWAITQ_CONT=1) and their test extension
#                 (`aw_ext`, AWAITQ_AW_EXT=1): the configuration that runs them in qemu.
#
# The board definition lives in ports/qemu/board (BOARD_DIR); see its mpconfigboard.mk and
# ports/FIRMWARE.md. Prints the firmware path as the last stdout line.
# Environment: JOBS (default 2).
set -euo pipefail
. "$(dirname "$0")/../../ci/lib.sh"

(($# >= 2)) || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
VARIANT=${3:-plain}
JOBS=${JOBS:-2}
RUST_TARGET=thumbv7m-none-eabi

# Debian's bare-metal toolchain and C library (newlib), and dpkg-parsechangelog for
# mpversion.h (Debian patch 0004).
ensure_apt gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi make dpkg-dev python3

# mpy-cross is built once per source tree (see ci/build-micropython-unix.sh for why it is
# built explicitly and passed as MICROPY_MPYCROSS).
flock "$SRC/mpy-cross/.awaitq-build.lock" make -C "$SRC/mpy-cross" -j"$JOBS" >&2
MPY_CROSS=$SRC/mpy-cross/build/mpy-cross

MAKE_ARGS=(
    -C "$SRC/ports/qemu"
    -j"$JOBS"
    BOARD_DIR="$ROOT/ports/qemu/board"
    BUILD="$OUT/build"
    MICROPY_MPYCROSS="$MPY_CROSS"
    FROZEN_MANIFEST="$ROOT/ports/manifest.py"
    MICROPY_MANIFEST_AWAITQ_ROOT="$ROOT"
)
case $VARIANT in
plain) ;;
awaitq | awaitq-size | awaitq-cont)
    ensure_rust_target "$RUST_TARGET"
    # bindgen (libclang) parses MicroPython's headers for the target and needs the C library's
    # headers: Debian's arm-none-eabi-gcc reports no sysroot (-print-sysroot is empty), so
    # point libclang at newlib's include directory, found next to libc.a. Only bindgen sees it.
    NEWLIB_INC=$(cd "$(dirname "$(arm-none-eabi-gcc -print-file-name=libc.a)")/../include" && pwd)
    export BINDGEN_EXTRA_CLANG_ARGS_${RUST_TARGET//-/_}="-isystem $NEWLIB_INC"
    # Size over speed, like the rest of the firmware (-Os).
    CARGO_FLAGS="--config 'profile.release.opt-level=\"s\"'"
    CARGO=cargo
    if [[ $VARIANT == awaitq-size ]]; then
        # The pinned nightly (ci/nightly), the one Miri (ci/test-core.sh) runs on.
        ensure_nightly rust-src
        CARGO="cargo +$NIGHTLY"
        CARGO_FLAGS+=" -Zbuild-std=core -Zpanic-immediate-abort"
        CARGO_FLAGS+=" --config 'profile.release.panic=\"immediate-abort\"'"
    fi
    MAKE_ARGS+=(
        USER_C_MODULES="$ROOT"
        AWAITQ_RUST_TARGET="$RUST_TARGET"
        AWAITQ_CARGO="$CARGO"
        AWAITQ_CARGO_FLAGS="$CARGO_FLAGS"
    )
    if [[ $VARIANT == awaitq-cont ]]; then
        MAKE_ARGS+=(AWAITQ_CONT=1 AWAITQ_AW_EXT=1)
    fi
    ;;
*)
    echo "unknown variant: $VARIANT" >&2
    exit 2
    ;;
esac

make "${MAKE_ARGS[@]}" >&2
cp -f "$OUT/build/firmware.elf" "$OUT/firmware.elf"
echo "$OUT/firmware.elf"
