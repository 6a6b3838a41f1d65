//! The C API of native awaitables (`ports/include/awaitq_aw.h`), as `extern "C"` functions in
//! a table appended to the producer table of the `awaitq._C_API` capsule (version 2), so C
//! extensions reach it without linking against this module (and with the abi3 wheel).
//!
//! Every function must be called attached to Python (holding the GIL); each returns 0 / a
//! new or borrowed reference on success and -1 / NULL with an exception set on failure,
//! never unwinds into C, and checks its `aw` argument (NULL → `SystemError`, another type →
//! `TypeError`).

#![allow(non_camel_case_types)]

use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use awaitq_capi::{
    awaitq_producer_api_t, awaitq_producer_ext_api_t, PRODUCER_API, PRODUCER_EXT_API,
};
use awaitq_core::ContError;
use pyo3::ffi;

use super::entry::{CDeferCb, CErrorCb, CResultCb, Entry, OnDefer, OnError, OnResult};
use super::obj::{Exc, Obj};
use super::object::{self, ContObject, Kind};
use super::{slots, with};

/// The version of [`awaitq_capi_t`]: 2 added [`awaitq_aw_api_t`], 3 the batch and zero-copy
/// producer functions ([`awaitq_producer_ext_api_t`]). Defined once, in
/// `awaitq-capi`, so `awaitq.h` (generated from it) states the same number as the capsule.
pub const AWAITQ_CAPI_VERSION: u32 = awaitq_capi::AWAITQ_CAPI_VERSION;

/// A C object pointer, as the table's functions take and return them.
type PyPtr = *mut ffi::PyObject;

/// The native-awaitable functions (see `awaitq_aw.h` for each one's contract).
#[repr(C)]
pub struct awaitq_aw_api_t {
    /// `awaitq_aw_new`: a new, empty awaitable (a new reference).
    pub new_: unsafe extern "C" fn() -> PyPtr,
    /// `awaitq_aw_add_await(aw, awaitable, on_result, on_error)`.
    pub add_await: unsafe extern "C" fn(PyPtr, PyPtr, Option<CResultCb>, Option<CErrorCb>) -> c_int,
    /// `awaitq_aw_defer_await(aw, decide)`.
    pub defer_await: unsafe extern "C" fn(PyPtr, Option<CDeferCb>) -> c_int,
    /// `awaitq_aw_set_result(aw, result)`.
    pub set_result: unsafe extern "C" fn(PyPtr, PyPtr) -> c_int,
    /// `awaitq_aw_save(aw, n, values)`.
    pub save: unsafe extern "C" fn(PyPtr, usize, *const PyPtr) -> c_int,
    /// `awaitq_aw_unpack(aw, n, out)`.
    pub unpack: unsafe extern "C" fn(PyPtr, usize, *const *mut PyPtr) -> c_int,
    /// `awaitq_aw_save_ptr(aw, n, ptrs)`.
    pub save_ptr: unsafe extern "C" fn(PyPtr, usize, *const *mut c_void) -> c_int,
    /// `awaitq_aw_unpack_ptr(aw, n, out)`.
    pub unpack_ptr: unsafe extern "C" fn(PyPtr, usize, *const *mut *mut c_void) -> c_int,
    /// `awaitq_aw_get_value(aw, index)` (borrowed).
    pub get_value: unsafe extern "C" fn(PyPtr, usize) -> PyPtr,
    /// `awaitq_aw_set_value(aw, index, value)`.
    pub set_value: unsafe extern "C" fn(PyPtr, usize, PyPtr) -> c_int,
    /// `awaitq_aw_cancel(aw)`.
    pub cancel: unsafe extern "C" fn(PyPtr) -> c_int,
    /// `awaitq_aw_async_with(aw, cm, body, on_error)`.
    pub async_with:
        unsafe extern "C" fn(PyPtr, PyPtr, Option<CResultCb>, Option<CErrorCb>) -> c_int,
    /// `awaitq_aw_raise(aw, exc)`: sets `exc`, returns -1.
    pub raise: unsafe extern "C" fn(PyPtr, PyPtr) -> c_int,
    /// `awaitq_aw_check(obj)`: 1 if `obj` is a native awaitable, else 0.
    pub check: unsafe extern "C" fn(PyPtr) -> c_int,
}

/// What the `awaitq._C_API` capsule points to: the producer table (its `version` field is
/// [`AWAITQ_CAPI_VERSION`]), then the native-awaitable table, then the batch and zero-copy
/// producer table. Append only.
#[repr(C)]
pub struct awaitq_capi_t {
    /// The producer functions; `version` is [`AWAITQ_CAPI_VERSION`].
    pub producer: awaitq_producer_api_t,
    /// The native-awaitable functions (version 2).
    pub aw: awaitq_aw_api_t,
    /// `awaitq_push_many`, `awaitq_reserve`, `awaitq_commit`, `awaitq_abort` (version 3).
    pub ext: awaitq_producer_ext_api_t,
}

/// The capsule's table.
pub static C_API: awaitq_capi_t = awaitq_capi_t {
    producer: awaitq_producer_api_t {
        version: AWAITQ_CAPI_VERSION,
        ..PRODUCER_API
    },
    aw: awaitq_aw_api_t {
        new_: aw_new,
        add_await: aw_add_await,
        defer_await: aw_defer_await,
        set_result: aw_set_result,
        save: aw_save,
        unpack: aw_unpack,
        save_ptr: aw_save_ptr,
        unpack_ptr: aw_unpack_ptr,
        get_value: aw_get_value,
        set_value: aw_set_value,
        cancel: aw_cancel,
        async_with: aw_async_with,
        raise: aw_raise,
        check: aw_check,
    },
    ext: awaitq_producer_ext_api_t { ..PRODUCER_EXT_API },
};

/// Runs an API body, raising its error (or a panic) and returning `fail`. No
/// `Python::attach`: the body works on [`Obj`]/[`Exc`] (see `obj.rs`).
///
/// # Safety
/// The caller holds the GIL (the API's contract).
unsafe fn api<R>(fail: R, body: impl FnOnce() -> Result<R, Exc>) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            e.restore();
            fail
        }
        Err(p) => {
            Exc::panic(p).restore();
            fail
        }
    }
}

/// The native awaitable behind `aw`.
///
/// # Safety
/// `aw` is NULL or a live object for the duration of the call; attached.
unsafe fn aw_ref<'a>(aw: PyPtr) -> Result<&'a ContObject, Exc> {
    // SAFETY: per the contract.
    unsafe { ContObject::from_ptr(aw) }
}

/// A borrowed, non-NULL argument as a new reference.
///
/// # Safety
/// `obj` is NULL or a live object; attached.
unsafe fn arg(obj: PyPtr) -> Result<Obj, Exc> {
    if obj.is_null() {
        return Err(Exc::cont(ContError::NullArgument));
    }
    // SAFETY: live per the contract.
    Ok(unsafe { Obj::from_borrowed(obj) })
}

/// `n` elements at `p` (NULL only when `n` is 0).
///
/// # Safety
/// `p` points to `n` readable elements, or `n` is 0.
unsafe fn array<'a, T>(p: *const T, n: usize) -> Result<&'a [T], Exc> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Exc::cont(ContError::NullArgument));
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

unsafe extern "C" fn aw_new() -> PyPtr {
    // SAFETY: API contract (attached).
    unsafe {
        api(ptr::null_mut(), || {
            Ok(object::alloc(Kind::Queue, None)?.into_ptr())
        })
    }
}

unsafe extern "C" fn aw_add_await(
    aw: PyPtr,
    awaitable: PyPtr,
    on_result: Option<CResultCb>,
    on_error: Option<CErrorCb>,
) -> c_int {
    // SAFETY: API contract (attached, live or NULL objects).
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?;
            aw.add(Entry::await_(
                arg(awaitable)?,
                on_result.map_or(OnResult::Ignore, OnResult::C),
                on_error.map_or(OnError::Raise, OnError::C),
            ))?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_defer_await(aw: PyPtr, decide: Option<CDeferCb>) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?;
            let decide = decide.ok_or_else(|| Exc::cont(ContError::NullArgument))?;
            aw.add(Entry::Defer {
                decide: Some(OnDefer::C(decide)),
                on_error: OnError::Raise,
            })?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_set_result(aw: PyPtr, result: PyPtr) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            aw_ref(aw)?.set_result(arg(result)?)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_save(aw: PyPtr, n: usize, values: *const PyPtr) -> c_int {
    // SAFETY: API contract: `values` holds `n` live objects.
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?;
            let values = array(values, n)?;
            // All checked before any is kept: a failure saves nothing.
            let owned = values
                .iter()
                .map(|&v| arg(v))
                .collect::<Result<Vec<_>, _>>()?;
            aw.save(owned)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_unpack(aw: PyPtr, n: usize, out: *const *mut PyPtr) -> c_int {
    // SAFETY: API contract: `out` holds `n` pointers, each NULL or writable.
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?.target();
            let out = array(out, n)?;
            let saved = {
                let values = aw.d.values.borrow();
                if n <= values.len() {
                    for (dst, v) in out.iter().zip(values.iter()) {
                        if !dst.is_null() {
                            // Borrowed: valid while the awaitable keeps it.
                            **dst = v.as_ptr();
                        }
                    }
                    return Ok(0);
                }
                values.len()
            };
            Err(object::too_few(saved, n))
        })
    }
}

unsafe extern "C" fn aw_save_ptr(aw: PyPtr, n: usize, ptrs: *const *mut c_void) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?.target();
            let ptrs = array(ptrs, n)?;
            aw.d.cont.check_open().map_err(Exc::cont)?;
            aw.d.ptrs.borrow_mut().extend_from_slice(ptrs);
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_unpack_ptr(aw: PyPtr, n: usize, out: *const *mut *mut c_void) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?.target();
            let out = array(out, n)?;
            let saved = {
                let ptrs = aw.d.ptrs.borrow();
                if n <= ptrs.len() {
                    for (dst, &p) in out.iter().zip(ptrs.iter()) {
                        if !dst.is_null() {
                            **dst = p;
                        }
                    }
                    return Ok(0);
                }
                ptrs.len()
            };
            Err(object::too_few(saved, n))
        })
    }
}

unsafe extern "C" fn aw_get_value(aw: PyPtr, index: usize) -> PyPtr {
    // SAFETY: API contract.
    unsafe { api(ptr::null_mut(), || aw_ref(aw)?.value_ptr(index)) }
}

unsafe extern "C" fn aw_set_value(aw: PyPtr, index: usize, value: PyPtr) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            aw_ref(aw)?.set_value(index, arg(value)?)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_cancel(aw: PyPtr) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            aw_ref(aw)?.cancel()?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_async_with(
    aw: PyPtr,
    cm: PyPtr,
    body: Option<CResultCb>,
    on_error: Option<CErrorCb>,
) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            let aw = aw_ref(aw)?;
            let cm = arg(cm)?;
            let body = body.ok_or_else(|| Exc::cont(ContError::NullArgument))?;
            with::begin(
                aw,
                &cm,
                with::Body::C(body),
                on_error.map_or(OnError::Raise, OnError::C),
            )?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_raise(_aw: PyPtr, exc: PyPtr) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            let exc = arg(exc)?;
            // An exception instance, or a class (instantiated with no arguments).
            Err(Exc::from_object(exc.as_ptr()))
        })
    }
}

unsafe extern "C" fn aw_check(obj: PyPtr) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, || {
            if obj.is_null() {
                return Ok(0);
            }
            Ok(c_int::from(ptr::eq(ffi::Py_TYPE(obj), slots::type_ptr()?)))
        })
    }
}
