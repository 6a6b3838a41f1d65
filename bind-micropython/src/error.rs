//! Core errors -> (which exception C raises, the core's message). The one place the binding
//! maps errors; the messages are the core's (`Message`), shared with the CPython binding,
//! rendered here without `core::fmt` (which would cost firmware kilobytes of flash).

use awaitq_core::{ConfigError, ContError, ExcType, Message, Piece, PushError, RecvError};

#[cfg(feature = "cont")]
use crate::ffi;
use crate::ffi::{
    awaitq_mp_error_t, AWAITQ_MP_EXC_CLOSED, AWAITQ_MP_EXC_FULL, AWAITQ_MP_EXC_RUNTIME,
    AWAITQ_MP_EXC_SYSTEM, AWAITQ_MP_EXC_TYPE, AWAITQ_MP_EXC_VALUE,
};

/// Message for resuming a finished awaitable (`Step::Exhausted`), as op.rs documents it.
pub(crate) const EXHAUSTED: &str = "cannot reuse an already awaited awaitable";

/// An error C turns into an exception.
pub(crate) trait MpError: Message {
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

impl Message for Runtime {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        out(Piece::Text(self.0));
    }
}

impl MpError for Runtime {
    fn exc(&self) -> u32 {
        AWAITQ_MP_EXC_RUNTIME
    }
}

/// An error of a given kind with a fixed message.
#[cfg(feature = "cont")]
pub(crate) struct Kind(pub(crate) u32, pub(crate) &'static str);

#[cfg(feature = "cont")]
impl Message for Kind {
    fn pieces(&self, out: &mut dyn FnMut(Piece)) {
        out(Piece::Text(self.1));
    }
}

#[cfg(feature = "cont")]
impl MpError for Kind {
    fn exc(&self) -> u32 {
        self.0
    }
}

/// Native continuations: core's exception type for each misuse (MicroPython has no
/// `SystemError`: awaitq.SystemError stands in for it).
impl MpError for ContError {
    fn exc(&self) -> u32 {
        match self.exc_type() {
            ExcType::TypeError => AWAITQ_MP_EXC_TYPE,
            ExcType::ValueError => AWAITQ_MP_EXC_VALUE,
            ExcType::RuntimeError => AWAITQ_MP_EXC_RUNTIME,
            ExcType::SystemError => AWAITQ_MP_EXC_SYSTEM,
        }
    }
}

/// An empty error struct to [`fill`].
#[cfg(feature = "cont")]
pub(crate) fn blank() -> awaitq_mp_error_t {
    awaitq_mp_error_t {
        exc: 0,
        msg: [0; ffi::AWAITQ_MP_MSG_LEN as usize],
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
    e.pieces(&mut |p| match p {
        Piece::Text(t) => w.push(t.as_bytes()),
        Piece::Num(n) => w.push(decimal(n, &mut [0; 20])),
    });
    let end = w.len;
    out.msg[end] = 0;
}

/// `n` in decimal, written at the end of `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Writes into a C char array, keeping one byte for the NUL and dropping the rest.
struct Truncating<'a> {
    buf: &'a mut [core::ffi::c_char],
    len: usize,
}

impl Truncating<'_> {
    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len + 1 >= self.buf.len() {
                return;
            }
            self.buf[self.len] = b as core::ffi::c_char;
            self.len += 1;
        }
    }
}
