/*
 * A third-party extension, written the way an awaitq user would: headers from
 * `awaitq.get_include()` (no copy of awaitq's source), functions from the `awaitq._C_API`
 * capsule (nothing to link). Built by tests-sdk/test_thirdparty.py with setuptools and with
 * meson-python, each time into its own module (SENSOR_NAME).
 *
 *   start(channel, count, size) -> job     a pthread pushes `count` frames, then closes
 *   join(job) -> pushed                    waits (GIL released) and releases the channel
 *   plus_one(awaitable) -> NativeAwaitable `await plus_one(coro)` == (await coro) + 1
 *   HEADER_CAPI_VERSION                    AWAITQ_CAPI_VERSION of the headers built against
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "awaitq_aw.h" /* includes awaitq.h */

#ifndef SENSOR_NAME
#error "define SENSOR_NAME (the module's name)"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

typedef struct {
    const awaitq_channel_t *ch;
    PyObject *keep; /* the channel capsule: keeps the channel's storage alive */
    uint32_t count;
    size_t size;
    uint32_t pushed;
    pthread_t thread;
} job_t;

static void *produce(void *arg) {
    job_t *j = arg;
    const awaitq_producer_api_t *api = &awaitq_aw_capi->producer;
    uint8_t buf[256];
    for (uint32_t k = 0; k < j->count; k++) {
        memcpy(buf, &k, 4); /* little-endian hosts only, as the test asserts */
        memset(buf + 4, (int)(k & 0xff), j->size - 4);
        for (;;) {
            awaitq_status_t st = api->push(j->ch, k, buf, j->size);
            if (st == AWAITQ_OK) break;
            if (st != AWAITQ_FULL) return NULL;
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
        j->pushed++;
    }
    api->close(j->ch);
    return NULL;
}

static PyObject *start(PyObject *self, PyObject *args) {
    PyObject *channel;
    unsigned count;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OIn", &channel, &count, &size)) return NULL;
    if (size < 4 || size > 256) return PyErr_Format(PyExc_ValueError, "size outside 4..256");
    PyObject *cap = PyObject_CallMethod(channel, "producer", NULL); /* a ProducerHandle */
    if (cap == NULL) return NULL;
    PyObject *tmp = PyObject_CallMethod(cap, "capsule", NULL);
    Py_DECREF(cap);
    if (tmp == NULL) return NULL;
    const awaitq_channel_t *ch = PyCapsule_GetPointer(tmp, "awaitq.channel");
    if (ch == NULL) { Py_DECREF(tmp); return NULL; }
    job_t *j = calloc(1, sizeof *j);
    if (j == NULL) { Py_DECREF(tmp); return PyErr_NoMemory(); }
    j->ch = ch; j->keep = tmp; j->count = count; j->size = (size_t)size;
    if (pthread_create(&j->thread, NULL, produce, j) != 0) {
        Py_DECREF(tmp); free(j);
        return PyErr_Format(PyExc_OSError, "pthread_create failed");
    }
    return PyCapsule_New(j, STR(SENSOR_NAME) ".job", NULL);
}

static PyObject *join(PyObject *self, PyObject *jobcap) {
    job_t *j = PyCapsule_GetPointer(jobcap, STR(SENSOR_NAME) ".job");
    if (j == NULL) return NULL;
    if (PyCapsule_SetName(jobcap, STR(SENSOR_NAME) ".joined") != 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    pthread_join(j->thread, NULL);
    Py_END_ALLOW_THREADS
    Py_DECREF(j->keep);
    PyObject *r = PyLong_FromUnsignedLong(j->pushed);
    free(j);
    return r;
}

static int add_one(awaitq_obj_t aw, awaitq_obj_t value) {
    PyObject *one = PyLong_FromLong(1);
    if (one == NULL) return -1;
    PyObject *r = PyNumber_Add(value, one);
    Py_DECREF(one);
    if (r == NULL) return -1;
    int st = awaitq_aw_set_result(aw, r);
    Py_DECREF(r);
    return st;
}

static PyObject *plus_one(PyObject *self, PyObject *awaitable) {
    PyObject *aw = awaitq_aw_new();
    if (aw == NULL) return NULL;
    if (awaitq_aw_add_await(aw, awaitable, add_one, NULL) < 0) {
        awaitq_aw_cancel(aw);
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static PyMethodDef methods[] = {
    {"start", start, METH_VARARGS, "start(channel, count, size) -> job"},
    {"join", join, METH_O, "join(job) -> frames pushed"},
    {"plus_one", plus_one, METH_O, "await plus_one(aw) == (await aw) + 1"},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *m) {
    if (awaitq_aw_import() < 0) return -1; /* checks the capsule's version */
    return PyModule_AddIntConstant(m, "HEADER_CAPI_VERSION", AWAITQ_CAPI_VERSION);
}

static PyModuleDef_Slot slots[] = {{Py_mod_exec, exec_module}, {0, NULL}};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, STR(SENSOR_NAME), "a third-party awaitq producer", 0, methods, slots,
};

PyMODINIT_FUNC CAT(PyInit_, SENSOR_NAME)(void) { return PyModuleDef_Init(&moddef); }
