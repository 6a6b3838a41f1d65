//! # awaitq-micropython
//!
//! The Rust half of awaitq's MicroPython module: a `no_std` staticlib linked into the firmware
//! next to a small C shim (`csrc/`). The shim defines the Python types and does everything that
//! can raise or allocate; this crate runs awaitq-core's channel and awaitable state machine and
//! answers with status codes (see `csrc/shim.h` for the division of labour).
//!
//! | module | concept |
//! |---|---|
//! | [`ffi`] | bindgen's view of MicroPython and the shim, generated at build time |
//! | `cs` | the critical section: MicroPython's atomic section |
//! | `error` | core errors -> (exception kind, core's message) |
//! | `channel` | the channel object's non-waiting operations |
//! | `op` | the awaitable: RecvOp / SendOp steps |
//! | [`cont`] | native awaitables: the C API of `awaitq_aw.h`, Rust futures (feature `cont`) |
//!
//! It also links awaitq-capi, so `awaitq_push` and friends (the producer C ABI,
//! `ports/include/awaitq.h`) are available to firmware C code and ISRs.
#![no_std]

use awaitq_capi as _;

mod abi_check;
mod args;
mod channel;
#[cfg(feature = "cont")]
pub mod cont;
mod cs;
mod error;
pub mod ffi;
mod op;

/// A panic is a bug (nothing here panics on bad input: errors are status codes). MicroPython
/// frames cannot be unwound and there is no Python exception to turn it into without a
/// longjmp through Rust, so the firmware stops.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: awaitq_mp_sys_abort takes no arguments and has no preconditions.
    unsafe { ffi::awaitq_mp_sys_abort() };
    // The C function does not return; if a port's version ever did, spin rather than return.
    #[allow(clippy::empty_loop)]
    loop {}
}

/// The precompiled `core` of hosted targets (x86_64-unknown-linux-gnu for the unix port) is
/// built for unwinding and references this personality routine from its unwind tables. With
/// `panic = "abort"` nothing ever unwinds, so it is never called; defining the symbol only
/// satisfies the linker. (Bare-metal targets ship an abort-only `core` and never reference it.)
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
