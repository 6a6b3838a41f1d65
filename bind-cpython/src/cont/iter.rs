//! The inner awaitable, as the continuation drives it: its iterator (what `await x` would
//! iterate), and one `send` / `throw` / `close` on it, reported as core's [`Inner`]. Raw C API
//! on [`Obj`]/[`Exc`]: this is the hot path of every await.
//!
//! A coroutine is driven directly (its `am_send` returns `PYGEN_RETURN` with no
//! `StopIteration` created), as CPython's own `await` does, rather than through the wrapper
//! its `__await__` returns.

use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use awaitq_core::{ContError, Inner};
use pyo3::ffi::{self, PySendResult};
use pyo3::intern;
use pyo3::prelude::*;

use super::obj::{attached, Exc, Obj};

/// An interned attribute name, made once and kept for the life of the process.
fn name(cell: &AtomicPtr<ffi::PyObject>, s: &CStr) -> *mut ffi::PyObject {
    let p = cell.load(Ordering::Relaxed);
    if !p.is_null() {
        return p;
    }
    // SAFETY: attached (every caller is); the interned string is immortal or kept by the
    // leaked reference stored here. A race between two threads is impossible under the GIL.
    let p = unsafe { ffi::PyUnicode_InternFromString(s.as_ptr()) };
    cell.store(p, Ordering::Relaxed);
    p
}

static THROW: AtomicPtr<ffi::PyObject> = AtomicPtr::new(ptr::null_mut());
static CLOSE: AtomicPtr<ffi::PyObject> = AtomicPtr::new(ptr::null_mut());
static VALUE: AtomicPtr<ffi::PyObject> = AtomicPtr::new(ptr::null_mut());
static CORO: AtomicPtr<ffi::PyTypeObject> = AtomicPtr::new(ptr::null_mut());

/// `types.CoroutineType` (a reference kept for the life of the process).
fn coroutine_type() -> *mut ffi::PyTypeObject {
    let p = CORO.load(Ordering::Relaxed);
    if !p.is_null() {
        return p;
    }
    let p = attached(|py| -> PyResult<*mut ffi::PyTypeObject> {
        let t = py
            .import(intern!(py, "types"))?
            .getattr(intern!(py, "CoroutineType"))?;
        Ok(t.into_ptr().cast())
    })
    .unwrap_or(ptr::null_mut());
    CORO.store(p, Ordering::Relaxed);
    p
}

fn is_coroutine(obj: &Obj) -> bool {
    // SAFETY: `obj` is live.
    let tp = unsafe { ffi::Py_TYPE(obj.as_ptr()) };
    ptr::eq(tp, coroutine_type())
}

/// The iterator `await awaitable` iterates, in the order the design fixes: a coroutine
/// itself; else `__await__()` (the `am_await` slot), which must return an iterator; else the
/// object itself if it is an iterator (generator-based coroutines); else `NotAwaitable`.
pub(crate) fn await_iter(awaitable: &Obj) -> Result<Obj, Exc> {
    if is_coroutine(awaitable) {
        return Ok(awaitable.clone_ref());
    }
    let obj = awaitable.as_ptr();
    // SAFETY: `obj` is live; PyType_GetSlot accepts static types since 3.10 and returns NULL
    // for an empty slot; a non-NULL `am_await` has the `unaryfunc` signature and returns a
    // new reference or NULL with an exception set.
    unsafe {
        let am_await = ffi::PyType_GetSlot(ffi::Py_TYPE(obj), ffi::Py_am_await);
        if !am_await.is_null() {
            let am_await: ffi::unaryfunc = std::mem::transmute(am_await);
            let it = Obj::from_owned(am_await(obj)).ok_or_else(Exc::fetch)?;
            if ffi::PyIter_Check(it.as_ptr()) == 0 {
                return Err(non_iterator(&it));
            }
            return Ok(it);
        }
        if ffi::PyIter_Check(obj) != 0 {
            return Ok(awaitable.clone_ref());
        }
    }
    Err(Exc::cont(ContError::NotAwaitable))
}

/// CPython's error for an `__await__` that returned a non-iterator.
fn non_iterator(it: &Obj) -> Exc {
    attached(|py| {
        let name = it
            .bind(py)
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        Exc::from_pyerr(
            py,
            pyo3::exceptions::PyTypeError::new_err(format!(
                "__await__() returned non-iterator of type '{name}'"
            )),
        )
    })
}

/// `iter.send(value)` (`am_send`, or `__next__`/`send` through `PyIter_Send`).
pub(crate) fn send(iter: &Obj, value: &Obj) -> Inner<Obj, Exc> {
    let mut out = ptr::null_mut();
    // SAFETY: attached; both objects are live; `out` receives a new reference (or NULL).
    let r = unsafe { ffi::PyIter_Send(iter.as_ptr(), value.as_ptr(), &mut out) };
    // SAFETY: on NEXT and RETURN, `out` is a new reference.
    match (r, unsafe { Obj::from_owned(out) }) {
        (PySendResult::PYGEN_NEXT, Some(v)) => Inner::Yielded(v),
        (PySendResult::PYGEN_RETURN, Some(v)) => Inner::Returned(v),
        _ => Inner::Raised(Exc::fetch()),
    }
}

/// `getattr(obj, name)`, `None` if it has no such attribute.
fn attr_opt(obj: &Obj, name: *mut ffi::PyObject) -> Result<Option<Obj>, Exc> {
    // SAFETY: attached; live objects; GetAttr returns a new reference or NULL + error.
    unsafe {
        if let Some(m) = Obj::from_owned(ffi::PyObject_GetAttr(obj.as_ptr(), name)) {
            return Ok(Some(m));
        }
        if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
            ffi::PyErr_Clear();
            return Ok(None);
        }
    }
    Err(Exc::fetch())
}

/// `iter.throw(error)`. No `throw` attribute: the error surfaces at the await, as in
/// `yield from`. `StopIteration(v)` out of `throw` means the inner returned `v`.
pub(crate) fn throw(iter: &Obj, error: Exc) -> Inner<Obj, Exc> {
    let meth = match attr_opt(iter, name(&THROW, c"throw")) {
        Ok(Some(m)) => m,
        Ok(None) => return Inner::Raised(error),
        Err(e) => return Inner::Raised(e),
    };
    // SAFETY: attached; live objects; the NULL-terminated argument list of one object.
    let r = unsafe {
        Obj::from_owned(ffi::PyObject_CallFunctionObjArgs(
            meth.as_ptr(),
            error.as_ptr(),
            ptr::null_mut::<ffi::PyObject>(),
        ))
    };
    drop(error);
    if let Some(v) = r {
        return Inner::Yielded(v);
    }
    let e = Exc::fetch();
    // SAFETY: a static exception class.
    if unsafe { e.matches(ffi::PyExc_StopIteration) } {
        let e = e.into_obj();
        return match attr_opt(&e, name(&VALUE, c"value")) {
            Ok(v) => Inner::Returned(v.unwrap_or_else(Obj::none)),
            Err(x) => Inner::Raised(x),
        };
    }
    Inner::Raised(e)
}

/// `iter.close()` if it has one.
pub(crate) fn close(iter: &Obj) -> Result<(), Exc> {
    if let Some(m) = attr_opt(iter, name(&CLOSE, c"close"))? {
        // SAFETY: attached; `m` is live.
        unsafe { Obj::from_owned(ffi::PyObject_CallNoArgs(m.as_ptr())) }.ok_or_else(Exc::fetch)?;
    }
    Ok(())
}

/// An awaitable that will never be awaited (discarded from the queue): a coroutine is closed,
/// so Python does not warn that it was never awaited; a failure is reported as unraisable.
pub(crate) fn close_unstarted(obj: &Obj) {
    if is_coroutine(obj) {
        if let Err(e) = close(obj) {
            unraisable(e, obj.as_ptr());
        }
    }
}

/// Reports `e` as unraisable (what generators do with an error of their finaliser).
pub(crate) fn unraisable(e: Exc, obj: *mut ffi::PyObject) {
    e.restore();
    // SAFETY: attached; `obj` is live (or NULL).
    unsafe { ffi::PyErr_WriteUnraisable(obj) };
}
