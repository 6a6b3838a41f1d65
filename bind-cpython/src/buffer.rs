//! The buffer protocol, for `recv_into(buf)` and bytes-like payloads.
//!
//! `Py_buffer`, `PyObject_GetBuffer` and `PyBuffer_Release` joined the limited API in 3.11,
//! so PyO3 hides them from an abi3-py310 build. They are the same symbols with the same
//! layout on 3.10 (the struct has not changed since 3.3, and 3.11 froze it into the stable
//! ABI as it was), so this module declares them itself; the tests exercise them with
//! `bytearray`, `memoryview`, `array` and read-only objects.

use std::ffi::{c_char, c_int, c_void};
use std::mem::MaybeUninit;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::Failure;

#[repr(C)]
struct PyBuffer {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

const PYBUF_SIMPLE: c_int = 0;
const PYBUF_WRITABLE: c_int = 0x0001;

// Windows links against python3.dll's import library, which (as of the 3.10 stable ABI PyO3
// targets) lacks these two: import them from python3.dll by name (they are exported there
// from 3.11 on, so the Windows build needs CPython >= 3.11).
#[cfg_attr(windows, link(name = "python3", kind = "raw-dylib"))]
extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut PyBuffer, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBuffer);
}

/// Runs `f` over the writable, contiguous bytes of `obj`, or fails with `TypeError` naming
/// `what`. The export is held only for the call (so a `bytearray` cannot be resized under it).
pub(crate) fn with_writable<R>(
    obj: &Bound<'_, PyAny>,
    what: &'static str,
    f: impl FnOnce(&mut [u8]) -> R,
) -> Result<R, Failure> {
    let mut view = MaybeUninit::<PyBuffer>::uninit();
    // SAFETY: `obj` is a live object and we are attached; on success the view is filled in.
    if unsafe { PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), PYBUF_WRITABLE) } != 0 {
        drop(PyErr::take(obj.py()));
        return Err(Failure::Type(what, "a writable bytes-like object"));
    }
    // SAFETY: PyObject_GetBuffer succeeded, so the view is initialised.
    let view = unsafe { view.assume_init_mut() };
    // SAFETY: a PYBUF_WRITABLE (implicitly C-contiguous, PYBUF_SIMPLE) export is `len`
    // writable bytes at `buf`, valid until released; nothing else aliases it during `f`.
    let bytes = unsafe { slice_mut(view.buf.cast(), view.len) };
    let r = f(bytes);
    // SAFETY: releases the export taken above, exactly once.
    unsafe { PyBuffer_Release(view) };
    Ok(r)
}

/// Runs `f` over the bytes of a bytes-like `obj` (`bytes` without an export), or fails with
/// `TypeError` naming `what`.
pub(crate) fn with_bytes<R>(
    obj: &Bound<'_, PyAny>,
    what: &'static str,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R, Failure> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    let mut view = MaybeUninit::<PyBuffer>::uninit();
    // SAFETY: as in `with_writable`.
    if unsafe { PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), PYBUF_SIMPLE) } != 0 {
        drop(PyErr::take(obj.py()));
        return Err(Failure::Type(what, "a bytes-like object"));
    }
    // SAFETY: PyObject_GetBuffer succeeded, so the view is initialised.
    let view = unsafe { view.assume_init_mut() };
    let bytes: &[u8] = match usize::try_from(view.len) {
        // SAFETY: a PYBUF_SIMPLE export is `len` readable contiguous bytes at `buf`, valid
        // until released below.
        Ok(len) if len > 0 && !view.buf.is_null() => unsafe {
            std::slice::from_raw_parts(view.buf.cast::<u8>(), len)
        },
        _ => &[],
    };
    let r = f(bytes);
    // SAFETY: releases the export taken above, exactly once.
    unsafe { PyBuffer_Release(view) };
    Ok(r)
}

/// # Safety
/// `ptr` points to `len` bytes valid (and unaliased) for the returned lifetime; any `ptr`
/// is fine when `len` is 0.
unsafe fn slice_mut<'a>(ptr: *mut u8, len: ffi::Py_ssize_t) -> &'a mut [u8] {
    if len <= 0 || ptr.is_null() {
        return &mut [];
    }
    // SAFETY: per this function's contract.
    unsafe { std::slice::from_raw_parts_mut(ptr, len as usize) }
}
