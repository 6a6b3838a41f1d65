/*
 * A C extension for MicroPython written against ports/include/awaitq_aw.h (AWAITQ_MICROPYTHON),
 * compiled into the unix test build as the module `aw_ext` (ports/micropython.mk; the code
 * below is the mirror of bind-cpython/tests/cext/aw_ext.c). It implements async functions in
 * C: `execute(conn, query)` (awaits two coroutines of `conn`, combines their results) and
 * small functions that put each callback outcome in each position, logging what ran into a
 * list the test passes (saved value 0 of the awaitable).
 *
 * MicroPython has no "current exception": a callback fails with `return awaitq_aw_raise(aw,
 * exc)` (or by raising through a MicroPython call, which the awaitable catches); a module
 * function raises what a failing call recorded with `nlr_raise(awaitq_mp_aw_take_error())`.
 */
#include <string.h>

#include "py/runtime.h"

#define AWAITQ_MICROPYTHON
#include "awaitq_aw.h"

#if defined(AWAITQ_MP_CONT) && AWAITQ_MP_CONT && \
    (defined(__unix__) || (defined(AWAITQ_MP_AW_EXT) && AWAITQ_MP_AW_EXT))

/* A failing API call in a module function: raise what it recorded. */
#define CHECK(call) do { if ((call) < 0) nlr_raise(awaitq_mp_aw_take_error()); } while (0)

static mp_obj_t call_method1(mp_obj_t obj, qstr name, mp_obj_t arg) {
    mp_obj_t dest[3];
    mp_load_method(obj, name, dest);
    dest[2] = arg;
    return mp_call_method_n_kw(1, 0, dest);
}

static mp_obj_t str(const char *s) {
    return mp_obj_new_str(s, strlen(s));
}

/* ---- execute(conn, query): rows = await conn.fetch(query); n = await conn.count(query);
 * return (rows, n). The values travel between the steps as saved values. */

static int execute_got_count(awaitq_obj_t aw, awaitq_obj_t count) {
    awaitq_obj_t rows;
    if (awaitq_aw_unpack(aw, 3, (awaitq_obj_t *[]){NULL, NULL, &rows}) < 0) return -1;
    mp_obj_t items[2] = {rows, count};
    return awaitq_aw_set_result(aw, mp_obj_new_tuple(2, items));
}

static int execute_got_rows(awaitq_obj_t aw, awaitq_obj_t rows) {
    awaitq_obj_t conn, query;
    if (AWAITQ_AW_UNPACK(aw, &conn, &query) < 0) return -1;
    if (AWAITQ_AW_SAVE(aw, rows) < 0) return -1;
    /* Raising here (an nlr jump) is caught by the awaitable: it raises it. */
    mp_obj_t coro = call_method1(conn, MP_QSTR_count, query);
    return awaitq_aw_add_await(aw, coro, execute_got_count, NULL);
}

static mp_obj_t execute(mp_obj_t conn, mp_obj_t query) {
    mp_obj_t coro = call_method1(conn, MP_QSTR_fetch, query);
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    if (AWAITQ_AW_SAVE(aw, conn, query) < 0 || awaitq_aw_add_await(aw, coro, execute_got_rows, NULL) < 0) {
        mp_obj_t e = awaitq_mp_aw_take_error();
        awaitq_aw_cancel(aw);
        nlr_raise(e);
    }
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_2(execute_obj, execute);

/* ---- helpers: saved value 0 is the log list */

static int log_str(awaitq_obj_t aw, const char *what, mp_obj_t obj) {
    mp_obj_t log = awaitq_aw_get_value(aw, 0);
    if (log == MP_OBJ_NULL) return -1;
    mp_obj_t item = str(what);
    if (obj != MP_OBJ_NULL) {
        mp_obj_t pair[2] = {item, obj};
        item = mp_obj_new_tuple(2, pair);
    }
    mp_obj_list_append(log, item);
    return 0;
}

static awaitq_obj_t new_logged(mp_obj_t log) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    CHECK(awaitq_aw_save(aw, 1, &log));
    return aw;
}

static mp_obj_t exc(const mp_obj_type_t *type, const char *msg) {
    return mp_obj_new_exception_msg_varg(type, MP_ERROR_TEXT("%s"), msg);
}

/* ---- one(awaitable, result_mode, error_mode, log): one await, with the callbacks the modes
 * name. result modes: "set" (result = value), "raise" (ValueError, recorded), "jump" (ValueError
 * raised with an nlr jump), "noexc" (-1, nothing recorded), "drop" (no result callback),
 * "cancel" (adds one more await, then cancels). error modes: "handle" (result = ("handled",
 * exc)), "raise" (KeyError), "decline" (-1, nothing recorded), "reraise" (raises exc itself),
 * "none" (no error callback). */

static int cb_set(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    return awaitq_aw_set_result(aw, v);
}
static int cb_raise(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    return awaitq_aw_raise(aw, exc(&mp_type_ValueError, "raised by the result callback"));
}
static int cb_jump(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    mp_raise_ValueError(MP_ERROR_TEXT("raised by the result callback"));
}
static int cb_noexc(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    return -1;
}
static int cb_cancel(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    if (awaitq_aw_set_result(aw, v) < 0) return -1;
    /* A coroutine queued and dropped at once (closed, never run). */
    /* (no MP_QSTR_asyncio: a static qstr that frozen asyncio also defines breaks incremental
     * builds of the frozen content) */
    mp_obj_t asyncio = mp_import_name(qstr_from_str("asyncio"), mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    mp_obj_t coro = call_method1(asyncio, MP_QSTR_sleep, MP_OBJ_NEW_SMALL_INT(3600));
    if (awaitq_aw_add_await(aw, coro, cb_set, NULL) < 0) return -1;
    return awaitq_aw_cancel(aw);
}
static int eb_handle(awaitq_obj_t aw, awaitq_obj_t e) {
    if (log_str(aw, "error", e) < 0) return -1;
    mp_obj_t res[2] = {str("handled"), e};
    return awaitq_aw_set_result(aw, mp_obj_new_tuple(2, res));
}
static int eb_raise(awaitq_obj_t aw, awaitq_obj_t e) {
    if (log_str(aw, "error", e) < 0) return -1;
    return awaitq_aw_raise(aw, exc(&mp_type_KeyError, "raised by the error callback"));
}
static int eb_decline(awaitq_obj_t aw, awaitq_obj_t e) {
    if (log_str(aw, "error", e) < 0) return -1;
    return -1;
}
static int eb_reraise(awaitq_obj_t aw, awaitq_obj_t e) {
    if (log_str(aw, "error", e) < 0) return -1;
    return awaitq_aw_raise(aw, e);
}

static awaitq_aw_result_cb result_mode(const char *m) {
    if (!strcmp(m, "set")) return cb_set;
    if (!strcmp(m, "raise")) return cb_raise;
    if (!strcmp(m, "jump")) return cb_jump;
    if (!strcmp(m, "noexc")) return cb_noexc;
    if (!strcmp(m, "cancel")) return cb_cancel;
    return NULL; /* "drop" */
}
static awaitq_aw_error_cb error_mode(const char *m) {
    if (!strcmp(m, "handle")) return eb_handle;
    if (!strcmp(m, "raise")) return eb_raise;
    if (!strcmp(m, "decline")) return eb_decline;
    if (!strcmp(m, "reraise")) return eb_reraise;
    return NULL; /* "none" */
}

static mp_obj_t one(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    awaitq_obj_t aw = new_logged(args[3]);
    CHECK(awaitq_aw_add_await(aw, args[0], result_mode(mp_obj_str_get_str(args[1])),
        error_mode(mp_obj_str_get_str(args[2]))));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(one_obj, 4, 4, one);

/* ---- steps(awaitables, log): awaits each in turn; each result callback appends the value
 * to a list (saved value 1) and queues the next; the result is the list. */

static int steps_next(awaitq_obj_t aw);

static int steps_got(awaitq_obj_t aw, awaitq_obj_t v) {
    awaitq_obj_t out;
    if (AWAITQ_AW_UNPACK(aw, NULL, &out) < 0) return -1;
    mp_obj_list_append(out, v);
    return steps_next(aw);
}

static int steps_next(awaitq_obj_t aw) {
    awaitq_obj_t out, it;
    if (AWAITQ_AW_UNPACK(aw, NULL, &out, &it) < 0) return -1;
    mp_obj_t next = mp_iternext(it);
    if (next == MP_OBJ_STOP_ITERATION) {
        return awaitq_aw_set_result(aw, out);
    }
    return awaitq_aw_add_await(aw, next, steps_got, NULL);
}

static mp_obj_t steps(mp_obj_t awaitables, mp_obj_t log) {
    mp_obj_t it = mp_getiter(awaitables, NULL);
    mp_obj_t out = mp_obj_new_list(0, NULL);
    awaitq_obj_t aw = new_logged(log);
    CHECK(AWAITQ_AW_SAVE(aw, out, it));
    CHECK(steps_next(aw));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_2(steps_obj, steps);

/* ---- chain(awaitables): awaits each in turn, keeping only a count (saved value 1, replaced
 * with set_value) and the last value; returns (count, last). For very long chains. */

static int chain_next(awaitq_obj_t aw);

static int chain_got(awaitq_obj_t aw, awaitq_obj_t v) {
    awaitq_obj_t n;
    if (AWAITQ_AW_UNPACK(aw, NULL, &n) < 0) return -1;
    if (awaitq_aw_set_value(aw, 1, MP_OBJ_NEW_SMALL_INT(MP_OBJ_SMALL_INT_VALUE(n) + 1)) < 0) return -1;
    if (awaitq_aw_set_value(aw, 2, v) < 0) return -1;
    return chain_next(aw);
}

static int chain_next(awaitq_obj_t aw) {
    awaitq_obj_t it, n, last;
    if (awaitq_aw_unpack(aw, 3, (awaitq_obj_t *[]){&it, &n, &last}) < 0) return -1;
    mp_obj_t next = mp_iternext(it);
    if (next == MP_OBJ_STOP_ITERATION) {
        mp_obj_t items[2] = {n, last};
        return awaitq_aw_set_result(aw, mp_obj_new_tuple(2, items));
    }
    return awaitq_aw_add_await(aw, next, chain_got, NULL);
}

static mp_obj_t chain(mp_obj_t awaitables) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    CHECK(AWAITQ_AW_SAVE(aw, mp_getiter(awaitables, NULL), MP_OBJ_NEW_SMALL_INT(0), mp_const_none));
    CHECK(chain_next(aw));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_1(chain_obj, chain);

/* ---- nested(a, b, c, log): `a` and `b` are queued before the start; a's result callback
 * adds `c`, which runs next (before `b`: the rest of the callback's code). Each value is
 * logged; the result is None. */

static int nested_log(awaitq_obj_t aw, awaitq_obj_t v) {
    return log_str(aw, "value", v);
}

static int nested_add_c(awaitq_obj_t aw, awaitq_obj_t v) {
    awaitq_obj_t c;
    if (log_str(aw, "value", v) < 0) return -1;
    if (AWAITQ_AW_UNPACK(aw, NULL, &c) < 0) return -1;
    return awaitq_aw_add_await(aw, c, nested_log, NULL);
}

static mp_obj_t nested(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    awaitq_obj_t aw = new_logged(args[3]);
    CHECK(awaitq_aw_save(aw, 1, &args[2]));
    CHECK(awaitq_aw_add_await(aw, args[0], nested_add_c, NULL));
    CHECK(awaitq_aw_add_await(aw, args[1], nested_log, NULL));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(nested_obj, 4, 4, nested);

/* ---- deferred(first, factory, log): `first` runs, then a deferred decision calls factory()
 * and awaits what it returns (factory raising: the awaitable raises). */

static int deferred_decide(awaitq_obj_t aw) {
    awaitq_obj_t factory;
    if (AWAITQ_AW_UNPACK(aw, NULL, &factory) < 0) return -1;
    if (log_str(aw, "decide", MP_OBJ_NULL) < 0) return -1;
    mp_obj_t a = mp_call_function_0(factory);
    return awaitq_aw_add_await(aw, a, cb_set, NULL);
}

static mp_obj_t deferred(mp_obj_t first, mp_obj_t factory, mp_obj_t log) {
    awaitq_obj_t aw = new_logged(log);
    CHECK(awaitq_aw_save(aw, 1, &factory));
    CHECK(awaitq_aw_add_await(aw, first, NULL, NULL));
    CHECK(awaitq_aw_defer_await(aw, deferred_decide));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_3(deferred_obj, deferred);

/* ---- with_(cm, body, log, on_error_mode): async with cm as v: await body(v). The body
 * factory raising makes the with-block fail before it awaits anything. The statement's
 * errors go to the error callback of `on_error_mode`. The result is set by the body's await
 * (the block's result is the outer awaitable's). */

static int with_body(awaitq_obj_t block, awaitq_obj_t value) {
    awaitq_obj_t body;
    if (AWAITQ_AW_UNPACK(block, NULL, &body) < 0) return -1; /* the outer's saved values */
    if (log_str(block, "body", value) < 0) return -1;
    mp_obj_t a = mp_call_function_1(body, value);
    return awaitq_aw_add_await(block, a, cb_set, NULL);
}

static mp_obj_t with_(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    awaitq_obj_t aw = new_logged(args[2]);
    CHECK(awaitq_aw_save(aw, 1, &args[1]));
    CHECK(awaitq_aw_async_with(aw, args[0], with_body, error_mode(mp_obj_str_get_str(args[3]))));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(with_obj, 4, 4, with_);

/* ---- ready(value): completes at once with `value`; await_one(awaitable): returns its value. */

static mp_obj_t ready(mp_obj_t value) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    CHECK(awaitq_aw_set_result(aw, value));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_1(ready_obj, ready);

static int set_value_cb(awaitq_obj_t aw, awaitq_obj_t v) { return awaitq_aw_set_result(aw, v); }

static mp_obj_t await_one(mp_obj_t awaitable) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    CHECK(awaitq_aw_add_await(aw, awaitable, set_value_cb, NULL));
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_1(await_one_obj, await_one);

/* ---- queued(awaitables): queued before the start, awaited in order, values dropped. */

static mp_obj_t queued(mp_obj_t awaitables) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    mp_obj_t it = mp_getiter(awaitables, NULL), a;
    while ((a = mp_iternext(it)) != MP_OBJ_STOP_ITERATION) {
        CHECK(awaitq_aw_add_await(aw, a, NULL, NULL));
    }
    return aw;
}
static MP_DEFINE_CONST_FUN_OBJ_1(queued_obj, queued);

/* ---- cancel_now(aw): awaitq_aw_cancel from outside a callback. */

static mp_obj_t cancel_now(mp_obj_t aw) {
    CHECK(awaitq_aw_cancel(aw));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(cancel_now_obj, cancel_now);

/* ---- API misuse: each returns the exception it recorded (or None). */

static mp_obj_t recorded(int failed) {
    return failed ? awaitq_mp_aw_take_error() : mp_const_none;
}

static mp_obj_t misuse(size_t n_args, const mp_obj_t *args) {
    const char *what = mp_obj_str_get_str(args[0]);
    mp_obj_t arg = n_args > 1 ? args[1] : mp_const_none;
    if (!strcmp(what, "null_aw")) return recorded(awaitq_aw_set_result(MP_OBJ_NULL, mp_const_none) < 0);
    if (!strcmp(what, "wrong_type")) return recorded(awaitq_aw_set_result(arg, mp_const_none) < 0);
    if (!strcmp(what, "null_awaitable")) return recorded(awaitq_aw_add_await(awaitq_aw_new(), MP_OBJ_NULL, NULL, NULL) < 0);
    if (!strcmp(what, "add_after_finish")) return recorded(awaitq_aw_add_await(arg, mp_const_none, NULL, NULL) < 0);
    if (!strcmp(what, "result_after_finish")) return recorded(awaitq_aw_set_result(arg, mp_const_none) < 0);
    if (!strcmp(what, "unpack_too_many")) {
        awaitq_obj_t aw = awaitq_aw_new(), a, b;
        CHECK(AWAITQ_AW_SAVE(aw, mp_const_none));
        return recorded(AWAITQ_AW_UNPACK(aw, &a, &b) < 0);
    }
    if (!strcmp(what, "save_null_item")) {
        awaitq_obj_t aw = awaitq_aw_new();
        mp_obj_t r = recorded(AWAITQ_AW_SAVE(aw, mp_const_none, MP_OBJ_NULL) < 0);
        /* all or nothing: nothing was saved */
        if (awaitq_aw_get_value(aw, 0) != MP_OBJ_NULL) {
            mp_raise_msg(&mp_type_AssertionError, MP_ERROR_TEXT("a failed save kept a value"));
        }
        awaitq_mp_aw_take_error(); /* get_value's expected error */
        return r;
    }
    if (!strcmp(what, "get_value_range")) return recorded(awaitq_aw_get_value(awaitq_aw_new(), 2) == MP_OBJ_NULL);
    if (!strcmp(what, "not_cm")) return recorded(awaitq_aw_async_with(awaitq_aw_new(), arg, with_body, NULL) < 0);
    if (!strcmp(what, "defer_null")) return recorded(awaitq_aw_defer_await(awaitq_aw_new(), NULL) < 0);
    if (!strcmp(what, "raise_type")) return recorded(awaitq_aw_raise(MP_OBJ_NULL, MP_OBJ_FROM_PTR(&mp_type_LookupError)) < 0);
    if (!strcmp(what, "nothing_recorded")) return awaitq_mp_aw_take_error();
    mp_raise_ValueError(MP_ERROR_TEXT("unknown misuse"));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(misuse_obj, 1, 2, misuse);

/* ---- values(): saved objects and pointers, get/set by index. */

static mp_obj_t values(void) {
    static int x, y;
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == MP_OBJ_NULL) nlr_raise(awaitq_mp_aw_take_error());
    mp_obj_t one = MP_OBJ_NEW_SMALL_INT(1), two = MP_OBJ_NEW_SMALL_INT(2);
    void *px = NULL, *py = NULL;
    awaitq_obj_t a = MP_OBJ_NULL, b = MP_OBJ_NULL;
    CHECK(AWAITQ_AW_SAVE(aw, one, two));
    CHECK(awaitq_aw_save_ptr(aw, 2, (void *[]){&x, &y}));
    CHECK(awaitq_aw_unpack_ptr(aw, 2, (void **[]){&px, &py}));
    CHECK(awaitq_aw_set_value(aw, 0, two));
    CHECK(AWAITQ_AW_UNPACK(aw, &a, &b));
    mp_obj_t items[5] = {
        a, b, mp_obj_new_bool(px == &x && py == &y),
        MP_OBJ_NEW_SMALL_INT(awaitq_aw_check(aw)), MP_OBJ_NEW_SMALL_INT(awaitq_aw_check(one)),
    };
    return mp_obj_new_tuple(5, items);
}
static MP_DEFINE_CONST_FUN_OBJ_0(values_obj, values);

static const mp_rom_map_elem_t aw_ext_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_aw_ext) },
    { MP_ROM_QSTR(MP_QSTR_execute), MP_ROM_PTR(&execute_obj) },
    { MP_ROM_QSTR(MP_QSTR_one), MP_ROM_PTR(&one_obj) },
    { MP_ROM_QSTR(MP_QSTR_steps), MP_ROM_PTR(&steps_obj) },
    { MP_ROM_QSTR(MP_QSTR_chain), MP_ROM_PTR(&chain_obj) },
    { MP_ROM_QSTR(MP_QSTR_nested), MP_ROM_PTR(&nested_obj) },
    { MP_ROM_QSTR(MP_QSTR_deferred), MP_ROM_PTR(&deferred_obj) },
    { MP_ROM_QSTR(MP_QSTR_with_), MP_ROM_PTR(&with_obj) },
    { MP_ROM_QSTR(MP_QSTR_ready), MP_ROM_PTR(&ready_obj) },
    { MP_ROM_QSTR(MP_QSTR_await_one), MP_ROM_PTR(&await_one_obj) },
    { MP_ROM_QSTR(MP_QSTR_queued), MP_ROM_PTR(&queued_obj) },
    { MP_ROM_QSTR(MP_QSTR_cancel_now), MP_ROM_PTR(&cancel_now_obj) },
    { MP_ROM_QSTR(MP_QSTR_misuse), MP_ROM_PTR(&misuse_obj) },
    { MP_ROM_QSTR(MP_QSTR_values), MP_ROM_PTR(&values_obj) },
};
static MP_DEFINE_CONST_DICT(aw_ext_globals, aw_ext_globals_table);

const mp_obj_module_t aw_ext_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&aw_ext_globals,
};

MP_REGISTER_MODULE(MP_QSTR_aw_ext, aw_ext_module);

#endif
