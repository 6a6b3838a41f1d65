// MicroPython configuration of the cmake-check "port" (see CMakeLists.txt). Host mode runs
// scripts; cross mode (Cortex-M0+) only compiles.
#include <stdint.h>

// EXTRA, like the rp2 and esp32 ports.
#define MICROPY_CONFIG_ROM_LEVEL                (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_ENABLE_COMPILER                 (1)
#define MICROPY_ENABLE_GC                       (1)
#define MICROPY_LONGINT_IMPL                    (MICROPY_LONGINT_IMPL_MPZ)
#define MPZ_DIG_SIZE                            (16)    // as the frozen .mpy were generated
#define MICROPY_PY_ASYNCIO                      (1)
#define MICROPY_PY_SELECT                       (1)
#define MICROPY_PY_SELECT_POSIX_OPTIMISATIONS   (0)
#define MICROPY_PY_TIME                         (1)
#define MICROPY_PY_SYS_PLATFORM                 "cmake-check"
#define MICROPY_PY_BUILTINS_INPUT               (0)
#define MICROPY_KBD_EXCEPTION                   (0)
#define MICROPY_MODULE_FROZEN_STR               (0)
#define MICROPY_PY_SYS_STDFILES                 (0)
#define MICROPY_PY_UCTYPES                      (0)

typedef intptr_t mp_int_t;
typedef uintptr_t mp_uint_t;
typedef long mp_off_t;

#include <alloca.h>

#if defined(__arm__)
// newlib has no SSIZE_MAX
#define MP_SSIZE_MAX                            (0x7fffffff)
#endif

#define MICROPY_HW_BOARD_NAME                   "cmake-check"
#define MICROPY_HW_MCU_NAME                     "host"
#define MP_STATE_PORT                           MP_STATE_VM
