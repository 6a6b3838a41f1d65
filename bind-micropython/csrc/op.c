// The awaitable every receive/send method returns: a native iterator (MP_TYPE_FLAG_ITER_IS_
// ITERNEXT) with send/throw/close, so `await` drives it through iternext with no allocation,
// and asyncio.create_task / wait_for / gather accept it as a coroutine.
//
// Each step asks Rust (the core's RecvOp/SendOp) what to do and then does it here, where
// raising is allowed:
//   READY     complete: iternext returns mp_make_stop_iteration(value) (no heap allocation;
//             recv_into's value is a small int, recv allocates only the bytes), send() raises
//             StopIteration(value)
//   PENDING   inside an asyncio task: register this object with asyncio's I/O queue
//             (queue_read), then yield None (never yield None without registering: an
//             unregistered yield orphans the task). Outside asyncio (a hand-written
//             scheduler driving send()): yield this object itself, which a scheduler waits on
//             with select.poll: by its descriptor (`fileno()`, unix) or its stream ioctl
//             (MP_STREAM_POLL, every port), then resumes with send(None).
//   FAILED    raise the mapped exception (ChannelClosed ends `async for` instead)
//   RETHROW   throw(): leave the I/O queue, re-raise what was thrown in (cancel, timeout)
//   RETURNED  close(): leave the I/O queue, return None
//
// How a parked op wakes: asyncio's poller (select.poll) polls the registered op. On unix the op
// hands poll() the channel's eventfd (MP_STREAM_GET_FILENO), which the core's wake hook writes,
// so the loop sleeps in the kernel; elsewhere poll calls ioctl(MP_STREAM_POLL), which asks the
// core whether the channel is ready. The op registers itself rather than the channel because
// asyncio's IOQueue holds one reader per registered object, and several senders may wait on
// one channel at once.
#include "py/runtime.h"
#include "py/stream.h"
#include "py/mperrno.h"
#include "py/objlist.h"

#include <string.h>

#include "internal.h"

static awaitq_mp_op_obj_t *op_of(mp_obj_t obj) {
    return MP_OBJ_TO_PTR(obj);
}

awaitq_mp_op_obj_t *awaitq_mp_op_new(awaitq_mp_channel_obj_t *ch, uint8_t kind, mp_obj_t arg) {
    // One receive and one send awaitable per channel are recycled once finished, so that the
    // hot path (`await ch.recv_into(buf)` on a ready channel) allocates nothing. A finished op
    // that is still referenced elsewhere is therefore reused by the next call: awaiting an old
    // awaitable again after calling the method anew is not detected as "already awaited".
    mp_obj_t *slot = kind == AWAITQ_MP_SEND ? &ch->send_op : &ch->recv_op;
    awaitq_mp_op_obj_t *op;
    if (*slot != MP_OBJ_NULL && awaitq_mp_op_phase(op_of(*slot)) == AWAITQ_MP_FINISHED) {
        op = op_of(*slot);
    } else {
        op = mp_obj_malloc(awaitq_mp_op_obj_t, &awaitq_mp_type_Op);
        op->channel = ch;
        op->scratch = NULL;
        *slot = MP_OBJ_FROM_PTR(op);
    }
    op->kind = kind;
    op->arg = arg;
    op->ioq = MP_OBJ_NULL;
    op->count = 1;
    op->tag = 0;
    awaitq_mp_op_reset(op);
    return op;
}

// The IOQueue entry of this op ([reader task, writer task, stream]) if it is still there.
static mp_obj_t registration(awaitq_mp_op_obj_t *self) {
    return awaitq_mp_ioq_entry(MP_OBJ_FROM_PTR(self), self->ioq);
}

// Leaves the I/O queue if still in it. asyncio removes the entry itself when it wakes the task
// (wait_io_event) or cancels it (Task.cancel -> IOQueue.remove); this covers every other way
// out (close(), a throw not from cancel, a resume by hand).
static void unregister(awaitq_mp_op_obj_t *self) {
    awaitq_mp_ioq_leave(MP_OBJ_FROM_PTR(self), &self->ioq);
}

// Registers the current task to be woken when this op becomes readable. Raises (RuntimeError
// without a running asyncio task, MemoryError) before anything is registered.
static void do_register(awaitq_mp_op_obj_t *self) {
    awaitq_mp_ioq_join(MP_OBJ_FROM_PTR(self), &self->ioq);
}

// Throw/close: Rust never touches the buffers for these.
static uint8_t resume_cancel(awaitq_mp_op_obj_t *self, uint8_t how) {
    awaitq_mp_error_t err;
    if (self->kind == AWAITQ_MP_SEND) {
        return awaitq_mp_send_resume(self, how, NULL, 0, &err);
    }
    awaitq_mp_frame_t frame;
    return awaitq_mp_recv_resume(self, how, NULL, 0, &frame, &err);
}

// The op fails before reaching the core (its buffer is no longer usable): finish it without
// consuming anything, releasing the receiver slot if it was parked.
static void abandon(awaitq_mp_op_obj_t *self) {
    resume_cancel(self, AWAITQ_MP_RESUME_CLOSE);
    self->arg = MP_OBJ_NULL;
}

// Is an asyncio task running (so a park registers with its I/O queue)?
static bool in_asyncio_task(void) {
    mp_obj_t core = awaitq_mp_asyncio_core();
    return core != MP_OBJ_NULL && mp_load_attr(core, MP_QSTR_cur_task) != mp_const_none;
}

// PENDING: register, or, if registering raised, leave the parked state (so the channel does
// not keep a phantom receiver that makes every later receive fail as "busy") and re-raise.
// Outside asyncio nothing is registered (self->ioq stays NULL): the caller yields the op.
static void park(awaitq_mp_op_obj_t *self) {
    if (!in_asyncio_task()) {
        self->ioq = MP_OBJ_NULL;
        return;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        do_register(self);
        nlr_pop();
    } else {
        resume_cancel(self, AWAITQ_MP_RESUME_CLOSE);
        nlr_jump(nlr.ret_val);
    }
}

// The value a finished receive completes with. The frame is in the channel's staging buffer
// (ch->staged, staged_len / staged_tag) and stays there until its value exists: a MemoryError
// while building it leaves it for the next receive, so nothing is lost. recv_into's value is
// a small int (no allocation; its frame is already in the caller's buffer).
static mp_obj_t recv_value(awaitq_mp_op_obj_t *self, const awaitq_mp_frame_t *frame) {
    awaitq_mp_channel_obj_t *ch = self->channel;
    mp_obj_t value;
    switch (self->kind) {
        case AWAITQ_MP_RECV_INTO:
        case AWAITQ_MP_RECV_MANY_INTO:  // the frame count (step() puts it in frame->len)
            return MP_OBJ_NEW_SMALL_INT(frame->len);
        case AWAITQ_MP_RECV_TAGGED: {
            mp_obj_t items[2] = {
                mp_obj_new_int_from_uint(ch->staged_tag),
                mp_obj_new_bytes(ch->staged, ch->staged_len),
            };
            value = mp_obj_new_tuple(2, items);
            break;
        }
        case AWAITQ_MP_RECV_MANY: {
            // The first frame came through the core's RecvOp (which waited for it); the rest
            // are whatever is queued now, up to `count`. The list is made at its final size
            // first (at most what is queued now), so adding an item never allocates: a frame
            // taken is always delivered.
            size_t n = MIN((size_t)self->count, 1 + awaitq_mp_len(ch));
            mp_obj_list_t *list = MP_OBJ_TO_PTR(mp_obj_new_list(n, NULL));
            list->items[0] = mp_obj_new_bytes(ch->staged, ch->staged_len);
            list->len = 1;
            ch->staged_len = SIZE_MAX;  // delivered (take_bytes below must not see it again)
            while (list->len < n) {
                uint32_t tag;
                nlr_buf_t nlr;
                mp_obj_t data = MP_OBJ_NULL;
                if (nlr_push(&nlr) == 0) {
                    // Allocates before taking: a MemoryError leaves the frame queued.
                    data = awaitq_mp_take_bytes(ch, &tag);
                    nlr_pop();
                }
                // Empty, closed and drained, or out of memory: return what we have (the next
                // receive reports the rest).
                if (data == MP_OBJ_NULL) {
                    break;
                }
                list->items[list->len++] = data;
            }
            return MP_OBJ_FROM_PTR(list);
        }
        default:  // RECV, ANEXT
            value = mp_obj_new_bytes(ch->staged, ch->staged_len);
            break;
    }
    ch->staged_len = SIZE_MAX;  // delivered
    return value;
}

// A receive parked in an event loop that asyncio.new_event_loop() has since replaced (after a
// KeyboardInterrupt ended asyncio.run, say) can never be resumed: its task is in the old
// loop's queues. It would hold the channel's receiver slot forever ("another receiver is
// already waiting"). A new receive reclaims the slot: the stale op is finished without
// consuming anything (if its task were ever resumed, it would get "already awaited").
static void reclaim_stale_receiver(awaitq_mp_channel_obj_t *ch, awaitq_mp_op_obj_t *self) {
    mp_obj_t old_obj = ch->parked_recv;
    if (old_obj == MP_OBJ_NULL || old_obj == MP_OBJ_FROM_PTR(self)) {
        return;
    }
    awaitq_mp_op_obj_t *old = op_of(old_obj);
    if (awaitq_mp_op_phase(old) != AWAITQ_MP_PARKED) {
        ch->parked_recv = MP_OBJ_NULL;
        return;
    }
    mp_obj_t core = awaitq_mp_asyncio_core();
    if (core == MP_OBJ_NULL || old->ioq == MP_OBJ_NULL ||
        old->ioq == mp_load_attr(core, MP_QSTR__io_queue)) {
        return;  // parked in the running loop: a live receiver (the second one gets "busy")
    }
    resume_cancel(old, AWAITQ_MP_RESUME_CLOSE);
    old->arg = MP_OBJ_NULL;
    old->ioq = MP_OBJ_NULL;  // the old loop's queue is dropped with it
    ch->parked_recv = MP_OBJ_NULL;
}

// One Resume::Send step. Returns the value to complete with (via StopIteration), or
// MP_OBJ_NULL after parking (the caller yields None).
static mp_obj_t step(awaitq_mp_op_obj_t *self) {
    awaitq_mp_channel_obj_t *ch = self->channel;
    uint8_t phase = awaitq_mp_op_phase(self);
    if (phase == AWAITQ_MP_PARKED) {
        // Woken by asyncio, or resumed by hand while still registered. A registration still
        // held by another task means two tasks await this one object: refuse, change nothing.
        mp_obj_t entry = registration(self);
        if (entry != MP_OBJ_NULL) {
            mp_obj_t core = awaitq_mp_asyncio_core();
            mp_obj_t waiter = mp_obj_subscr(entry, MP_OBJ_NEW_SMALL_INT(0), MP_OBJ_SENTINEL);
            if (core != MP_OBJ_NULL && waiter != mp_load_attr(core, MP_QSTR_cur_task)) {
                mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("awaitq: another task is awaiting this awaitable"));
            }
        }
        unregister(self);
        #if AWAITQ_MP_HAVE_FD
        // Consume the wake-up before re-checking: a push after this read writes the fd again,
        // a push before it is seen by the re-check, so no wake-up is lost.
        awaitq_mp_wake_fd_drain(ch);
        #endif
    }

    awaitq_mp_error_t err;
    uint8_t st;
    awaitq_mp_frame_t frame = {0, 0};
    mp_buffer_info_t bufinfo = {NULL, 0, 0};
    if (phase == AWAITQ_MP_FINISHED) {
        // Resumed after finishing: the buffers are gone; the core answers EXHAUSTED.
        st = self->kind == AWAITQ_MP_SEND
            ? awaitq_mp_send_resume(self, AWAITQ_MP_RESUME_SEND, NULL, 0, &err)
            : awaitq_mp_recv_resume(self, AWAITQ_MP_RESUME_SEND, NULL, 0, &frame, &err);
    } else if (self->kind == AWAITQ_MP_SEND) {
        if (!mp_get_buffer(self->arg, &bufinfo, MP_BUFFER_READ)) {
            abandon(self);
            mp_raise_TypeError(MP_ERROR_TEXT("data must be a bytes-like object"));
        }
        st = awaitq_mp_send_resume(self, AWAITQ_MP_RESUME_SEND, bufinfo.buf, bufinfo.len, &err);
    } else {
        uint8_t *dest;
        size_t dest_len;
        if (phase == AWAITQ_MP_FRESH) {
            reclaim_stale_receiver(ch, self);
        }
        if (self->kind == AWAITQ_MP_RECV_INTO || self->kind == AWAITQ_MP_RECV_MANY_INTO) {
            // Fetched at every step: a bytearray may have been resized while parked.
            if (!mp_get_buffer(self->arg, &bufinfo, MP_BUFFER_WRITE)) {
                abandon(self);
                mp_raise_TypeError(MP_ERROR_TEXT("buf must be a writable bytes-like object"));
            }
            dest = bufinfo.buf;
            dest_len = bufinfo.len;
        } else {
            dest = ch->staged;
            dest_len = ch->max_frame;
        }
        if (ch->staged_len != SIZE_MAX) {
            // A frame an earlier receive took but could not deliver (MemoryError) comes first,
            // whatever the kind of this receive: it ends without taking anything from the
            // core (unparking if it was parked).
            size_t put = 0;
            if (self->kind == AWAITQ_MP_RECV_MANY_INTO) {
                // Delivered as one record (the batch format, written by core's rule).
                put = awaitq_mp_batch_put(dest, dest_len, ch->staged_tag, ch->staged, ch->staged_len);
            }
            if ((self->kind == AWAITQ_MP_RECV_INTO && ch->staged_len > dest_len)
                || (self->kind == AWAITQ_MP_RECV_MANY_INTO && put == 0)) {
                abandon(self);
                mp_raise_msg_varg(&mp_type_ValueError,
                    MP_ERROR_TEXT("buffer of %u bytes is too small for a %u-byte frame"),
                    (unsigned)dest_len, (unsigned)ch->staged_len);
            }
            resume_cancel(self, AWAITQ_MP_RESUME_CLOSE);
            self->arg = MP_OBJ_NULL;
            frame.tag = ch->staged_tag;
            frame.len = ch->staged_len;
            if (self->kind == AWAITQ_MP_RECV_INTO) {
                memcpy(dest, ch->staged, frame.len);
                ch->staged_len = SIZE_MAX;  // delivered (the value is a small int)
            } else if (self->kind == AWAITQ_MP_RECV_MANY_INTO) {
                frame.len = 1;              // one frame delivered (the value is a small int)
                ch->staged_len = SIZE_MAX;
            }
            return recv_value(self, &frame);
        }
        st = self->kind == AWAITQ_MP_RECV_MANY_INTO
            ? awaitq_mp_recv_batch_resume(self, AWAITQ_MP_RESUME_SEND, dest, dest_len, &frame.len, &err)
            : awaitq_mp_recv_resume(self, AWAITQ_MP_RESUME_SEND, dest, dest_len, &frame, &err);
    }

    switch (st) {
        case AWAITQ_MP_READY:
            self->arg = MP_OBJ_NULL;
            if (self->kind == AWAITQ_MP_SEND) {
                return mp_const_none;
            }
            // recv_into and recv_many_into took their frames straight into the caller's
            // buffer (the value is a small int: nothing to stage); the others into ch->staged.
            if (self->kind != AWAITQ_MP_RECV_INTO && self->kind != AWAITQ_MP_RECV_MANY_INTO) {
                ch->staged_tag = frame.tag;
                ch->staged_len = frame.len;
            }
            return recv_value(self, &frame);
        case AWAITQ_MP_PENDING:
            park(self);
            if (self->kind != AWAITQ_MP_SEND) {
                ch->parked_recv = MP_OBJ_FROM_PTR(self);
            }
            return MP_OBJ_NULL;
        default:  // FAILED, EXHAUSTED
            self->arg = MP_OBJ_NULL;
            if (self->kind == AWAITQ_MP_ANEXT && err.exc == AWAITQ_MP_EXC_CLOSED) {
                mp_raise_type(&mp_type_StopAsyncIteration);
            }
            awaitq_mp_raise(&err);
    }
}

// What a parked op yields: None to asyncio (it registered), itself to anything else.
static mp_obj_t parked_yield(mp_obj_t self_in) {
    return op_of(self_in)->ioq == MP_OBJ_NULL ? self_in : mp_const_none;
}

// `await op` (and every asyncio resume): no allocation on a ready frame.
static mp_obj_t op_iternext(mp_obj_t self_in) {
    mp_obj_t value = step(op_of(self_in));
    return value == MP_OBJ_NULL ? parked_yield(self_in) : mp_make_stop_iteration(value);
}

// send(value): what a Task calls when the op itself is its coroutine. The value is ignored
// (wake-ups carry no data).
static mp_obj_t op_send(mp_obj_t self_in, mp_obj_t value) {
    (void)value;
    mp_obj_t result = step(op_of(self_in));
    if (result == MP_OBJ_NULL) {
        return parked_yield(self_in);
    }
    mp_raise_StopIteration(result);
}
static MP_DEFINE_CONST_FUN_OBJ_2(op_send_obj, op_send);

// throw(exc) / throw(type[, value[, tb]]): the driver cancels the wait (Task.cancel,
// wait_for's timeout). Nothing is consumed; a frame leaves the queue only when delivered.
static mp_obj_t op_throw(size_t n_args, const mp_obj_t *args) {
    awaitq_mp_op_obj_t *self = op_of(args[0]);
    mp_obj_t exc = (n_args > 2 && args[2] != mp_const_none) ? args[2] : args[1];
    resume_cancel(self, AWAITQ_MP_RESUME_THROW);  // always RETHROW
    self->arg = MP_OBJ_NULL;
    unregister(self);
    mp_obj_t raised = mp_make_raise_obj(exc);
    // A StopIteration escaping a coroutine becomes RuntimeError (PEP 479): re-raised as is,
    // the driver would read it as this awaitable returning its value.
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(raised)), MP_OBJ_FROM_PTR(&mp_type_StopIteration))) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("coroutine raised StopIteration"));
    }
    nlr_raise(raised);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(op_throw_obj, 2, 4, op_throw);

static mp_obj_t op_close(mp_obj_t self_in) {
    awaitq_mp_op_obj_t *self = op_of(self_in);
    resume_cancel(self, AWAITQ_MP_RESUME_CLOSE);  // always RETURNED
    self->arg = MP_OBJ_NULL;
    unregister(self);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(op_close_obj, op_close);

// Readiness for asyncio's poller: readable when this op would not wait any more.
static mp_uint_t op_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    awaitq_mp_op_obj_t *self = op_of(self_in);
    (void)arg;
    if (request == MP_STREAM_POLL) {
        mp_uint_t want = self->kind == AWAITQ_MP_SEND ? MP_STREAM_POLL_WR : MP_STREAM_POLL_RD;
        return awaitq_mp_poll(self->channel, want) ? MP_STREAM_POLL_RD : 0;
    }
    #if AWAITQ_MP_HAVE_FD
    if (request == MP_STREAM_GET_FILENO && self->channel->wake_rfd >= 0) {
        return self->channel->wake_rfd;
    }
    #endif
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

#if AWAITQ_MP_HAVE_FD
// fileno(): the descriptor a hand-written scheduler polls while this op is parked (readable
// when the channel may have changed). OSError(EINVAL) if the process had no descriptor left
// when the channel was made (poll the object itself then: its ioctl answers readiness).
static mp_obj_t op_fileno(mp_obj_t self_in) {
    int fd = op_of(self_in)->channel->wake_rfd;
    if (fd < 0) {
        mp_raise_OSError(MP_EINVAL);
    }
    return MP_OBJ_NEW_SMALL_INT(fd);
}
static MP_DEFINE_CONST_FUN_OBJ_1(op_fileno_obj, op_fileno);
#endif

static const mp_stream_p_t op_stream_p = {
    .ioctl = op_ioctl,
};

static const mp_rom_map_elem_t op_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_send), MP_ROM_PTR(&op_send_obj) },
    { MP_ROM_QSTR(MP_QSTR_throw), MP_ROM_PTR(&op_throw_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&op_close_obj) },
    #if AWAITQ_MP_HAVE_FD
    { MP_ROM_QSTR(MP_QSTR_fileno), MP_ROM_PTR(&op_fileno_obj) },
    #endif
};
static MP_DEFINE_CONST_DICT(op_locals, op_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    awaitq_mp_type_Op, MP_QSTR_Awaitable, MP_TYPE_FLAG_ITER_IS_ITERNEXT,
    iter, op_iternext,
    protocol, &op_stream_p,
    locals_dict, &op_locals
    );
