# awaitq as a MicroPython user C module, for the CMake-based ports (esp32, rp2).
#
#   make -C ports/rp2 BOARD=RPI_PICO USER_C_MODULES=/path/to/awaitq/ports/micropython.cmake \
#        FROZEN_MANIFEST=/path/to/awaitq/ports/manifest.py
#   idf.py -D USER_C_MODULES=/path/to/awaitq/ports/micropython.cmake build       (esp32)
#
# Same three steps as ports/micropython.mk: compile the C shim as a user module; write the
# firmware target's compiler flags to <build>/awaitq/cflags.txt for bindgen (build.rs); build
# the Rust staticlib with cargo for AWAITQ_RUST_TARGET and link it. See bind-micropython/README.md.
#
# Cache variables (-D on the cmake / idf.py command line):
#   AWAITQ_RUST_TARGET  Rust target triple. Default: derived from the board (rp2040 ->
#                       thumbv6m-none-eabi, rp2350 -> thumbv8m.main-none-eabihf, esp32c2/c3 ->
#                       riscv32imc-unknown-none-elf, esp32c6/h2/p4 -> riscv32imac-unknown-none-elf,
#                       esp32/s2/s3 -> xtensa-<chip>-none-elf, which needs Espressif's Rust
#                       toolchain (espup) and its libclang for bindgen).
#   AWAITQ_CARGO        cargo command (default: cargo)
#   AWAITQ_CARGO_FLAGS  extra cargo arguments (a list)
#
# Needs CMake >= 3.19 (the flags are collected once the port has defined its firmware target).

if(CMAKE_VERSION VERSION_LESS 3.19)
    message(FATAL_ERROR "awaitq: needs CMake >= 3.19 (cmake_language(DEFER))")
endif()

get_filename_component(AWAITQ_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(AWAITQ_MP "${AWAITQ_ROOT}/bind-micropython")
set(AWAITQ_BUILD "${CMAKE_BINARY_DIR}/awaitq")

if(NOT AWAITQ_RUST_TARGET)
    if(PICO_PLATFORM MATCHES "^rp2040")
        set(_awaitq_target thumbv6m-none-eabi)
    elseif(PICO_PLATFORM MATCHES "^rp2350-riscv")
        set(_awaitq_target riscv32imac-unknown-none-elf)
    elseif(PICO_PLATFORM MATCHES "^rp2350")
        set(_awaitq_target thumbv8m.main-none-eabihf)
    elseif(IDF_TARGET MATCHES "^esp32c[23]$")
        set(_awaitq_target riscv32imc-unknown-none-elf)
    elseif(IDF_TARGET MATCHES "^esp32(c[56]|h2|p4)$")
        set(_awaitq_target riscv32imac-unknown-none-elf)
    elseif(IDF_TARGET MATCHES "^esp32(s[23])?$")
        set(_awaitq_target xtensa-${IDF_TARGET}-none-elf)
    else()
        message(FATAL_ERROR "awaitq: set -DAWAITQ_RUST_TARGET=<rust triple> for this port")
    endif()
    set(AWAITQ_RUST_TARGET ${_awaitq_target} CACHE STRING "Rust target triple of the awaitq staticlib")
endif()
set(AWAITQ_CARGO cargo CACHE STRING "cargo command for the awaitq staticlib")
set(AWAITQ_CARGO_FLAGS "" CACHE STRING "extra cargo arguments for the awaitq staticlib")
# Native awaitables (include/awaitq_aw.h's C API, Rust futures): off by default on these MCU
# ports (flash); -DAWAITQ_CONT=ON turns on the C side and cargo's `cont` feature together.
option(AWAITQ_CONT "awaitq: native awaitables (awaitq_aw.h, Rust futures)" OFF)
if(AWAITQ_CONT)
    set(_awaitq_cont 1)
    set(_awaitq_features --features cont)
else()
    set(_awaitq_cont 0)
    set(_awaitq_features)
endif()

set(AWAITQ_CFLAGS_FILE "${AWAITQ_BUILD}/cflags.txt")
set(AWAITQ_CARGO_DIR "${AWAITQ_BUILD}/cargo")
set(AWAITQ_LIB "${AWAITQ_CARGO_DIR}/${AWAITQ_RUST_TARGET}/release/libawaitq_micropython.a")

add_library(usermod_awaitq INTERFACE)
target_sources(usermod_awaitq INTERFACE
    ${AWAITQ_MP}/csrc/module.c
    ${AWAITQ_MP}/csrc/channel.c
    ${AWAITQ_MP}/csrc/op.c
    ${AWAITQ_MP}/csrc/ioq.c
    ${AWAITQ_MP}/csrc/sys.c
    ${AWAITQ_MP}/csrc/testing.c
    ${AWAITQ_MP}/csrc/cont.c
    ${AWAITQ_MP}/csrc/cont_call.c
    ${AWAITQ_MP}/csrc/testing_cont.c
)
target_compile_definitions(usermod_awaitq INTERFACE AWAITQ_MP_CONT=${_awaitq_cont})
target_include_directories(usermod_awaitq INTERFACE
    ${AWAITQ_MP}/csrc
    ${AWAITQ_ROOT}/ports
    ${AWAITQ_ROOT}/ports/include
)
target_link_libraries(usermod_awaitq INTERFACE ${AWAITQ_LIB})
target_link_libraries(usermod INTERFACE usermod_awaitq)

# cargo runs on every build (it is incremental), after the qstr header bindgen needs exists.
add_custom_target(awaitq_rust ALL
    COMMAND ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS --unset=MFLAGS --unset=MAKELEVEL
        AWAITQ_MP_CFLAGS_FILE=${AWAITQ_CFLAGS_FILE}
        ${AWAITQ_CARGO} build --release --quiet
        --manifest-path ${AWAITQ_MP}/Cargo.toml
        --target-dir ${AWAITQ_CARGO_DIR}
        --target ${AWAITQ_RUST_TARGET}
        ${_awaitq_features}
        ${AWAITQ_CARGO_FLAGS}
    DEPENDS ${CMAKE_BINARY_DIR}/genhdr/qstrdefs.generated.h ${AWAITQ_CFLAGS_FILE}
    BYPRODUCTS ${AWAITQ_LIB}
    COMMENT "cargo: awaitq-micropython for ${AWAITQ_RUST_TARGET}"
    VERBATIM
)

# Runs at the end of the including directory, when the port has defined MICROPY_TARGET and
# its include directories and definitions: writes them for bindgen (line 1: working directory,
# line 2: compiler, then one argument per line) and orders cargo before the firmware link.
function(awaitq_finish)
    if(NOT MICROPY_TARGET)
        message(FATAL_ERROR "awaitq: the port defines no MICROPY_TARGET")
    endif()
    set(_inc "$<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>")
    set(_def "$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>")
    set(_opt "$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_OPTIONS>")
    separate_arguments(_cflags UNIX_COMMAND "${CMAKE_C_FLAGS} ${MICROPY_CPP_FLAGS_EXTRA}")
    list(JOIN _cflags "\n" _cflags)
    file(GENERATE OUTPUT ${AWAITQ_CFLAGS_FILE} CONTENT
"${CMAKE_CURRENT_BINARY_DIR}
${CMAKE_C_COMPILER}
$<$<BOOL:${_inc}>:-I$<JOIN:${_inc},\n-I>>
$<$<BOOL:${_def}>:-D$<JOIN:${_def},\n-D>>
$<$<BOOL:${_opt}>:$<JOIN:${_opt},\n>>
${_cflags}
-DAWAITQ_MP_CONT=${_awaitq_cont}
")
    add_dependencies(${MICROPY_TARGET} awaitq_rust)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL awaitq_finish)
