// awaitq.Channel: construction (C allocates, Rust builds), the non-waiting methods, the
// methods that return awaitables, and the stream ioctl asyncio's poller uses.
#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"

#include "awaitq_mp.h"
#include "py/objstr.h"

#include "internal.h"

static awaitq_mp_channel_obj_t *channel_of(mp_obj_t obj) {
    return MP_OBJ_TO_PTR(obj);
}

// Channel(capacity=256, max_frame=64, overflow="reject"); defaults and every rule from core.
static mp_obj_t channel_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum { ARG_capacity, ARG_max_frame, ARG_overflow };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_capacity, MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_max_frame, MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_overflow, MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    size_t def_capacity, def_max_frame;
    awaitq_mp_defaults(&def_capacity, &def_max_frame);
    mp_int_t capacity = args[ARG_capacity].u_obj == MP_OBJ_NULL
        ? (mp_int_t)def_capacity : awaitq_mp_get_size(args[ARG_capacity].u_obj, MP_QSTR_capacity);
    mp_int_t max_frame = args[ARG_max_frame].u_obj == MP_OBJ_NULL
        ? (mp_int_t)def_max_frame : awaitq_mp_get_size(args[ARG_max_frame].u_obj, MP_QSTR_max_frame);
    const char *overflow = NULL;
    size_t overflow_len = 0;
    if (args[ARG_overflow].u_obj != MP_OBJ_NULL) {
        if (!mp_obj_is_str(args[ARG_overflow].u_obj)) {
            mp_raise_TypeError(MP_ERROR_TEXT("overflow must be a str"));
        }
        overflow = mp_obj_str_get_data(args[ARG_overflow].u_obj, &overflow_len);
    }

    awaitq_mp_error_t err;
    uint8_t overflow_code;
    size_t storage_len;
    if (!awaitq_mp_config(capacity, max_frame, overflow, overflow_len, &overflow_code, &storage_len, &err)) {
        awaitq_mp_raise(&err);
    }

    // Allocation happens here, in C, with no Rust frame on the stack: a MemoryError can
    // longjmp freely. Rust then only fills memory it is given.
    #if MICROPY_ENABLE_FINALISER
    awaitq_mp_channel_obj_t *self = m_malloc_with_finaliser(sizeof(awaitq_mp_channel_obj_t));
    #else
    awaitq_mp_channel_obj_t *self = m_malloc(sizeof(awaitq_mp_channel_obj_t));
    #endif
    self->base.type = type;
    self->mem = NULL;
    self->core = NULL;
    self->recv_op = MP_OBJ_NULL;
    self->send_op = MP_OBJ_NULL;
    self->max_frame = (size_t)max_frame;
    self->wake_rfd = self->wake_wfd = -1;
    self->parked_recv = MP_OBJ_NULL;
    self->staged = NULL;
    self->staged_len = SIZE_MAX;
    self->staged_tag = 0;
    size_t mem_len = awaitq_mp_core_size() + storage_len;
    self->mem = m_new(uint8_t, mem_len);
    // Where a receive stages a frame until its value exists (op.c): made now, so a receive
    // allocates nothing before its value.
    self->staged = m_new(uint8_t, max_frame);
    if (!awaitq_mp_channel_init(self, mem_len, capacity, max_frame, overflow_code, &err)) {
        awaitq_mp_raise(&err);
    }
    #if AWAITQ_MP_HAVE_FD
    awaitq_mp_wake_fd_open(self);
    #endif
    return MP_OBJ_FROM_PTR(self);
}

// Finaliser: release the wake fd. The GC block with the core channel is freed by the GC
// itself (nothing in it needs dropping). A producer must be stopped before this can run (the
// lifetime rule in ports/awaitq_mp.h).
static mp_obj_t channel_del(mp_obj_t self_in) {
    #if AWAITQ_MP_HAVE_FD
    awaitq_mp_wake_fd_close(channel_of(self_in));
    #else
    (void)self_in;
    #endif
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_del_obj, channel_del);

static mp_obj_t channel_send_nowait(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_data, ARG_tag };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_data, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_tag, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    awaitq_mp_channel_obj_t *self = channel_of(pos_args[0]);
    mp_buffer_info_t bufinfo;
    awaitq_mp_get_payload(args[ARG_data].u_obj, &bufinfo);
    uint32_t tag = awaitq_mp_get_tag(args[ARG_tag].u_obj);
    awaitq_mp_error_t err;
    if (!awaitq_mp_push(self, tag, bufinfo.buf, bufinfo.len, &err)) {
        awaitq_mp_raise(&err);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(channel_send_nowait_obj, 2, channel_send_nowait);

// await ch.send(data, tag=0): types are checked now, the core rules when awaited.
static mp_obj_t channel_send(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_data, ARG_tag };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_data, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_tag, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    mp_buffer_info_t bufinfo;
    awaitq_mp_get_payload(args[ARG_data].u_obj, &bufinfo);
    uint32_t tag = awaitq_mp_get_tag(args[ARG_tag].u_obj);
    awaitq_mp_op_obj_t *op = awaitq_mp_op_new(channel_of(pos_args[0]), AWAITQ_MP_SEND, args[ARG_data].u_obj);
    op->tag = tag;
    return MP_OBJ_FROM_PTR(op);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(channel_send_obj, 2, channel_send);

mp_obj_t awaitq_mp_take_bytes(awaitq_mp_channel_obj_t *ch, uint32_t *tag) {
    if (ch->staged_len != SIZE_MAX) {
        // A frame an earlier receive took but could not deliver (MemoryError) comes first.
        mp_obj_t data = mp_obj_new_bytes(ch->staged, ch->staged_len);
        *tag = ch->staged_tag;
        ch->staged_len = SIZE_MAX;
        return data;
    }
    awaitq_mp_frame_t frame;
    awaitq_mp_error_t err;
    size_t needed = 0;
    // Probe with no buffer: the core reports the head frame's length without taking it, so
    // the bytes object is made (here, outside Rust) at exactly that size *before* the frame
    // is taken: a MemoryError leaves it queued. The frame is then copied into the object.
    uint8_t st = awaitq_mp_try_recv(ch, NULL, 0, &frame, &needed, &err);
    while (st == AWAITQ_MP_TOO_SMALL) {
        vstr_t vstr;
        vstr_init_len(&vstr, needed);
        mp_obj_str_t *o = MP_OBJ_TO_PTR(mp_obj_new_bytes_from_vstr(&vstr));
        st = awaitq_mp_try_recv(ch, (uint8_t *)o->data, needed, &frame, &needed, &err);
        if (st == AWAITQ_MP_OK) {
            *tag = frame.tag;
            o->len = frame.len;
            ((byte *)o->data)[frame.len] = '\0';  // bytes keep a terminator after the payload
            o->hash = 0;  // computed on demand from the real payload
            return MP_OBJ_FROM_PTR(o);
        }
        // A drop_oldest producer replaced the head with a longer frame: try again.
    }
    switch (st) {
        case AWAITQ_MP_OK:  // a zero-length frame fits the empty probe
            *tag = frame.tag;
            return mp_const_empty_bytes;
        case AWAITQ_MP_EMPTY:
            return MP_OBJ_NULL;
        default:
            awaitq_mp_raise(&err);
    }
}

static mp_obj_t channel_try_recv(mp_obj_t self_in) {
    uint32_t tag;
    mp_obj_t data = awaitq_mp_take_bytes(channel_of(self_in), &tag);
    return data == MP_OBJ_NULL ? mp_const_none : data;
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_try_recv_obj, channel_try_recv);

static mp_obj_t channel_recv(mp_obj_t self_in) {
    return MP_OBJ_FROM_PTR(awaitq_mp_op_new(channel_of(self_in), AWAITQ_MP_RECV, MP_OBJ_NULL));
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_recv_obj, channel_recv);

static mp_obj_t channel_recv_tagged(mp_obj_t self_in) {
    return MP_OBJ_FROM_PTR(awaitq_mp_op_new(channel_of(self_in), AWAITQ_MP_RECV_TAGGED, MP_OBJ_NULL));
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_recv_tagged_obj, channel_recv_tagged);

static mp_obj_t channel_recv_into(mp_obj_t self_in, mp_obj_t buf) {
    mp_buffer_info_t bufinfo;
    if (!mp_get_buffer(buf, &bufinfo, MP_BUFFER_WRITE)) {
        mp_raise_TypeError(MP_ERROR_TEXT("buf must be a writable bytes-like object"));
    }
    return MP_OBJ_FROM_PTR(awaitq_mp_op_new(channel_of(self_in), AWAITQ_MP_RECV_INTO, buf));
}
static MP_DEFINE_CONST_FUN_OBJ_2(channel_recv_into_obj, channel_recv_into);

static mp_obj_t channel_recv_many(mp_obj_t self_in, mp_obj_t n_in) {
    mp_int_t n = awaitq_mp_get_size(n_in, MP_QSTR_n);
    if (n < 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("n must be at least 1"));
    }
    awaitq_mp_op_obj_t *op = awaitq_mp_op_new(channel_of(self_in), AWAITQ_MP_RECV_MANY, MP_OBJ_NULL);
    op->count = n;
    return MP_OBJ_FROM_PTR(op);
}
static MP_DEFINE_CONST_FUN_OBJ_2(channel_recv_many_obj, channel_recv_many);

// await ch.recv_many_into(buf, max=None) -> frame count: waits for one frame, then packs what
// is queued (up to max, as many as fit) into buf as records; awaitq.frames(buf, n) walks them.
static mp_obj_t channel_recv_many_into(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t bufinfo;
    if (!mp_get_buffer(args[1], &bufinfo, MP_BUFFER_WRITE)) {
        mp_raise_TypeError(MP_ERROR_TEXT("buf must be a writable bytes-like object"));
    }
    mp_int_t max = (mp_int_t)(~(mp_uint_t)0 >> 1);  // as many as fit
    if (n_args > 2 && args[2] != mp_const_none) {
        max = awaitq_mp_get_size(args[2], MP_QSTR_max);
        if (max < 1) {
            mp_raise_ValueError(MP_ERROR_TEXT("max must be at least 1"));
        }
    }
    awaitq_mp_op_obj_t *op = awaitq_mp_op_new(channel_of(args[0]), AWAITQ_MP_RECV_MANY_INTO, args[1]);
    op->count = max;
    return MP_OBJ_FROM_PTR(op);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(channel_recv_many_into_obj, 2, 3, channel_recv_many_into);

static mp_obj_t channel_anext(mp_obj_t self_in) {
    return MP_OBJ_FROM_PTR(awaitq_mp_op_new(channel_of(self_in), AWAITQ_MP_ANEXT, MP_OBJ_NULL));
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_anext_obj, channel_anext);

static mp_obj_t channel_aiter(mp_obj_t self_in) {
    return self_in;
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_aiter_obj, channel_aiter);

static mp_obj_t channel_close(mp_obj_t self_in) {
    awaitq_mp_close(channel_of(self_in));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_close_obj, channel_close);

static mp_obj_t channel_stats(mp_obj_t self_in) {
    awaitq_mp_stat_t stats[AWAITQ_MP_STATS_MAX];
    size_t n = awaitq_mp_stats(channel_of(self_in), stats, AWAITQ_MP_STATS_MAX);
    mp_obj_t dict = mp_obj_new_dict(n);
    // Insertion-ordered, so the dict prints in Stats::fields() order, as on CPython.
    ((mp_obj_dict_t *)MP_OBJ_TO_PTR(dict))->map.is_ordered = 1;
    for (size_t i = 0; i < n; ++i) {
        mp_obj_dict_store(dict, mp_obj_new_str(stats[i].name, stats[i].name_len),
            mp_obj_new_int_from_ull(stats[i].value));
    }
    return dict;
}
static MP_DEFINE_CONST_FUN_OBJ_1(channel_stats_obj, channel_stats);

// Read-only properties; everything else falls through to the locals dict.
static void channel_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    awaitq_mp_channel_obj_t *self = channel_of(self_in);
    if (dest[0] != MP_OBJ_NULL) {
        return;  // store/delete: not supported (attributes are read-only)
    }
    switch (attr) {
        case MP_QSTR_closed:
            dest[0] = mp_obj_new_bool(awaitq_mp_is_closed(self));
            break;
        case MP_QSTR_capacity:
            dest[0] = mp_obj_new_int_from_uint(awaitq_mp_capacity(self));
            break;
        case MP_QSTR_max_frame:
            dest[0] = mp_obj_new_int_from_uint(self->max_frame);
            break;
        case MP_QSTR_overflow: {
            size_t len;
            const char *name = awaitq_mp_overflow_name(self, &len);
            dest[0] = mp_obj_new_str(name, len);
            break;
        }
        default:
            dest[1] = MP_OBJ_SENTINEL;  // continue in locals_dict
            break;
    }
}

static mp_obj_t channel_unary_op(mp_unary_op_t op, mp_obj_t self_in) {
    if (op == MP_UNARY_OP_LEN) {
        return MP_OBJ_NEW_SMALL_INT(awaitq_mp_len(channel_of(self_in)) + (channel_of(self_in)->staged_len != SIZE_MAX));
    }
    return MP_OBJ_NULL;
}

// asyncio's poller (select.poll) asks streams whether they are ready. The awaitables answer
// for themselves (op.c); the channel answers too, so it can be polled directly.
static mp_uint_t channel_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    if (request == MP_STREAM_POLL) {
        return awaitq_mp_poll(channel_of(self_in), arg);
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static const mp_stream_p_t channel_stream_p = {
    .ioctl = channel_ioctl,
};

static const mp_rom_map_elem_t channel_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&channel_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv), MP_ROM_PTR(&channel_recv_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv_tagged), MP_ROM_PTR(&channel_recv_tagged_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv_into), MP_ROM_PTR(&channel_recv_into_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv_many), MP_ROM_PTR(&channel_recv_many_obj) },
    { MP_ROM_QSTR(MP_QSTR_recv_many_into), MP_ROM_PTR(&channel_recv_many_into_obj) },
    { MP_ROM_QSTR(MP_QSTR_try_recv), MP_ROM_PTR(&channel_try_recv_obj) },
    { MP_ROM_QSTR(MP_QSTR_send_nowait), MP_ROM_PTR(&channel_send_nowait_obj) },
    { MP_ROM_QSTR(MP_QSTR_send), MP_ROM_PTR(&channel_send_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&channel_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&channel_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR___aiter__), MP_ROM_PTR(&channel_aiter_obj) },
    { MP_ROM_QSTR(MP_QSTR___anext__), MP_ROM_PTR(&channel_anext_obj) },
};
static MP_DEFINE_CONST_DICT(channel_locals, channel_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_Channel, MP_QSTR_Channel, MP_TYPE_FLAG_NONE,
    make_new, channel_make_new,
    attr, channel_attr,
    unary_op, channel_unary_op,
    protocol, &channel_stream_p,
    locals_dict, &channel_locals
    );
