// awaitq.NativeAwaitable: an awaitable native code fills with awaits and callbacks (the C API
// of ports/include/awaitq_aw.h), or a Rust future. A native iterator (MP_TYPE_FLAG_ITER_IS_
// ITERNEXT) with send/throw/close, like the channel's awaitable (op.c), so `await` drives it
// through iternext and asyncio.create_task / wait_for / gather accept it as a coroutine.
//
// Each slot asks Rust (core's Continuation, src/cont/) for one step and does what it says,
// here, where raising is allowed (the table is in src/cont/exports.rs):
//   YIELD   return the value (it came from the awaited inner, unchanged)
//   RETURN  complete: iternext returns mp_make_stop_iteration(value), send() raises
//           StopIteration(value)
//   RAISE   raise the exception (what the inner or a callback raised, what was thrown in, or
//           core's error for a refused call)
//   CLOSED  close(): return None
// A Rust future waiting on its Waker is registered with asyncio's I/O queue (cont_call.c) and
// answers the poller's ioctl: MP_STREAM_POLL (woken?) and, on unix, MP_STREAM_GET_FILENO
// with its wake slot's eventfd, so the loop sleeps in the kernel.
#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"

#include "internal.h"

#if AWAITQ_MP_CONT

static awaitq_mp_cont_obj_t *cont_of(mp_obj_t obj) {
    return MP_OBJ_TO_PTR(obj);
}

// A StopIteration coming out of the awaitable would read as its return value: it becomes
// RuntimeError, as out of a generator (PEP 479).
static NORETURN void raise_out(mp_obj_t exc) {
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_StopIteration))) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("awaitable raised StopIteration"));
    }
    nlr_raise(exc);
}

// One step of send()/throw(): a yield returns the value, a return raises StopIteration(value).
static mp_obj_t step(mp_obj_t self_in, uint8_t how, mp_obj_t value) {
    mp_obj_t out;
    switch (awaitq_mp_cont_resume(cont_of(self_in), how, value, &out)) {
        case AWAITQ_MP_CONT_YIELD:
            return out;
        case AWAITQ_MP_CONT_RETURN:
            mp_raise_StopIteration(out);
        case AWAITQ_MP_CONT_CLOSED:
            return mp_const_none;
        default:
            raise_out(out);
    }
}

// `await aw` (and every asyncio resume): no StopIteration object is made.
static mp_obj_t cont_iternext(mp_obj_t self_in) {
    mp_obj_t out;
    switch (awaitq_mp_cont_resume(cont_of(self_in), AWAITQ_MP_RESUME_SEND, mp_const_none, &out)) {
        case AWAITQ_MP_CONT_YIELD:
            return out;
        case AWAITQ_MP_CONT_RETURN:
            return mp_make_stop_iteration(out);
        default:
            raise_out(out);
    }
}

static mp_obj_t cont_send(mp_obj_t self_in, mp_obj_t value) {
    return step(self_in, AWAITQ_MP_RESUME_SEND, value);
}
static MP_DEFINE_CONST_FUN_OBJ_2(cont_send_obj, cont_send);

// throw(exc) / throw(type[, value[, tb]]), as a generator's: what it raises goes into the
// awaited inner first (its except/finally run). A non-exception is refused before anything
// changes.
static mp_obj_t cont_throw(size_t n_args, const mp_obj_t *args) {
    mp_obj_t exc = (n_args > 2 && args[2] != mp_const_none) ? args[2] : args[1];
    if (!mp_obj_is_exception_instance(exc) && !mp_obj_is_exception_type(exc)) {
        mp_raise_TypeError(MP_ERROR_TEXT("exceptions must derive from BaseException"));
    }
    return step(args[0], AWAITQ_MP_RESUME_THROW, mp_make_raise_obj(exc));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(cont_throw_obj, 2, 4, cont_throw);

// close(): the awaited inner is closed (its finally runs), queued awaits are dropped, no
// callback runs; a Rust future is dropped.
static mp_obj_t cont_close(mp_obj_t self_in) {
    return step(self_in, AWAITQ_MP_RESUME_CLOSE, MP_OBJ_NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(cont_close_obj, cont_close);

// Finaliser (only Rust futures are allocated with one): gives the wake slot back.
static mp_obj_t cont_del(mp_obj_t self_in) {
    awaitq_mp_cont_finalise(cont_of(self_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(cont_del_obj, cont_del);

static mp_uint_t cont_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    awaitq_mp_cont_obj_t *self = cont_of(self_in);
    (void)arg;
    if (request == MP_STREAM_POLL) {
        return awaitq_mp_cont_woken(self) ? MP_STREAM_POLL_RD : 0;
    }
    #if AWAITQ_MP_HAVE_FD
    if (request == MP_STREAM_GET_FILENO) {
        int fd = awaitq_mp_cont_wake_fd(self);
        if (fd >= 0) {
            return fd;
        }
    }
    #endif
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static const mp_stream_p_t cont_stream_p = {
    .ioctl = cont_ioctl,
};

static const mp_rom_map_elem_t cont_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_send), MP_ROM_PTR(&cont_send_obj) },
    { MP_ROM_QSTR(MP_QSTR_throw), MP_ROM_PTR(&cont_throw_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&cont_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&cont_del_obj) },
};
static MP_DEFINE_CONST_DICT(cont_locals, cont_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_NativeAwaitable, MP_QSTR_NativeAwaitable, MP_TYPE_FLAG_ITER_IS_ITERNEXT,
    iter, cont_iternext,
    protocol, &cont_stream_p,
    locals_dict, &cont_locals
    );

#endif // AWAITQ_MP_CONT
