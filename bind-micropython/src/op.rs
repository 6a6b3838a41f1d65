//! The awaitable: one step of the core's `RecvOp` / `SendOp`, translated into a status code.
//! C turns the status into the coroutine protocol (yield after registering with asyncio,
//! `StopIteration(value)`, raise); this module decides nothing itself.

use core::mem::{align_of, size_of};
use core::ptr::addr_of_mut;

use awaitq_core::{Phase, RecvOp, Resume, SendOp, Step};

use crate::channel::{bytes, bytes_mut, core_of};
use crate::error::{fill, MpError, Runtime, EXHAUSTED};
use crate::ffi::{
    awaitq_mp_error_t, awaitq_mp_frame_t, awaitq_mp_op_obj_t, AWAITQ_MP_EXHAUSTED,
    AWAITQ_MP_FAILED, AWAITQ_MP_FINISHED, AWAITQ_MP_FRESH, AWAITQ_MP_PARKED, AWAITQ_MP_PENDING,
    AWAITQ_MP_READY, AWAITQ_MP_RESUME_CLOSE, AWAITQ_MP_RESUME_THROW, AWAITQ_MP_RETHROW,
    AWAITQ_MP_RETURNED, AWAITQ_MP_SEND,
};

// The op's `uint64_t state` field must be able to hold either operation.
const _: () = assert!(size_of::<RecvOp>() <= 8 && align_of::<RecvOp>() <= 8);
const _: () = assert!(size_of::<SendOp>() <= 8 && align_of::<SendOp>() <= 8);

fn is_send(op: *const awaitq_mp_op_obj_t) -> bool {
    // SAFETY: every caller passes a valid op object (their own contract).
    unsafe { u32::from((*op).kind) == AWAITQ_MP_SEND }
}

/// The op's `RecvOp`.
///
/// # Safety
/// `op` is a valid receive op (kind != SEND) whose state `awaitq_mp_op_reset` initialised, and
/// no other reference to its state exists for `'a`.
unsafe fn recv_op<'a>(op: *mut awaitq_mp_op_obj_t) -> &'a mut RecvOp {
    // SAFETY: per the contract the field holds an initialised RecvOp; size and alignment are
    // checked above.
    unsafe { &mut *addr_of_mut!((*op).state).cast::<RecvOp>() }
}

/// The op's `SendOp`. Same contract as [`recv_op`], for kind == SEND.
unsafe fn send_op<'a>(op: *mut awaitq_mp_op_obj_t) -> &'a mut SendOp {
    // SAFETY: as for recv_op.
    unsafe { &mut *addr_of_mut!((*op).state).cast::<SendOp>() }
}

fn resume_of(how: u8) -> Resume {
    match u32::from(how) {
        AWAITQ_MP_RESUME_THROW => Resume::Throw,
        AWAITQ_MP_RESUME_CLOSE => Resume::Close,
        _ => Resume::Send,
    }
}

/// Translates a step; `ready` records the value of a `Ready`.
///
/// # Safety
/// `err` is null or valid for writes.
unsafe fn status<T, E: MpError>(
    step: Step<T, E>,
    err: *mut awaitq_mp_error_t,
    ready: impl FnOnce(T),
) -> u8 {
    let s = match step {
        Step::Ready(v) => {
            ready(v);
            AWAITQ_MP_READY
        }
        Step::Pending => AWAITQ_MP_PENDING,
        Step::Failed(e) => {
            // SAFETY: per the contract.
            unsafe { fill(err, &e) };
            AWAITQ_MP_FAILED
        }
        Step::Rethrow => AWAITQ_MP_RETHROW,
        Step::Returned => AWAITQ_MP_RETURNED,
        Step::Exhausted => {
            // SAFETY: per the contract.
            unsafe { fill(err, &Runtime(EXHAUSTED)) };
            AWAITQ_MP_EXHAUSTED
        }
    };
    s as u8
}

/// Makes `op->state` a fresh operation of `op->kind`.
///
/// # Safety
/// `op` is a valid op object that is not being resumed concurrently.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_op_reset(op: *mut awaitq_mp_op_obj_t) {
    // SAFETY: the field is 8 bytes, 8-aligned (checked above); writing a Copy value into it
    // needs no drop of the previous contents.
    unsafe {
        let state = addr_of_mut!((*op).state);
        if is_send(op) {
            state.cast::<SendOp>().write(SendOp::new());
        } else {
            state.cast::<RecvOp>().write(RecvOp::new());
        }
    }
}

/// Where the op is: fresh, parked or finished (`enum awaitq_mp_phase`).
///
/// # Safety
/// `op` is a valid op object initialised by `awaitq_mp_op_reset`.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_op_phase(op: *const awaitq_mp_op_obj_t) -> u8 {
    let op = op.cast_mut();
    // SAFETY: per the contract; only read.
    let phase = unsafe {
        if is_send(op) {
            send_op(op).phase()
        } else {
            recv_op(op).phase()
        }
    };
    let p = match phase {
        Phase::Fresh => AWAITQ_MP_FRESH,
        Phase::Parked => AWAITQ_MP_PARKED,
        Phase::Finished => AWAITQ_MP_FINISHED,
    };
    p as u8
}

/// One step of a receive. On READY the payload is `dest[..frame.len]`.
///
/// # Safety
/// `op` is a valid receive op (initialised, not resumed concurrently) whose channel is alive;
/// `dest` valid for `dest_len` writes (or null with 0); `frame` and `err` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_recv_resume(
    op: *mut awaitq_mp_op_obj_t,
    how: u8,
    dest: *mut u8,
    dest_len: usize,
    frame: *mut awaitq_mp_frame_t,
    err: *mut awaitq_mp_error_t,
) -> u8 {
    if is_send(op) {
        // SAFETY: valid for writes, per the contract.
        unsafe { fill(err, &Runtime("awaitq: not a receive operation")) };
        return AWAITQ_MP_FAILED as u8;
    }
    // SAFETY: per the contract: a receive op, its live channel, a writable destination.
    let (state, ch, dest) = unsafe {
        (
            recv_op(op),
            core_of((*op).channel),
            bytes_mut(dest, dest_len),
        )
    };
    let step = state.resume(ch, resume_of(how), dest);
    // SAFETY: `err` and `frame` are valid for writes, per the contract.
    unsafe {
        status(step, err, |f| {
            *frame = awaitq_mp_frame_t {
                tag: f.tag,
                len: f.len,
            }
        })
    }
}

/// One step of a batch receive: up to `op->count` frames as records in `dest`. On READY
/// `*frames` is how many (at least one).
///
/// # Safety
/// As [`awaitq_mp_recv_resume`], with `frames` valid for writes instead of a frame.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_recv_batch_resume(
    op: *mut awaitq_mp_op_obj_t,
    how: u8,
    dest: *mut u8,
    dest_len: usize,
    frames: *mut usize,
    err: *mut awaitq_mp_error_t,
) -> u8 {
    if is_send(op) {
        // SAFETY: valid for writes, per the contract.
        unsafe { fill(err, &Runtime("awaitq: not a receive operation")) };
        return AWAITQ_MP_FAILED as u8;
    }
    // SAFETY: per the contract: a receive op, its live channel, a writable destination.
    let (state, ch, dest, max) = unsafe {
        (
            recv_op(op),
            core_of((*op).channel),
            bytes_mut(dest, dest_len),
            usize::try_from((*op).count).unwrap_or(1),
        )
    };
    let step = state.resume_batch(ch, resume_of(how), dest, max);
    // SAFETY: `err` and `frames` are valid for writes, per the contract.
    unsafe { status(step, err, |(n, _)| *frames = n) }
}

/// Writes one record (tag, `plen`, then the payload) at the start of `dest` (a staged frame
/// delivered by `recv_many_into`): the bytes written, 0 if it does not fit (nothing written).
///
/// # Safety
/// `dest` valid for `dest_len` writes and `payload` for `plen` reads (each may be null with
/// 0); they do not overlap.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_batch_put(
    dest: *mut u8,
    dest_len: usize,
    tag: u32,
    payload: *const u8,
    plen: usize,
) -> usize {
    // SAFETY: per the contract.
    let (dest, payload) = unsafe { (bytes_mut(dest, dest_len), bytes(payload, plen)) };
    awaitq_core::write_record(dest, tag, payload).unwrap_or(0)
}

/// The record at `buf[*offset..]`: its tag, payload start and length (from the start of
/// `buf`); advances `*offset` past it. `false` at the end or at a truncated record.
///
/// # Safety
/// `buf` valid for `len` reads (or null with 0); the out pointers valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_batch_next(
    buf: *const u8,
    len: usize,
    offset: *mut usize,
    tag: *mut u32,
    start: *mut usize,
    plen: *mut usize,
) -> bool {
    // SAFETY: per the contract.
    let (records, at) = unsafe { (bytes(buf, len), *offset) };
    let Some((t, s, l)) = records
        .get(at..)
        .and_then(|rest| awaitq_core::batch_records(rest).next())
    else {
        return false;
    };
    // SAFETY: valid for writes, per the contract.
    unsafe {
        *tag = t;
        *start = at + s;
        *plen = l;
        *offset = at + s + l;
    }
    true
}

/// One step of a waiting send of `data[..len]` with `op->tag`.
///
/// # Safety
/// `op` is a valid send op (initialised, not resumed concurrently) whose channel is alive;
/// `data` valid for `len` reads (or null with 0); `err` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_send_resume(
    op: *mut awaitq_mp_op_obj_t,
    how: u8,
    data: *const u8,
    len: usize,
    err: *mut awaitq_mp_error_t,
) -> u8 {
    if !is_send(op) {
        // SAFETY: valid for writes, per the contract.
        unsafe { fill(err, &Runtime("awaitq: not a send operation")) };
        return AWAITQ_MP_FAILED as u8;
    }
    // SAFETY: per the contract: a send op, its live channel, a readable payload.
    let (state, ch, payload, tag) = unsafe {
        (
            send_op(op),
            core_of((*op).channel),
            bytes(data, len),
            (*op).tag,
        )
    };
    let step = state.resume(ch, resume_of(how), tag, payload);
    // SAFETY: `err` is valid for writes, per the contract.
    unsafe { status(step, err, |()| {}) }
}
