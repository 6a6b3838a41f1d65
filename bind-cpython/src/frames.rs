//! `awaitq.frames(buf, n)`: walks the records `recv_many_into` packed into `buf`, yielding
//! `(tag, memoryview)` per frame. The views share `buf`'s memory (no copy); the record format
//! is the core's (`awaitq_core::batch_records`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PySlice, PyTuple};

use crate::{args, buffer};

/// The iterator `awaitq.frames(buf, n)` returns.
#[pyclass(module = "awaitq", name = "Frames")]
pub(crate) struct Frames {
    /// `memoryview(buf).cast("B")`: keeps `buf` alive and exported while walking.
    view: Py<PyAny>,
    /// Bytes of records walked so far.
    offset: usize,
    /// Records still to yield.
    remaining: usize,
}

#[pymethods]
impl Frames {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let view = self.view.bind(py);
        let at = self.offset;
        let record = buffer::with_bytes(view, "buf", |b| {
            b.get(at..)
                .and_then(|rest| awaitq_core::batch_records(rest).next())
        })?;
        let Some((tag, start, len)) = record else {
            self.remaining = 0;
            return Err(PyValueError::new_err("buf holds fewer records than n"));
        };
        let (start, end) = (at + start, at + start + len);
        self.offset = end;
        self.remaining -= 1;
        let payload = view.get_item(PySlice::new(py, start as isize, end as isize, 1))?;
        let tag = tag.into_pyobject(py)?.into_any();
        Ok(Some(PyTuple::new(py, [tag, payload])?.into_any().unbind()))
    }
}

/// `awaitq.frames(buf, n)`: the first `n` records of `buf` as `(tag, memoryview)`.
#[pyfunction]
pub(crate) fn frames(buf: &Bound<'_, PyAny>, n: &Bound<'_, PyAny>) -> PyResult<Frames> {
    let n = args::size(n, "n")?;
    buffer::with_bytes(buf, "buf", |_| ())?;
    let py = buf.py();
    let view = py
        .import("builtins")?
        .getattr("memoryview")?
        .call1((buf,))?
        .call_method1("cast", ("B",))?;
    Ok(Frames {
        view: view.unbind(),
        offset: 0,
        remaining: n,
    })
}
