// The C producer task (a bus driver in the user's system) and `rtos`, its Python handle.
//
//     rtos.start_producer(ch, count, size=16, period_ms=5, burst=1, delay_ms=0, close=True)
//         The producer task waits delay_ms, then pushes frames k = 0 .. count-1 (tag k, payload
//         k as u32 little-endian then size-4 bytes of k & 0xFF), `burst` frames every period_ms
//         of simulated time (period_ms=0: as fast as it gets the CPU, yielding after each
//         burst). On AWAITQ_FULL it keeps frame k and retries after 1 ms (period_ms=0: after a
//         yield): nothing is lost. Closes the channel at the end if close=True.
//     rtos.stats() -> dict: pushed, full (retries), running, producer_turns, vm_turns,
//         vm_waits, vm_notified, vm_timeouts, vm_idle_calls, vm_hook_yields, vm_wakes,
//         sched_turns, idle_jumps, now_ms
#include <string.h>

#include "py/runtime.h"

#include "awaitq_mp.h"
#include "harness.h"

#define MAX_SIZE (64)

typedef struct {
    const awaitq_channel_t *ch;     // NULL: no job
    uint32_t count, size, period_ms, burst, delay_ms;
    bool close;
    uint32_t pushed, full;
} job_t;

static job_t job;
static bool shutdown;

MP_REGISTER_ROOT_POINTER(mp_obj_t rtos_producer_channel);

// Pushes frame `job.pushed`; false if the producer must stop (channel closed, bad frame).
static bool push_one(void) {
    uint8_t frame[MAX_SIZE];
    uint32_t k = job.pushed;
    for (int i = 0; i < 4; ++i) {
        frame[i] = (uint8_t)(k >> (8 * i));
    }
    memset(frame + 4, (int)(k & 0xFF), job.size - 4);
    for (;;) {
        awaitq_status_t st = awaitq_push(job.ch, k, frame, job.size);
        if (st == AWAITQ_OK) {
            job.pushed = k + 1;
            return true;
        }
        if (st != AWAITQ_FULL) {
            return false;
        }
        job.full += 1;
        if (job.period_ms == 0) {
            rtos_yield();
        } else {
            rtos_sleep(1);
        }
        if (job.ch == NULL) {
            return false;   // stopped while waiting
        }
    }
}

void harness_producer_main(void *arg) {
    (void)arg;
    for (;;) {
        while (job.ch == NULL) {
            if (shutdown) {
                return;
            }
            rtos_wait(RTOS_FOREVER);
        }
        if (job.delay_ms > 0) {
            rtos_sleep(job.delay_ms);
        }
        bool ok = true;
        while (ok && job.ch != NULL && job.pushed < job.count) {
            for (uint32_t b = 0; ok && b < job.burst && job.pushed < job.count; ++b) {
                ok = push_one();
            }
            if (job.pushed < job.count) {
                if (job.period_ms == 0) {
                    rtos_yield();
                } else {
                    rtos_sleep(job.period_ms);
                }
            }
        }
        if (ok && job.ch != NULL && job.close) {
            awaitq_close(job.ch);
        }
        job.ch = NULL;
    }
}

void harness_producer_shutdown(void) {
    job.ch = NULL;
    shutdown = true;
    rtos_notify(harness_producer_task);
}

static mp_obj_t rtos_start_producer(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_ch, ARG_count, ARG_size, ARG_period_ms, ARG_burst, ARG_delay_ms, ARG_close };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_ch, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_count, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_size, MP_ARG_INT, {.u_int = 16} },
        { MP_QSTR_period_ms, MP_ARG_INT, {.u_int = 5} },
        { MP_QSTR_burst, MP_ARG_INT, {.u_int = 1} },
        { MP_QSTR_delay_ms, MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_close, MP_ARG_BOOL, {.u_bool = true} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed), allowed, args);
    const awaitq_channel_t *ch = awaitq_mp_channel_ptr(args[ARG_ch].u_obj);
    if (ch == NULL) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected awaitq.Channel"));
    }
    if (job.ch != NULL) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("producer busy"));
    }
    mp_int_t size = args[ARG_size].u_int;
    if (args[ARG_count].u_int < 0 || size < 4 || size > MAX_SIZE || args[ARG_period_ms].u_int < 0
        || args[ARG_burst].u_int < 1 || args[ARG_delay_ms].u_int < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad producer arguments"));
    }
    MP_STATE_VM(rtos_producer_channel) = args[ARG_ch].u_obj;   // alive while the task pushes
    job = (job_t) {
        .count = (uint32_t)args[ARG_count].u_int, .size = (uint32_t)size,
        .period_ms = (uint32_t)args[ARG_period_ms].u_int, .burst = (uint32_t)args[ARG_burst].u_int,
        .delay_ms = (uint32_t)args[ARG_delay_ms].u_int, .close = args[ARG_close].u_bool,
    };
    job.ch = ch;
    rtos_notify(harness_producer_task);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(rtos_start_producer_obj, 2, rtos_start_producer);

static void store(mp_obj_t d, qstr key, uint64_t value) {
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(key), mp_obj_new_int_from_ull(value));
}

static mp_obj_t rtos_stats(void) {
    harness_vm_stats_t vm = harness_vm_stats();
    rtos_sched_stats_t sc = rtos_sched_stats();
    mp_obj_t d = mp_obj_new_dict(14);
    store(d, MP_QSTR_pushed, job.pushed);
    store(d, MP_QSTR_full, job.full);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_running), mp_obj_new_bool(job.ch != NULL));
    store(d, MP_QSTR_producer_turns, rtos_task_stats(harness_producer_task).turns);
    store(d, MP_QSTR_vm_turns, vm.turns);
    store(d, MP_QSTR_vm_waits, vm.waits);
    store(d, MP_QSTR_vm_notified, vm.notified);
    store(d, MP_QSTR_vm_timeouts, vm.timeouts);
    store(d, MP_QSTR_vm_idle_calls, vm.idle_calls);
    store(d, MP_QSTR_vm_hook_yields, vm.hook_yields);
    store(d, MP_QSTR_vm_wakes, vm.wakes);
    store(d, MP_QSTR_sched_turns, sc.turns);
    store(d, MP_QSTR_idle_jumps, sc.idle_jumps);
    store(d, MP_QSTR_now_ms, rtos_now_ms());
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(rtos_stats_obj, rtos_stats);

static const mp_rom_map_elem_t rtos_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_rtos) },
    { MP_ROM_QSTR(MP_QSTR_start_producer), MP_ROM_PTR(&rtos_start_producer_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&rtos_stats_obj) },
};
static MP_DEFINE_CONST_DICT(rtos_globals, rtos_globals_table);

const mp_obj_module_t rtos_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&rtos_globals,
};

MP_REGISTER_MODULE(MP_QSTR_rtos, rtos_module);
