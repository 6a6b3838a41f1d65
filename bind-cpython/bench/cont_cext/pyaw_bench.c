/* The PyAwaitable side of the native-awaitable benchmark (bench/cont_bench.py): the same two
 * functions as aw_bench.c, with PyAwaitable 2's vendored header (pyawaitable.include()). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pyawaitable.h>

static PyObject *ready(PyObject *self, PyObject *value) {
    PyObject *aw = PyAwaitable_New();
    if (aw != NULL && PyAwaitable_SetResult(aw, value) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static int got(PyObject *aw, PyObject *value) { return PyAwaitable_SetResult(aw, value); }

static PyObject *await_one(PyObject *self, PyObject *coro) {
    PyObject *aw = PyAwaitable_New();
    if (aw != NULL && PyAwaitable_AddAwait(aw, coro, got, NULL) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static PyMethodDef methods[] = {
    {"ready", ready, METH_O, NULL},
    {"await_one", await_one, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "pyaw_bench", NULL, -1, methods};

PyMODINIT_FUNC PyInit_pyaw_bench(void) {
    if (PyAwaitable_Init() < 0) return NULL;
    return PyModule_Create(&moddef);
}
