//! `awaitq.frames(buf, n)`: walks the records `recv_many_into` packed into `buf`, yielding
//! `(tag, memoryview)` per frame. The views share `buf`'s memory (no copy); the record format
//! is the core's (`awaitq_core::batch_records`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PySlice, PyTuple};

use crate::{args, buffer};

/// The iterator `awaitq.frames(buf, n)` returns. The records are located once, when it is
/// made (one buffer export instead of one per frame).
#[pyclass(module = "awaitq", name = "Frames")]
pub(crate) struct Frames {
    /// `memoryview(buf).cast("B")`: keeps `buf` alive while walking; payloads are its slices.
    view: Py<PyAny>,
    /// `(tag, payload start, payload length)` of each record, in order.
    records: std::vec::IntoIter<(u32, usize, usize)>,
}

#[pymethods]
impl Frames {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some((tag, start, len)) = self.records.next() else {
            return Ok(None);
        };
        let slice = PySlice::new(py, start as isize, (start + len) as isize, 1);
        let payload = self.view.bind(py).get_item(slice)?;
        let tag = tag.into_pyobject(py)?.into_any();
        Ok(Some(PyTuple::new(py, [tag, payload])?.into_any().unbind()))
    }
}

/// `awaitq.frames(buf, n)`: the first `n` records of `buf` as `(tag, memoryview)`.
#[pyfunction]
pub(crate) fn frames(buf: &Bound<'_, PyAny>, n: &Bound<'_, PyAny>) -> PyResult<Frames> {
    let n = args::size(n, "n")?;
    let records: Vec<_> = buffer::with_bytes(buf, "buf", |b| {
        awaitq_core::batch_records(b).take(n).collect()
    })?;
    if records.len() < n {
        return Err(PyValueError::new_err("buf holds fewer records than n"));
    }
    let py = buf.py();
    let view = py
        .import("builtins")?
        .getattr("memoryview")?
        .call1((buf,))?
        .call_method1("cast", ("B",))?;
    Ok(Frames {
        view: view.unbind(),
        records: records.into_iter(),
    })
}
