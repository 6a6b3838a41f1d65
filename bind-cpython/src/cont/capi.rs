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

use awaitq_capi::{awaitq_producer_api_t, PRODUCER_API};
use awaitq_core::ContError;
use pyo3::prelude::*;
use pyo3::{ffi, Py};

use super::entry::{CDeferCb, CErrorCb, CResultCb, Entry, OnDefer, OnError, OnResult};
use super::errors::{cont_err, panic_err};
use super::object::{self, ContObject, Kind};
use super::with;

/// The version of [`awaitq_capi_t`]: 2 added [`awaitq_aw_api_t`].
pub const AWAITQ_CAPI_VERSION: u32 = 2;

type Obj = *mut ffi::PyObject;

/// The native-awaitable functions (see `awaitq_aw.h` for each one's contract).
#[repr(C)]
pub struct awaitq_aw_api_t {
    /// `awaitq_aw_new`: a new, empty awaitable (a new reference).
    pub new_: unsafe extern "C" fn() -> Obj,
    /// `awaitq_aw_add_await(aw, awaitable, on_result, on_error)`.
    pub add_await: unsafe extern "C" fn(Obj, Obj, Option<CResultCb>, Option<CErrorCb>) -> c_int,
    /// `awaitq_aw_defer_await(aw, decide)`.
    pub defer_await: unsafe extern "C" fn(Obj, Option<CDeferCb>) -> c_int,
    /// `awaitq_aw_set_result(aw, result)`.
    pub set_result: unsafe extern "C" fn(Obj, Obj) -> c_int,
    /// `awaitq_aw_save(aw, n, values)`.
    pub save: unsafe extern "C" fn(Obj, usize, *const Obj) -> c_int,
    /// `awaitq_aw_unpack(aw, n, out)`.
    pub unpack: unsafe extern "C" fn(Obj, usize, *const *mut Obj) -> c_int,
    /// `awaitq_aw_save_ptr(aw, n, ptrs)`.
    pub save_ptr: unsafe extern "C" fn(Obj, usize, *const *mut c_void) -> c_int,
    /// `awaitq_aw_unpack_ptr(aw, n, out)`.
    pub unpack_ptr: unsafe extern "C" fn(Obj, usize, *const *mut *mut c_void) -> c_int,
    /// `awaitq_aw_get_value(aw, index)` (borrowed).
    pub get_value: unsafe extern "C" fn(Obj, usize) -> Obj,
    /// `awaitq_aw_set_value(aw, index, value)`.
    pub set_value: unsafe extern "C" fn(Obj, usize, Obj) -> c_int,
    /// `awaitq_aw_cancel(aw)`.
    pub cancel: unsafe extern "C" fn(Obj) -> c_int,
    /// `awaitq_aw_async_with(aw, cm, body, on_error)`.
    pub async_with: unsafe extern "C" fn(Obj, Obj, Option<CResultCb>, Option<CErrorCb>) -> c_int,
    /// `awaitq_aw_raise(aw, exc)`: sets `exc`, returns -1.
    pub raise: unsafe extern "C" fn(Obj, Obj) -> c_int,
    /// `awaitq_aw_check(obj)`: 1 if `obj` is a native awaitable, else 0.
    pub check: unsafe extern "C" fn(Obj) -> c_int,
}

/// What the `awaitq._C_API` capsule points to: the producer table (its `version` field is
/// [`AWAITQ_CAPI_VERSION`]), then the native-awaitable table. Append only.
#[repr(C)]
pub struct awaitq_capi_t {
    /// The producer functions; `version` is [`AWAITQ_CAPI_VERSION`].
    pub producer: awaitq_producer_api_t,
    /// The native-awaitable functions (version 2).
    pub aw: awaitq_aw_api_t,
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
};

/// Runs an API body attached to Python; an error or a panic is raised and `fail` returned.
///
/// # Safety
/// The caller holds the GIL (the API's contract).
unsafe fn api<R>(fail: R, body: impl FnOnce(Python<'_>) -> PyResult<R>) -> R {
    // `attach`, not `assume_attached`: PyO3 must count this thread as attached, or every
    // `Py` dropped inside waits in its deferred pool until some PyO3 function runs.
    Python::attach(|py| match catch_unwind(AssertUnwindSafe(|| body(py))) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            e.restore(py);
            fail
        }
        Err(p) => {
            panic_err(p).restore(py);
            fail
        }
    })
}

/// The native awaitable behind `aw`.
///
/// # Safety
/// `aw` is NULL or a live object for the duration of the call.
unsafe fn aw_ref<'a>(py: Python<'_>, aw: Obj) -> PyResult<&'a ContObject> {
    // SAFETY: per the contract.
    unsafe { ContObject::from_ptr(py, aw) }
}

/// A borrowed, non-NULL argument as a new reference.
///
/// # Safety
/// `obj` is NULL or a live object.
unsafe fn arg(py: Python<'_>, obj: Obj) -> PyResult<Py<PyAny>> {
    if obj.is_null() {
        return Err(cont_err(ContError::NullArgument));
    }
    // SAFETY: live per the contract.
    Ok(unsafe { Bound::from_borrowed_ptr(py, obj).unbind() })
}

/// `n` elements at `p` (NULL only when `n` is 0).
///
/// # Safety
/// `p` points to `n` readable elements, or `n` is 0.
unsafe fn array<'a, T>(p: *const T, n: usize) -> PyResult<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(cont_err(ContError::NullArgument));
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

unsafe extern "C" fn aw_new() -> Obj {
    // SAFETY: API contract (attached).
    unsafe {
        api(ptr::null_mut(), |py| {
            Ok(object::alloc(py, Kind::Queue, None)?.into_ptr())
        })
    }
}

unsafe extern "C" fn aw_add_await(
    aw: Obj,
    awaitable: Obj,
    on_result: Option<CResultCb>,
    on_error: Option<CErrorCb>,
) -> c_int {
    // SAFETY: API contract (attached, live or NULL objects).
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?;
            let awaitable = arg(py, awaitable)?;
            aw.add(Entry::await_(
                awaitable,
                on_result.map_or(OnResult::Ignore, OnResult::C),
                on_error.map_or(OnError::Raise, OnError::C),
            ))?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_defer_await(aw: Obj, decide: Option<CDeferCb>) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?;
            let decide = decide.ok_or_else(|| cont_err(ContError::NullArgument))?;
            aw.add(Entry::Defer {
                decide: Some(OnDefer::C(decide)),
                on_error: OnError::Raise,
            })?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_set_result(aw: Obj, result: Obj) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            aw_ref(py, aw)?.set_result(arg(py, result)?)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_save(aw: Obj, n: usize, values: *const Obj) -> c_int {
    // SAFETY: API contract: `values` holds `n` live objects.
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?;
            let values = array(values, n)?;
            // All checked before any is kept: a failure saves nothing.
            let owned = values
                .iter()
                .map(|&v| arg(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            aw.save(owned)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_unpack(aw: Obj, n: usize, out: *const *mut Obj) -> c_int {
    // SAFETY: API contract: `out` holds `n` pointers, each NULL or writable.
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?;
            let out = array(out, n)?;
            let values = aw.target().d.values.borrow();
            if n > values.len() {
                return Err(cont_err(ContError::TooFewValues {
                    saved: values.len(),
                    wanted: n,
                }));
            }
            for (dst, v) in out.iter().zip(values.iter()) {
                if !dst.is_null() {
                    // Borrowed: valid while the awaitable keeps it.
                    **dst = v.as_ptr();
                }
            }
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_save_ptr(aw: Obj, n: usize, ptrs: *const *mut c_void) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?.target();
            let ptrs = array(ptrs, n)?;
            aw.d.cont.check_open().map_err(cont_err)?;
            aw.d.ptrs.borrow_mut().extend_from_slice(ptrs);
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_unpack_ptr(aw: Obj, n: usize, out: *const *mut *mut c_void) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?.target();
            let out = array(out, n)?;
            let ptrs = aw.d.ptrs.borrow();
            if n > ptrs.len() {
                return Err(cont_err(ContError::TooFewValues {
                    saved: ptrs.len(),
                    wanted: n,
                }));
            }
            for (dst, &p) in out.iter().zip(ptrs.iter()) {
                if !dst.is_null() {
                    **dst = p;
                }
            }
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_get_value(aw: Obj, index: usize) -> Obj {
    // SAFETY: API contract.
    unsafe {
        api(ptr::null_mut(), |py| {
            let aw = aw_ref(py, aw)?.target();
            let values = aw.d.values.borrow();
            match values.get(index) {
                // Borrowed, as from unpack.
                Some(v) => Ok(v.as_ptr()),
                None => Err(cont_err(ContError::TooFewValues {
                    saved: values.len(),
                    wanted: index + 1,
                })),
            }
        })
    }
}

unsafe extern "C" fn aw_set_value(aw: Obj, index: usize, value: Obj) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            aw_ref(py, aw)?.set_value(index, arg(py, value)?)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_cancel(aw: Obj) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            aw_ref(py, aw)?.cancel(py)?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_async_with(
    aw: Obj,
    cm: Obj,
    body: Option<CResultCb>,
    on_error: Option<CErrorCb>,
) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            let aw = aw_ref(py, aw)?;
            let cm = arg(py, cm)?;
            let body = body.ok_or_else(|| cont_err(ContError::NullArgument))?;
            with::begin(
                py,
                aw,
                cm.bind(py),
                with::Body::C(body),
                on_error.map_or(OnError::Raise, OnError::C),
            )?;
            Ok(0)
        })
    }
}

unsafe extern "C" fn aw_raise(_aw: Obj, exc: Obj) -> c_int {
    // SAFETY: API contract.
    unsafe {
        api(-1, |py| {
            let exc = arg(py, exc)?;
            // An exception instance, or a class (instantiated with no arguments).
            Err(PyErr::from_value(exc.into_bound(py)))
        })
    }
}

unsafe extern "C" fn aw_check(obj: Obj) -> c_int {
    // SAFETY: API contract.
    unsafe { api(-1, |py| Ok(c_int::from(aw_ref(py, obj).is_ok()))) }
}
