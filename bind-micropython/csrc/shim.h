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

// The native-awaitable C API (ports/include/awaitq_aw.h), MicroPython half: its callback types
// and the awaitq_mp_aw_* prototypes, which src/cont/capi.rs defines (abi_check.rs proves the
// two agree).
#ifndef AWAITQ_MICROPYTHON
#define AWAITQ_MICROPYTHON
#endif
#include "awaitq_aw.h"

// Native continuations (awaitq_aw.h, Rust futures) are compiled in when this is 1 (the build
// passes -DAWAITQ_MP_CONT=1 together with cargo's `cont` feature; see ports/micropython.mk).
// The declarations below are always visible; only the definitions are conditional.
#ifndef AWAITQ_MP_CONT
#define AWAITQ_MP_CONT (0)
#endif

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
    AWAITQ_MP_RECV_MANY_INTO, // await ch.recv_many_into(buf, max) -> frame count (records in buf)
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
    AWAITQ_MP_EXC_SYSTEM,   // awaitq.SystemError (MicroPython has no SystemError)
    AWAITQ_MP_EXC_MEMORY,   // MemoryError
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
    // A frame taken from the core whose Python value is not built yet (MemoryError): the next
    // receive delivers it first. staged_len is SIZE_MAX when nothing is staged.
    mp_obj_t parked_recv;           // the receive op that last parked (may have moved on since)
    uint8_t *staged;                // max_frame bytes, made on the first receive
    size_t staged_len;
    uint32_t staged_tag;
} awaitq_mp_channel_obj_t;

// The awaitable every receive/send method returns (a native iternext object with
// send/throw/close). `state` holds the core's RecvOp/SendOp; only Rust reads or writes it.
typedef struct _awaitq_mp_op_obj_t {
    mp_obj_base_t base;
    awaitq_mp_channel_obj_t *channel;
    mp_obj_t arg;                   // recv_into: destination buffer; send: payload object
    mp_obj_t ioq;                   // asyncio IOQueue this op is registered with, or MP_OBJ_NULL
    uint8_t *scratch;               // max_frame bytes (recv, recv_tagged, recv_many, anext)
    mp_int_t count;                 // recv_many, recv_many_into: most frames to return
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
// The core's argument rules (src/args.rs): false with *err filled (a ValueError) when refused.
bool awaitq_mp_period_ns(double rate_hz, uint64_t *period_ns, awaitq_mp_error_t *err);
bool awaitq_mp_check_count(int64_t value, awaitq_mp_error_t *err);
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
// One step of a batch receive (kind RECV_MANY_INTO): up to op->count frames packed into
// dest[..dest_len] as records (awaitq_core::batch); on READY *frames is how many (>= 1).
uint8_t awaitq_mp_recv_batch_resume(awaitq_mp_op_obj_t *op, uint8_t how, uint8_t *dest,
    size_t dest_len, size_t *frames, awaitq_mp_error_t *err);
// Writes one record (tag, plen, payload) at dest (a staged frame delivered by
// recv_many_into): the bytes written, 0 if it does not fit (nothing written).
size_t awaitq_mp_batch_put(uint8_t *dest, size_t dest_len, uint32_t tag, const uint8_t *payload,
    size_t plen);
// The record at buf[*offset..] (awaitq.frames): its tag and payload position; advances
// *offset past it. false at the end of the records or at a truncated record.
bool awaitq_mp_batch_next(const uint8_t *buf, size_t len, size_t *offset, uint32_t *tag,
    size_t *start, size_t *plen);
// One step of a waiting send (kind SEND) of data[..len] with op->tag.
uint8_t awaitq_mp_send_resume(awaitq_mp_op_obj_t *op, uint8_t how, const uint8_t *data,
    size_t len, awaitq_mp_error_t *err);

// ---- Native continuations: awaitq.NativeAwaitable (src/cont/, csrc/cont*.c) ----
//
// The object. Everything but `ioq` is Rust's: `state` holds awaitq_mp_cont_state_size()
// bytes (the core Continuation, the queue, saved values, the result; src/cont/object.rs),
// written in place by Rust after C allocated the object. Every heap pointer the awaitable
// owns (queued entries, saved values, the result, the inner iterator, a Rust future's block)
// is reachable from this block, so the conservative GC keeps and scans all of it.
typedef struct _awaitq_mp_cont_obj_t {
    mp_obj_base_t base;
    mp_obj_t ioq;                   // asyncio IOQueue a waiting Rust future is registered with
    uint64_t state[];               // Rust-owned
} awaitq_mp_cont_obj_t;

// What a resume asks C to do (core's ContStep, translated by src/cont/exports.rs).
enum awaitq_mp_cont_step {
    AWAITQ_MP_CONT_YIELD = 0,       // yield *out (it came from the inner, unchanged)
    AWAITQ_MP_CONT_RETURN,          // complete with *out (StopIteration(*out))
    AWAITQ_MP_CONT_RAISE,           // raise *out (an exception instance)
    AWAITQ_MP_CONT_CLOSED,          // close() done: return None
};

// Which object a native awaitable is (src/cont/object.rs `Kind`).
enum awaitq_mp_cont_kind {
    AWAITQ_MP_CONT_QUEUE = 0,       // awaits queued by native code (the C API)
    AWAITQ_MP_CONT_WITH,            // the statement of an `async with` (its stages)
    AWAITQ_MP_CONT_FUTURE,          // a Rust future
};

// Status of a call into MicroPython made for Rust (csrc/cont_call.c).
enum awaitq_mp_call {
    AWAITQ_MP_CALL_OK = 0,          // returned; *out is the value (None for void calls)
    AWAITQ_MP_CALL_RAISED,          // raised; *out is the exception instance
    AWAITQ_MP_CALL_YIELDED,         // resume: the iterator yielded *out
    AWAITQ_MP_CALL_NONE,            // not there: not awaitable / no such methods / -1 with
                                    // nothing recorded; *out untouched
};

// ---- Calls C makes into MicroPython on Rust's behalf (csrc/cont_call.c). Each runs under
// nlr_push and never raises: what MicroPython raised comes back as AWAITQ_MP_CALL_RAISED.

// The iterator `await awaitable` drives: __await__() (its result must be an iterator), else
// what MicroPython's own `await` iterates (the object itself if it is an iterator, else
// iter(obj)); NONE when it is neither (core's NotAwaitable).
uint8_t awaitq_mp_call_await_iter(mp_obj_t awaitable, mp_obj_t *out);
// One step of an inner: send(value) (value != NULL) or throw(exc) (exc != NULL): YIELDED,
// OK (it returned *out) or RAISED. An inner without throw() gets RAISED with exc itself.
uint8_t awaitq_mp_call_resume(mp_obj_t iter, mp_obj_t value, mp_obj_t exc, mp_obj_t *out);
// iter.close() if it has one: OK or RAISED.
uint8_t awaitq_mp_call_close(mp_obj_t iter, mp_obj_t *out);
// A queued generator that will never run is closed (it cannot raise: its frame never ran).
void awaitq_mp_call_close_unstarted(mp_obj_t obj);
// A C callback of the API: OK (0, nothing recorded), RAISED (it raised, or recorded an error
// with awaitq_aw_raise / a failing API call), NONE (-1 with nothing recorded).
uint8_t awaitq_mp_call_result_cb(awaitq_aw_result_cb cb, mp_obj_t aw, mp_obj_t value, mp_obj_t *out);
uint8_t awaitq_mp_call_error_cb(awaitq_aw_error_cb cb, mp_obj_t aw, mp_obj_t exc, mp_obj_t *out);
uint8_t awaitq_mp_call_defer_cb(awaitq_aw_defer_cb cb, mp_obj_t aw, mp_obj_t *out);
// `async with cm`: methods[0..2] = __aenter__ loaded as a method (mp_load_method's pair),
// methods[2..4] = __aexit__. OK, NONE (either missing) or RAISED.
uint8_t awaitq_mp_call_cm_methods(mp_obj_t cm, mp_obj_t *methods, mp_obj_t *out);
// Calls a loaded method pair (`method` = {fun, self}) with no arguments (__aenter__), or with
// (type(exc), exc, None) / (None, None, None) for exc == MP_OBJ_NULL (__aexit__).
uint8_t awaitq_mp_call_method(mp_obj_t *method, mp_obj_t *out);
uint8_t awaitq_mp_call_aexit(mp_obj_t *method, mp_obj_t exc, mp_obj_t *out);
// fun(*args).
uint8_t awaitq_mp_call_function(mp_obj_t fun, size_t n_args, const mp_obj_t *args, mp_obj_t *out);
// bool(obj) into *truthy: OK, or RAISED.
uint8_t awaitq_mp_call_truth(mp_obj_t obj, bool *truthy, mp_obj_t *out);
// The exception `raise exc` raises (an instance, or a class instantiated), as OK.
uint8_t awaitq_mp_call_make_exc(mp_obj_t exc, mp_obj_t *out);
// A Rust future waits on its Waker: register `self` with asyncio's I/O queue for the current
// task (RuntimeError without a running asyncio task). OK or RAISED.
uint8_t awaitq_mp_call_park(awaitq_mp_cont_obj_t *self, mp_obj_t *out);
// Leaves the I/O queue if still in it (errors are dropped: nothing to report them to).
void awaitq_mp_call_unpark(awaitq_mp_cont_obj_t *self);

// ---- Services for native continuations (never raise, never run Python) ----

mp_obj_t awaitq_mp_sys_none(void);
// 1 if obj is an awaitq.NativeAwaitable.
bool awaitq_mp_sys_is_cont(mp_obj_t obj);
// A new exception of kind `exc` (enum awaitq_mp_exc) with message `msg` (copied); falls back
// to MicroPython's emergency exception when the heap is exhausted.
mp_obj_t awaitq_mp_sys_exc(uint8_t exc, const char *msg);
// GC blocks, zeroed: NULL when the heap is exhausted (nothing raised). realloc keeps `p`
// intact when it fails.
void *awaitq_mp_sys_alloc(size_t n);
void *awaitq_mp_sys_realloc(void *p, size_t old_n, size_t new_n);
// A zeroed awaitq.NativeAwaitable with `state_size` bytes of Rust state, or NULL. With
// `finaliser`, its __del__ runs when collected (a Rust future's wake slot is released).
awaitq_mp_cont_obj_t *awaitq_mp_sys_cont_alloc(size_t state_size, bool finaliser);
// The C API's error slot (MicroPython has no "current exception"): set by a failing call.
void awaitq_mp_sys_set_error(mp_obj_t exc);
// A full collection (runs finalisers): when every wake slot is taken, abandoned futures free
// theirs.
void awaitq_mp_sys_gc_collect(void);
// Wake slots of Rust futures (src/cont/waker.rs). fd_new: the read end of an eventfd (rfd ==
// *wfd) or a pipe the loop's poll() can sleep on, or -1 (no fds on this port). fd_drain
// consumes its wake-ups. wake_slot: callable from any thread or ISR: makes rfd readable (if
// >= 0), then awaitq_port_wake(NULL).
int awaitq_mp_sys_wake_fd_new(int *wfd);
void awaitq_mp_sys_wake_fd_drain(int rfd, int wfd);
void awaitq_mp_sys_wake_slot(int rfd, int wfd);
// The C API's error slot: takes and clears it (MP_OBJ_NULL if empty).
mp_obj_t awaitq_mp_sys_take_error(void);

// ---- Functions Rust provides to the type (src/cont/exports.rs) ----

size_t awaitq_mp_cont_state_size(void);
// One step: how = enum awaitq_mp_resume, value = send()'s value / throw()'s exception
// instance (MP_OBJ_NULL for close). Returns enum awaitq_mp_cont_step with *out.
uint8_t awaitq_mp_cont_resume(awaitq_mp_cont_obj_t *self, uint8_t how, mp_obj_t value, mp_obj_t *out);
// ioctl(MP_STREAM_POLL): true when a waiting Rust future was woken.
bool awaitq_mp_cont_woken(const awaitq_mp_cont_obj_t *self);
// MP_STREAM_GET_FILENO: the wake slot's fd while a Rust future waits, else -1.
int awaitq_mp_cont_wake_fd(const awaitq_mp_cont_obj_t *self);
// __del__ of a collected awaitable: releases a Rust future's wake slot (its future is not
// dropped: see README, "What MicroPython cannot offer").
void awaitq_mp_cont_finalise(awaitq_mp_cont_obj_t *self);

// ---- awaitq.testing.cont: Rust futures for the tests (src/cont/testing.rs) ----
// Each makes an awaitable into *out and returns true, or puts the exception C raises there.
size_t awaitq_mp_testing_live(void);
bool awaitq_mp_testing_ready(mp_obj_t value, mp_obj_t *out);
bool awaitq_mp_testing_await_each(mp_obj_t keep, const mp_obj_t *items, size_t n, mp_obj_t append,
    mp_obj_t result, mp_obj_t *out);
bool awaitq_mp_testing_await_catching(mp_obj_t awaitable, mp_obj_t *out);
bool awaitq_mp_testing_join_two(mp_obj_t a, mp_obj_t b, mp_obj_t *out);
mp_obj_t awaitq_mp_testing_poll_outside(mp_obj_t awaitable);
bool awaitq_mp_testing_yield_now(size_t n, mp_obj_t value, mp_obj_t *out);
// A signal's Rust state (8-aligned, awaitq_mp_testing_signal_size() bytes); set() is callable
// from any thread.
typedef struct awaitq_mp_signal_state awaitq_mp_signal_state_t;
size_t awaitq_mp_testing_signal_size(void);
void awaitq_mp_testing_signal_init(awaitq_mp_signal_state_t *p);
void awaitq_mp_testing_signal_set(const awaitq_mp_signal_state_t *p);
bool awaitq_mp_testing_wait_signal(mp_obj_t sig, const awaitq_mp_signal_state_t *p, mp_obj_t value,
    uint32_t times, mp_obj_t *out);

#endif // AWAITQ_MP_SHIM_H
