// The contract between the C shim and the Rust staticlib of awaitq's MicroPython module.
//
// bindgen reads this header at build time with the port's own compiler flags (build.rs), so the
// Rust side sees exactly the struct layouts this firmware build compiles (mp_obj_t, the object
// structs below). Nothing generated from it is committed.
//
// Division of labour (why the split is where it is):
// - C owns everything that can raise (nlr/longjmp) or allocate on the GC heap: argument
//   parsing, object creation, asyncio registration, raising exceptions.
// - Rust owns the channel and the awaitable state machine (awaitq-core). Every Rust function
//   below returns a status and fills plain out-parameters; none calls back into MicroPython
//   except the awaitq_mp_sys_* services, which never raise.
// So no longjmp ever crosses a Rust frame: when C raises, the Rust call has already returned.
#ifndef AWAITQ_MP_SHIM_H
#define AWAITQ_MP_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "py/obj.h"
#include "py/stream.h"

// Longest exception message Rust writes (the core's Display text, truncated if ever longer).
#define AWAITQ_MP_MSG_LEN (96)
// How many counters the core reports (Stats::fields()).
#define AWAITQ_MP_STATS_MAX (8)

// Which awaitable an op object is.
enum awaitq_mp_kind {
    AWAITQ_MP_RECV = 0,     // await ch.recv()          -> bytes
    AWAITQ_MP_RECV_TAGGED,  // await ch.recv_tagged()   -> (tag, bytes)
    AWAITQ_MP_RECV_INTO,    // await ch.recv_into(buf)  -> int
    AWAITQ_MP_RECV_MANY,    // await ch.recv_many(n)    -> [bytes]
    AWAITQ_MP_ANEXT,        // async for                -> bytes, StopAsyncIteration at the end
    AWAITQ_MP_SEND,         // await ch.send(data, tag)
};

// How the driver resumes an awaitable (awaitq_core::Resume).
enum awaitq_mp_resume {
    AWAITQ_MP_RESUME_SEND = 0,
    AWAITQ_MP_RESUME_THROW,
    AWAITQ_MP_RESUME_CLOSE,
};

// What C must do next (awaitq_core::Step).
enum awaitq_mp_step {
    AWAITQ_MP_READY = 0,    // complete with the frame / ()
    AWAITQ_MP_PENDING,      // register with asyncio's I/O queue and yield
    AWAITQ_MP_FAILED,       // raise the error
    AWAITQ_MP_RETHROW,      // re-raise the thrown exception
    AWAITQ_MP_RETURNED,     // close(): return None
    AWAITQ_MP_EXHAUSTED,    // resumed after finishing: raise the error (RuntimeError)
};

// Result of a call that does not wait.
enum awaitq_mp_status {
    AWAITQ_MP_OK = 0,
    AWAITQ_MP_EMPTY,        // try_recv: nothing queued
    AWAITQ_MP_TOO_SMALL,    // try_recv: the head frame needs *needed bytes; it stays queued
    AWAITQ_MP_ERROR,        // raise the error
};

// The exception C raises for an error Rust reports.
enum awaitq_mp_exc {
    AWAITQ_MP_EXC_VALUE = 0,
    AWAITQ_MP_EXC_TYPE,
    AWAITQ_MP_EXC_RUNTIME,
    AWAITQ_MP_EXC_CLOSED,   // awaitq.ChannelClosed
    AWAITQ_MP_EXC_FULL,     // awaitq.ChannelFull
};

// Phase of an op (awaitq_core::Phase).
enum awaitq_mp_phase {
    AWAITQ_MP_FRESH = 0,
    AWAITQ_MP_PARKED,
    AWAITQ_MP_FINISHED,
};

typedef struct _awaitq_mp_error_t {
    uint8_t exc;                    // enum awaitq_mp_exc
    char msg[AWAITQ_MP_MSG_LEN];    // NUL-terminated
} awaitq_mp_error_t;

typedef struct _awaitq_mp_frame_t {
    uint32_t tag;
    size_t len;
} awaitq_mp_frame_t;

typedef struct _awaitq_mp_stat_t {
    const char *name;               // static, from awaitq_core::Stats::fields()
    size_t name_len;
    uint64_t value;
} awaitq_mp_stat_t;

// awaitq.Channel. GC: `mem` is the only pointer to the channel's GC block, and the block holds
// the core channel followed by its frame storage, so both live exactly as long as this object.
typedef struct _awaitq_mp_channel_obj_t {
    mp_obj_base_t base;
    void *mem;                      // GC block: core channel (aligned inside), then storage
    const void *core;               // the awaitq_channel_t * inside `mem`, for producers
    mp_obj_t recv_op;               // recycled receive awaitable (or MP_OBJ_NULL)
    mp_obj_t send_op;               // recycled send awaitable (or MP_OBJ_NULL)
    size_t max_frame;
    int wake_rfd;                   // unix: eventfd / pipe read end the awaitables poll; else -1
    int wake_wfd;                   // unix: what the wake hook writes; else -1
} awaitq_mp_channel_obj_t;

// The awaitable every receive/send method returns (a native iternext object with
// send/throw/close). `state` holds the core's RecvOp/SendOp; only Rust reads or writes it.
typedef struct _awaitq_mp_op_obj_t {
    mp_obj_base_t base;
    awaitq_mp_channel_obj_t *channel;
    mp_obj_t arg;                   // recv_into: destination buffer; send: payload object
    mp_obj_t ioq;                   // asyncio IOQueue this op is registered with, or MP_OBJ_NULL
    uint8_t *scratch;               // max_frame bytes (recv, recv_tagged, recv_many, anext)
    mp_int_t count;                 // recv_many: most frames to return
    uint32_t tag;                   // send
    uint8_t kind;                   // enum awaitq_mp_kind
    uint64_t state;                 // RecvOp / SendOp, Rust-owned
} awaitq_mp_op_obj_t;

// ---- Services C provides to Rust (never raise, never allocate) ----

// MICROPY_BEGIN_ATOMIC_SECTION / MICROPY_END_ATOMIC_SECTION: a mutex on unix (safe from any
// pthread), interrupts masked on an MCU (safe against ISRs). The core's only lock.
uintptr_t awaitq_mp_sys_atomic_begin(void);
void awaitq_mp_sys_atomic_end(uintptr_t state);
// The core's wake hook (ctx = the channel object): eventfd write on unix, then awaitq_port_wake.
void awaitq_mp_sys_wake(uintptr_t ctx);
// A Rust panic (a bug): abort the process / hard-fault the MCU. Never returns.
void awaitq_mp_sys_abort(void);

// ---- Functions Rust provides to C (declarations checked against Rust at compile time) ----

// Bytes of GC memory `mem` needs in front of the storage (the core channel + alignment slack).
size_t awaitq_mp_core_size(void);
// The core's defaults for a Channel() without arguments.
void awaitq_mp_defaults(size_t *capacity, size_t *max_frame);
// Validates a configuration (core rules). On success fills the storage length and policy.
// `overflow` NULL means the core's default policy.
bool awaitq_mp_config(mp_int_t capacity, mp_int_t max_frame, const char *overflow,
    size_t overflow_len, uint8_t *overflow_code, size_t *storage_len, awaitq_mp_error_t *err);
// Builds the core channel inside self->mem (mem_len = core_size + storage_len), installs the
// wake hook and sets self->core. Does not allocate.
bool awaitq_mp_channel_init(awaitq_mp_channel_obj_t *self, size_t mem_len, mp_int_t capacity,
    mp_int_t max_frame, uint8_t overflow_code, awaitq_mp_error_t *err);
bool awaitq_mp_push(const awaitq_mp_channel_obj_t *self, uint32_t tag, const uint8_t *data,
    size_t len, awaitq_mp_error_t *err);
uint8_t awaitq_mp_try_recv(const awaitq_mp_channel_obj_t *self, uint8_t *dest, size_t dest_len,
    awaitq_mp_frame_t *frame, size_t *needed, awaitq_mp_error_t *err);
void awaitq_mp_close(const awaitq_mp_channel_obj_t *self);
bool awaitq_mp_is_closed(const awaitq_mp_channel_obj_t *self);
size_t awaitq_mp_len(const awaitq_mp_channel_obj_t *self);
size_t awaitq_mp_capacity(const awaitq_mp_channel_obj_t *self);
// The policy's name as the Python API spells it (static string).
const char *awaitq_mp_overflow_name(const awaitq_mp_channel_obj_t *self, size_t *len);
// One consistent snapshot of the counters; returns how many were written.
size_t awaitq_mp_stats(const awaitq_mp_channel_obj_t *self, awaitq_mp_stat_t *out, size_t n);
// MP_STREAM_POLL: RD when a frame is queued or the channel is closed, WR when there is room.
mp_uint_t awaitq_mp_poll(const awaitq_mp_channel_obj_t *self, mp_uint_t events);

// (Re)initialises op->state for op->kind: a fresh RecvOp or SendOp.
void awaitq_mp_op_reset(awaitq_mp_op_obj_t *op);
uint8_t awaitq_mp_op_phase(const awaitq_mp_op_obj_t *op);
// One step of a receive (kinds RECV*, ANEXT). On READY the payload is dest[..frame->len].
uint8_t awaitq_mp_recv_resume(awaitq_mp_op_obj_t *op, uint8_t how, uint8_t *dest,
    size_t dest_len, awaitq_mp_frame_t *frame, awaitq_mp_error_t *err);
// One step of a waiting send (kind SEND) of data[..len] with op->tag.
uint8_t awaitq_mp_send_resume(awaitq_mp_op_obj_t *op, uint8_t how, const uint8_t *data,
    size_t len, awaitq_mp_error_t *err);

#endif // AWAITQ_MP_SHIM_H
