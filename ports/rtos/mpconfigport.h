// MicroPython configuration for the cooperative-RTOS harness (ports/embed + this file).
//
// The interesting part is how MicroPython gives the CPU back to the RTOS (rtos_port.c):
// - MICROPY_INTERNAL_WFE: asyncio's idle wait (select.poll with nothing ready) blocks the VM
//   task on its task notification, with the poll's timeout. The producer's wake hook
//   (awaitq_port_wake) notifies it. This is where the VM yields when every Python task waits.
// - MICROPY_VM_HOOK_LOOP / _RETURN: every few hundred bytecode branches/returns the VM task
//   yields, so Python code that computes without awaiting does not starve the C tasks.
// - MICROPY_BEGIN_ATOMIC_SECTION: the RTOS critical section (awaitq-core's only lock).
#include <port/mpconfigport_common.h>

#define MICROPY_CONFIG_ROM_LEVEL                (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#define MICROPY_ENABLE_COMPILER                 (1)
#define MICROPY_ENABLE_GC                       (1)
#define MICROPY_PY_GC                           (1)
#define MICROPY_FLOAT_IMPL                      (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_LONGINT_IMPL                    (MICROPY_LONGINT_IMPL_MPZ)
// The frozen .mpy constants are generated for 16-bit digits (mpy-tool's default), as on a
// 32-bit MCU; without this the 64-bit host would pick 32.
#define MPZ_DIG_SIZE                            (16)
#define MICROPY_ENABLE_SCHEDULER                (1)
#define MICROPY_PY_SYS_PLATFORM                 "rtos-sim"

// What asyncio needs, compiled from extmod/ into the package (package.mk).
#define MICROPY_PY_ASYNCIO                      (1)
#define MICROPY_PY_SELECT                       (1)
#define MICROPY_PY_SELECT_POSIX_OPTIMISATIONS   (0)     // an RTOS has no poll(2)
#define MICROPY_PY_TIME                         (1)

// Not part of this embedding (their sources are not in the package).
#define MICROPY_PY_SYS_STDFILES                 (0)
#define MICROPY_PY_OS                           (0)
#define MICROPY_PY_MACHINE                      (0)
#define MICROPY_VFS                             (0)
#define MICROPY_READER_VFS                      (0)
#define MICROPY_PY_BUILTINS_INPUT               (0)
#define MICROPY_KBD_EXCEPTION                   (0)
#define MICROPY_PY_UCTYPES                      (0)
#define MICROPY_PY_IO_FILEIO                    (0)

// The RTOS integration (rtos_port.c).
#include <stdint.h>
uint32_t rtos_critical_enter(void);
void rtos_critical_exit(uint32_t state);
void rtos_port_idle(uint32_t timeout_ms);
void rtos_port_vm_hook(void);

#define MICROPY_BEGIN_ATOMIC_SECTION()          rtos_critical_enter()
#define MICROPY_END_ATOMIC_SECTION(state)       rtos_critical_exit(state)
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS)        rtos_port_idle((uint32_t)(TIMEOUT_MS))

#define MICROPY_VM_HOOK_COUNT                   (256)
#define MICROPY_VM_HOOK_INIT                    static unsigned int vm_hook_divisor = MICROPY_VM_HOOK_COUNT;
#define MICROPY_VM_HOOK_POLL                    if (--vm_hook_divisor == 0) { \
        vm_hook_divisor = MICROPY_VM_HOOK_COUNT; \
        rtos_port_vm_hook(); \
}
#define MICROPY_VM_HOOK_LOOP                    MICROPY_VM_HOOK_POLL
#define MICROPY_VM_HOOK_RETURN                  MICROPY_VM_HOOK_POLL
