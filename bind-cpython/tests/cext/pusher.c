/* A C extension that produces frames like a driver would: a pthread pushes through the
 * function table of the `awaitq._C_API` capsule, into a channel handed over by
 * `ch.producer()`, without ever touching Python. Built by tests/test_native_c.py. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "awaitq.h"

typedef struct {
    const awaitq_producer_api_t *api;
    const awaitq_channel_t *ch;
    PyObject *keep; /* the handle or capsule that keeps the channel alive */
    uint32_t count;
    size_t size;
    int close_at_end;
    pthread_t thread;
    uint32_t pushed;
    uint64_t full_retries;
} job_t;

static const awaitq_producer_api_t *api(void) {
    const awaitq_producer_api_t *t = PyCapsule_Import("awaitq._C_API", 0);
    if (t && t->version < 1) {
        PyErr_SetString(PyExc_RuntimeError, "awaitq C API too old");
        return NULL;
    }
    return t;
}

static void *run(void *arg) {
    job_t *j = arg;
    uint8_t buf[256];
    for (uint32_t k = 0; k < j->count; k++) {
        buf[0] = k & 0xff; buf[1] = (k >> 8) & 0xff; buf[2] = (k >> 16) & 0xff; buf[3] = k >> 24;
        memset(buf + 4, k & 0xff, j->size - 4);
        for (;;) {
            awaitq_status_t st = j->api->push(j->ch, k, buf, j->size);
            if (st == AWAITQ_OK) break;
            if (st != AWAITQ_FULL) return NULL; /* closed: stop */
            j->full_retries++;
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        j->pushed++;
    }
    if (j->close_at_end) j->api->close(j->ch);
    return NULL;
}

static PyObject *start_job(PyObject *keep, const awaitq_channel_t *ch, unsigned count,
                           Py_ssize_t size, int close_at_end) {
    const awaitq_producer_api_t *t = api();
    if (!t) return NULL;
    if (size < 4 || size > 256) return PyErr_Format(PyExc_ValueError, "bad size");
    job_t *j = calloc(1, sizeof *j);
    if (!j) return PyErr_NoMemory();
    j->api = t; j->ch = ch; j->keep = keep; j->count = count; j->size = (size_t)size;
    j->close_at_end = close_at_end;
    Py_INCREF(keep);
    if (pthread_create(&j->thread, NULL, run, j) != 0) {
        Py_DECREF(keep); free(j);
        return PyErr_Format(PyExc_OSError, "pthread_create failed");
    }
    return PyCapsule_New(j, "pusher.job", NULL);
}

/* start_capsule(channel_capsule, count, size, close) -> job */
static PyObject *start_capsule(PyObject *self, PyObject *args) {
    PyObject *cap; unsigned count; Py_ssize_t size; int close_at_end;
    if (!PyArg_ParseTuple(args, "OInp", &cap, &count, &size, &close_at_end)) return NULL;
    const awaitq_channel_t *ch = PyCapsule_GetPointer(cap, "awaitq.channel");
    if (!ch) return NULL;
    return start_job(cap, ch, count, size, close_at_end);
}

/* start_address(handle, count, size, close) -> job: uses handle.address */
static PyObject *start_address(PyObject *self, PyObject *args) {
    PyObject *handle; unsigned count; Py_ssize_t size; int close_at_end;
    if (!PyArg_ParseTuple(args, "OInp", &handle, &count, &size, &close_at_end)) return NULL;
    PyObject *addr = PyObject_GetAttrString(handle, "address");
    if (!addr) return NULL;
    const awaitq_channel_t *ch = PyLong_AsVoidPtr(addr);
    Py_DECREF(addr);
    if (!ch && PyErr_Occurred()) return NULL;
    return start_job(handle, ch, count, size, close_at_end);
}

/* join(job) -> (pushed, full_retries); waits without the GIL */
static PyObject *join(PyObject *self, PyObject *jobcap) {
    job_t *j = PyCapsule_GetPointer(jobcap, "pusher.job");
    if (!j) return NULL;
    if (PyCapsule_SetName(jobcap, "pusher.joined") != 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    pthread_join(j->thread, NULL);
    Py_END_ALLOW_THREADS
    Py_DECREF(j->keep);
    PyObject *r = Py_BuildValue("(IK)", j->pushed, (unsigned long long)j->full_retries);
    free(j);
    return r;
}

/* push_once(capsule, tag, data) -> status, with the GIL released around the call */
static PyObject *push_once(PyObject *self, PyObject *args) {
    PyObject *cap; unsigned tag; const char *data; Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "OIy#", &cap, &tag, &data, &len)) return NULL;
    const awaitq_producer_api_t *t = api();
    const awaitq_channel_t *ch = PyCapsule_GetPointer(cap, "awaitq.channel");
    if (!t || !ch) return NULL;
    awaitq_status_t st;
    Py_BEGIN_ALLOW_THREADS
    st = t->push(ch, tag, (const uint8_t *)data, (size_t)len);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong((long)st);
}

/* info(capsule) -> (is_closed, len, sent, received, dropped) through the table */
static PyObject *info(PyObject *self, PyObject *cap) {
    const awaitq_producer_api_t *t = api();
    const awaitq_channel_t *ch = PyCapsule_GetPointer(cap, "awaitq.channel");
    if (!t || !ch) return NULL;
    awaitq_stats_t st;
    if (t->stats(ch, &st) != AWAITQ_OK) return PyErr_Format(PyExc_RuntimeError, "stats failed");
    return Py_BuildValue("(OnKKK)", t->is_closed(ch) ? Py_True : Py_False, (Py_ssize_t)t->len(ch),
                         (unsigned long long)st.sent, (unsigned long long)st.received,
                         (unsigned long long)st.dropped);
}

static PyMethodDef methods[] = {
    {"start_capsule", start_capsule, METH_VARARGS, NULL},
    {"start_address", start_address, METH_VARARGS, NULL},
    {"join", join, METH_O, NULL},
    {"push_once", push_once, METH_VARARGS, NULL},
    {"info", info, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pusher", NULL, -1, methods};

PyMODINIT_FUNC PyInit_pusher(void) { return PyModule_Create(&module); }
