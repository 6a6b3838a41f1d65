/*
 * An extension written from the draft PEP 852's example, with no init call (the PEP's API
 * needs none): built by test_compat.py against awaitq's awaitq_pyasync.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "awaitq_pyasync.h"

/* The PEP's abstract, verbatim in behaviour. */
static int
return_result(PyObject *asyncobj, PyObject *result)
{
    PyAsync_SetResult(asyncobj, result);
    return 1;
}

/* Equivalent to: async def await_from_c(coro): return await coro */
static PyObject *
await_from_c(PyObject *self, PyObject *coro) /* METH_O */
{
    PyObject *asyncobj = PyAsync_New();
    if (asyncobj == NULL) {
        return NULL;
    }
    if (PyAsync_AddAwait(asyncobj, coro, return_result, NULL) < 0) {
        PyAsync_Cancel(asyncobj);
        Py_DECREF(asyncobj);
        return NULL;
    }
    return asyncobj;
}

/* async def pair(a, b): x = await a; y = await b; return (x, y)  -- values between steps */
static int
got_second(PyObject *asyncobj, PyObject *y)
{
    PyObject *x;
    if (PyAsync_UnpackValues(asyncobj, 2, NULL, &x) < 0) {
        return -1;
    }
    PyObject *t = PyTuple_Pack(2, x, y);
    if (t == NULL) {
        return -1;
    }
    int r = PyAsync_SetResult(asyncobj, t);
    Py_DECREF(t);
    return r;
}

static int
got_first(PyObject *asyncobj, PyObject *x)
{
    PyObject *b = PyAsync_GetValue(asyncobj, 0);
    if (b == NULL || PyAsync_SaveValues(asyncobj, 1, x) < 0) {
        return -1;
    }
    return PyAsync_AddAwait(asyncobj, b, got_second, NULL);
}

static PyObject *
pair(PyObject *self, PyObject *args)
{
    PyObject *a, *b;
    if (!PyArg_ParseTuple(args, "OO", &a, &b)) {
        return NULL;
    }
    PyObject *asyncobj = PyAsync_New();
    if (asyncobj == NULL) {
        return NULL;
    }
    if (PyAsync_SaveValues(asyncobj, 1, b) < 0 ||
        PyAsync_AddAwait(asyncobj, a, got_first, NULL) < 0) {
        PyAsync_Cancel(asyncobj);
        Py_DECREF(asyncobj);
        return NULL;
    }
    return asyncobj;
}

static PyObject *
check(PyObject *self, PyObject *obj)
{
    int r = PyAsync_Check(obj);
    if (r < 0) {
        return NULL;
    }
    return PyBool_FromLong(r);
}

static PyMethodDef methods[] = {
    {"await_from_c", await_from_c, METH_O, NULL},
    {"pair", pair, METH_VARARGS, NULL},
    {"check", check, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

/* Single-phase init with no setup at all: the first PyAsync_* call imports the table. */
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pyasync_ext", NULL, -1, methods};

PyMODINIT_FUNC
PyInit_pyasync_ext(void)
{
    return PyModule_Create(&module);
}
