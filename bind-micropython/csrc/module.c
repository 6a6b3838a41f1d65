// The `awaitq` module: its exceptions, the error -> exception mapping, shared argument checks.
#include "py/objexcept.h"
#include "py/objint.h"
#include "py/runtime.h"
#include "py/binary.h"
#include "py/objarray.h"

#include "awaitq_mp.h"
#include "internal.h"

// awaitq.Error(Exception), awaitq.ChannelClosed(Error), awaitq.ChannelFull(Error).
MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_Error, MP_QSTR_Error, MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mp_obj_exception_attr,
    parent, &mp_type_Exception
    );
MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_ChannelClosed, MP_QSTR_ChannelClosed, MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mp_obj_exception_attr,
    parent, &awaitq_mp_type_Error
    );
MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_ChannelFull, MP_QSTR_ChannelFull, MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mp_obj_exception_attr,
    parent, &awaitq_mp_type_Error
    );

#if AWAITQ_MP_CONT
// awaitq.SystemError(Exception): a C extension broke the native-awaitable API's contract
// (CPython raises SystemError; MicroPython has none).
MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_SystemError, MP_QSTR_SystemError, MP_TYPE_FLAG_NONE,
    make_new, mp_obj_exception_make_new,
    print, mp_obj_exception_print,
    attr, mp_obj_exception_attr,
    parent, &mp_type_Exception
    );
#endif

const mp_obj_type_t *awaitq_mp_exc_type(uint8_t exc) {
    switch (exc) {
        case AWAITQ_MP_EXC_TYPE:
            return &mp_type_TypeError;
        case AWAITQ_MP_EXC_RUNTIME:
            return &mp_type_RuntimeError;
        case AWAITQ_MP_EXC_CLOSED:
            return &awaitq_mp_type_ChannelClosed;
        case AWAITQ_MP_EXC_FULL:
            return &awaitq_mp_type_ChannelFull;
        #if AWAITQ_MP_CONT
        case AWAITQ_MP_EXC_SYSTEM:
            return &awaitq_mp_type_SystemError;
        case AWAITQ_MP_EXC_MEMORY:
            return &mp_type_MemoryError;
        #endif
        default:
            return &mp_type_ValueError;
    }
}

void awaitq_mp_raise(const awaitq_mp_error_t *err) {
    // The message is the core's Display text (shared with the CPython binding).
    mp_raise_msg_varg(awaitq_mp_exc_type(err->exc), MP_ERROR_TEXT("%s"), err->msg);
}

void awaitq_mp_get_payload(mp_obj_t data, mp_buffer_info_t *bufinfo) {
    // MicroPython lets str expose its UTF-8 bytes through the buffer protocol; CPython does
    // not, and payloads are bytes-like objects only, so refuse str explicitly.
    if (mp_obj_is_str(data) || !mp_get_buffer(data, bufinfo, MP_BUFFER_READ)) {
        mp_raise_TypeError(MP_ERROR_TEXT("data must be a bytes-like object"));
    }
}

uint32_t awaitq_mp_get_tag(mp_obj_t tag) {
    if (!mp_obj_is_int(tag)) {
        mp_raise_TypeError(MP_ERROR_TEXT("tag must be an int"));
    }
    if (mp_obj_is_small_int(tag)) {
        mp_int_t v = MP_OBJ_SMALL_INT_VALUE(tag);
        // Small ints are 31 bits on 32-bit ports, so anything larger arrives as a big int.
        if (v >= 0 && (uint64_t)v <= UINT32_MAX) {
            return (uint32_t)v;
        }
    } else if (mp_obj_int_sign(tag) >= 0) {
        // A big int: in range only if it is at most 2**32-1 (possible on 32-bit ports).
        mp_obj_t limit = mp_obj_new_int_from_ull(UINT32_MAX);
        if (!mp_obj_is_true(mp_binary_op(MP_BINARY_OP_MORE, tag, limit))) {
            return (uint32_t)mp_obj_int_get_truncated(tag);
        }
    }
    mp_raise_ValueError(MP_ERROR_TEXT("tag must be in range 0..2**32-1"));
}

mp_int_t awaitq_mp_get_size(mp_obj_t obj, qstr what) {
    if (!mp_obj_is_int(obj)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%q must be an int"), what);
    }
    if (mp_obj_is_small_int(obj)) {
        mp_int_t v = MP_OBJ_SMALL_INT_VALUE(obj);
        return v < 0 ? 0 : v;
    }
    // A big int: out of any size range. Clamp, so the core's range check reports it
    // (ValueError with the core's message, never OverflowError), as on CPython.
    return mp_obj_int_sign(obj) < 0 ? 0 : (mp_int_t)(~(mp_uint_t)0 >> 1);
}

const awaitq_channel_t *awaitq_mp_channel_ptr(mp_const_obj_t obj) {
    if (!mp_obj_is_type(obj, &awaitq_mp_type_Channel)) {
        return NULL;
    }
    const awaitq_mp_channel_obj_t *self = MP_OBJ_TO_PTR(obj);
    return (const awaitq_channel_t *)self->core;
}

// awaitq.frames(buf, n): iterates over the first n records recv_many_into packed into buf,
// yielding (tag, memoryview of the payload): views into buf, no copy. Rust reads the record
// headers (the core's format); C makes the views (memoryview slices share buf's memory).
typedef struct _awaitq_mp_frames_obj_t {
    mp_obj_base_t base;
    mp_obj_array_t *view;           // memoryview of the whole buf (keeps it alive)
    size_t offset;                  // bytes of records walked so far
    mp_int_t remaining;             // records still to yield
} awaitq_mp_frames_obj_t;

static mp_obj_t frames_iternext(mp_obj_t self_in) {
    awaitq_mp_frames_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->remaining <= 0) {
        return MP_OBJ_STOP_ITERATION;
    }
    mp_obj_array_t *view = self->view;
    uint8_t *base = (uint8_t *)view->items + view->free;  // `free` is a memoryview's offset
    uint32_t tag;
    size_t start, len;
    if (!awaitq_mp_batch_next(base, view->len, &self->offset, &tag, &start, &len)) {
        self->remaining = 0;
        mp_raise_ValueError(MP_ERROR_TEXT("buf holds fewer records than n"));
    }
    self->remaining -= 1;
    mp_obj_array_t *payload = MP_OBJ_TO_PTR(mp_obj_new_memoryview(view->typecode, len, view->items));
    payload->free = view->free + start;
    mp_obj_t items[2] = { mp_obj_new_int_from_uint(tag), MP_OBJ_FROM_PTR(payload) };
    return mp_obj_new_tuple(2, items);
}

static MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_frames, MP_QSTR_frames, MP_TYPE_FLAG_ITER_IS_ITERNEXT,
    iter, frames_iternext
    );

static mp_obj_t awaitq_mp_frames(mp_obj_t buf, mp_obj_t n_in) {
    mp_buffer_info_t bufinfo;
    if (!mp_get_buffer(buf, &bufinfo, MP_BUFFER_READ)
        || mp_binary_get_size('@', bufinfo.typecode & ~MP_OBJ_ARRAY_TYPECODE_FLAG_RW, NULL) != 1) {
        mp_raise_TypeError(MP_ERROR_TEXT("buf must be a bytes-like object"));
    }
    mp_int_t n = awaitq_mp_get_size(n_in, MP_QSTR_n);
    mp_obj_t view = MP_OBJ_TYPE_GET_SLOT(&mp_type_memoryview, make_new)(&mp_type_memoryview, 1, 0, &buf);
    awaitq_mp_frames_obj_t *it = mp_obj_malloc(awaitq_mp_frames_obj_t, &awaitq_mp_type_frames);
    it->view = MP_OBJ_TO_PTR(view);
    it->offset = 0;
    it->remaining = n;
    return MP_OBJ_FROM_PTR(it);
}
static MP_DEFINE_CONST_FUN_OBJ_2(awaitq_mp_frames_obj, awaitq_mp_frames);

#if AWAITQ_MP_HAVE_TESTING
// `import awaitq.testing` on ports without built-in sub-packages: the first import of awaitq
// registers the sub-module in sys.modules (MICROPY_MODULE_BUILTIN_INIT).
// (A dotted name cannot be an MP_QSTR_ literal collected from the source, so the qstr is
// made at run time.)
static mp_obj_t awaitq_mp_init(void) {
    mp_map_elem_t *elem = mp_map_lookup(&MP_STATE_VM(mp_loaded_modules_dict).map,
        MP_OBJ_NEW_QSTR(qstr_from_str("awaitq.testing")), MP_MAP_LOOKUP_ADD_IF_NOT_FOUND);
    elem->value = MP_OBJ_FROM_PTR(&awaitq_mp_testing_module);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(awaitq_mp_init_obj, awaitq_mp_init);
#endif

static const mp_rom_map_elem_t awaitq_mp_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_awaitq) },
    #if AWAITQ_MP_HAVE_TESTING
    { MP_ROM_QSTR(MP_QSTR___init__), MP_ROM_PTR(&awaitq_mp_init_obj) },
    { MP_ROM_QSTR(MP_QSTR_testing), MP_ROM_PTR(&awaitq_mp_testing_module) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_Channel), MP_ROM_PTR(&awaitq_mp_type_Channel) },
    { MP_ROM_QSTR(MP_QSTR_frames), MP_ROM_PTR(&awaitq_mp_frames_obj) },
    { MP_ROM_QSTR(MP_QSTR_Error), MP_ROM_PTR(&awaitq_mp_type_Error) },
    { MP_ROM_QSTR(MP_QSTR_ChannelClosed), MP_ROM_PTR(&awaitq_mp_type_ChannelClosed) },
    { MP_ROM_QSTR(MP_QSTR_ChannelFull), MP_ROM_PTR(&awaitq_mp_type_ChannelFull) },
    #if AWAITQ_MP_CONT
    { MP_ROM_QSTR(MP_QSTR_NativeAwaitable), MP_ROM_PTR(&awaitq_mp_type_NativeAwaitable) },
    { MP_ROM_QSTR(MP_QSTR_SystemError), MP_ROM_PTR(&awaitq_mp_type_SystemError) },
    #endif
};
static MP_DEFINE_CONST_DICT(awaitq_mp_globals, awaitq_mp_globals_table);

const mp_obj_module_t awaitq_mp_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&awaitq_mp_globals,
};

MP_REGISTER_MODULE(MP_QSTR_awaitq, awaitq_mp_module);
