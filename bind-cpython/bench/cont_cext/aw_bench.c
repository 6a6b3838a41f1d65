/* The awaitq side of the native-awaitable benchmark (bench/cont_bench.py): the same two
 * functions as pyaw_bench.c, through ports/include/awaitq_aw.h. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "awaitq_aw.h"

/* A native awaitable that completes at once with `value`. */
static PyObject *ready(PyObject *self, PyObject *value) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw != NULL && awaitq_aw_set_result(aw, value) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static int got(awaitq_obj_t aw, awaitq_obj_t value) { return awaitq_aw_set_result(aw, value); }

/* A native awaitable that awaits `coro` and returns its value. */
static PyObject *await_one(PyObject *self, PyObject *coro) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw != NULL && awaitq_aw_add_await(aw, coro, got, NULL) < 0) {
        awaitq_aw_cancel(aw);
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* The baseline: the same call shape, no awaitable. */
static PyObject *noop(PyObject *self, PyObject *value) {
    Py_INCREF(value);
    return value;
}

static PyMethodDef methods[] = {
    {"noop", noop, METH_O, NULL},
    {"ready", ready, METH_O, NULL},
    {"await_one", await_one, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "aw_bench", NULL, -1, methods};

PyMODINIT_FUNC PyInit_aw_bench(void) {
    if (awaitq_aw_import() < 0) return NULL;
    return PyModule_Create(&moddef);
}
