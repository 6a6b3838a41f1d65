//! Core errors -> (which exception C raises, the core's message). The one place the binding
//! maps errors; the messages are the core's `Display` text, shared with the CPython binding.

use core::fmt::{self, Display, Write};

use awaitq_core::{ConfigError, PushError, RecvError};

use crate::ffi::{
    awaitq_mp_error_t, AWAITQ_MP_EXC_CLOSED, AWAITQ_MP_EXC_FULL, AWAITQ_MP_EXC_RUNTIME,
    AWAITQ_MP_EXC_VALUE,
};

/// Message for resuming a finished awaitable (`Step::Exhausted`), as op.rs documents it.
pub(crate) const EXHAUSTED: &str = "cannot reuse an already awaited awaitable";

/// An error C turns into an exception.
pub(crate) trait MpError: Display {
    /// `enum awaitq_mp_exc` value.
    fn exc(&self) -> u32;
}

impl MpError for ConfigError {
    fn exc(&self) -> u32 {
        AWAITQ_MP_EXC_VALUE
    }
}

impl MpError for PushError {
    fn exc(&self) -> u32 {
        match self {
            PushError::Full => AWAITQ_MP_EXC_FULL,
            PushError::Closed => AWAITQ_MP_EXC_CLOSED,
            PushError::Oversize { .. } => AWAITQ_MP_EXC_VALUE,
        }
    }
}

impl MpError for RecvError {
    fn exc(&self) -> u32 {
        match self {
            RecvError::Closed => AWAITQ_MP_EXC_CLOSED,
            RecvError::BufferTooSmall { .. } => AWAITQ_MP_EXC_VALUE,
            // Busy: a second receiver. Empty never reaches Python as an error.
            RecvError::Busy | RecvError::Empty => AWAITQ_MP_EXC_RUNTIME,
        }
    }
}

/// A runtime error with a fixed message (`Step::Exhausted`).
pub(crate) struct Runtime(pub(crate) &'static str);

impl Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl MpError for Runtime {
    fn exc(&self) -> u32 {
        AWAITQ_MP_EXC_RUNTIME
    }
}

/// Writes `e` into `*out`: its exception kind and its message, NUL-terminated (truncated if it
/// ever exceeded the buffer; no core message comes close).
///
/// # Safety
/// `out` is null (ignored) or valid for writes.
pub(crate) unsafe fn fill(out: *mut awaitq_mp_error_t, e: &dyn MpError) {
    // SAFETY: null or valid for writes, per the contract.
    let Some(out) = (unsafe { out.as_mut() }) else {
        return;
    };
    // The enum has a handful of values; it always fits.
    out.exc = e.exc() as u8;
    let mut w = Truncating {
        buf: &mut out.msg,
        len: 0,
    };
    let _ = write!(w, "{e}");
    let end = w.len;
    out.msg[end] = 0;
}

/// A `fmt::Write` into a C char array that keeps one byte for the NUL and drops the rest.
struct Truncating<'a> {
    buf: &'a mut [core::ffi::c_char],
    len: usize,
}

impl Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len + 1 >= self.buf.len() {
                break;
            }
            self.buf[self.len] = b as core::ffi::c_char;
            self.len += 1;
        }
        Ok(())
    }
}
