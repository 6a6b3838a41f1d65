//! `async fn ready(value)`: returns at once, as a PyO3 `experimental-async` coroutine; and
//! `noop(value)`, the same call without an awaitable (the benchmark's baseline).

use pyo3::prelude::*;

#[pyfunction]
async fn ready(value: Py<PyAny>) -> Py<PyAny> {
    value
}

/// The baseline: the same call shape, no awaitable.
#[pyfunction]
fn noop(value: Py<PyAny>) -> Py<PyAny> {
    value
}

#[pymodule]
fn pyo3_async_bench(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ready, m)?)?;
    m.add_function(wrap_pyfunction!(noop, m)?)
}
