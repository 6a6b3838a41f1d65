//! Core's [`ContError`]s as PyO3 exceptions, for the Rust API's `PyResult`s (the machine's
//! own path uses `Exc::cont`, in `obj.rs`).

use awaitq_core::{ContError, ExcType};
use pyo3::exceptions::{PyRuntimeError, PySystemError, PyTypeError, PyValueError};
use pyo3::PyErr;

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
