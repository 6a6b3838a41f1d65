//! Native continuations (issue 5) on MicroPython: native code that awaits Python.
//!
//! One object type, `awaitq.NativeAwaitable` (csrc/cont.c: `iternext` with
//! `MP_TYPE_FLAG_ITER_IS_ITERNEXT`, `send`/`throw`/`close`, a stream `ioctl` for asyncio's
//! poller), driven by core's [`Continuation`](awaitq_core::Continuation): every sequencing
//! rule (the phase table, callbacks, cancel, re-entry, `async with`) is core's; this module
//! implements core's `Host` over MicroPython objects and translates `ContStep`s.
//!
//! No MicroPython exception (an nlr jump) crosses a Rust frame: every call into MicroPython
//! that can raise (resuming an inner, `__await__`, `close`, a C callback, `__aenter__`, asyncio
//! registration) is a C function of csrc/cont_call.c that catches it and returns a status;
//! allocations use MicroPython's non-raising allocator. Rust returns step codes; the type's
//! slots raise, in C.
//!
//! | module | concept |
//! |---|---|
//! | `obj` | [`Obj`], call statuses, core's errors as exceptions |
//! | `object` | the state in the object's tail; queueing, result, saved values |
//! | `array`, `queue`, `entry` | saved values; the queue (core's `AddCursor` order); one entry |
//! | `host` | core's `Host`: start / send / throw / close an inner, run callbacks |
//! | `iter` | the inner awaitable and the C callbacks, through csrc/cont_call.c |
//! | `with` | `async with` over core's `AsyncWith` |
//! | `exports` | what the type's slots call |
//! | `capi` | the C API of `ports/include/awaitq_aw.h` (`awaitq_mp_aw_*`) |
//! | [`future_into_mp`], [`py_await`] | a Rust future as an awaitable, with no executor |
//! | `waker` | the static wake-slot table behind a future's `Waker` |
//! | `testing` | futures for `awaitq.testing.cont` (the unix test build) |
//!
//! The user documentation is bind-micropython/README.md ("Native awaitables").

mod array;
pub(crate) mod capi;
mod entry;
pub(crate) mod exports;
mod future;
mod host;
mod iter;
mod obj;
mod object;
mod pyawait;
mod queue;
pub(crate) mod testing;
mod waker;
mod with;

pub use future::{future_into_mp, MpResult};
pub use obj::Obj;
pub use pyawait::{py_await, PyAwait};

/// Calls `fun(*args)` from a Rust future (or any Rust code on the VM thread): what it raises
/// comes back as `Err` (never as a jump through Rust).
pub fn call(fun: Obj, args: &[Obj]) -> MpResult {
    // SAFETY: live objects (the caller's); `args` has `len` elements; never raises.
    obj::call(|out| unsafe {
        crate::ffi::awaitq_mp_call_function(fun.raw(), args.len(), args.as_ptr().cast(), out)
    })
    .value(obj::memory_error)
}
