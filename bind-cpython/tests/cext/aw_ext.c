/*
 * A C extension written against ports/include/awaitq_aw.h (the `awaitq._C_API` capsule),
 * built by tests/test_cont_c.py into a temporary directory. It implements async functions in
 * C: `execute(conn, query)` (awaits two coroutines of `conn`, combines their results) and
 * small functions that put each callback outcome in each position, logging what ran into a
 * Python list the test passes (saved value 0 of the awaitable).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "awaitq_aw.h"

/* ---- execute(conn, query): rows = await conn.fetch(query); n = await conn.count(query);
 * return (rows, n). The values travel between the steps as saved values. */

static int execute_got_count(awaitq_obj_t aw, awaitq_obj_t count) {
    awaitq_obj_t rows;
    if (awaitq_aw_unpack(aw, 3, (awaitq_obj_t *[]){NULL, NULL, &rows}) < 0) return -1;
    PyObject *result = PyTuple_Pack(2, rows, count);
    if (result == NULL) return -1;
    int r = awaitq_aw_set_result(aw, result);
    Py_DECREF(result);
    return r;
}

static int execute_got_rows(awaitq_obj_t aw, awaitq_obj_t rows) {
    awaitq_obj_t conn, query;
    if (AWAITQ_AW_UNPACK(aw, &conn, &query) < 0) return -1;
    if (AWAITQ_AW_SAVE(aw, rows) < 0) return -1;
    PyObject *coro = PyObject_CallMethod(conn, "count", "O", query);
    if (coro == NULL) return -1;
    int r = awaitq_aw_add_await(aw, coro, execute_got_count, NULL);
    Py_DECREF(coro);
    return r;
}

static PyObject *execute(PyObject *self, PyObject *args) {
    PyObject *conn, *query;
    if (!PyArg_ParseTuple(args, "OO", &conn, &query)) return NULL;
    PyObject *coro = PyObject_CallMethod(conn, "fetch", "O", query);
    if (coro == NULL) return NULL;
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == NULL || AWAITQ_AW_SAVE(aw, conn, query) < 0 ||
        awaitq_aw_add_await(aw, coro, execute_got_rows, NULL) < 0) {
        if (aw != NULL) {
            awaitq_aw_cancel(aw);
            Py_DECREF(aw);
        }
        Py_DECREF(coro);
        return NULL;
    }
    Py_DECREF(coro);
    return aw;
}

/* ---- helpers: saved value 0 is the log list */

static int log_str(awaitq_obj_t aw, const char *what, PyObject *obj) {
    PyObject *log = awaitq_aw_get_value(aw, 0);
    if (log == NULL) return -1;
    PyObject *item = obj ? Py_BuildValue("(sO)", what, obj) : PyUnicode_FromString(what);
    if (item == NULL) return -1;
    int r = PyList_Append(log, item);
    Py_DECREF(item);
    return r;
}

static awaitq_obj_t new_logged(PyObject *log) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw != NULL && awaitq_aw_save(aw, 1, &log) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* ---- one(awaitable, result_mode, error_mode, log): one await, with the callbacks the modes
 * name. result modes: "set" (result = value), "raise" (ValueError), "noexc" (-1, nothing
 * raised), "drop" (no result callback), "cancel" (adds one more await, then cancels).
 * error modes: "handle" (result = ("handled", exc)), "raise" (KeyError), "decline" (-1,
 * nothing raised), "reraise" (raises exc itself), "none" (no error callback). */

static int cb_set(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    return awaitq_aw_set_result(aw, v);
}
static int cb_raise(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    PyErr_SetString(PyExc_ValueError, "raised by the result callback");
    return -1;
}
static int cb_noexc(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    return -1;
}
static int cb_cancel(awaitq_obj_t aw, awaitq_obj_t v) {
    if (log_str(aw, "result", v) < 0) return -1;
    if (awaitq_aw_set_result(aw, v) < 0) return -1;
    /* A coroutine queued and dropped at once: closed, so no "never awaited" warning. */
    PyObject *sleep = PyImport_ImportModule("asyncio");
    if (sleep == NULL) return -1;
    PyObject *coro = PyObject_CallMethod(sleep, "sleep", "i", 3600);
    Py_DECREF(sleep);
    if (coro == NULL) return -1;
    int r = awaitq_aw_add_await(aw, coro, cb_set, NULL);
    Py_DECREF(coro);
    if (r < 0) return -1;
    return awaitq_aw_cancel(aw);
}
static int eb_handle(awaitq_obj_t aw, awaitq_obj_t exc) {
    if (log_str(aw, "error", exc) < 0) return -1;
    PyObject *res = Py_BuildValue("(sO)", "handled", exc);
    if (res == NULL) return -1;
    int r = awaitq_aw_set_result(aw, res);
    Py_DECREF(res);
    return r;
}
static int eb_raise(awaitq_obj_t aw, awaitq_obj_t exc) {
    if (log_str(aw, "error", exc) < 0) return -1;
    PyErr_SetString(PyExc_KeyError, "raised by the error callback");
    return -1;
}
static int eb_decline(awaitq_obj_t aw, awaitq_obj_t exc) {
    if (log_str(aw, "error", exc) < 0) return -1;
    return -1;
}
static int eb_reraise(awaitq_obj_t aw, awaitq_obj_t exc) {
    if (log_str(aw, "error", exc) < 0) return -1;
    return awaitq_aw_raise(aw, exc);
}

static awaitq_aw_result_cb result_mode(const char *m) {
    if (!strcmp(m, "set")) return cb_set;
    if (!strcmp(m, "raise")) return cb_raise;
    if (!strcmp(m, "noexc")) return cb_noexc;
    if (!strcmp(m, "cancel")) return cb_cancel;
    return NULL; /* "drop" */
}
static awaitq_aw_error_cb error_mode(const char *m) {
    if (!strcmp(m, "handle")) return eb_handle;
    if (!strcmp(m, "raise")) return eb_raise;
    if (!strcmp(m, "decline")) return eb_decline;
    if (!strcmp(m, "reraise")) return eb_reraise;
    return NULL; /* "none" */
}

static PyObject *one(PyObject *self, PyObject *args) {
    PyObject *awaitable, *log;
    const char *rm, *em;
    if (!PyArg_ParseTuple(args, "OssO", &awaitable, &rm, &em, &log)) return NULL;
    awaitq_obj_t aw = new_logged(log);
    if (aw == NULL) return NULL;
    if (awaitq_aw_add_await(aw, awaitable, result_mode(rm), error_mode(em)) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* ---- steps(awaitables, log): awaits each in turn; each result callback appends the value
 * to a list (saved value 1) and queues the next; the result is the list. */

static int steps_next(awaitq_obj_t aw);

static int steps_got(awaitq_obj_t aw, awaitq_obj_t v) {
    awaitq_obj_t out;
    if (AWAITQ_AW_UNPACK(aw, NULL, &out) < 0) return -1;
    if (PyList_Append(out, v) < 0) return -1;
    return steps_next(aw);
}

static int steps_next(awaitq_obj_t aw) {
    awaitq_obj_t out, it;
    if (AWAITQ_AW_UNPACK(aw, NULL, &out, &it) < 0) return -1;
    PyObject *next = PyIter_Next(it);
    if (next == NULL) {
        if (PyErr_Occurred()) return -1;
        return awaitq_aw_set_result(aw, out);
    }
    int r = awaitq_aw_add_await(aw, next, steps_got, NULL);
    Py_DECREF(next);
    return r;
}

static PyObject *steps(PyObject *self, PyObject *args) {
    PyObject *awaitables, *log;
    if (!PyArg_ParseTuple(args, "OO", &awaitables, &log)) return NULL;
    PyObject *it = PyObject_GetIter(awaitables);
    if (it == NULL) return NULL;
    PyObject *out = PyList_New(0);
    awaitq_obj_t aw = out ? new_logged(log) : NULL;
    int ok = aw != NULL && AWAITQ_AW_SAVE(aw, out, it) == 0 && steps_next(aw) == 0;
    Py_XDECREF(out);
    Py_DECREF(it);
    if (!ok) {
        Py_XDECREF(aw);
        return NULL;
    }
    return aw;
}

/* ---- deferred(factory, log): a deferred decision calls factory() when reached and awaits
 * what it returns (factory raising: the awaitable raises). */

static int deferred_decide(awaitq_obj_t aw) {
    awaitq_obj_t factory;
    if (AWAITQ_AW_UNPACK(aw, NULL, &factory) < 0) return -1;
    if (log_str(aw, "decide", NULL) < 0) return -1;
    PyObject *a = PyObject_CallNoArgs(factory);
    if (a == NULL) return -1;
    int r = awaitq_aw_add_await(aw, a, cb_set, NULL);
    Py_DECREF(a);
    return r;
}

static PyObject *deferred(PyObject *self, PyObject *args) {
    PyObject *factory, *log, *first;
    if (!PyArg_ParseTuple(args, "OOO", &first, &factory, &log)) return NULL;
    awaitq_obj_t aw = new_logged(log);
    if (aw == NULL) return NULL;
    /* `first` runs before the decision; the decision's await runs after it. */
    if (awaitq_aw_save(aw, 1, &factory) < 0 || awaitq_aw_add_await(aw, first, NULL, NULL) < 0 ||
        awaitq_aw_defer_await(aw, deferred_decide) < 0) {
        awaitq_aw_cancel(aw);
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* ---- with_(cm, body, log, on_error_mode): async with cm as v: await body(v). The body
 * factory raising makes the with-block fail before it awaits anything. The statement's
 * errors go to the error callback of `on_error_mode`. The result is set by the body's await
 * (the block's result is the outer awaitable's). */

static int with_body(awaitq_obj_t block, awaitq_obj_t value) {
    awaitq_obj_t body;
    if (AWAITQ_AW_UNPACK(block, NULL, &body) < 0) return -1; /* the outer's saved values */
    if (log_str(block, "body", value) < 0) return -1;
    PyObject *a = PyObject_CallOneArg(body, value);
    if (a == NULL) return -1;
    int r = awaitq_aw_add_await(block, a, cb_set, NULL);
    Py_DECREF(a);
    return r;
}

static PyObject *with_(PyObject *self, PyObject *args) {
    PyObject *cm, *body, *log;
    const char *em;
    if (!PyArg_ParseTuple(args, "OOOs", &cm, &body, &log, &em)) return NULL;
    awaitq_obj_t aw = new_logged(log);
    if (aw == NULL) return NULL;
    if (awaitq_aw_save(aw, 1, &body) < 0 || awaitq_aw_async_with(aw, cm, with_body, error_mode(em)) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* ---- ready(value): completes at once with `value`; await_one(awaitable): returns its value. */

static PyObject *ready(PyObject *self, PyObject *value) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw != NULL && awaitq_aw_set_result(aw, value) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static int set_value_cb(awaitq_obj_t aw, awaitq_obj_t v) { return awaitq_aw_set_result(aw, v); }

static PyObject *await_one(PyObject *self, PyObject *awaitable) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw != NULL && awaitq_aw_add_await(aw, awaitable, set_value_cb, NULL) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* ---- queued(awaitables): queued before the start, awaited in order, values dropped. */

static PyObject *queued(PyObject *self, PyObject *awaitables) {
    PyObject *seq = PySequence_Fast(awaitables, "a sequence");
    if (seq == NULL) return NULL;
    awaitq_obj_t aw = awaitq_aw_new();
    for (Py_ssize_t i = 0; aw != NULL && i < PySequence_Fast_GET_SIZE(seq); i++) {
        if (awaitq_aw_add_await(aw, PySequence_Fast_GET_ITEM(seq, i), NULL, NULL) < 0) {
            Py_CLEAR(aw);
        }
    }
    Py_DECREF(seq);
    return aw;
}

/* ---- cancel_now(aw): awaitq_aw_cancel from outside a callback. */

static PyObject *cancel_now(PyObject *self, PyObject *aw) {
    if (awaitq_aw_cancel(aw) < 0) return NULL;
    Py_RETURN_NONE;
}

/* ---- API misuse: each returns the exception it raised (or None). */

static PyObject *raised(int failed) {
    if (!failed) Py_RETURN_NONE;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    if (value == NULL) Py_RETURN_NONE;
    return value;
}

static PyObject *misuse(PyObject *self, PyObject *args) {
    const char *what;
    PyObject *arg = Py_None;
    if (!PyArg_ParseTuple(args, "s|O", &what, &arg)) return NULL;
    if (!strcmp(what, "null_aw")) return raised(awaitq_aw_set_result(NULL, Py_None) < 0);
    if (!strcmp(what, "wrong_type")) return raised(awaitq_aw_set_result(arg, Py_None) < 0);
    if (!strcmp(what, "null_awaitable")) {
        awaitq_obj_t aw = awaitq_aw_new();
        PyObject *r = raised(awaitq_aw_add_await(aw, NULL, NULL, NULL) < 0);
        Py_DECREF(aw);
        return r;
    }
    if (!strcmp(what, "add_after_finish")) return raised(awaitq_aw_add_await(arg, Py_None, NULL, NULL) < 0);
    if (!strcmp(what, "result_after_finish")) return raised(awaitq_aw_set_result(arg, Py_None) < 0);
    if (!strcmp(what, "unpack_too_many")) {
        awaitq_obj_t aw = awaitq_aw_new(), a, b;
        PyObject *r = NULL;
        if (AWAITQ_AW_SAVE(aw, Py_None) == 0) r = raised(AWAITQ_AW_UNPACK(aw, &a, &b) < 0);
        Py_DECREF(aw);
        return r;
    }
    if (!strcmp(what, "save_null_item")) {
        awaitq_obj_t aw = awaitq_aw_new();
        PyObject *r = raised(AWAITQ_AW_SAVE(aw, Py_None, NULL) < 0);
        /* all or nothing: nothing was saved */
        if (r != Py_None && awaitq_aw_get_value(aw, 0) != NULL) {
            Py_DECREF(r);
            Py_DECREF(aw);
            PyErr_SetString(PyExc_AssertionError, "a failed save kept a value");
            return NULL;
        }
        PyErr_Clear();
        Py_DECREF(aw);
        return r;
    }
    if (!strcmp(what, "get_value_range")) {
        awaitq_obj_t aw = awaitq_aw_new();
        PyObject *r = raised(awaitq_aw_get_value(aw, 2) == NULL);
        Py_DECREF(aw);
        return r;
    }
    if (!strcmp(what, "not_cm")) {
        awaitq_obj_t aw = awaitq_aw_new();
        PyObject *r = raised(awaitq_aw_async_with(aw, arg, with_body, NULL) < 0);
        Py_DECREF(aw);
        return r;
    }
    if (!strcmp(what, "defer_null")) {
        awaitq_obj_t aw = awaitq_aw_new();
        PyObject *r = raised(awaitq_aw_defer_await(aw, NULL) < 0);
        Py_DECREF(aw);
        return r;
    }
    if (!strcmp(what, "raise_type")) return raised(awaitq_aw_raise(NULL, PyExc_LookupError) < 0);
    PyErr_SetString(PyExc_ValueError, what);
    return NULL;
}

/* ---- values(): saved objects and pointers, get/set by index. */

static PyObject *values(PyObject *self, PyObject *unused) {
    awaitq_obj_t aw = awaitq_aw_new();
    if (aw == NULL) return NULL;
    static int x, y;
    PyObject *one = PyLong_FromLong(1), *two = PyLong_FromLong(2), *out = NULL;
    void *px = NULL, *py = NULL;
    awaitq_obj_t a = NULL, b = NULL;
    if (AWAITQ_AW_SAVE(aw, one, two) < 0) goto done;
    if (awaitq_aw_save_ptr(aw, 2, (void *[]){&x, &y}) < 0) goto done;
    if (awaitq_aw_unpack_ptr(aw, 2, (void **[]){&px, &py}) < 0) goto done;
    if (awaitq_aw_set_value(aw, 0, two) < 0) goto done;
    if (AWAITQ_AW_UNPACK(aw, &a, &b) < 0) goto done;
    out = Py_BuildValue("(OOiii)", a, b, px == &x && py == &y, awaitq_aw_check(aw), awaitq_aw_check(one));
done:
    Py_XDECREF(one);
    Py_XDECREF(two);
    Py_DECREF(aw);
    return out;
}

static PyMethodDef methods[] = {
    {"execute", execute, METH_VARARGS, "execute(conn, query): (await conn.fetch(query), await conn.count(query))"},
    {"one", one, METH_VARARGS, NULL},
    {"steps", steps, METH_VARARGS, NULL},
    {"deferred", deferred, METH_VARARGS, NULL},
    {"with_", with_, METH_VARARGS, NULL},
    {"ready", ready, METH_O, NULL},
    {"await_one", await_one, METH_O, NULL},
    {"queued", queued, METH_O, NULL},
    {"cancel_now", cancel_now, METH_O, NULL},
    {"misuse", misuse, METH_VARARGS, NULL},
    {"values", values, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "aw_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_aw_ext(void) {
    if (awaitq_aw_import() < 0) return NULL;
    return PyModule_Create(&moddef);
}
