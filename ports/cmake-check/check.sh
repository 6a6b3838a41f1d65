#!/usr/bin/env bash
# Check that ports/micropython.cmake works for the CMake-based ports (rp2, esp32), whose SDKs
# (Pico SDK, ESP-IDF) are not available here. See CMakeLists.txt for what each step builds.
#
# Usage: ports/cmake-check/check.sh <mp-src-dir> <out-dir>
#
#   1. host: configure + build a CMake MicroPython with awaitq (host Rust target) and run
#      check.py with it; its output must equal check.py.exp;
#   2. rp2040: configure with Debian's arm-none-eabi-gcc for Cortex-M0+ and PICO_PLATFORM=rp2040;
#      micropython.cmake must pick thumbv6m-none-eabi and write the Cortex-M0+ flags for bindgen;
#      build the firmware sources and awaitq's Rust staticlib for Cortex-M0+ (not linked);
#   3. configure only, other boards: PICO_PLATFORM=rp2350 -> thumbv8m.main-none-eabihf,
#      IDF_TARGET=esp32c3 -> riscv32imc-unknown-none-elf.
# Environment: JOBS (default 2).
set -euo pipefail
. "$(dirname "$0")/../../ci/lib.sh"

(($# == 2)) || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
JOBS=${JOBS:-2}
HERE=$ROOT/ports/cmake-check
CMAKE_ARGS=(-DMICROPY_DIR="$SRC" -DUSER_C_MODULES="$ROOT/ports/micropython.cmake")

ensure_apt cmake gcc make libc6-dev python3 gcc-arm-none-eabi libnewlib-arm-none-eabi
ensure_rust_target thumbv6m-none-eabi
flock "$SRC/mpy-cross/.awaitq-build.lock" make -C "$SRC/mpy-cross" -j"$JOBS" >&2

fail() { echo "cmake-check: FAIL: $*" >&2; exit 1; }

cache_var() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"; }

# 1. host: build and run.
log "cmake-check: host build"
cmake -S "$HERE" -B "$OUT/host" "${CMAKE_ARGS[@]}" -DAWAITQ_RUST_TARGET="$(rustc -vV | sed -n 's/^host: //p')" >&2
cmake --build "$OUT/host" -j"$JOBS" >&2
"$OUT/host/firmware" "$HERE/check.py" >"$OUT/check.out"
diff -u "$HERE/check.py.exp" "$OUT/check.out" >&2 || fail "check.py output differs"
echo "cmake-check: host build runs awaitq: ok"

# 2. rp2040 (Cortex-M0+): derive the target, compile everything for the MCU.
log "cmake-check: rp2040 (Cortex-M0+) build"
NEWLIB_INC=$(cd "$(dirname "$(arm-none-eabi-gcc -print-file-name=libc.a)")/../include" && pwd)
# libclang needs newlib's headers; Debian's arm-none-eabi-gcc reports no sysroot.
export BINDGEN_EXTRA_CLANG_ARGS_thumbv6m_none_eabi="-isystem $NEWLIB_INC"
cmake -S "$HERE" -B "$OUT/rp2040" "${CMAKE_ARGS[@]}" -DPICO_PLATFORM=rp2040 \
    -DCMAKE_TOOLCHAIN_FILE="$HERE/cortex-m0plus.cmake" >&2
[[ $(cache_var "$OUT/rp2040" AWAITQ_RUST_TARGET) == thumbv6m-none-eabi ]] ||
    fail "rp2040: AWAITQ_RUST_TARGET is '$(cache_var "$OUT/rp2040" AWAITQ_RUST_TARGET)'"
cmake --build "$OUT/rp2040" -j"$JOBS" >&2
grep -qx -- '-mcpu=cortex-m0plus' "$OUT/rp2040/awaitq/cflags.txt" || fail "rp2040: bindgen flags lack -mcpu"
lib=$OUT/rp2040/awaitq/cargo/thumbv6m-none-eabi/release/libawaitq_micropython.a
# (Outputs are captured first: `grep -q` on a pipe would SIGPIPE the producer under pipefail.)
lib_arch=$(arm-none-eabi-objdump -f "$lib")
[[ $lib_arch == *"architecture: armv6s-m"* ]] || fail "rp2040: staticlib is not ARMv6-M"
lib_syms=$(arm-none-eabi-nm "$lib" 2>/dev/null)
grep -q ' T awaitq_push$' <<<"$lib_syms" || fail "rp2040: staticlib lacks awaitq_push"
fw_objs=$(arm-none-eabi-objdump -f "$OUT/rp2040/libfirmware.a")
for o in module channel op sys; do
    grep -q "^$o.c.obj: .*elf32-littlearm" <<<"$fw_objs" || fail "rp2040: the shim's $o.c is not compiled for ARM"
done
echo "cmake-check: rp2040 target derived, firmware sources + Rust staticlib compiled for Cortex-M0+: ok"

# 3. configure only: the other boards' Rust targets.
for spec in "PICO_PLATFORM=rp2350 thumbv8m.main-none-eabihf" "IDF_TARGET=esp32c3 riscv32imc-unknown-none-elf"; do
    read -r def want <<<"$spec"
    dir=$OUT/configure-${def#*=}
    cmake -S "$HERE" -B "$dir" "${CMAKE_ARGS[@]}" -D"$def" >/dev/null
    got=$(cache_var "$dir" AWAITQ_RUST_TARGET)
    [[ $got == "$want" ]] || fail "$def: AWAITQ_RUST_TARGET is '$got', want '$want'"
    echo "cmake-check: $def configures AWAITQ_RUST_TARGET=$got: ok"
done
