//! The core's argument rules ([`awaitq_core::args`]) for the C side: C converts the objects
//! (and raises `TypeError`), Rust says whether the values are in range, with the core's
//! message, so MicroPython refuses what CPython refuses, in the same words.

use awaitq_core::args::{self as rules, ArgError};

use crate::error::{fill, MpError};
use crate::ffi::{awaitq_mp_error_t, AWAITQ_MP_EXC_VALUE};

impl MpError for ArgError {
    fn exc(&self) -> u32 {
        AWAITQ_MP_EXC_VALUE
    }
}

/// The pause between frames of a producer paced at `rate_hz`, into `*period_ns`; `false`
/// with `*err` filled (a `ValueError`) when the rate is out of range.
///
/// # Safety
/// `period_ns` and `err` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_period_ns(
    rate_hz: f64,
    period_ns: *mut u64,
    err: *mut awaitq_mp_error_t,
) -> bool {
    match rules::period_ns(rate_hz) {
        Ok(ns) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { *period_ns = ns };
            true
        }
        Err(e) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { fill(err, &e) };
            false
        }
    }
}

/// Checks a count (`what` is its name, NUL-terminated, static): `false` with `*err` filled
/// when negative.
///
/// # Safety
/// `err` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_check_count(value: i64, err: *mut awaitq_mp_error_t) -> bool {
    match rules::count(value, "count") {
        Ok(_) => true,
        Err(e) => {
            // SAFETY: valid for writes, per the contract.
            unsafe { fill(err, &e) };
            false
        }
    }
}
