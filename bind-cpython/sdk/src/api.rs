//! Finding the capsule: imported once per process, with the GIL held, and checked.

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCapsule;

use crate::ffi::awaitq_capi_t;

/// The `awaitq._C_API` table, imported on first use.
static TABLE: PyOnceLock<Table> = PyOnceLock::new();

#[derive(Clone, Copy)]
struct Table(&'static awaitq_capi_t);

/// The capsule's table, if its version is at least `needed` (an `ImportError` otherwise, or
/// if `awaitq` cannot be imported).
pub(crate) fn table(py: Python<'_>, needed: u32) -> PyResult<&'static awaitq_capi_t> {
    let t = TABLE.get_or_try_init(py, || {
        // SAFETY: the capsule named "awaitq._C_API" points to a `static` awaitq_capi_t of the
        // awaitq extension module, which CPython never unloads: valid for the whole process.
        let t: &'static awaitq_capi_t = unsafe {
            let p = PyCapsule::import_pointer(py, c"awaitq._C_API")?;
            &*p.as_ptr().cast::<awaitq_capi_t>()
        };
        Ok::<_, PyErr>(Table(t))
    })?;
    let version = t.0.producer.version;
    if version < needed {
        return Err(PyImportError::new_err(format!(
            "awaitq._C_API is version {version}; this needs version {needed} (upgrade awaitq)"
        )));
    }
    Ok(t.0)
}

/// The version of the installed awaitq's capsule (imports it if needed).
pub fn capi_version(py: Python<'_>) -> PyResult<u32> {
    Ok(table(py, 1)?.producer.version)
}
