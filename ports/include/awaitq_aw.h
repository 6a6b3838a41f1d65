/*
 * awaitq_aw.h: native awaitables for C extensions. Native code awaits Python awaitables
 * (a coroutine, an asyncio future, anything with __await__ or the iterator protocol), gets
 * each outcome in a callback, may await again, and finishes with a value or an exception.
 * The object is an ordinary awaitable: return it from a C function and Python awaits it.
 *
 * Hand-written (the producer header awaitq.h is generated). One header for both targets:
 *   - CPython: the functions come from the `awaitq._C_API` capsule (no linking against awaitq,
 *     works with the abi3 wheel). Call awaitq_aw_import() once, in your module's init.
 *   - MicroPython (define AWAITQ_MICROPYTHON): the same functions, linked from the awaitq
 *     user module; awaitq_aw_import() is a no-op.
 * Every function must be called holding the GIL (CPython) / from the VM thread (MicroPython).
 * "An exception raised" means, on MicroPython, recorded for awaitq_mp_aw_take_error() (below).
 *
 *     static int got_row(awaitq_obj_t aw, awaitq_obj_t row) {
 *         return awaitq_aw_set_result(aw, row);
 *     }
 *     static PyObject *fetch(PyObject *self, PyObject *query_coro) {
 *         awaitq_obj_t aw = awaitq_aw_new();
 *         if (!aw) return NULL;
 *         if (awaitq_aw_add_await(aw, query_coro, got_row, NULL) < 0) {
 *             awaitq_aw_cancel(aw);   // closes what is queued: no "never awaited" warning
 *             Py_DECREF(aw);
 *             return NULL;
 *         }
 *         return aw;                  // `await fetch(coro)` returns the row
 *     }
 *
 * Semantics (the rules are awaitq-core's `cont` module, shared by both targets):
 *   - Awaits run one after another. While one runs, the native awaitable is a transparent
 *     `yield from`: what it yields goes to the event loop / scheduler unchanged, and send()
 *     and throw() come back down to it unchanged.
 *   - Awaits added by a callback run next (before awaits queued earlier), in the order added,
 *     as the rest of the callback's code would after an `await`. Awaits added before the
 *     awaitable starts run in the order added.
 *   - A result callback that fails raises from the awaitable; the same entry's error callback
 *     is NOT called (try / except / else). An error callback sees the exceptions of its await:
 *     the awaited object raised, it was not awaitable, or a throw() (task.cancel(), a timeout)
 *     that went through the awaited coroutine first (its except/finally ran).
 *   - close() (the awaitable being discarded, or garbage collected unfinished) closes the
 *     awaited object (its finally runs), closes queued coroutines and runs no callback.
 *   - The first send() must be None; resuming a running awaitable is ValueError; resuming a
 *     finished one is RuntimeError; adding to a finished one is RuntimeError.
 * Differences from PyAwaitable, on purpose: a result callback's -1 does not call the error
 * callback; awaits added by a callback run next, not at the end of the queue; throw() is
 * forwarded into the awaited coroutine before the error callback sees the exception; close()
 * runs no callback; the awaited object's yields and the driver's send() values pass through.
 */
#ifndef AWAITQ_AW_H
#define AWAITQ_AW_H

#include <stddef.h>

#ifdef AWAITQ_MICROPYTHON
#include "py/obj.h"
typedef mp_obj_t awaitq_obj_t; /* NULL == MP_OBJ_NULL */
#else
#include <Python.h>
#include "awaitq.h" /* awaitq_producer_api_t: the capsule's first part */
typedef PyObject *awaitq_obj_t;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Callbacks get `aw` (the awaitable the await was added to) and a borrowed object, valid
 * during the call.
 * Result callback: 0 = ok; -1 = an exception is raised (it is raised from the awaitable). */
typedef int (*awaitq_aw_result_cb)(awaitq_obj_t aw, awaitq_obj_t result);
/* Error callback: 0 = handled, carry on (the await's value is lost); -1 = not handled: the
 * exception now raised (its __context__ is set to `exc`), or `exc` itself if none is. */
typedef int (*awaitq_aw_error_cb)(awaitq_obj_t aw, awaitq_obj_t exc);
/* Deferred decision: runs when the queue reaches it; awaits it adds run next. 0 / -1. */
typedef int (*awaitq_aw_defer_cb)(awaitq_obj_t aw);

/* The capsule table version that added the functions below. The table's current version,
 * AWAITQ_CAPI_VERSION, is in awaitq.h (generated from core/capi, as the Rust side uses it). */
#define AWAITQ_AW_CAPI_VERSION 2

#ifndef AWAITQ_MICROPYTHON

/* The capsule's table (CPython). Append only: check producer.version. */
typedef struct awaitq_aw_api_t {
    awaitq_obj_t (*new_)(void);
    int (*add_await)(awaitq_obj_t, awaitq_obj_t, awaitq_aw_result_cb, awaitq_aw_error_cb);
    int (*defer_await)(awaitq_obj_t, awaitq_aw_defer_cb);
    int (*set_result)(awaitq_obj_t, awaitq_obj_t);
    int (*save)(awaitq_obj_t, size_t, const awaitq_obj_t *);
    int (*unpack)(awaitq_obj_t, size_t, awaitq_obj_t *const *);
    int (*save_ptr)(awaitq_obj_t, size_t, void *const *);
    int (*unpack_ptr)(awaitq_obj_t, size_t, void **const *);
    awaitq_obj_t (*get_value)(awaitq_obj_t, size_t);
    int (*set_value)(awaitq_obj_t, size_t, awaitq_obj_t);
    int (*cancel)(awaitq_obj_t);
    int (*async_with)(awaitq_obj_t, awaitq_obj_t, awaitq_aw_result_cb, awaitq_aw_error_cb);
    int (*raise)(awaitq_obj_t, awaitq_obj_t);
    int (*check)(awaitq_obj_t);
} awaitq_aw_api_t;

/* What the capsule points to. Append only: a later group of functions goes after `aw` and
 * bumps AWAITQ_CAPI_VERSION; check producer.version >= the version that added a group. */
typedef struct awaitq_capi_t {
    awaitq_producer_api_t producer; /* producer.version == AWAITQ_CAPI_VERSION of the runtime */
    awaitq_aw_api_t aw;             /* since version 2 (AWAITQ_AW_CAPI_VERSION) */
    awaitq_producer_ext_api_t ext;  /* since version 3: push_many, reserve, commit, abort */
} awaitq_capi_t;

/* The table, per translation unit. An extension split over several C files defines
 * AWAITQ_AW_SHARED_API in each of them and AWAITQ_AW_DEFINE_API in exactly one. */
#if defined(AWAITQ_AW_SHARED_API) && !defined(AWAITQ_AW_DEFINE_API)
extern const awaitq_capi_t *awaitq_aw_capi;
#elif defined(AWAITQ_AW_SHARED_API)
const awaitq_capi_t *awaitq_aw_capi = NULL;
#else
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static const awaitq_capi_t *awaitq_aw_capi = NULL;
#endif

/* Imports awaitq and finds its table: 0, or -1 with ImportError raised. */
static inline int awaitq_aw_import(void) {
    const awaitq_capi_t *api = (const awaitq_capi_t *)PyCapsule_Import("awaitq._C_API", 0);
    if (api == NULL) {
        return -1;
    }
    if (api->producer.version < AWAITQ_AW_CAPI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "awaitq._C_API is version %u; native awaitables need version %d",
                     (unsigned)api->producer.version, AWAITQ_AW_CAPI_VERSION);
        return -1;
    }
    awaitq_aw_capi = api;
    return 0;
}
#define AWAITQ_AW_FN(field, symbol) (awaitq_aw_capi->aw.field)

/* awaitq_aw_import() unless done already in this translation unit (the compatibility
 * headers call it on first use, so their users need no init call). 0, or -1 with an
 * exception. Hold the GIL. */
static inline int awaitq_aw_ensure(void) {
    return awaitq_aw_capi != NULL ? 0 : awaitq_aw_import();
}

#else /* AWAITQ_MICROPYTHON: linked from the user module */

static inline int awaitq_aw_import(void) { return 0; }
static inline int awaitq_aw_ensure(void) { return 0; }
awaitq_obj_t awaitq_mp_aw_new(void);
int awaitq_mp_aw_add_await(awaitq_obj_t, awaitq_obj_t, awaitq_aw_result_cb, awaitq_aw_error_cb);
int awaitq_mp_aw_defer_await(awaitq_obj_t, awaitq_aw_defer_cb);
int awaitq_mp_aw_set_result(awaitq_obj_t, awaitq_obj_t);
int awaitq_mp_aw_save(awaitq_obj_t, size_t, const awaitq_obj_t *);
int awaitq_mp_aw_unpack(awaitq_obj_t, size_t, awaitq_obj_t *const *);
int awaitq_mp_aw_save_ptr(awaitq_obj_t, size_t, void *const *);
int awaitq_mp_aw_unpack_ptr(awaitq_obj_t, size_t, void **const *);
awaitq_obj_t awaitq_mp_aw_get_value(awaitq_obj_t, size_t);
int awaitq_mp_aw_set_value(awaitq_obj_t, size_t, awaitq_obj_t);
int awaitq_mp_aw_cancel(awaitq_obj_t);
int awaitq_mp_aw_async_with(awaitq_obj_t, awaitq_obj_t, awaitq_aw_result_cb, awaitq_aw_error_cb);
int awaitq_mp_aw_raise(awaitq_obj_t, awaitq_obj_t);
int awaitq_mp_aw_check(awaitq_obj_t);
/* MicroPython has no "current exception": a failing call (and awaitq_aw_raise) records its
 * exception in one slot of the VM (the last one wins) and returns -1 / NULL. In a callback,
 * just return -1: the awaitable raises what was recorded. Elsewhere (a module function),
 * raise it: `nlr_raise(awaitq_mp_aw_take_error());`. Takes and clears the slot; an
 * awaitq.SystemError if nothing was recorded. */
awaitq_obj_t awaitq_mp_aw_take_error(void);
#define AWAITQ_AW_FN(field, symbol) symbol

#endif

/* A new, empty native awaitable (a new reference; awaiting it returns None), or NULL with an
 * exception raised. */
static inline awaitq_obj_t awaitq_aw_new(void) { return AWAITQ_AW_FN(new_, awaitq_mp_aw_new)(); }

/* Queues `await awaitable` (the awaitable is kept: a new reference is taken). Its value goes
 * to `on_result` (dropped if NULL), its exception to `on_error` (raised from `aw` if NULL).
 * Whether `awaitable` can be awaited is checked when its turn comes (TypeError then, given
 * to `on_error`). 0, or -1 with an exception (RuntimeError: `aw` has finished). */
static inline int awaitq_aw_add_await(awaitq_obj_t aw, awaitq_obj_t awaitable,
                                      awaitq_aw_result_cb on_result, awaitq_aw_error_cb on_error) {
    return AWAITQ_AW_FN(add_await, awaitq_mp_aw_add_await)(aw, awaitable, on_result, on_error);
}

/* Queues a decision: `decide(aw)` runs when the queue reaches it and may add awaits (they
 * run next) or set the result. Its -1 raises from `aw`. */
static inline int awaitq_aw_defer_await(awaitq_obj_t aw, awaitq_aw_defer_cb decide) {
    return AWAITQ_AW_FN(defer_await, awaitq_mp_aw_defer_await)(aw, decide);
}

/* The value `await aw` returns (a new reference is kept; the last one set wins; None if never
 * set). Inside an async_with body, `aw` is the block and this sets the outer result. */
static inline int awaitq_aw_set_result(awaitq_obj_t aw, awaitq_obj_t result) {
    return AWAITQ_AW_FN(set_result, awaitq_mp_aw_set_result)(aw, result);
}

/* Appends `n` objects to the values kept for the callbacks (strong references, visible to
 * the garbage collector). All or nothing. */
static inline int awaitq_aw_save(awaitq_obj_t aw, size_t n, const awaitq_obj_t *values) {
    return AWAITQ_AW_FN(save, awaitq_mp_aw_save)(aw, n, values);
}

/* Writes the first `n` saved values (borrowed: valid while `aw` keeps them) to *out[i];
 * a NULL out[i] skips one. SystemError if fewer than `n` were saved. */
static inline int awaitq_aw_unpack(awaitq_obj_t aw, size_t n, awaitq_obj_t *const *out) {
    return AWAITQ_AW_FN(unpack, awaitq_mp_aw_unpack)(aw, n, out);
}

/* The same for raw pointers (never dereferenced nor freed by awaitq). */
static inline int awaitq_aw_save_ptr(awaitq_obj_t aw, size_t n, void *const *ptrs) {
    return AWAITQ_AW_FN(save_ptr, awaitq_mp_aw_save_ptr)(aw, n, ptrs);
}
static inline int awaitq_aw_unpack_ptr(awaitq_obj_t aw, size_t n, void **const *out) {
    return AWAITQ_AW_FN(unpack_ptr, awaitq_mp_aw_unpack_ptr)(aw, n, out);
}

/* Saved value `index` (borrowed), or NULL with SystemError. */
static inline awaitq_obj_t awaitq_aw_get_value(awaitq_obj_t aw, size_t index) {
    return AWAITQ_AW_FN(get_value, awaitq_mp_aw_get_value)(aw, index);
}

/* Replaces saved value `index`. */
static inline int awaitq_aw_set_value(awaitq_obj_t aw, size_t index, awaitq_obj_t value) {
    return AWAITQ_AW_FN(set_value, awaitq_mp_aw_set_value)(aw, index, value);
}

/* Gives up on the awaits not yet finished. Inside a callback of `aw`: drops what is queued
 * (the callback's step completes, then `aw` returns its result). While `aw` is suspended in an
 * await: closes the awaited object (its finally runs); the next resume returns the result. On
 * a fresh `aw`: empties the queue (closing queued coroutines). It never wakes the task: to
 * abort a suspended await, cancel the task. -1 only if closing the awaited object raised
 * (the cancel happened anyway). */
static inline int awaitq_aw_cancel(awaitq_obj_t aw) { return AWAITQ_AW_FN(cancel, awaitq_mp_aw_cancel)(aw); }

/* Queues `async with cm:`. `__aenter__`/`__aexit__` are looked up now (TypeError if missing);
 * when the queue reaches it, `__aenter__()` is awaited, then `body(block, value)` runs with a
 * nested awaitable `block`: awaits added to `block` form the with-block (saved values and the
 * result stay `aw`'s), then `__aexit__(type, exc, tb)` is awaited with the block's exception
 * (suppressed if the result is true). What the statement raises goes to `on_error`
 * (raised from `aw` if NULL). */
static inline int awaitq_aw_async_with(awaitq_obj_t aw, awaitq_obj_t cm,
                                       awaitq_aw_result_cb body, awaitq_aw_error_cb on_error) {
    return AWAITQ_AW_FN(async_with, awaitq_mp_aw_async_with)(aw, cm, body, on_error);
}

/* Raises `exc` (an exception instance, or a class), returns -1: `return awaitq_aw_raise(aw,
 * exc);` in a callback works on both targets. */
static inline int awaitq_aw_raise(awaitq_obj_t aw, awaitq_obj_t exc) {
    return AWAITQ_AW_FN(raise, awaitq_mp_aw_raise)(aw, exc);
}

/* 1 if `obj` is a native awaitable, else 0. */
static inline int awaitq_aw_check(awaitq_obj_t obj) { return AWAITQ_AW_FN(check, awaitq_mp_aw_check)(obj); }

/* PyAwaitable-style varargs over the arrays (C99 compound literals: C only):
 *     AWAITQ_AW_SAVE(aw, conn, query);  AWAITQ_AW_UNPACK(aw, &conn, NULL);  */
#define AWAITQ_AW_SAVE(aw, ...)                                                          \
    awaitq_aw_save((aw), sizeof((awaitq_obj_t[]){__VA_ARGS__}) / sizeof(awaitq_obj_t), \
                   (awaitq_obj_t[]){__VA_ARGS__})
#define AWAITQ_AW_UNPACK(aw, ...)                                                              \
    awaitq_aw_unpack((aw), sizeof((awaitq_obj_t *[]){__VA_ARGS__}) / sizeof(awaitq_obj_t *), \
                     (awaitq_obj_t *[]){__VA_ARGS__})

#ifdef __cplusplus
}
#endif

#endif /* AWAITQ_AW_H */
