//! The C API of native awaitables on MicroPython: the `awaitq_mp_aw_*` functions
//! `ports/include/awaitq_aw.h` declares, linked from the staticlib (abi_check.rs proves the
//! definitions match the header).
//!
//! Called from the VM thread, from C extension code (a module function, or one of the
//! callbacks). None raises: MicroPython has no "current exception", so a failure records its
//! exception in the VM's error slot (`awaitq_mp_sys_set_error`; a callback's -1 then raises
//! it from the awaitable, a module function raises it with `awaitq_mp_aw_take_error()`) and
//! returns -1 / NULL. Each checks its `aw` argument (NULL → `SystemError`, another object →
//! `TypeError`); all errors are core's `ContError`s.

use core::ffi::{c_int, c_void};
use core::slice;

use awaitq_core::ContError;

use super::entry::{Body, OnDefer, OnError, OnResult};
use super::obj::{call, cont_error, Obj};
use super::object::{self, too_few, Cont, Kind};
use super::with;
use crate::ffi::{self, awaitq_aw_defer_cb, awaitq_aw_error_cb, awaitq_aw_result_cb, mp_obj_t};

/// Runs an API body; an error is recorded and `fail` returned.
fn api<R>(fail: R, body: impl FnOnce() -> Result<R, Obj>) -> R {
    match body() {
        Ok(r) => r,
        Err(e) => {
            // SAFETY: a live exception object; never raises.
            unsafe { ffi::awaitq_mp_sys_set_error(e.raw()) };
            fail
        }
    }
}

/// The native awaitable `aw`.
///
/// # Safety
/// `aw` is NULL or a live object for the duration of the call.
unsafe fn aw_ref<'a>(aw: mp_obj_t) -> Result<Cont<'a>, Obj> {
    // SAFETY: per the contract.
    unsafe { Cont::from_obj(Obj::from_raw(aw)) }
}

/// A non-NULL object argument.
fn arg(obj: mp_obj_t) -> Result<Obj, Obj> {
    let o = Obj::from_raw(obj);
    if o.is_null() {
        Err(cont_error(ContError::NullArgument))
    } else {
        Ok(o)
    }
}

/// `n` elements at `p` (NULL only when `n` is 0).
///
/// # Safety
/// `p` points to `n` readable elements, or `n` is 0.
unsafe fn array<'a, T>(p: *const T, n: usize) -> Result<&'a [T], Obj> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(cont_error(ContError::NullArgument));
    }
    // SAFETY: per the contract.
    Ok(unsafe { slice::from_raw_parts(p, n) })
}

/// A new, empty awaitable, or NULL (MemoryError recorded).
#[no_mangle]
pub extern "C" fn awaitq_mp_aw_new() -> mp_obj_t {
    api(Obj::NULL.raw(), || {
        Ok(object::alloc(Kind::Queue, Obj::NULL, false)?.raw())
    })
}

/// Queues `await awaitable` with its callbacks.
///
/// # Safety
/// VM thread; `aw` and `awaitable` NULL or live objects; the callbacks NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_add_await(
    aw: mp_obj_t,
    awaitable: mp_obj_t,
    on_result: awaitq_aw_result_cb,
    on_error: awaitq_aw_error_cb,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let aw = unsafe { aw_ref(aw) }?;
        let awaitable = arg(awaitable)?;
        aw.check_add()?;
        let entry = aw.await_entry(
            awaitable,
            on_result.map_or(OnResult::Ignore, OnResult::C),
            on_error.map_or(OnError::Raise, OnError::C),
        )?;
        aw.add(entry)?;
        Ok(0)
    })
}

/// Queues a deferred decision.
///
/// # Safety
/// As [`awaitq_mp_aw_add_await`].
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_defer_await(
    aw: mp_obj_t,
    decide: awaitq_aw_defer_cb,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let aw = unsafe { aw_ref(aw) }?;
        let decide = decide.ok_or_else(|| cont_error(ContError::NullArgument))?;
        aw.check_add()?;
        let entry = aw.entry(Body::Defer {
            decide: core::cell::Cell::new(Some(OnDefer::C(decide))),
            on_error: OnError::Raise,
        })?;
        aw.add(entry)?;
        Ok(0)
    })
}

/// Sets the value `await aw` returns.
///
/// # Safety
/// VM thread; live objects or NULL.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_set_result(aw: mp_obj_t, result: mp_obj_t) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        unsafe { aw_ref(aw) }?.set_result(arg(result)?)?;
        Ok(0)
    })
}

/// Appends `n` objects to the saved values, all or nothing.
///
/// # Safety
/// VM thread; `values` holds `n` objects (each NULL or live).
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_save(
    aw: mp_obj_t,
    n: usize,
    values: *const mp_obj_t,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let (aw, values) = unsafe { (aw_ref(aw)?, array(values.cast::<Obj>(), n)?) };
        // All checked before any is kept: a failure saves nothing.
        if values.iter().any(|v| v.is_null()) {
            return Err(cont_error(ContError::NullArgument));
        }
        aw.save(values)?;
        Ok(0)
    })
}

/// Writes the first `n` saved values (borrowed) to `*out[i]`.
///
/// # Safety
/// VM thread; `out` holds `n` pointers, each NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_unpack(
    aw: mp_obj_t,
    n: usize,
    out: *const *mut mp_obj_t,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let (aw, out) = unsafe { (aw_ref(aw)?.target(), array(out, n)?) };
        let values = &aw.st.values;
        if n > values.len() {
            return Err(too_few(values.len(), n));
        }
        for (i, &dst) in out.iter().enumerate() {
            if !dst.is_null() {
                // SAFETY: a writable pointer per the contract; `i < n <= len`.
                unsafe { *dst = values.get(i).unwrap_or(Obj::NULL).raw() };
            }
        }
        Ok(0)
    })
}

/// Appends raw pointers, all or nothing.
///
/// # Safety
/// VM thread; `ptrs` holds `n` pointers.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_save_ptr(
    aw: mp_obj_t,
    n: usize,
    ptrs: *const *mut c_void,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let (aw, ptrs) = unsafe { (aw_ref(aw)?, array(ptrs, n)?) };
        aw.save_ptrs(ptrs)?;
        Ok(0)
    })
}

/// Writes the first `n` saved pointers to `*out[i]`.
///
/// # Safety
/// VM thread; `out` holds `n` pointers, each NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_unpack_ptr(
    aw: mp_obj_t,
    n: usize,
    out: *const *mut *mut c_void,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let (aw, out) = unsafe { (aw_ref(aw)?.target(), array(out, n)?) };
        let ptrs = &aw.st.ptrs;
        if n > ptrs.len() {
            return Err(too_few(ptrs.len(), n));
        }
        for (i, &dst) in out.iter().enumerate() {
            if !dst.is_null() {
                // SAFETY: a writable pointer per the contract; `i < n <= len`.
                unsafe { *dst = ptrs.get(i).unwrap_or(core::ptr::null_mut()) };
            }
        }
        Ok(0)
    })
}

/// Saved value `index` (borrowed), or NULL.
///
/// # Safety
/// VM thread; `aw` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_get_value(aw: mp_obj_t, index: usize) -> mp_obj_t {
    api(Obj::NULL.raw(), || {
        // SAFETY: per the contract.
        let aw = unsafe { aw_ref(aw) }?;
        Ok(aw.value(index)?.raw())
    })
}

/// Replaces saved value `index`.
///
/// # Safety
/// VM thread; live objects or NULL.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_set_value(
    aw: mp_obj_t,
    index: usize,
    value: mp_obj_t,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        unsafe { aw_ref(aw) }?.set_value(index, arg(value)?)?;
        Ok(0)
    })
}

/// Gives up on the awaits not yet finished.
///
/// # Safety
/// VM thread; `aw` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_cancel(aw: mp_obj_t) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        unsafe { aw_ref(aw) }?.cancel()?;
        Ok(0)
    })
}

/// Queues `async with cm:` with `body`.
///
/// # Safety
/// VM thread; live objects or NULL; callbacks NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_async_with(
    aw: mp_obj_t,
    cm: mp_obj_t,
    body: awaitq_aw_result_cb,
    on_error: awaitq_aw_error_cb,
) -> c_int {
    api(-1, || {
        // SAFETY: per the contract.
        let aw = unsafe { aw_ref(aw) }?;
        let cm = arg(cm)?;
        let body = body.ok_or_else(|| cont_error(ContError::NullArgument))?;
        with::begin(aw, cm, body, on_error.map_or(OnError::Raise, OnError::C))?;
        Ok(0)
    })
}

/// Records `exc` (an instance, or a class instantiated) as the error; returns -1.
///
/// # Safety
/// VM thread; `exc` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_raise(_aw: mp_obj_t, exc: mp_obj_t) -> c_int {
    api(-1, || {
        let exc = arg(exc)?;
        // SAFETY: a live object; never raises (what instantiating a class raised is returned).
        let made = call(|out| unsafe { ffi::awaitq_mp_call_make_exc(exc.raw(), out) });
        Err(match made.value(|| cont_error(ContError::NullArgument)) {
            Ok(e) | Err(e) => e,
        })
    })
}

/// 1 if `obj` is a native awaitable, else 0.
///
/// # Safety
/// VM thread; `obj` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn awaitq_mp_aw_check(obj: mp_obj_t) -> c_int {
    let o = Obj::from_raw(obj);
    // SAFETY: a live object; never raises.
    c_int::from(!o.is_null() && unsafe { ffi::awaitq_mp_sys_is_cont(obj) })
}

/// Takes the recorded error (clearing the slot), for a module function to raise; an
/// `awaitq.SystemError` (core's `NoException`) if nothing was recorded.
#[no_mangle]
pub extern "C" fn awaitq_mp_aw_take_error() -> mp_obj_t {
    // SAFETY: no preconditions; never raises.
    let e = Obj::from_raw(unsafe { ffi::awaitq_mp_sys_take_error() });
    if e.is_null() {
        cont_error(ContError::NoException).raw()
    } else {
        e.raw()
    }
}
