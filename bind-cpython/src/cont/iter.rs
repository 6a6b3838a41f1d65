//! The inner awaitable, as the continuation drives it: its iterator (what `await x` would
//! iterate), and one `send` / `throw` / `close` on it, reported as core's [`Inner`].
//!
//! Speed matters here (one await of a trivial coroutine is this whole file): a coroutine is
//! driven directly (its `am_send` returns `PYGEN_RETURN` with no `StopIteration` created),
//! as CPython's own `await` does, rather than through the wrapper its `__await__` returns.

use std::ptr;

use awaitq_core::{ContError, Inner};
use pyo3::exceptions::{PyStopIteration, PyTypeError};
use pyo3::ffi::{self, PySendResult};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use pyo3::{intern, Py};

use super::errors::cont_err;

/// The iterator `await awaitable` iterates, in the order the design fixes: a coroutine
/// itself; else `__await__()` (the `am_await` slot), which must return an iterator; else the
/// object itself if it is an iterator (generator-based coroutines); else `NotAwaitable`.
pub(crate) fn await_iter(py: Python<'_>, awaitable: &Py<PyAny>) -> PyResult<Py<PyAny>> {
    let obj = awaitable.as_ptr();
    // SAFETY: `obj` is a live object (we hold a reference); reading its type is always valid.
    let tp = unsafe { ffi::Py_TYPE(obj) };
    if ptr::eq(tp, coroutine_type(py)?) {
        return Ok(awaitable.clone_ref(py));
    }
    // SAFETY: `tp` is a live type; PyType_GetSlot accepts static types since 3.10 and returns
    // NULL when the slot is empty.
    let am_await = unsafe { ffi::PyType_GetSlot(tp, ffi::Py_am_await) };
    if !am_await.is_null() {
        // SAFETY: a non-NULL `am_await` slot has the `unaryfunc` signature.
        let am_await: ffi::unaryfunc = unsafe { std::mem::transmute(am_await) };
        // SAFETY: attached; `obj` is live; the slot returns a new reference or NULL + error.
        let it = unsafe { Bound::from_owned_ptr_or_err(py, am_await(obj)) }?;
        // SAFETY: `it` is a live object.
        if unsafe { ffi::PyIter_Check(it.as_ptr()) } == 0 {
            return Err(PyTypeError::new_err(format!(
                "__await__() returned non-iterator of type '{}'",
                it.get_type().name()?
            )));
        }
        return Ok(it.unbind());
    }
    // SAFETY: `obj` is live.
    if unsafe { ffi::PyIter_Check(obj) } != 0 {
        return Ok(awaitable.clone_ref(py));
    }
    Err(cont_err(ContError::NotAwaitable))
}

/// `types.CoroutineType`, looked up once.
fn coroutine_type(py: Python<'_>) -> PyResult<*mut ffi::PyTypeObject> {
    static CORO: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let tp = CORO.get_or_try_init(py, || {
        py.import(intern!(py, "types"))?
            .getattr(intern!(py, "CoroutineType"))?
            .cast_into::<PyType>()
            .map(Bound::unbind)
            .map_err(PyErr::from)
    })?;
    Ok(tp.as_ptr().cast())
}

/// An awaitable that will never be awaited (discarded from the queue): a coroutine is closed,
/// so Python does not warn that it was never awaited; a failure is reported as unraisable.
pub(crate) fn close_unstarted(py: Python<'_>, obj: &Py<PyAny>) {
    // SAFETY: `obj` is live.
    let is_coro =
        coroutine_type(py).is_ok_and(|tp| ptr::eq(unsafe { ffi::Py_TYPE(obj.as_ptr()) }, tp));
    if is_coro {
        if let Err(e) = close(py, obj) {
            e.write_unraisable(py, Some(obj.bind(py)));
        }
    }
}

/// `iter.send(value)` (`am_send`, or `__next__`/`send` through `PyIter_Send`).
pub(crate) fn send(py: Python<'_>, iter: &Py<PyAny>, value: &Py<PyAny>) -> Inner<Py<PyAny>, PyErr> {
    let mut out = ptr::null_mut();
    // SAFETY: attached; both objects are live; `out` receives a new reference (or NULL).
    let r = unsafe { ffi::PyIter_Send(iter.as_ptr(), value.as_ptr(), &mut out) };
    if let PySendResult::PYGEN_ERROR = r {
        return Inner::Raised(PyErr::fetch(py));
    }
    // SAFETY: on NEXT and RETURN, `out` is a new reference.
    let out = unsafe { Bound::from_owned_ptr(py, out) }.unbind();
    match r {
        PySendResult::PYGEN_NEXT => Inner::Yielded(out),
        _ => Inner::Returned(out),
    }
}

/// `iter.throw(error)`. No `throw` attribute: the error surfaces at the await, as in
/// `yield from`. `StopIteration(v)` out of `throw` means the inner returned `v`.
pub(crate) fn throw(py: Python<'_>, iter: &Py<PyAny>, error: PyErr) -> Inner<Py<PyAny>, PyErr> {
    let iter = iter.bind(py);
    let meth = match iter.getattr_opt(intern!(py, "throw")) {
        Ok(Some(m)) => m,
        Ok(None) => return Inner::Raised(error),
        Err(e) => return Inner::Raised(e),
    };
    match meth.call1((error.into_value(py),)) {
        Ok(v) => Inner::Yielded(v.unbind()),
        Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
            match e.value(py).getattr(intern!(py, "value")) {
                Ok(v) => Inner::Returned(v.unbind()),
                Err(e) => Inner::Raised(e),
            }
        }
        Err(e) => Inner::Raised(e),
    }
}

/// `iter.close()` if it has one.
pub(crate) fn close(py: Python<'_>, iter: &Py<PyAny>) -> PyResult<()> {
    if let Some(m) = iter.bind(py).getattr_opt(intern!(py, "close"))? {
        m.call0()?;
    }
    Ok(())
}
