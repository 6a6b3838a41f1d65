/*
 * An extension written against PyAwaitable 2.x's documented API (its README, "Storing and
 * Fetching Values", "Adding awaits", reference), unchanged but for the include path: built
 * by test_compat.py against awaitq's pyawaitable.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pyawaitable.h>

/* Quickstart: async def async_function(coro): await coro */
static PyObject *
async_function(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, NULL, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* Adding awaits: async def trampoline(coro): return await coro */
static int
return_callback(PyObject *awaitable, PyObject *result)
{
    if (PyAwaitable_SetResult(awaitable, result) < 0) {
        return -1;
    }
    return 0;
}

static PyObject *
trampoline(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, return_callback, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* Storing and fetching values: async def spam(value, coro): return (await coro) + value */
static int
spam_callback(PyObject *awaitable, PyObject *result)
{
    PyObject *value;
    if (PyAwaitable_UnpackValues(awaitable, &value) < 0) {
        return -1;
    }
    long a = PyLong_AsLong(result);
    long b = PyLong_AsLong(value);
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *ret = PyLong_FromLong(a + b);
    if (ret == NULL) {
        return -1;
    }
    if (PyAwaitable_SetResult(awaitable, ret) < 0) {
        Py_DECREF(ret);
        return -1;
    }
    Py_DECREF(ret);
    return 0;
}

static PyObject *
spam(PyObject *self, PyObject *args)
{
    PyObject *value;
    PyObject *coro;
    if (!PyArg_ParseTuple(args, "OO", &value, &coro)) {
        return NULL;
    }
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(awaitable, 1, value) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, spam_callback, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* Error callbacks: async def suppress(coro): try: await coro / except: return "caught" */
static int
error_callback(PyObject *awaitable, PyObject *err)
{
    PyObject *caught = PyUnicode_FromString("caught");
    if (caught == NULL) {
        return -1;
    }
    int r = PyAwaitable_SetResult(awaitable, caught);
    Py_DECREF(caught);
    return r;
}

static PyObject *
suppress(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, NULL, error_callback) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* -1 from an error callback re-raises the original exception. */
static int
reraise_callback(PyObject *awaitable, PyObject *err)
{
    return -1;
}

static PyObject *
reraise(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, NULL, reraise_callback) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* Arbitrary values: a C counter travels through the callbacks. */
static int
count_callback(PyObject *awaitable, PyObject *result)
{
    long *counter;
    if (PyAwaitable_UnpackArbValues(awaitable, &counter) < 0) {
        return -1;
    }
    *counter += PyLong_AsLong(result);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (PyAwaitable_GetArbValue(awaitable, 0) != counter) {
        PyErr_SetString(PyExc_AssertionError, "GetArbValue(0) differs from UnpackArbValues");
        return -1;
    }
    PyObject *n = PyLong_FromLong(*counter);
    if (n == NULL) {
        return -1;
    }
    int r = PyAwaitable_SetResult(awaitable, n);
    Py_DECREF(n);
    return r;
}

static long shared_counter = 0;

static PyObject *
count(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveArbValues(awaitable, 1, &shared_counter) < 0 ||
        PyAwaitable_AddAwait(awaitable, coro, count_callback, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* Deferred awaits: the coroutine to await is chosen when the turn comes (GetValue). */
static int
defer_callback(PyObject *awaitable)
{
    PyObject *coro = PyAwaitable_GetValue(awaitable, 0);
    if (coro == NULL) {
        return -1;
    }
    return PyAwaitable_AddAwait(awaitable, coro, return_callback, NULL);
}

static PyObject *
deferred(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(awaitable, 1, coro) < 0 ||
        PyAwaitable_DeferAwait(awaitable, defer_callback) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* async with: async def with_(cm): async with cm as v: return v */
static int
with_body(PyObject *awaitable, PyObject *value)
{
    return PyAwaitable_SetResult(awaitable, value);
}

static PyObject *
with_(PyObject *self, PyObject *cm)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AsyncWith(awaitable, cm, with_body, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* Cancel on an error path closes the queued coroutine (no "never awaited" warning). */
static PyObject *
cancelled(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, NULL, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    PyAwaitable_Cancel(awaitable);
    Py_DECREF(awaitable);
    Py_RETURN_NONE;
}

static PyObject *
get_type(PyObject *self, PyObject *unused)
{
    PyTypeObject *t = PyAwaitable_GetType();
    if (t == NULL) {
        return NULL;
    }
    return Py_NewRef((PyObject *)t);
}

static PyMethodDef methods[] = {
    {"async_function", async_function, METH_O, NULL},
    {"trampoline", trampoline, METH_O, NULL},
    {"spam", spam, METH_VARARGS, NULL},
    {"suppress", suppress, METH_O, NULL},
    {"reraise", reraise, METH_O, NULL},
    {"count", count, METH_O, NULL},
    {"deferred", deferred, METH_O, NULL},
    {"with_", with_, METH_O, NULL},
    {"cancelled", cancelled, METH_O, NULL},
    {"get_type", get_type, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *mod)
{
    return PyAwaitable_Init();
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pyaw_ext", NULL, 0, methods, slots,
};

PyMODINIT_FUNC
PyInit_pyaw_ext(void)
{
    return PyModuleDef_Init(&module);
}
