/*
 * awaitq_pyasync.h: the PyAsync_* functions of the draft PEP 852 ("Asynchronous functions in
 * the C API", proposed for Python 3.16) on CPython 3.10+, over awaitq's native awaitables, so
 * code written for the PEP builds today:
 *
 *     #include "awaitq_pyasync.h"      // include dir: awaitq.get_include()
 *
 *     static int return_result(PyObject *asyncobj, PyObject *result) {
 *         PyAsync_SetResult(asyncobj, result);
 *         return 1;                    // any value >= 0: carry on
 *     }
 *     // Equivalent to: async def await_from_c(coro): return await coro
 *     static PyObject *await_from_c(PyObject *self, PyObject *coro) {    // METH_O
 *         PyObject *asyncobj = PyAsync_New();
 *         if (asyncobj == NULL) return NULL;
 *         if (PyAsync_AddAwait(asyncobj, coro, return_result, NULL) < 0) {
 *             PyAsync_Cancel(asyncobj);
 *             Py_DECREF(asyncobj);
 *             return NULL;
 *         }
 *         return asyncobj;
 *     }
 *
 * No init call: the first PyAsync_* call imports awaitq's table (`awaitq._C_API`), with the
 * GIL held as every PyAsync_* call requires; an import failure is that call's error (NULL /
 * -1 with ImportError). Nothing to link; works with the abi3 wheel.
 *
 * Where this comes from. PyAsync_New, PyAsync_AddAwait, PyAsync_SetResult and PyAsync_Cancel
 * and the callback convention (result callback: >= 0 ok, < 0 error with an exception set;
 * a NULL callback drops the value / raises the error) follow the draft's abstract. The other
 * names below (PyAsync_DeferAwait, PyAsync_AsyncWith, PyAsync_SaveValues, PyAsync_Unpack
 * Values, PyAsync_GetValue, PyAsync_SetValue, PyAsync_Check) follow the PyAwaitable API the
 * draft grew from, renamed with the PyAsync_ prefix; if the draft's final text spells one
 * differently, the difference is in this header's names only (the semantics are awaitq's).
 * On a Python that implements the PEP itself, define AWAITQ_PYASYNC_NATIVE before including
 * this header: it then declares nothing and the interpreter's functions are used.
 *
 * Semantics are awaitq-core's `cont` rules (see awaitq_aw.h): awaits run in turn; awaits added
 * by a callback run next; a failing result callback raises from the object (its error
 * callback is not called); cancellation is thrown into the awaited coroutine first; close()
 * closes the awaited and queued coroutines and runs no callback.
 */
#ifndef AWAITQ_PYASYNC_H
#define AWAITQ_PYASYNC_H

#include <Python.h>

#ifndef AWAITQ_PYASYNC_NATIVE

#include <stdarg.h>

#include "awaitq_aw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result callback: the object and the awaited value (borrowed). >= 0 ok; < 0 error. */
typedef int (*PyAsync_ResultCallback)(PyObject *asyncobj, PyObject *result);
/* Error callback: the object and the exception (borrowed). 0 handled; -1 not handled. */
typedef int (*PyAsync_ErrorCallback)(PyObject *asyncobj, PyObject *exc);
/* Deferred decision: runs when its turn comes; may add awaits (they run next). */
typedef int (*PyAsync_DeferCallback)(PyObject *asyncobj);

/* A new, empty asynchronous object (a new reference), or NULL with an exception. */
static inline PyObject *PyAsync_New(void) {
    if (awaitq_aw_ensure() < 0) return NULL;
    return awaitq_aw_new();
}

/* Queues `await awaitable`: its value to `callback`, its exception to `err_callback`. */
static inline int PyAsync_AddAwait(PyObject *asyncobj, PyObject *awaitable,
                                   PyAsync_ResultCallback callback,
                                   PyAsync_ErrorCallback err_callback) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_add_await(asyncobj, awaitable, callback, err_callback);
}

/* What `await asyncobj` returns (a new reference is kept; the last one set wins). */
static inline int PyAsync_SetResult(PyObject *asyncobj, PyObject *result) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_set_result(asyncobj, result);
}

/* Gives up on the awaits not yet finished, closing queued coroutines (so an object abandoned
 * on an error path leaves no "never awaited" warning). -1 only if closing raised. */
static inline int PyAsync_Cancel(PyObject *asyncobj) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_cancel(asyncobj);
}

static inline int PyAsync_DeferAwait(PyObject *asyncobj, PyAsync_DeferCallback decide) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_defer_await(asyncobj, decide);
}

/* `async with cm:` -- `body(block, value)` adds the block's awaits to `block`. */
static inline int PyAsync_AsyncWith(PyObject *asyncobj, PyObject *cm,
                                    PyAsync_ResultCallback body, PyAsync_ErrorCallback err) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_async_with(asyncobj, cm, body, err);
}

/* Appends `nargs` objects to the values kept for the callbacks (strong references). */
static inline int PyAsync_SaveValues(PyObject *asyncobj, Py_ssize_t nargs, ...) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (nargs <= 0) {
        PyErr_SetString(PyExc_ValueError, "PyAsync_SaveValues: nargs must be positive");
        return -1;
    }
    PyObject **vals = (PyObject **)PyMem_Malloc((size_t)nargs * sizeof(PyObject *));
    if (vals == NULL) { PyErr_NoMemory(); return -1; }
    va_list ap;
    va_start(ap, nargs);
    for (Py_ssize_t i = 0; i < nargs; i++) vals[i] = va_arg(ap, PyObject *);
    va_end(ap);
    int r = awaitq_aw_save(asyncobj, (size_t)nargs, vals);
    PyMem_Free(vals);
    return r;
}

/* Writes the first `nargs` saved values (borrowed) to the PyObject ** that follow; a NULL
 * pointer skips one. SystemError if fewer were saved. */
static inline int PyAsync_UnpackValues(PyObject *asyncobj, Py_ssize_t nargs, ...) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (nargs <= 0) {
        PyErr_SetString(PyExc_ValueError, "PyAsync_UnpackValues: nargs must be positive");
        return -1;
    }
    PyObject ***outs = (PyObject ***)PyMem_Malloc((size_t)nargs * sizeof(PyObject **));
    if (outs == NULL) { PyErr_NoMemory(); return -1; }
    va_list ap;
    va_start(ap, nargs);
    for (Py_ssize_t i = 0; i < nargs; i++) outs[i] = va_arg(ap, PyObject **);
    va_end(ap);
    int r = awaitq_aw_unpack(asyncobj, (size_t)nargs, (PyObject **const *)outs);
    PyMem_Free(outs);
    return r;
}

/* Saved value `index` (borrowed), or NULL with an exception. */
static inline PyObject *PyAsync_GetValue(PyObject *asyncobj, Py_ssize_t index) {
    if (awaitq_aw_ensure() < 0) return NULL;
    if (index < 0) {
        PyErr_SetString(PyExc_IndexError, "PyAsync_GetValue: negative index");
        return NULL;
    }
    return awaitq_aw_get_value(asyncobj, (size_t)index);
}

static inline int PyAsync_SetValue(PyObject *asyncobj, Py_ssize_t index, PyObject *value) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (index < 0) {
        PyErr_SetString(PyExc_IndexError, "PyAsync_SetValue: negative index");
        return -1;
    }
    return awaitq_aw_set_value(asyncobj, (size_t)index, value);
}

/* 1 if `obj` is an asynchronous object made by PyAsync_New, else 0 (-1 if awaitq cannot be
 * imported). */
static inline int PyAsync_Check(PyObject *obj) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_check(obj);
}

#ifdef __cplusplus
}
#endif

#endif /* !AWAITQ_PYASYNC_NATIVE */
#endif /* AWAITQ_PYASYNC_H */
