// awaitq.testing: spawn_producer(ch, count, size=16, rate_hz=None, close=False) -> Producer.
// A native producer on a pthread the VM knows nothing about, pushing through the public C ABI
// (awaitq_push) exactly as firmware code does. Unix port with threads only.
//
// Lifetime (ports/awaitq_mp.h): the thread touches only the channel's core, which lives in a
// GC block owned by the Channel object. The Producer object references the Channel and sits in
// a root-pointer list (awaitq_producers) until joined, so neither can be collected while the
// thread runs; Producer's finaliser (which also runs at interpreter exit, before the heap is
// released) stops and joins the thread.
#include "py/runtime.h"
#include "py/mphal.h"
#include "py/mpthread.h"
#include "py/objint.h"

#include "awaitq_mp.h"
#include "internal.h"

#if AWAITQ_MP_HAVE_TESTING

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

typedef struct _producer_obj_t {
    mp_obj_base_t base;
    mp_obj_t channel;                   // keeps the Channel (and its core) alive
    const awaitq_channel_t *core;
    pthread_t thread;
    uint32_t count;
    uint32_t size;
    uint64_t period_ns;                 // 0: as fast as possible
    bool close_after;
    bool started;
    bool joined;
    volatile uint32_t pushed;           // written by the thread, read by join()
    volatile int running;               // 1 until the thread's last store
    volatile int stop;                  // set by the finaliser
} producer_obj_t;

MP_REGISTER_ROOT_POINTER(mp_obj_t awaitq_producers);

// How long a producer waits before retrying a push that found the channel full.
#define PRODUCER_FULL_RETRY_NS (20000)

static void add_ns(struct timespec *t, uint64_t ns) {
    uint64_t n = (uint64_t)t->tv_nsec + ns;
    t->tv_sec += n / 1000000000u;
    t->tv_nsec = n % 1000000000u;
}

// Frame k: tag k, payload = k as u32 little-endian, then (size - 4) bytes of k & 0xFF.
static void fill_frame(uint8_t *frame, uint32_t k, uint32_t size) {
    frame[0] = k & 0xFF;
    frame[1] = (k >> 8) & 0xFF;
    frame[2] = (k >> 16) & 0xFF;
    frame[3] = (k >> 24) & 0xFF;
    memset(frame + 4, k & 0xFF, size - 4);
}

static void *producer_main(void *arg) {
    producer_obj_t *p = arg;
    // libc memory, not the GC heap: this thread must never allocate from MicroPython.
    uint8_t *frame = malloc(p->size);
    #if defined(__linux__)
    // Linux rounds sleeps up by the thread's timer slack (50 us by default), which would turn
    // rate_hz pacing and the full-channel retry into much longer waits than asked for.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    #endif
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    bool closed = frame == NULL;
    for (uint32_t k = 0; k < p->count && !closed && !p->stop; ++k) {
        fill_frame(frame, k, p->size);
        if (p->period_ns) {
            add_ns(&next, p->period_ns);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
            }
        }
        for (;;) {
            awaitq_status_t st = awaitq_push(p->core, k, frame, p->size);
            if (st == AWAITQ_OK) {
                __atomic_store_n(&p->pushed, k + 1, __ATOMIC_RELEASE);
                break;
            }
            if (st != AWAITQ_FULL || p->stop) {
                closed = true;  // closed (or being torn down): stop early
                break;
            }
            // Full under "reject": wait for the consumer, so nothing is lost.
            struct timespec pause = {0, PRODUCER_FULL_RETRY_NS};
            nanosleep(&pause, NULL);
        }
    }
    if (p->close_after && !p->stop) {
        awaitq_close(p->core);
    }
    free(frame);
    __atomic_store_n(&p->running, 0, __ATOMIC_RELEASE);
    return NULL;
}

static void producer_list_remove(mp_obj_t p) {
    mp_obj_t list = MP_STATE_VM(awaitq_producers);
    if (list != MP_OBJ_NULL) {
        mp_obj_t dest[3];
        mp_load_method(list, MP_QSTR_remove, dest);
        size_t len;
        mp_obj_t *items;
        mp_obj_list_get(list, &len, &items);
        for (size_t i = 0; i < len; ++i) {
            if (items[i] == p) {
                dest[2] = p;
                mp_call_method_n_kw(1, 0, dest);
                return;
            }
        }
    }
}

static void producer_join_thread(producer_obj_t *p) {
    if (p->started && !p->joined) {
        MP_THREAD_GIL_EXIT();
        pthread_join(p->thread, NULL);
        MP_THREAD_GIL_ENTER();
        p->joined = true;
    }
}

// Reaps finished producers nobody joined, so the root list does not grow without bound.
static void producer_list_prune(void) {
    mp_obj_t list = MP_STATE_VM(awaitq_producers);
    size_t len;
    mp_obj_t *items;
    mp_obj_list_get(list, &len, &items);
    for (size_t i = len; i-- > 0;) {
        producer_obj_t *p = MP_OBJ_TO_PTR(items[i]);
        if (!__atomic_load_n(&p->running, __ATOMIC_ACQUIRE)) {
            producer_join_thread(p);  // returns at once: the thread has finished
            producer_list_remove(items[i]);
            mp_obj_list_get(list, &len, &items);
        }
    }
}

// join() -> frames pushed. Blocks this thread only (the unix port has no GIL to hold).
static mp_obj_t producer_join(mp_obj_t self_in) {
    producer_obj_t *p = MP_OBJ_TO_PTR(self_in);
    producer_join_thread(p);
    producer_list_remove(self_in);
    return mp_obj_new_int_from_uint(__atomic_load_n(&p->pushed, __ATOMIC_ACQUIRE));
}
static MP_DEFINE_CONST_FUN_OBJ_1(producer_join_obj, producer_join);

// Finaliser (a collected Producer, or interpreter exit): stop the thread before its memory goes.
static mp_obj_t producer_del(mp_obj_t self_in) {
    producer_obj_t *p = MP_OBJ_TO_PTR(self_in);
    p->stop = 1;
    producer_join_thread(p);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(producer_del_obj, producer_del);

static void producer_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    producer_obj_t *p = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL && attr == MP_QSTR_running) {
        dest[0] = mp_obj_new_bool(__atomic_load_n(&p->running, __ATOMIC_ACQUIRE));
    } else if (dest[0] == MP_OBJ_NULL) {
        dest[1] = MP_OBJ_SENTINEL;
    }
}

static const mp_rom_map_elem_t producer_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&producer_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_join), MP_ROM_PTR(&producer_join_obj) },
};
static MP_DEFINE_CONST_DICT(producer_locals, producer_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    producer_type, MP_QSTR_Producer, MP_TYPE_FLAG_NONE,
    attr, producer_attr,
    locals_dict, &producer_locals
    );

static mp_obj_t spawn_producer(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_ch, ARG_count, ARG_size, ARG_rate_hz, ARG_close };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_ch, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_count, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_size, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(16)} },
        { MP_QSTR_rate_hz, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_close, MP_ARG_BOOL, {.u_bool = false} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    mp_obj_t ch = args[ARG_ch].u_obj;
    const awaitq_channel_t *core = awaitq_mp_channel_ptr(ch);
    if (core == NULL) {
        mp_raise_TypeError(MP_ERROR_TEXT("ch must be an awaitq.Channel"));
    }
    // Frame k carries k as its tag, a u32: more frames than that cannot be numbered.
    awaitq_mp_error_t arg_err;
    mp_obj_t count_in = args[ARG_count].u_obj;
    if (mp_obj_is_int(count_in) && mp_obj_int_sign(count_in) < 0 &&
        !awaitq_mp_check_count(-1, &arg_err)) {
        awaitq_mp_raise(&arg_err);  // negative: refused as on CPython (the core's rule)
    }
    uint64_t count = (uint64_t)awaitq_mp_get_size(count_in, MP_QSTR_count);  // >= 0
    count = MIN(count, UINT32_MAX);
    mp_int_t size = awaitq_mp_get_size(args[ARG_size].u_obj, MP_QSTR_size);
    size_t max_frame = ((awaitq_mp_channel_obj_t *)MP_OBJ_TO_PTR(ch))->max_frame;
    if (size < 4 || (size_t)size > max_frame) {
        mp_raise_msg_varg(&mp_type_ValueError,
            MP_ERROR_TEXT("size must be between 4 and max_frame (%u), got %d"), (unsigned)max_frame, (int)size);
    }
    uint64_t period_ns = 0;
    if (args[ARG_rate_hz].u_obj != mp_const_none) {
        #if MICROPY_PY_BUILTINS_FLOAT
        mp_float_t rate = mp_obj_get_float(args[ARG_rate_hz].u_obj);
        #else
        mp_int_t rate = mp_obj_get_int(args[ARG_rate_hz].u_obj);
        #endif
        if (!awaitq_mp_period_ns((double)rate, &period_ns, &arg_err)) {
            awaitq_mp_raise(&arg_err);  // the core's range, as on CPython
        }
    }

    // Allocate and register before the thread exists, so a MemoryError leaves nothing running.
    producer_obj_t *p = m_malloc_with_finaliser(sizeof(producer_obj_t));
    memset(p, 0, sizeof(*p));
    p->base.type = &producer_type;
    p->channel = ch;
    p->core = core;
    p->count = (uint32_t)count;
    p->size = (uint32_t)size;
    p->period_ns = period_ns;
    p->close_after = args[ARG_close].u_bool;
    p->running = 1;
    if (MP_STATE_VM(awaitq_producers) == MP_OBJ_NULL) {
        MP_STATE_VM(awaitq_producers) = mp_obj_new_list(0, NULL);
    }
    producer_list_prune();
    mp_obj_list_append(MP_STATE_VM(awaitq_producers), MP_OBJ_FROM_PTR(p));
    int err = pthread_create(&p->thread, NULL, producer_main, p);
    if (err != 0) {
        p->running = 0;
        producer_list_remove(MP_OBJ_FROM_PTR(p));
        mp_raise_OSError(err);
    }
    p->started = true;
    return MP_OBJ_FROM_PTR(p);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(spawn_producer_obj, 2, spawn_producer);

static const mp_rom_map_elem_t testing_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_testing) },
    { MP_ROM_QSTR(MP_QSTR_spawn_producer), MP_ROM_PTR(&spawn_producer_obj) },
    { MP_ROM_QSTR(MP_QSTR_Producer), MP_ROM_PTR(&producer_type) },
    #if AWAITQ_MP_CONT
    { MP_ROM_QSTR(MP_QSTR_cont), MP_ROM_PTR(&awaitq_mp_testing_cont_module) },
    #endif
};
static MP_DEFINE_CONST_DICT(testing_globals, testing_globals_table);

const mp_obj_module_t awaitq_mp_testing_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&testing_globals,
};

#endif // AWAITQ_MP_HAVE_TESTING
