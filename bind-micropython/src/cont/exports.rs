//! What Rust provides to the type's slots (csrc/cont.c): one resume, translated from core's
//! [`ContStep`] to a step code C acts on, and the future's readiness for asyncio's poller.
//!
//! | core step | code | C (`iternext` / `send` / `throw` / `close`) |
//! |---|---|---|
//! | `Yield(v)` | YIELD | return `v` |
//! | `Return(v)` | RETURN | `StopIteration(v)` (`mp_make_stop_iteration` in `iternext`) |
//! | `Raise(e)` | RAISE | raise `e` |
//! | `Closed` | CLOSED | return `None` |
//! | `Refused(err)` | RAISE | raise core's exception for `err` |

use core::ffi::c_int;

use awaitq_core::{ContInput, ContStep};

use super::future;
use super::obj::{cont_error, Obj};
use super::object::{Cont, STATE_SIZE};
use crate::ffi::{self, awaitq_mp_cont_obj_t, mp_obj_t};

/// Bytes of Rust state at the end of the object.
#[no_mangle]
pub extern "C" fn awaitq_mp_cont_state_size() -> usize {
    STATE_SIZE
}

/// One step.
///
/// # Safety
/// `self_` is a live native awaitable (the caller holds it); `value` is live (an exception
/// instance for a throw) or NULL for a close; `out` is writable. VM thread.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_cont_resume(
    self_: *mut awaitq_mp_cont_obj_t,
    how: u8,
    value: mp_obj_t,
    out: *mut mp_obj_t,
) -> u8 {
    let value = Obj::from_raw(value);
    let input = match u32::from(how) {
        ffi::AWAITQ_MP_RESUME_THROW => ContInput::Throw(value),
        ffi::AWAITQ_MP_RESUME_CLOSE => ContInput::Close,
        _ => ContInput::Send(value),
    };
    // SAFETY: per the contract.
    let step = unsafe { Cont::from_raw(self_) }.resume(input);
    let (code, v) = match step {
        ContStep::Yield(v) => (ffi::AWAITQ_MP_CONT_YIELD, v),
        ContStep::Return(v) => (ffi::AWAITQ_MP_CONT_RETURN, v),
        ContStep::Raise(e) => (ffi::AWAITQ_MP_CONT_RAISE, e),
        ContStep::Closed => (ffi::AWAITQ_MP_CONT_CLOSED, Obj::none()),
        ContStep::Refused(err) => (ffi::AWAITQ_MP_CONT_RAISE, cont_error(err)),
    };
    // SAFETY: writable per the contract.
    unsafe { *out = v.raw() };
    code as u8
}

/// `ioctl(MP_STREAM_POLL)`: a waiting Rust future was woken.
///
/// # Safety
/// `self_` is a live native awaitable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_cont_woken(self_: *const awaitq_mp_cont_obj_t) -> bool {
    // SAFETY: per the contract; only reads.
    future::woken(unsafe { Cont::from_raw(self_.cast_mut()) })
}

/// `MP_STREAM_GET_FILENO`: the wake slot's fd, or -1.
///
/// # Safety
/// `self_` is a live native awaitable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_cont_wake_fd(self_: *const awaitq_mp_cont_obj_t) -> c_int {
    // SAFETY: per the contract; only reads.
    future::wake_fd(unsafe { Cont::from_raw(self_.cast_mut()) })
}

/// `__del__`: gives a Rust future's wake slot back.
///
/// # Safety
/// `self_` is a native awaitable being collected (its own block is intact).
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_cont_finalise(self_: *mut awaitq_mp_cont_obj_t) {
    // SAFETY: per the contract; touches only the object's own fields and the slot table.
    future::finalise(unsafe { Cont::from_raw(self_) })
}
