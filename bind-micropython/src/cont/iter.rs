//! The inner awaitable, as the continuation drives it, and the C callbacks of the API: every
//! call into MicroPython goes through a C function of csrc/cont_call.c that catches what it
//! raises (no nlr jump crosses a Rust frame), reported here as core's [`Inner`] or a `Result`.

use awaitq_core::{ContError, Inner};

use super::entry::{CDeferCb, CErrorCb, CResultCb};
use super::obj::{call, cont_error, Call, Obj};
use crate::ffi;

/// The iterator `await awaitable` iterates (`__await__()`, else what MicroPython's `await`
/// iterates), or `NotAwaitable`.
pub(crate) fn await_iter(awaitable: Obj) -> Result<Obj, Obj> {
    // SAFETY: `awaitable` is live (the entry holds it); the call never raises.
    call(|out| unsafe { ffi::awaitq_mp_call_await_iter(awaitable.raw(), out) })
        .value(|| cont_error(ContError::NotAwaitable))
}

/// `iter.send(value)` (`__next__` for `None`).
pub(crate) fn send(iter: Obj, value: Obj) -> Inner<Obj, Obj> {
    resume(iter, value, Obj::NULL)
}

/// `iter.throw(exc)`; an inner without `throw` gets nothing and `exc` surfaces.
pub(crate) fn throw(iter: Obj, exc: Obj) -> Inner<Obj, Obj> {
    resume(iter, Obj::NULL, exc)
}

fn resume(iter: Obj, value: Obj, exc: Obj) -> Inner<Obj, Obj> {
    // SAFETY: live objects, exactly one of `value` / `exc` non-NULL; never raises.
    match call(|out| unsafe { ffi::awaitq_mp_call_resume(iter.raw(), value.raw(), exc.raw(), out) })
    {
        Call::Yielded(v) => Inner::Yielded(v),
        Call::Ok(v) => Inner::Returned(v),
        Call::Raised(e) => Inner::Raised(e),
        Call::Nothing => Inner::Raised(cont_error(ContError::NotAwaitable)),
    }
}

/// `iter.close()` if it has one.
pub(crate) fn close(iter: Obj) -> Result<(), Obj> {
    // SAFETY: a live object; never raises.
    call(|out| unsafe { ffi::awaitq_mp_call_close(iter.raw(), out) })
        .value(Obj::none)
        .map(drop)
}

/// An awaitable that will never be awaited (discarded from the queue): a generator is closed.
pub(crate) fn close_unstarted(obj: Obj) {
    // SAFETY: a live object; never raises.
    unsafe { ffi::awaitq_mp_call_close_unstarted(obj.raw()) }
}

/// What a C callback did: `Ok`; `Err(Some(e))` it raised or recorded `e`; `Err(None)` -1 with
/// nothing recorded (the caller decides what that means).
pub(crate) type CbOutcome = Result<(), Option<Obj>>;

fn outcome(c: Call) -> CbOutcome {
    match c {
        Call::Ok(_) => Ok(()),
        Call::Raised(e) => Err(Some(e)),
        Call::Yielded(_) | Call::Nothing => Err(None),
    }
}

/// A result callback: `aw` and `value` are borrowed for the call.
pub(crate) fn result_cb(cb: CResultCb, aw: Obj, value: Obj) -> CbOutcome {
    // SAFETY: live objects; the trampoline calls `cb` under nlr protection.
    outcome(call(|out| unsafe {
        ffi::awaitq_mp_call_result_cb(Some(cb), aw.raw(), value.raw(), out)
    }))
}

/// An error callback.
pub(crate) fn error_cb(cb: CErrorCb, aw: Obj, exc: Obj) -> CbOutcome {
    // SAFETY: as for `result_cb`.
    outcome(call(|out| unsafe {
        ffi::awaitq_mp_call_error_cb(Some(cb), aw.raw(), exc.raw(), out)
    }))
}

/// A deferred decision.
pub(crate) fn defer_cb(cb: CDeferCb, aw: Obj) -> CbOutcome {
    // SAFETY: as for `result_cb`.
    outcome(call(|out| unsafe {
        ffi::awaitq_mp_call_defer_cb(Some(cb), aw.raw(), out)
    }))
}

/// A result or decision callback's outcome as a `Result`: -1 with nothing recorded is core's
/// `NoException`.
pub(crate) fn required(o: CbOutcome) -> Result<(), Obj> {
    o.map_err(|e| e.unwrap_or_else(|| cont_error(ContError::NoException)))
}
