//! Core's [`ContError`]s as Python exceptions, and the chaining rules of the callbacks:
//! an exception raised while handling another carries it as `__context__`.

use std::any::Any;
use std::ffi::c_int;

use awaitq_core::{ContError, ExcType};
use pyo3::exceptions::{PyRuntimeError, PySystemError, PyTypeError, PyValueError};
use pyo3::panic::PanicException;
use pyo3::prelude::*;

/// The exception core's text and type ask for.
pub(crate) fn cont_err(e: ContError) -> PyErr {
    let msg = e.to_string();
    match e.exc_type() {
        ExcType::TypeError => PyTypeError::new_err(msg),
        ExcType::ValueError => PyValueError::new_err(msg),
        ExcType::RuntimeError => PyRuntimeError::new_err(msg),
        ExcType::SystemError => PySystemError::new_err(msg),
    }
}

/// `err`, raised while `handled` was being handled: `handled` becomes its `__context__`
/// unless it is the same exception or already has a context.
pub(crate) fn raised_while(py: Python<'_>, err: PyErr, handled: PyErr) -> PyErr {
    if !err.value(py).is(handled.value(py)) && err.context(py).is_none() {
        err.set_context(py, Some(handled));
    }
    err
}

/// Hands `err` to native code as Python's `except` would: its traceback becomes the value's
/// `__traceback__` (before 3.12 a fetched exception keeps it apart), so a callback that raises
/// the object again (`awaitq_aw_raise`) keeps where it came from.
pub(crate) fn caught(py: Python<'_>, err: &PyErr) {
    if let Some(tb) = err.traceback(py) {
        // SAFETY: attached; both objects are live; SetTraceback takes its own reference.
        unsafe { pyo3::ffi::PyException_SetTraceback(err.value(py).as_ptr(), tb.as_ptr()) };
    }
}

/// A caught Rust panic, as PyO3 reports one.
pub(crate) fn panic_err(payload: Box<dyn Any + Send>) -> PyErr {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic in native awaitable code".into());
    PanicException::new_err(msg)
}

/// The outcome of a C callback that returned `r`: `Ok` for `r >= 0` with nothing raised;
/// the raised exception otherwise, or `None` for -1 with nothing raised (each caller decides
/// what that means).
pub(crate) fn c_outcome(py: Python<'_>, r: c_int) -> Result<(), Option<PyErr>> {
    match PyErr::take(py) {
        Some(e) => Err(Some(e)),
        None if r < 0 => Err(None),
        None => Ok(()),
    }
}
