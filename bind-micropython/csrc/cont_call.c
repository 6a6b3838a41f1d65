// What Rust calls in MicroPython for native continuations (src/cont/): every call that can
// raise runs here, under nlr_push, and comes back as a status (enum awaitq_mp_call) and an
// object, so no nlr jump ever crosses a Rust frame. Also the non-raising services (allocation,
// exceptions, the C API's error slot).
#include <string.h>

#include "py/gc.h"
#include "py/objtype.h"
#include "py/runtime.h"

#include "internal.h"

#if AWAITQ_MP_CONT

// The C API's error slot (MicroPython has no "current exception"): what the last failing
// call recorded. A root pointer: the exception stays alive until it is taken.
MP_REGISTER_ROOT_POINTER(mp_obj_t awaitq_aw_error);

static bool is_stop_iteration(mp_obj_t exc) {
    return mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_StopIteration));
}

static bool has_method(mp_obj_t obj, qstr name) {
    mp_obj_t dest[2];
    mp_load_method_maybe(obj, name, dest);
    return dest[0] != MP_OBJ_NULL;
}

#define ITER_FLAGS (MP_TYPE_FLAG_ITER_IS_ITERNEXT | MP_TYPE_FLAG_ITER_IS_CUSTOM)

// An iterator: what mp_resume can step (a native iternext, or __next__).
static bool is_iterator(mp_obj_t obj) {
    return (mp_obj_get_type(obj)->flags & ITER_FLAGS) != 0 || has_method(obj, MP_QSTR___next__);
}

// What mp_getiter accepts without raising "object isn't iterable".
static bool is_iterable(mp_obj_t obj) {
    const mp_obj_type_t *type = mp_obj_get_type(obj);
    if (type->flags & ITER_FLAGS) {
        return true;
    }
    if (MP_OBJ_TYPE_HAS_SLOT(type, iter)) {
        if (MP_OBJ_TYPE_GET_SLOT(type, iter) != mp_obj_instance_getiter || has_method(obj, MP_QSTR___iter__)) {
            return true;
        }
    }
    return has_method(obj, MP_QSTR___getitem__);
}

static uint8_t await_iter(mp_obj_t obj, mp_obj_t *out) {
    mp_obj_t dest[2];
    // CPython's protocol first, so objects written for both work; then what MicroPython's own
    // `await` iterates (it has no __await__: `await x` is `yield from x`).
    mp_load_method_maybe(obj, MP_QSTR___await__, dest);
    if (dest[0] != MP_OBJ_NULL) {
        mp_obj_t it = mp_call_method_n_kw(0, 0, dest);
        if (!is_iterator(it)) {
            mp_raise_msg_varg(&mp_type_TypeError,
                MP_ERROR_TEXT("__await__() returned non-iterator of type '%s'"), mp_obj_get_type_str(it));
        }
        *out = it;
        return AWAITQ_MP_CALL_OK;
    }
    if (!is_iterable(obj)) {
        return AWAITQ_MP_CALL_NONE;
    }
    *out = mp_getiter(obj, NULL);
    return AWAITQ_MP_CALL_OK;
}

uint8_t awaitq_mp_call_await_iter(mp_obj_t awaitable, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        uint8_t st = await_iter(awaitable, out);
        nlr_pop();
        return st;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_resume(mp_obj_t iter, mp_obj_t value, mp_obj_t exc, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_vm_return_kind_t kind = mp_resume(iter, value, exc, out);
        nlr_pop();
        switch (kind) {
            case MP_VM_RETURN_YIELD:
                return AWAITQ_MP_CALL_YIELDED;
            case MP_VM_RETURN_NORMAL:
                return AWAITQ_MP_CALL_OK;
            default:
                return AWAITQ_MP_CALL_RAISED;
        }
    }
    mp_obj_t e = MP_OBJ_FROM_PTR(nlr.ret_val);
    if (is_stop_iteration(e)) {
        // A __next__/send/throw method that finished: its value is the await's.
        *out = mp_obj_exception_get_value(e);
        return AWAITQ_MP_CALL_OK;
    }
    *out = e;
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_close(mp_obj_t iter, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t dest[2];
        mp_load_method_maybe(iter, MP_QSTR_close, dest);
        if (dest[0] != MP_OBJ_NULL) {
            mp_call_method_n_kw(0, 0, dest);
        }
        nlr_pop();
        *out = mp_const_none;
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

void awaitq_mp_call_close_unstarted(mp_obj_t obj) {
    if (!mp_obj_is_type(obj, &mp_type_gen_instance)) {
        return;
    }
    mp_obj_t ignored;
    awaitq_mp_call_close(obj, &ignored);
}

// After a C callback returned `r`: what it recorded (awaitq_aw_raise, a failing API call)
// wins; else -1 is NONE.
static uint8_t callback_outcome(int r, mp_obj_t *out) {
    mp_obj_t e = MP_STATE_VM(awaitq_aw_error);
    MP_STATE_VM(awaitq_aw_error) = MP_OBJ_NULL;
    if (e != MP_OBJ_NULL) {
        *out = e;
        return AWAITQ_MP_CALL_RAISED;
    }
    return r < 0 ? AWAITQ_MP_CALL_NONE : AWAITQ_MP_CALL_OK;
}

// A callback that raised (an nlr jump out of MicroPython code it called).
static uint8_t callback_raised(nlr_buf_t *nlr, mp_obj_t *out) {
    MP_STATE_VM(awaitq_aw_error) = MP_OBJ_NULL;
    *out = MP_OBJ_FROM_PTR(nlr->ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

// Each callback starts with an empty slot: a stale error (a module function that ignored a
// -1) must not be taken for the callback's.
uint8_t awaitq_mp_call_result_cb(awaitq_aw_result_cb cb, mp_obj_t aw, mp_obj_t value, mp_obj_t *out) {
    MP_STATE_VM(awaitq_aw_error) = MP_OBJ_NULL;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        int r = cb(aw, value);
        nlr_pop();
        return callback_outcome(r, out);
    }
    return callback_raised(&nlr, out);
}

uint8_t awaitq_mp_call_error_cb(awaitq_aw_error_cb cb, mp_obj_t aw, mp_obj_t exc, mp_obj_t *out) {
    MP_STATE_VM(awaitq_aw_error) = MP_OBJ_NULL;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        int r = cb(aw, exc);
        nlr_pop();
        return callback_outcome(r, out);
    }
    return callback_raised(&nlr, out);
}

uint8_t awaitq_mp_call_defer_cb(awaitq_aw_defer_cb cb, mp_obj_t aw, mp_obj_t *out) {
    MP_STATE_VM(awaitq_aw_error) = MP_OBJ_NULL;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        int r = cb(aw);
        nlr_pop();
        return callback_outcome(r, out);
    }
    return callback_raised(&nlr, out);
}

uint8_t awaitq_mp_call_cm_methods(mp_obj_t cm, mp_obj_t *methods, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_load_method_maybe(cm, MP_QSTR___aenter__, &methods[0]);
        mp_load_method_maybe(cm, MP_QSTR___aexit__, &methods[2]);
        nlr_pop();
        return methods[0] != MP_OBJ_NULL && methods[2] != MP_OBJ_NULL ? AWAITQ_MP_CALL_OK : AWAITQ_MP_CALL_NONE;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_method(mp_obj_t *method, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        *out = mp_call_method_n_kw(0, 0, method);
        nlr_pop();
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

// __aexit__(type(exc), exc, None), as MicroPython's own async with calls it.
uint8_t awaitq_mp_call_aexit(mp_obj_t *method, mp_obj_t exc, mp_obj_t *out) {
    mp_obj_t dest[5] = { method[0], method[1], mp_const_none, mp_const_none, mp_const_none };
    if (exc != MP_OBJ_NULL) {
        dest[2] = MP_OBJ_FROM_PTR(mp_obj_get_type(exc));
        dest[3] = exc;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        *out = mp_call_method_n_kw(3, 0, dest);
        nlr_pop();
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_function(mp_obj_t fun, size_t n_args, const mp_obj_t *args, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        *out = mp_call_function_n_kw(fun, n_args, 0, args);
        nlr_pop();
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_truth(mp_obj_t obj, bool *truthy, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        *truthy = mp_obj_is_true(obj);
        nlr_pop();
        *out = mp_const_none;
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_make_exc(mp_obj_t exc, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        *out = mp_make_raise_obj(exc);
        nlr_pop();
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

uint8_t awaitq_mp_call_park(awaitq_mp_cont_obj_t *self, mp_obj_t *out) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        awaitq_mp_ioq_join(MP_OBJ_FROM_PTR(self), &self->ioq);
        nlr_pop();
        *out = mp_const_none;
        return AWAITQ_MP_CALL_OK;
    }
    *out = MP_OBJ_FROM_PTR(nlr.ret_val);
    return AWAITQ_MP_CALL_RAISED;
}

void awaitq_mp_call_unpark(awaitq_mp_cont_obj_t *self) {
    if (self->ioq == MP_OBJ_NULL) {
        return;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        awaitq_mp_ioq_leave(MP_OBJ_FROM_PTR(self), &self->ioq);
        nlr_pop();
    } else {
        self->ioq = MP_OBJ_NULL;
    }
}

// ---- services (no Python runs, nothing raises)

mp_obj_t awaitq_mp_sys_none(void) {
    return mp_const_none;
}

bool awaitq_mp_sys_is_cont(mp_obj_t obj) {
    return mp_obj_is_type(obj, &awaitq_mp_type_NativeAwaitable);
}

mp_obj_t awaitq_mp_sys_exc(uint8_t exc, const char *msg) {
    if (exc != AWAITQ_MP_EXC_MEMORY) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            // Copies the message (or falls back to the emergency exception buffer).
            mp_obj_t e = mp_obj_new_exception_msg_varg(awaitq_mp_exc_type(exc), MP_ERROR_TEXT("%s"), msg);
            nlr_pop();
            return e;
        }
    }
    return mp_obj_new_exception(&mp_type_MemoryError);
}

void *awaitq_mp_sys_alloc(size_t n) {
    void *p = m_malloc_maybe(n);
    if (p != NULL) {
        memset(p, 0, n);
    }
    return p;
}

void *awaitq_mp_sys_realloc(void *p, size_t old_n, size_t new_n) {
    uint8_t *q = m_renew_maybe(uint8_t, p, old_n, new_n, true);
    if (q != NULL && new_n > old_n) {
        memset(q + old_n, 0, new_n - old_n);
    }
    return q;
}

awaitq_mp_cont_obj_t *awaitq_mp_sys_cont_alloc(size_t state_size, bool finaliser) {
    size_t n = sizeof(awaitq_mp_cont_obj_t) + state_size;
    awaitq_mp_cont_obj_t *self = NULL;
    #if MICROPY_ENABLE_FINALISER
    if (finaliser) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            self = m_malloc_with_finaliser(n);
            nlr_pop();
        }
    } else
    #else
    (void)finaliser;
    #endif
    {
        self = m_malloc_maybe(n);
    }
    if (self != NULL) {
        memset(self, 0, n);
        self->base.type = &awaitq_mp_type_NativeAwaitable;
        self->ioq = MP_OBJ_NULL;
    }
    return self;
}

void awaitq_mp_sys_set_error(mp_obj_t exc) {
    MP_STATE_VM(awaitq_aw_error) = exc;
}

mp_obj_t awaitq_mp_sys_take_error(void) {
    mp_obj_t e = MP_STATE_VM(awaitq_aw_error);
    MP_STATE_VM(awaitq_aw_error) = MP_OBJ_NULL;
    return e;
}

void awaitq_mp_sys_gc_collect(void) {
    gc_collect();
}

#endif // AWAITQ_MP_CONT
