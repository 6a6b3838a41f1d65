// MicroPython's port layer for the VM task: clock, idle wait, VM hook, and awaitq's wake hook.
#include "py/builtin.h"
#include "py/lexer.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"

#include "awaitq_mp.h"
#include "harness.h"
#include "sched.h"

// No filesystem in this embedding: code comes from the script string and frozen modules.
mp_lexer_t *mp_lexer_new_from_file(qstr filename) {
    (void)filename;
    mp_raise_OSError(MP_ENOENT);
}

mp_import_stat_t mp_import_stat(const char *path) {
    (void)path;
    return MP_IMPORT_STAT_NO_EXIST;
}

static mp_obj_t rtos_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    (void)n_args, (void)args, (void)kwargs;
    mp_raise_OSError(MP_ENOENT);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, rtos_builtin_open);

static uint32_t idle_calls;
static uint32_t hook_yields;

mp_uint_t mp_hal_ticks_ms(void) {
    return (mp_uint_t)rtos_now_ms();
}

mp_uint_t mp_hal_ticks_us(void) {
    return (mp_uint_t)(rtos_now_ms() * 1000u);
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return (mp_uint_t)rtos_now_ms();
}

uint64_t mp_hal_time_ns(void) {
    return rtos_now_ms() * 1000000u;
}

void mp_hal_delay_ms(mp_uint_t ms) {
    mp_uint_t start = mp_hal_ticks_ms();
    mp_uint_t elapsed;
    while ((elapsed = mp_hal_ticks_ms() - start) < ms) {
        mp_event_wait_ms(ms - elapsed);
    }
}

void mp_hal_delay_us(mp_uint_t us) {
    mp_hal_delay_ms((us + 999) / 1000);
}

// MICROPY_INTERNAL_WFE: the VM has nothing to run until an event or the timeout. Block the VM
// task on its notification. A producer that pushed between asyncio's last poll and this call
// has already notified the task, and the notification is latched, so this returns at once
// instead of missing the frame (the RTOS equivalent of "disable IRQs, check flag, WFI").
void rtos_port_idle(uint32_t timeout_ms) {
    idle_calls += 1;
    rtos_wait(timeout_ms);
}

// MICROPY_VM_HOOK_LOOP/RETURN: a time slice for the other tasks while Python computes.
void rtos_port_vm_hook(void) {
    hook_yields += 1;
    rtos_yield();
}

// awaitq's port wake hook: a push made the parked consumer runnable. Called from the producer
// task (in a real system possibly from an ISR: use the ISR-safe notify then).
void awaitq_port_wake(const awaitq_channel_t *ch) {
    (void)ch;
    harness_vm_wakes += 1;
    rtos_notify(harness_vm_task);
}

harness_vm_stats_t harness_vm_stats(void) {
    rtos_task_stats_t st = rtos_task_stats(harness_vm_task);
    return (harness_vm_stats_t) {
        .turns = st.turns, .waits = st.waits, .notified = st.notified, .timeouts = st.timeouts,
        .idle_calls = idle_calls, .hook_yields = hook_yields, .wakes = harness_vm_wakes,
    };
}
