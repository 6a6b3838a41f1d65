// awaitq.testing.cont: Rust futures on MicroPython (src/cont/testing.rs) for the tests, and
// Signal, which a native pthread sets. Unix port with threads, native awaitables compiled in.
//
//   ready(v)                  a future that completes at once with v
//   await_each(awaitables)    py_await each in turn; the list of their values
//   await_catching(a)         py_await a; its value, or the exception it raised
//   join_two(a, b)            two py_awaits polled at once (the second is refused)
//   poll_outside(a)           py_await(a) polled by another executor: the exception it returns
//   yield_now(n)              wakes itself n times, then returns n (no yield to the driver)
//   wait_signal(sig, v, times=1)  waits on its Waker until sig was set `times` times
//   live_futures()            Rust futures not yet dropped
//   Signal(): set() (VM thread), set_later(seconds) (a pthread sleeps, then sets)
//
// Signal's Rust state lives in libc memory (no GC pointers in it: counters and a Waker, whose
// data is a wake-slot handle), so the pthread never touches the GC heap; the Signal's
// finaliser joins the thread before freeing it, and a waiting future keeps the Signal alive.
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "py/runtime.h"
#include "py/mpthread.h"

#include "internal.h"

#if AWAITQ_MP_CONT && AWAITQ_MP_HAVE_TESTING

static mp_obj_t made(bool ok, mp_obj_t out) {
    if (!ok) {
        nlr_raise(out);
    }
    return out;
}

static mp_obj_t t_ready(mp_obj_t value) {
    mp_obj_t out;
    bool ok = awaitq_mp_testing_ready(value, &out);
    return made(ok, out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(t_ready_obj, t_ready);

static mp_obj_t t_await_each(mp_obj_t awaitables) {
    mp_obj_t tuple = mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_tuple), awaitables);
    size_t n;
    mp_obj_t *items;
    mp_obj_tuple_get(tuple, &n, &items);
    mp_obj_t list = mp_obj_new_list(0, NULL);
    mp_obj_t append = mp_load_attr(list, MP_QSTR_append);
    mp_obj_t out;
    bool ok = awaitq_mp_testing_await_each(tuple, items, n, append, list, &out);
    return made(ok, out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(t_await_each_obj, t_await_each);

static mp_obj_t t_await_catching(mp_obj_t a) {
    mp_obj_t out;
    bool ok = awaitq_mp_testing_await_catching(a, &out);
    return made(ok, out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(t_await_catching_obj, t_await_catching);

static mp_obj_t t_join_two(mp_obj_t a, mp_obj_t b) {
    mp_obj_t out;
    bool ok = awaitq_mp_testing_join_two(a, b, &out);
    return made(ok, out);
}
static MP_DEFINE_CONST_FUN_OBJ_2(t_join_two_obj, t_join_two);

static mp_obj_t t_poll_outside(mp_obj_t a) {
    return awaitq_mp_testing_poll_outside(a);
}
static MP_DEFINE_CONST_FUN_OBJ_1(t_poll_outside_obj, t_poll_outside);

static mp_obj_t t_yield_now(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    mp_obj_t out;
    bool ok = awaitq_mp_testing_yield_now(n < 0 ? 0 : (size_t)n, n_in, &out);
    return made(ok, out);
}
static MP_DEFINE_CONST_FUN_OBJ_1(t_yield_now_obj, t_yield_now);

static mp_obj_t t_live_futures(void) {
    return mp_obj_new_int_from_uint(awaitq_mp_testing_live());
}
static MP_DEFINE_CONST_FUN_OBJ_0(t_live_futures_obj, t_live_futures);

// ---- Signal

typedef struct _signal_obj_t {
    mp_obj_base_t base;
    awaitq_mp_signal_state_t *state;    // libc memory, freed by the finaliser
    pthread_t thread;
    uint64_t delay_ns;
    bool started;                       // a set_later thread exists and is not joined
} signal_obj_t;

static const mp_obj_type_t signal_type;

static signal_obj_t *signal_of(mp_obj_t obj) {
    if (!mp_obj_is_type(obj, &signal_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("expected a Signal"));
    }
    return MP_OBJ_TO_PTR(obj);
}

static void *signal_main(void *arg) {
    signal_obj_t *s = arg;
    struct timespec t = { (time_t)(s->delay_ns / 1000000000u), (long)(s->delay_ns % 1000000000u) };
    while (nanosleep(&t, &t) != 0) {
    }
    awaitq_mp_testing_signal_set(s->state);  // touches only the libc state
    return NULL;
}

static void signal_join(signal_obj_t *s) {
    if (s->started) {
        MP_THREAD_GIL_EXIT();
        pthread_join(s->thread, NULL);
        MP_THREAD_GIL_ENTER();
        s->started = false;
    }
}

static mp_obj_t signal_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    signal_obj_t *s = m_malloc_with_finaliser(sizeof(signal_obj_t));
    s->base.type = type;
    s->started = false;
    s->state = malloc(awaitq_mp_testing_signal_size());
    if (s->state == NULL) {
        mp_raise_type(&mp_type_MemoryError);
    }
    awaitq_mp_testing_signal_init(s->state);
    return MP_OBJ_FROM_PTR(s);
}

static mp_obj_t signal_set(mp_obj_t self_in) {
    awaitq_mp_testing_signal_set(signal_of(self_in)->state);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(signal_set_obj, signal_set);

// set_later(seconds): a native thread sleeps, then sets (a previous one is joined first).
static mp_obj_t signal_set_later(mp_obj_t self_in, mp_obj_t delay_in) {
    signal_obj_t *s = signal_of(self_in);
    mp_float_t delay = mp_obj_get_float(delay_in);
    signal_join(s);
    s->delay_ns = delay > 0 ? (uint64_t)(delay * 1e9) : 0;
    int err = pthread_create(&s->thread, NULL, signal_main, s);
    if (err != 0) {
        mp_raise_OSError(err);
    }
    s->started = true;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(signal_set_later_obj, signal_set_later);

static mp_obj_t signal_del(mp_obj_t self_in) {
    signal_obj_t *s = MP_OBJ_TO_PTR(self_in);
    signal_join(s);
    free(s->state);
    s->state = NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(signal_del_obj, signal_del);

static const mp_rom_map_elem_t signal_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&signal_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_set), MP_ROM_PTR(&signal_set_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_later), MP_ROM_PTR(&signal_set_later_obj) },
};
static MP_DEFINE_CONST_DICT(signal_locals, signal_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    signal_type, MP_QSTR_Signal, MP_TYPE_FLAG_NONE,
    make_new, signal_make_new,
    locals_dict, &signal_locals
    );

static mp_obj_t t_wait_signal(size_t n_args, const mp_obj_t *args) {
    signal_obj_t *s = signal_of(args[0]);
    mp_int_t times = n_args > 2 ? mp_obj_get_int(args[2]) : 1;
    mp_obj_t out;
    bool ok = awaitq_mp_testing_wait_signal(args[0], s->state, args[1], times < 0 ? 0 : (uint32_t)times, &out);
    return made(ok, out);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(t_wait_signal_obj, 2, 3, t_wait_signal);

static const mp_rom_map_elem_t testing_cont_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_cont) },
    { MP_ROM_QSTR(MP_QSTR_ready), MP_ROM_PTR(&t_ready_obj) },
    { MP_ROM_QSTR(MP_QSTR_await_each), MP_ROM_PTR(&t_await_each_obj) },
    { MP_ROM_QSTR(MP_QSTR_await_catching), MP_ROM_PTR(&t_await_catching_obj) },
    { MP_ROM_QSTR(MP_QSTR_join_two), MP_ROM_PTR(&t_join_two_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll_outside), MP_ROM_PTR(&t_poll_outside_obj) },
    { MP_ROM_QSTR(MP_QSTR_yield_now), MP_ROM_PTR(&t_yield_now_obj) },
    { MP_ROM_QSTR(MP_QSTR_wait_signal), MP_ROM_PTR(&t_wait_signal_obj) },
    { MP_ROM_QSTR(MP_QSTR_live_futures), MP_ROM_PTR(&t_live_futures_obj) },
    { MP_ROM_QSTR(MP_QSTR_Signal), MP_ROM_PTR(&signal_type) },
};
static MP_DEFINE_CONST_DICT(testing_cont_globals, testing_cont_globals_table);

const mp_obj_module_t awaitq_mp_testing_cont_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&testing_cont_globals,
};

#endif
