//! The channel object's non-waiting operations, over the core channel that lives inside the
//! object's GC block.
//!
//! Memory (why it is safe for MicroPython's GC): C allocates one GC block per channel
//! (`self->mem`, `awaitq_mp_core_size() + storage_len` bytes) and keeps its only pointer in the
//! channel object, so the block lives exactly as long as the object. The core channel is
//! written at the first suitably aligned address in the block, the frame storage follows it.
//! The core channel holds nothing that needs dropping (borrowed storage, a plain fn pointer
//! and integers), so the GC freeing the block is its whole destruction.

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};

use awaitq_capi::{RawChannel, Storage};
use awaitq_core::{Config, ConfigError, Overflow, RecvError, WakeHook, Word};

use crate::error::fill;
use crate::ffi::{
    self, awaitq_mp_channel_obj_t, awaitq_mp_error_t, awaitq_mp_frame_t, awaitq_mp_stat_t,
    mp_int_t, mp_uint_t, AWAITQ_MP_EMPTY, AWAITQ_MP_ERROR, AWAITQ_MP_OK, AWAITQ_MP_TOO_SMALL,
    MP_STREAM_POLL_RD, MP_STREAM_POLL_WR,
};

/// The core channel of an initialised channel object.
///
/// # Safety
/// `ch` points to a channel object on which `awaitq_mp_channel_init` succeeded, and the object
/// is alive (reachable) for `'a` (see the lifetime rule in ports/awaitq_mp.h).
pub(crate) unsafe fn core_of<'a>(ch: *const awaitq_mp_channel_obj_t) -> &'a RawChannel {
    // SAFETY: per the contract, `core` was set by a successful init to a RawChannel inside the
    // object's GC block, which lives as long as the object.
    unsafe { &*(*ch).core.cast::<RawChannel>() }
}

/// `&[u8]` from C's (pointer, length); a null pointer is only valid with length 0.
///
/// # Safety
/// `data` is null with `len == 0`, or valid for `len` reads for `'a`.
pub(crate) unsafe fn bytes<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: non-null and valid for `len` reads, per the contract.
        unsafe { core::slice::from_raw_parts(data, len) }
    }
}

/// `&mut [u8]` from C's (pointer, length).
///
/// # Safety
/// `data` is null with `len == 0`, or valid for `len` writes and unaliased for `'a`.
pub(crate) unsafe fn bytes_mut<'a>(data: *mut u8, len: usize) -> &'a mut [u8] {
    if data.is_null() || len == 0 {
        &mut []
    } else {
        // SAFETY: non-null, valid for writes and unaliased, per the contract.
        unsafe { core::slice::from_raw_parts_mut(data, len) }
    }
}

/// A Python int as a size: negative values are treated as 0, which every size rule rejects
/// with the core's own message ("capacity must be at least 1").
fn size(v: mp_int_t) -> usize {
    usize::try_from(v).unwrap_or(0)
}

fn overflow_of(code: u8) -> Overflow {
    if code == Overflow::DropOldest as u8 {
        Overflow::DropOldest
    } else {
        Overflow::Reject
    }
}

/// Bytes in front of the storage: the core channel plus slack to align it.
#[no_mangle]
pub extern "C" fn awaitq_mp_core_size() -> usize {
    // Rounded up to whole words: the frame storage after it is atomic 32-bit words.
    (size_of::<RawChannel>() + align_of::<RawChannel>() - 1).next_multiple_of(align_of::<Word>())
}

/// The core's defaults for `Channel()` (shared with the CPython binding).
///
/// # Safety
/// Both pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_defaults(capacity: *mut usize, max_frame: *mut usize) {
    // SAFETY: valid for writes, per the contract.
    unsafe {
        *capacity = awaitq_core::DEFAULT_CAPACITY;
        *max_frame = awaitq_core::DEFAULT_MAX_FRAME;
    }
}

/// Validates a configuration with the core's rules; fills the storage length it needs.
///
/// # Safety
/// `overflow` is null (the default policy) or valid for `overflow_len` reads; the out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_config(
    capacity: mp_int_t,
    max_frame: mp_int_t,
    overflow: *const c_char,
    overflow_len: usize,
    overflow_code: *mut u8,
    storage_len: *mut usize,
    err: *mut awaitq_mp_error_t,
) -> bool {
    let policy = if overflow.is_null() {
        Ok(Overflow::default())
    } else {
        // SAFETY: valid for `overflow_len` reads, per the contract.
        let name = unsafe { bytes(overflow.cast(), overflow_len) };
        core::str::from_utf8(name)
            .map_err(|_| ConfigError::UnknownOverflow)
            .and_then(Overflow::from_name)
    };
    let result = policy.and_then(|p| {
        Ok((
            p,
            Config::new(size(capacity), size(max_frame), p).validate()?,
        ))
    });
    match result {
        Ok((policy, words)) => {
            // SAFETY: valid for writes, per the contract.
            unsafe {
                *overflow_code = policy as u8;
                // `validate` bounds `words` so this byte count cannot overflow.
                *storage_len = words * size_of::<Word>();
            }
            true
        }
        Err(e) => {
            // SAFETY: `err` is valid for writes, per the contract.
            unsafe { fill(err, &e) };
            false
        }
    }
}

/// The core's wake hook: forwards to the C shim (eventfd, port hook).
extern "C" fn wake(ctx: usize) {
    // SAFETY: `ctx` is the channel object the hook was installed for, alive for as long as
    // anything can push to it (the lifetime rule); the C function never raises or allocates.
    unsafe { ffi::awaitq_mp_sys_wake(ctx) }
}

/// Builds the core channel inside `self->mem` and installs the wake hook.
///
/// # Safety
/// `self_` is a channel object whose `mem` is a GC block of `mem_len` bytes owned by it
/// (nothing else refers to it), and the configuration passed `awaitq_mp_config`.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_channel_init(
    self_: *mut awaitq_mp_channel_obj_t,
    mem_len: usize,
    capacity: mp_int_t,
    max_frame: mp_int_t,
    overflow_code: u8,
    err: *mut awaitq_mp_error_t,
) -> bool {
    let config = Config::new(size(capacity), size(max_frame), overflow_of(overflow_code));
    // SAFETY: `self_` is a valid channel object, per the contract.
    let mem = unsafe { (*self_).mem }.cast::<u8>();
    let front = awaitq_mp_core_size();
    let storage_at = mem.wrapping_add(front);
    let Some(storage_len) = mem_len.checked_sub(front) else {
        let e = ConfigError::StorageTooSmall {
            needed: front,
            got: mem_len,
        };
        // SAFETY: valid for writes, per the contract.
        unsafe { fill(err, &e) };
        return false;
    };
    // GC blocks are word-aligned and `front` is a whole number of words; checked anyway, since
    // a misaligned atomic would be undefined behaviour.
    if storage_at.align_offset(align_of::<Word>()) != 0 {
        let e = ConfigError::TooLarge;
        // SAFETY: valid for writes, per the contract.
        unsafe { fill(err, &e) };
        return false;
    }
    // SAFETY: the block is `mem_len` bytes, owned by the object and referenced by nothing
    // else; the storage part starts after the core part (so the two never overlap), is
    // aligned for `Word` (checked above) and zeroed or not, any bit pattern is a valid
    // `AtomicU32`. 'static is the object's lifetime: the core channel holding this slice
    // lives in the same block. Shared access suffices: the words are atomics.
    let storage: &'static [Word] = unsafe {
        core::slice::from_raw_parts(storage_at.cast::<Word>(), storage_len / size_of::<Word>())
    };
    let channel = match RawChannel::new(Storage::Borrowed(storage), config) {
        Ok(ch) => ch,
        Err(e) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { fill(err, &e) };
            return false;
        }
    };
    let at = mem.align_offset(align_of::<RawChannel>());
    // SAFETY: `at + size_of::<RawChannel>() <= front`, inside the block, properly aligned and
    // not yet holding a value (a fresh block), so writing without dropping is correct.
    let core = unsafe {
        let p = mem.add(at).cast::<RawChannel>();
        p.write(channel);
        &*p
    };
    core.set_wake_hook(Some(WakeHook {
        func: wake,
        ctx: self_ as usize,
    }));
    // SAFETY: `self_` is valid for writes, per the contract.
    unsafe { (*self_).core = (core as *const RawChannel).cast::<c_void>() };
    true
}

/// `send_nowait`: queues a frame or reports why not.
///
/// # Safety
/// `self_` is an initialised, live channel object; `data` valid for `len` reads (or null with
/// 0); `err` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_push(
    self_: *const awaitq_mp_channel_obj_t,
    tag: u32,
    data: *const u8,
    len: usize,
    err: *mut awaitq_mp_error_t,
) -> bool {
    // SAFETY: per the contract.
    let (ch, payload) = unsafe { (core_of(self_), bytes(data, len)) };
    match ch.push(tag, payload) {
        Ok(()) => true,
        Err(e) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { fill(err, &e) };
            false
        }
    }
}

/// `try_recv` and the extra frames of `recv_many`: takes the head frame into `dest` without
/// waiting. With a too-small `dest` (C first probes with an empty one so it can allocate the
/// bytes object at the frame's exact size) the frame stays queued and `*needed` says how big.
///
/// # Safety
/// `self_` is an initialised, live channel object; `dest` valid for `dest_len` writes (or
/// null with 0); the out-pointers valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_try_recv(
    self_: *const awaitq_mp_channel_obj_t,
    dest: *mut u8,
    dest_len: usize,
    frame: *mut awaitq_mp_frame_t,
    needed: *mut usize,
    err: *mut awaitq_mp_error_t,
) -> u8 {
    // SAFETY: per the contract.
    let (ch, dest) = unsafe { (core_of(self_), bytes_mut(dest, dest_len)) };
    let status = match ch.try_recv_into(dest) {
        Ok(f) => {
            // SAFETY: valid for writes, per the contract.
            unsafe {
                *frame = awaitq_mp_frame_t {
                    tag: f.tag,
                    len: f.len,
                }
            };
            AWAITQ_MP_OK
        }
        Err(RecvError::Empty) => AWAITQ_MP_EMPTY,
        Err(RecvError::BufferTooSmall { needed: n, .. }) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { *needed = n };
            AWAITQ_MP_TOO_SMALL
        }
        Err(e) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { fill(err, &e) };
            AWAITQ_MP_ERROR
        }
    };
    status as u8
}

/// # Safety
/// `self_` is an initialised, live channel object.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_close(self_: *const awaitq_mp_channel_obj_t) {
    // SAFETY: per the contract.
    unsafe { core_of(self_) }.close();
}

/// # Safety
/// `self_` is an initialised, live channel object.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_is_closed(self_: *const awaitq_mp_channel_obj_t) -> bool {
    // SAFETY: per the contract.
    unsafe { core_of(self_) }.is_closed()
}

/// # Safety
/// `self_` is an initialised, live channel object.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_len(self_: *const awaitq_mp_channel_obj_t) -> usize {
    // SAFETY: per the contract.
    unsafe { core_of(self_) }.len()
}

/// # Safety
/// `self_` is an initialised, live channel object.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_capacity(self_: *const awaitq_mp_channel_obj_t) -> usize {
    // SAFETY: per the contract.
    unsafe { core_of(self_) }.config().capacity
}

/// # Safety
/// `self_` is an initialised, live channel object; `len` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_overflow_name(
    self_: *const awaitq_mp_channel_obj_t,
    len: *mut usize,
) -> *const c_char {
    // SAFETY: per the contract.
    let name = unsafe { core_of(self_) }.config().overflow.name();
    // SAFETY: valid for writes, per the contract.
    unsafe { *len = name.len() };
    name.as_ptr().cast()
}

/// One snapshot of the counters, keys from `Stats::fields()` (shared with CPython).
///
/// # Safety
/// `self_` is an initialised, live channel object; `out` valid for `n` writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_stats(
    self_: *const awaitq_mp_channel_obj_t,
    out: *mut awaitq_mp_stat_t,
    n: usize,
) -> usize {
    // SAFETY: per the contract.
    let stats = unsafe { core_of(self_) }.stats();
    let fields = stats.fields();
    let count = fields.len().min(n);
    for (i, (name, value)) in fields.iter().take(count).enumerate() {
        // SAFETY: `i < n`, and `out` is valid for `n` writes.
        unsafe {
            out.add(i).write(awaitq_mp_stat_t {
                name: name.as_ptr().cast(),
                name_len: name.len(),
                value: *value,
            })
        };
    }
    count
}

/// `ioctl(MP_STREAM_POLL)`: readable when a receive would not wait (a frame is queued or the
/// channel is closed), writable when a send would not wait. Only a hint: the awaitable always
/// re-runs the core step after a wake-up.
///
/// # Safety
/// `self_` is an initialised, live channel object.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_poll(
    self_: *const awaitq_mp_channel_obj_t,
    events: mp_uint_t,
) -> mp_uint_t {
    // SAFETY: per the contract.
    let ch = unsafe { core_of(self_) };
    let (len, closed, config) = (ch.len(), ch.is_closed(), ch.config());
    let mut ready: mp_uint_t = 0;
    if events & MP_STREAM_POLL_RD as mp_uint_t != 0 && (len > 0 || closed) {
        ready |= MP_STREAM_POLL_RD as mp_uint_t;
    }
    let room = len < config.capacity || config.overflow == Overflow::DropOldest;
    if events & MP_STREAM_POLL_WR as mp_uint_t != 0 && (room || closed) {
        ready |= MP_STREAM_POLL_WR as mp_uint_t;
    }
    ready
}
