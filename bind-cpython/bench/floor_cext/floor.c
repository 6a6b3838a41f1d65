/* The floor of a ready `await ch.recv()` (bench/bench.py): the least any implementation can
 * do. `f.recv()` is a METH_NOARGS method returning the object itself; awaiting it goes
 * through am_await (itself) and am_send, which returns a new 8-byte bytes object at once.
 * No queue, no lock, no state: what remains is CPython's own cost of the method call, the
 * await protocol and the result object. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
} Floor;

static PyObject *floor_await(PyObject *self) {
    Py_INCREF(self);
    return self;
}

static PySendResult floor_send(PyObject *self, PyObject *arg, PyObject **result) {
    *result = PyBytes_FromStringAndSize("01234567", 8);
    return *result == NULL ? PYGEN_ERROR : PYGEN_RETURN;
}

static PyObject *floor_next(PyObject *self) {
    PyObject *v = PyBytes_FromStringAndSize("01234567", 8);
    if (v != NULL) {
        PyErr_SetObject(PyExc_StopIteration, v);
        Py_DECREF(v);
    }
    return NULL;
}

static PyObject *floor_recv(PyObject *self, PyObject *unused) {
    Py_INCREF(self);
    return self;
}

static PyMethodDef floor_methods[] = {
    {"recv", floor_recv, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods floor_async = {.am_await = floor_await, .am_send = floor_send};

static PyTypeObject FloorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "floor.Floor",
    .tp_basicsize = sizeof(Floor),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_as_async = &floor_async,
    .tp_iter = floor_await,
    .tp_iternext = floor_next,
    .tp_methods = floor_methods,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "floor", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_floor(void) {
    if (PyType_Ready(&FloorType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (m == NULL) return NULL;
    Py_INCREF(&FloorType);
    if (PyModule_AddObject(m, "Floor", (PyObject *)&FloorType) < 0) {
        Py_DECREF(&FloorType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
