/*
 * pyawaitable.h: PyAwaitable 2.x's public C API over awaitq's native awaitables, so an
 * extension written for PyAwaitable builds against awaitq by changing its include path
 * (`awaitq.get_include()` instead of `pyawaitable.include()`). Written for awaitq from
 * PyAwaitable's documented API; it shares no code with PyAwaitable.
 *
 * Everything is static inline over the `awaitq._C_API` capsule (awaitq_aw.h): nothing to
 * link, works with the abi3 wheel. PyAwaitable_Init() imports the table; every function also
 * imports it on first use, so a missing Init is not an error. Hold the GIL, as with
 * PyAwaitable. The object is an `awaitq.NativeAwaitable`.
 *
 * Same as PyAwaitable: PyAwaitable_New, _AddAwait (result callback 0 = ok, < 0 = error with an
 * exception set; error callback 0 = handled, -1 = re-raise, -2 = raise the callback's own
 * exception), _DeferAwait, _SetResult, _Cancel, _SaveValues / _UnpackValues (as many pointers
 * as values saved, NULL skips one) / _GetValue / _SetValue, _SaveArbValues / _UnpackArbValues
 * / _GetArbValue, _AsyncWith, _GetType, _Init, the version macros.
 *
 * Differences, each on purpose (awaitq-core's rules, shared with MicroPython):
 *   1. A result callback's -1 does NOT call the error callback of the same await: the
 *      exception is raised from the awaitable (PyAwaitable's -2 behaviour; try/except/else).
 *   2. Awaits added by a callback run next, before awaits queued earlier (as the rest of the
 *      callback's code would after an `await`); PyAwaitable appends them to the end.
 *   3. task.cancel() / a timeout is thrown into the awaited coroutine first (its finally
 *      runs), then the error callback sees it; close() runs no callback.
 *   4. An error callback that returns -1 with a NEW exception set raises the new one (its
 *      __context__ is the original); PyAwaitable discards the new one and re-raises.
 *   5. PyAwaitable_SetArbValue is not provided (the capsule has no setter for raw pointers):
 *      using it is a compile error, not a silent no-op. Save a PyCapsule as an object value
 *      instead if a pointer must change.
 *   6. PyAwaitable_AsyncWith's callback receives a nested "block" awaitable: awaits added to
 *      it form the with-block; its saved values and result are the outer awaitable's, so
 *      PyAwaitable code that unpacks or sets the result through it works unchanged.
 *   7. PyAwaitable_UnpackValues / _UnpackArbValues find the number of saved values by asking
 *      the awaitable (one failed probe per call): cheap, but not free.
 *   8. PyAwaitableObject's fields are private (never part of PyAwaitable's documented API).
 */
#ifndef AWAITQ_PYAWAITABLE_H
#define AWAITQ_PYAWAITABLE_H
#ifndef PYAWAITABLE_H
#define PYAWAITABLE_H
#endif

#include <Python.h>
#include <stdarg.h>

#include "awaitq_aw.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The PyAwaitable API level this header provides. */
#define PyAwaitable_MAJOR_VERSION 2
#define PyAwaitable_MINOR_VERSION 0
#define PyAwaitable_MICRO_VERSION 1
#define PyAwaitable_PATCH_VERSION PyAwaitable_MICRO_VERSION
/* Set only by this header: `#ifdef PYAWAITABLE_IS_AWAITQ` selects awaitq-specific code. */
#define PYAWAITABLE_IS_AWAITQ 1

typedef int (*PyAwaitable_Callback)(PyObject *, PyObject *);
typedef int (*PyAwaitable_Error)(PyObject *, PyObject *);
typedef int (*PyAwaitable_Defer)(PyObject *);
typedef struct _PyAwaitableObject PyAwaitableObject; /* opaque */

static inline int PyAwaitable_Init(void) { return awaitq_aw_ensure(); }

static inline PyObject *PyAwaitable_New(void) {
    if (awaitq_aw_ensure() < 0) return NULL;
    return awaitq_aw_new();
}

static inline int PyAwaitable_AddAwait(PyObject *aw, PyObject *coro, PyAwaitable_Callback cb,
                                       PyAwaitable_Error err) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (coro == NULL || coro == aw) {
        PyErr_SetString(PyExc_ValueError, "PyAwaitable: the awaited object is NULL or the awaitable");
        return -1;
    }
    return awaitq_aw_add_await(aw, coro, cb, err);
}

static inline int PyAwaitable_DeferAwait(PyObject *aw, PyAwaitable_Defer cb) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_defer_await(aw, cb);
}

static inline int PyAwaitable_SetResult(PyObject *aw, PyObject *result) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_set_result(aw, result);
}

/* void, as in PyAwaitable: an exception raised while closing the awaited object is reported
 * as unraisable (the cancel happened anyway). */
static inline void PyAwaitable_Cancel(PyObject *aw) {
    if (awaitq_aw_ensure() < 0 || awaitq_aw_cancel(aw) < 0) PyErr_WriteUnraisable(aw);
}

static inline int PyAwaitable_AsyncWith(PyObject *aw, PyObject *ctx, PyAwaitable_Callback cb,
                                        PyAwaitable_Error err) {
    if (awaitq_aw_ensure() < 0) return -1;
    return awaitq_aw_async_with(aw, ctx, cb, err);
}

static inline PyTypeObject *PyAwaitable_GetType(void) {
    /* A borrowed reference, as PyAwaitable's: the type lives as long as awaitq. */
    PyObject *m = PyImport_ImportModule("awaitq");
    if (m == NULL) return NULL;
    PyObject *t = PyObject_GetAttrString(m, "NativeAwaitable");
    Py_DECREF(m);
    if (t == NULL) return NULL;
    Py_DECREF(t); /* still referenced by the awaitq module */
    return (PyTypeObject *)t;
}

/* ---- object values ---- */

static inline int PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t nargs, ...) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (nargs <= 0) {
        PyErr_SetString(PyExc_ValueError, "PyAwaitable: nargs must be positive");
        return -1;
    }
    PyObject **vals = (PyObject **)PyMem_Malloc((size_t)nargs * sizeof(PyObject *));
    if (vals == NULL) { PyErr_NoMemory(); return -1; }
    va_list ap;
    va_start(ap, nargs);
    for (Py_ssize_t i = 0; i < nargs; i++) vals[i] = va_arg(ap, PyObject *);
    va_end(ap);
    int r = awaitq_aw_save(aw, (size_t)nargs, vals);
    PyMem_Free(vals);
    return r;
}

/* The number of object values saved in `aw` (probing past the end raises SystemError, which
 * is cleared), or -1 with an exception if `aw` is not an awaitable. */
static inline Py_ssize_t _PyAwaitable_CountValues(PyObject *aw) {
    if (!awaitq_aw_check(aw)) {
        PyErr_SetString(PyExc_TypeError, "PyAwaitable: not an awaitable object");
        return -1;
    }
    Py_ssize_t n = 0;
    while (awaitq_aw_get_value(aw, (size_t)n) != NULL) n++;
    PyErr_Clear();
    return n;
}

static inline int PyAwaitable_UnpackValues(PyObject *aw, ...) {
    if (awaitq_aw_ensure() < 0) return -1;
    Py_ssize_t n = _PyAwaitable_CountValues(aw);
    if (n < 0) return -1;
    if (n == 0) {
        PyErr_SetString(PyExc_RuntimeError, "PyAwaitable: Object has no stored values");
        return -1;
    }
    va_list ap;
    va_start(ap, aw);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject **out = va_arg(ap, PyObject **);
        if (out != NULL) *out = awaitq_aw_get_value(aw, (size_t)i); /* borrowed */
    }
    va_end(ap);
    return 0;
}

static inline PyObject *PyAwaitable_GetValue(PyObject *aw, Py_ssize_t index) {
    if (awaitq_aw_ensure() < 0) return NULL;
    if (index < 0) {
        PyErr_SetString(PyExc_IndexError, "PyAwaitable: negative index");
        return NULL;
    }
    return awaitq_aw_get_value(aw, (size_t)index); /* borrowed */
}

static inline int PyAwaitable_SetValue(PyObject *aw, Py_ssize_t index, PyObject *value) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (index < 0) {
        PyErr_SetString(PyExc_IndexError, "PyAwaitable: negative index");
        return -1;
    }
    return awaitq_aw_set_value(aw, (size_t)index, value);
}

/* ---- arbitrary (void *) values: never dereferenced nor freed ---- */

static inline int PyAwaitable_SaveArbValues(PyObject *aw, Py_ssize_t nargs, ...) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (nargs <= 0) {
        PyErr_SetString(PyExc_ValueError, "PyAwaitable: nargs must be positive");
        return -1;
    }
    void **vals = (void **)PyMem_Malloc((size_t)nargs * sizeof(void *));
    if (vals == NULL) { PyErr_NoMemory(); return -1; }
    va_list ap;
    va_start(ap, nargs);
    for (Py_ssize_t i = 0; i < nargs; i++) vals[i] = va_arg(ap, void *);
    va_end(ap);
    int r = awaitq_aw_save_ptr(aw, (size_t)nargs, vals);
    PyMem_Free(vals);
    return r;
}

/* Value `index` into *out; -1 (SystemError) if there are not index + 1 values. */
static inline int _PyAwaitable_ArbAt(PyObject *aw, Py_ssize_t index, void **out) {
    void ***outs = (void ***)PyMem_Calloc((size_t)index + 1, sizeof(void **));
    if (outs == NULL) { PyErr_NoMemory(); return -1; }
    outs[index] = out;
    int r = awaitq_aw_unpack_ptr(aw, (size_t)index + 1, (void **const *)outs);
    PyMem_Free(outs);
    return r;
}

static inline void *PyAwaitable_GetArbValue(PyObject *aw, Py_ssize_t index) {
    if (awaitq_aw_ensure() < 0) return NULL;
    if (index < 0) {
        PyErr_SetString(PyExc_IndexError, "PyAwaitable: negative index");
        return NULL;
    }
    void *v = NULL;
    return _PyAwaitable_ArbAt(aw, index, &v) < 0 ? NULL : v;
}

static inline int PyAwaitable_UnpackArbValues(PyObject *aw, ...) {
    if (awaitq_aw_ensure() < 0) return -1;
    if (!awaitq_aw_check(aw)) {
        PyErr_SetString(PyExc_TypeError, "PyAwaitable: not an awaitable object");
        return -1;
    }
    Py_ssize_t n = 0;
    void *v;
    while (_PyAwaitable_ArbAt(aw, n, &v) == 0) n++;
    if (PyErr_ExceptionMatches(PyExc_MemoryError)) return -1;
    PyErr_Clear();
    if (n == 0) {
        PyErr_SetString(PyExc_RuntimeError, "PyAwaitable: Object has no stored values");
        return -1;
    }
    va_list ap;
    va_start(ap, aw);
    for (Py_ssize_t i = 0; i < n; i++) {
        void **out = va_arg(ap, void **);
        if (out != NULL && _PyAwaitable_ArbAt(aw, i, out) < 0) { va_end(ap); return -1; }
    }
    va_end(ap);
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* AWAITQ_PYAWAITABLE_H */
